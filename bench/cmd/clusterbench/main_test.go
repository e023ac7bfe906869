package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

func TestMain(m *testing.M) {
	mproc.Main()
	if url := os.Getenv(floorEnv); url != "" { // the floor's consumer process
		if err := floorConsumer(url); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunFillsEveryMprocAndFloorFigure runs the command at its smallest,
// without Python: every row has an mproc figure and the floor's where it
// has one. It never looks at speed.
func TestRunFillsEveryMprocAndFloorFigure(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, sizes{Runs: 1, RoundTrips: 5, Auto: 2000, Chunk1: 40, Trickle: 10}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	// Without Python the dask cells and their ratios are empty; the uneven
	// row has no floor either.
	for prefix, empty := range map[string]int{"Submit+Wait round trip": 2, "Map of 2000 trivial tasks, automatic": 6,
		"Map of 40 trivial tasks, ChunkSize(1)": 2, "uneven:": 6, "Imap over a source yielding every 5ms, 10 inputs: median": 6,
		"Imap over a source yielding every 5ms, 10 inputs: p99": 6, "after 1 stuck task": 6, "crash:": 6, "node kill:": 6} {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				found = true
				if strings.Count(l, "—") != empty {
					t.Errorf("row %q lacks figures: %s", prefix, l)
				}
			}
		}
		if !found {
			t.Errorf("no row %q in:\n%s", prefix, out.String())
		}
	}
	if !strings.Contains(out.String(), "dask.distributed: -nopython given") {
		t.Errorf("the skipped peer is not said:\n%s", out.String())
	}
}
