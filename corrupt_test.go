package mproc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

// A worker whose control stream turns to garbage is killed and replaced;
// the task it ran fails with a WorkerExitError that says so.
func TestCorruptStream(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	_, err := mproc.Submit(t.Context(), p, corrupt, 0).Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Signal != "SIGKILL" || !strings.Contains(err.Error(), "bad data on its control socket") {
		t.Fatalf("err = %v, want a WorkerExitError for bad data on the control socket", err)
	}
	if v, err := mproc.Submit(t.Context(), p, square, 8).Wait(t.Context()); err != nil || v != 64 {
		t.Errorf("after: %v, %v", v, err)
	}
}
