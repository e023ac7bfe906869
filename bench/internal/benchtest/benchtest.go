// Package benchtest holds what the harness's package tests share.
package benchtest

import (
	"testing"

	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

// Positive runs trial runs times and checks one positive sample per run,
// and that no child process of the harness is left afterwards. err is the
// error of building the trial, reported first.
func Positive(t testing.TB, name string, trial stats.Trial, err error, runs int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	samples, errs := stats.Interleave(runs, trial)
	if errs[0] != nil {
		t.Fatalf("%s: %v", name, errs[0])
	}
	if len(samples[0]) != runs {
		t.Fatalf("%s: %d samples, want one per run (%d)", name, len(samples[0]), runs)
	}
	for _, s := range samples[0] {
		if !(s > 0) {
			t.Errorf("%s: sample %v is not positive", name, s)
		}
	}
	if child.Live() != 0 {
		t.Errorf("%s left %d children running", name, child.Live())
	}
}
