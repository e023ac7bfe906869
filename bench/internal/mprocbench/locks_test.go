package mprocbench

import (
	"strings"
	"testing"

	"github.com/mproc-go/mproc/bench/internal/benchtest"
)

func TestLockUncontended(t *testing.T) {
	tr, err := LockUncontended(1000)
	benchtest.Positive(t, "LockUncontended", tr, err, 2)
	if _, err := LockUncontended(0); err == nil || !strings.Contains(err.Error(), "no operation") {
		t.Errorf("LockUncontended(0) = %v, want an error", err)
	}
}

// TestLockTwoProcesses runs the two counting processes: the trial itself
// checks that the counter holds every increment.
func TestLockTwoProcesses(t *testing.T) {
	tr, err := LockTwoProcesses(20000)
	benchtest.Positive(t, "LockTwoProcesses", tr, err, 2)
	if _, err := LockTwoProcesses(1); err == nil || !strings.Contains(err.Error(), "fewer than 2") {
		t.Errorf("LockTwoProcesses(1) = %v, want an error", err)
	}
}
