package mproc

import (
	"testing"
	"time"
)

// busy returns a worker with n tasks in flight.
func busy(n int) *worker {
	return &worker{window: window, inflight: make([]*job, n)}
}

// results feeds w results gap apart, each answered while w still had
// others in flight, and returns the window it ends with.
func results(w *worker, n int, gap time.Duration) int {
	now := int64(1)
	for range n {
		now += int64(gap)
		w.pace(now)
	}
	return w.window
}

func TestWindowGrowsForQuickTasks(t *testing.T) {
	if got := results(busy(10), 100, 2*time.Microsecond); got != maxWindow {
		t.Errorf("results 2 µs apart: window %d; want %d (%v of work would be %d tasks)", got, maxWindow, windowWork, windowWork/(2*time.Microsecond))
	}
	// Results of a burst arrive together: what counts is their average.
	w := busy(10)
	now := int64(1)
	for range 20 {
		now += int64(160 * time.Microsecond) // a burst every 160 µs ...
		for range 16 {
			w.pace(now) // ... of 16 results: 10 µs a task
		}
	}
	if w.window < 90 || w.window > 110 {
		t.Errorf("bursts of 16 results every 160 µs: window %d; want about %v / 10 µs = 100", w.window, windowWork)
	}
}

func TestWindowStaysForSlowTasks(t *testing.T) {
	for _, gap := range []time.Duration{20 * time.Microsecond, time.Millisecond, time.Second} {
		if got := results(busy(10), 50, gap); got != window {
			t.Errorf("results %v apart: window %d; want %d", gap, got, window)
		}
	}
	// A worker whose tasks slow down gives its larger window back.
	w := busy(10)
	results(w, 100, time.Microsecond)
	if got := results(w, 200, 5*time.Millisecond); got != window {
		t.Errorf("after tasks slowed to 5 ms: window %d; want %d", got, window)
	}
}

// Gaps in which the worker had nothing else to do measure the parent's
// pace, not the worker's: they leave the window alone.
func TestWindowIgnoresIdleGaps(t *testing.T) {
	w := busy(1)
	if got := results(w, 100, time.Microsecond); got != window || w.perTask != 0 {
		t.Errorf("results 1 µs apart from a worker with one task at a time: window %d, perTask %d; want %d, 0", got, w.perTask, window)
	}
}
