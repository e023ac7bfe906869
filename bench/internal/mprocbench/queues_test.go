package mprocbench

import (
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
	tr, without, err := HandleCost(100)
	if err != nil {
		t.Fatal(err)
	}
	samples, errs := stats.Interleave(2, tr)
	if errs[0] != nil {
		t.Fatalf("HandleCost: %v", errs[0])
	}
	// No timing threshold: the file may cost less than the machine
	// resolves, so only the shape is asserted, one positive median of each
	// kind per run.
	if len(samples[0]) != 2 || !(samples[0][0] > 0) || !(samples[0][1] > 0) {
		t.Errorf("HandleCost samples %v, want 2 positive medians with a file", samples[0])
	}
	if len(*without) != 2 || !((*without)[0] > 0) || !((*without)[1] > 0) {
		t.Errorf("medians without a file %v, want 2 positive, one per run", *without)
	}
}

func TestMonotonicNsIsTheSystemClock(t *testing.T) {
	a, b := MonotonicNs(), MonotonicNs()
	if a <= 0 || b < a {
		t.Errorf("MonotonicNs went %d then %d", a, b)
	}
}
