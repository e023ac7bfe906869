package cluster

import (
	"testing"
	"time"
)

// TestTakeTimesBoundsTheWaitInTheBuffer: with a buffer of ahead tasks, a
// task taken now arrived after the take ahead+1 takes ago, so that is the
// bound; before as many takes, nothing bounds it (the sign of life goes at
// once).
func TestTakeTimesBoundsTheWaitInTheBuffer(t *testing.T) {
	base := time.Unix(1000, 0)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	tt := newTakeTimes(2)
	unbounded := time.Duration(1<<63 - 1)
	for i, tc := range []struct {
		now  int
		want time.Duration
	}{
		{0, unbounded}, {10, unbounded}, {20, unbounded},
		{30, 30 * time.Millisecond},    // since the take at 0
		{1000, 990 * time.Millisecond}, // since the take at 10
		{1001, 981 * time.Millisecond}, // since 20
		{1002, 972 * time.Millisecond}, // since 30
		{1003, 3 * time.Millisecond},   // since 1000
	} {
		if got := tt.waitedAtMost(at(tc.now)); got != tc.want {
			t.Errorf("take %d at %d ms: waited at most %v, want %v", i, tc.now, got, tc.want)
		}
	}
}
