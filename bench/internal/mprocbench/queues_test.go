package mprocbench

import (
	"strings"
	"testing"

	"github.com/mproc-go/mproc/bench/internal/benchtest"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

func TestQueueTrials(t *testing.T) {
	tr, err := QueueItems(500, false)
	benchtest.Positive(t, "QueueItems into the parent", tr, err, 2)
	tr, err = QueueItems(500, true)
	benchtest.Positive(t, "QueueItems between two processes", tr, err, 2)
	tr, err = QueueMiB(5)
	benchtest.Positive(t, "QueueMiB", tr, err, 2)
	tr, err = PipeRoundTrip(50)
	benchtest.Positive(t, "PipeRoundTrip", tr, err, 2)
	tr, err = MapSets(100)
	benchtest.Positive(t, "MapSets", tr, err, 2)
}

func TestQueueLatencyKeepsTheTails(t *testing.T) {
	tr, p99, err := QueueLatency(50)
	benchtest.Positive(t, "QueueLatency", tr, err, 2)
	if len(*p99) != 2 || !((*p99)[0] > 0) || !((*p99)[1] > 0) {
		t.Errorf("p99 = %v, want one positive tail per run", *p99)
	}
}

func TestHandleCostKeepsBothMedians(t *testing.T) {
	tr, with, without, err := HandleCost(100)
	if err != nil {
		t.Fatal(err)
	}
	// No timing threshold: a run whose difference is below the
	// machine's resolution is an error naming both medians, which a loaded
	// machine may produce; anything else must be one positive sample per run.
	samples, errs := stats.Interleave(2, tr)
	switch {
	case errs[0] != nil && strings.Contains(errs[0].Error(), "below this machine's resolution"):
		t.Logf("HandleCost: %v", errs[0])
		if len(*with) == 0 || len(*with) != len(*without) {
			t.Errorf("medians with %v, without %v, want as many of each", *with, *without)
		}
	case errs[0] != nil:
		t.Fatalf("HandleCost: %v", errs[0])
	default:
		if len(samples[0]) != 2 || !(samples[0][0] > 0) || !(samples[0][1] > 0) {
			t.Errorf("HandleCost samples %v, want 2 positive", samples[0])
		}
		if len(*with) != 2 || len(*without) != 2 {
			t.Errorf("medians with %v, without %v, want one per run", *with, *without)
		}
	}
}

func TestMonotonicNsIsTheSystemClock(t *testing.T) {
	a, b := MonotonicNs(), MonotonicNs()
	if a <= 0 || b < a {
		t.Errorf("MonotonicNs went %d then %d", a, b)
	}
}
