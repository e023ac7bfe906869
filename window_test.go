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

// bursts feeds w n bursts of size results, as a worker that flushes size
// results at once sends them, each task taking perTask; it returns the
// window w ends with.
func bursts(w *worker, n, size int, perTask time.Duration) int {
	now := int64(1)
	for range n {
		now += int64(size) * int64(perTask)
		for range size {
			w.pace(now)
		}
	}
	return w.window
}

func TestWindowGrowsForQuickTasks(t *testing.T) {
	if got := results(busy(10), 1000, 2*time.Microsecond); got != maxWindow {
		t.Errorf("results 2 µs apart: window %d; want %d (%v of work would be %d tasks)", got, maxWindow, windowWork, windowWork/(2*time.Microsecond))
	}
	// Results of a burst arrive together: what counts is their average.
	if got := bursts(busy(10), 40, 16, 10*time.Microsecond); got < 90 || got > 110 {
		t.Errorf("bursts of 16 results every 160 µs: window %d; want about %v / 10 µs = 100", got, windowWork)
	}
}

func TestWindowStaysForSlowTasks(t *testing.T) {
	for _, gap := range []time.Duration{20 * time.Microsecond, time.Millisecond, time.Second} {
		if got := results(busy(10), 50, gap); got != window {
			t.Errorf("results %v apart: window %d; want %d", gap, got, window)
		}
	}
	// However many results a burst holds, and wherever a span would end
	// within one, slow tasks keep the window.
	for _, b := range []struct {
		size    int
		perTask time.Duration
	}{{16, 100 * time.Microsecond}, {24, 100 * time.Microsecond}, {32, 150 * time.Microsecond}, {24, 20 * time.Microsecond}, {32, 20 * time.Microsecond}} {
		if got := bursts(busy(10), 50, b.size, b.perTask); got != window {
			t.Errorf("bursts of %d results, %v a task: window %d; want %d", b.size, b.perTask, got, window)
		}
	}
	// A worker whose tasks slow down gives its larger window back.
	w := busy(10)
	if got := results(w, 1000, time.Microsecond); got != maxWindow {
		t.Fatalf("results 1 µs apart: window %d; want %d", got, maxWindow)
	}
	if got := results(w, 200, 5*time.Millisecond); got != window {
		t.Errorf("after tasks slowed to 5 ms: window %d; want %d", got, window)
	}
}

// Gaps in which the worker had nothing else to do measure the parent's
// pace, not the worker's: they leave the window alone.
func TestWindowIgnoresIdleGaps(t *testing.T) {
	w := busy(1)
	if got := results(w, 1000, time.Microsecond); got != window || w.perTask != 0 {
		t.Errorf("results 1 µs apart from a worker with one task at a time: window %d, perTask %d; want %d, 0", got, w.perTask, window)
	}
}
