package mprocbench

import (
	"strings"
	"testing"

	"github.com/mproc-go/mproc/bench/internal/benchtest"
)

// TestEventHop runs the echoing process: the trial fails unless it
// answered every round.
func TestEventHop(t *testing.T) {
	tr, err := EventHop(50)
	benchtest.Positive(t, "EventHop", tr, err, 2)
	if _, err := EventHop(3); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Errorf("EventHop(3) = %v, want an error", err)
	}
}

// TestShmShare hands a segment to a worker: the trial fails unless the
// worker's write is seen by the parent.
func TestShmShare(t *testing.T) {
	tr, err := ShmShare(1 << 20)
	benchtest.Positive(t, "ShmShare", tr, err, 2)
	if _, err := ShmShare(0); err == nil || !strings.Contains(err.Error(), "no bytes") {
		t.Errorf("ShmShare(0) = %v, want an error", err)
	}
}

// TestSharedSliceTrip has the worker read what the parent wrote: the
// trial fails otherwise.
func TestSharedSliceTrip(t *testing.T) {
	tr, err := SharedSliceTrip(1 << 20)
	benchtest.Positive(t, "SharedSliceTrip", tr, err, 3)
	if _, err := SharedSliceTrip(0); err == nil || !strings.Contains(err.Error(), "no bytes") {
		t.Errorf("SharedSliceTrip(0) = %v, want an error", err)
	}
}

// TestTablePSS has 4 workers sum a shared table: the trial fails unless
// every sum is right; the fraction is a positive figure.
func TestTablePSS(t *testing.T) {
	tr, err := TablePSS(8 << 20)
	benchtest.Positive(t, "TablePSS", tr, err, 2)
	if _, err := TablePSS(4); err == nil || !strings.Contains(err.Error(), "at least 8 bytes") {
		t.Errorf("TablePSS(4) = %v, want an error", err)
	}
}
