package python

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	r, err := Parse([]byte(`{"python":"3.11.7","metrics":{"apply":{"samples":[0.0003],"variant":"fork"},
		"pool_start_forkserver":{"samples":[],"unsupported":"not here"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Python != "3.11.7" || r.Metrics["apply"].Samples[0] != 0.0003 || r.Metrics["pool_start_forkserver"].Unsupported != "not here" {
		t.Errorf("Parse = %+v", r)
	}
}

func TestParseRejectsOtherOutput(t *testing.T) {
	for _, in := range []string{"", "Traceback (most recent call last):", `{"python":"3.11"}`, `{"metrics":{"a":{}}}`} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), "bench.py") {
			t.Errorf("Parse(%q) = %v, want an error naming bench.py", in, err)
		}
	}
}

func TestArgs(t *testing.T) {
	args := Params{Runs: 3, MapChunk1: 10, BudgetSeconds: 0.05}.Args()
	for _, want := range [][]string{{"--runs", "3"}, {"--map-chunk1", "10"}, {"--budget", "0.05"}} {
		i := slices.Index(args, want[0])
		if i < 0 || args[i+1] != want[1] {
			t.Errorf("Args() = %v, want %s %s", args, want[0], want[1])
		}
	}
}

// TestRun runs the real script at tiny sizes: every metric it promises must
// come back with one positive sample per run.
func TestRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		r, err := Run(context.Background(), Params{Runs: 1})
		if !errors.Is(err, ErrNoPython) || r != nil {
			t.Fatalf("Run without python3 = %v, %v; want ErrNoPython", r, err)
		}
		return
	}
	r, err := Run(context.Background(), Params{
		Runs: 2, Workers: 2, Rounds: 5, MapChunk1: 50, MapAuto: 500, BulkBytes: 1 << 16,
		Tasks: 2, Floats: 100, GraphNodes: 50, BudgetSeconds: 0.001,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pool_start_spawn", "pool_start_fork", "pool_start_forkserver", "apply", "map_chunk1",
		"map_auto", "bulk", "speedup", "pickle_small", "pickle_floats_list", "pickle_floats_array", "pickle_graph"} {
		m, ok := r.Metrics[key]
		if !ok {
			t.Errorf("no %s in the result", key)
			continue
		}
		if m.Error != "" || len(m.Samples) != 2 {
			t.Errorf("%s: %+v, want 2 samples and no error", key, m)
		}
		for _, s := range m.Samples {
			if !(s > 0) {
				t.Errorf("%s: sample %v not positive", key, s)
			}
		}
	}
}

func TestRunReportsScriptFailure(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	_, err := Run(context.Background(), Params{Runs: -1, Workers: 0})
	if err == nil || !strings.Contains(err.Error(), "python3 bench.py --runs -1") {
		t.Errorf("Run with a bad pool size = %v, want an error naming the command", err)
	}
}

func TestRunWorkloadsOneShape(t *testing.T) {
	if _, err := Interpreter(); err != nil {
		t.Skip("needs python3")
	}
	r, err := RunWorkloads(context.Background(), WorkloadParams{
		Shapes: []string{"uneven_default", "trickle"}, Only: []string{"cpython"},
		Runs: 2, Workers: 2, Scale: 0.02, LognormalN: 20, TrickleN: 10, TrickleInterval: 0.001,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Peers["cpython"].Version == "" || !strings.HasPrefix(r.Python, "3.") {
		t.Errorf("peers %+v, python %q: want cpython's version", r.Peers, r.Python)
	}
	for _, key := range []string{"uneven_default/cpython", "trickle_median/cpython", "trickle_p99/cpython"} {
		m, ok := r.Metrics[key]
		if !ok || m.Error != "" || len(m.Samples) != 2 {
			t.Errorf("%s: %+v (present %v), want 2 samples and no error", key, m, ok)
		}
	}
	if len(r.Metrics) != 3 {
		t.Errorf("metrics %v, want only the two shapes asked for", r.Metrics)
	}
}

func TestRunWorkloadsRefusesUnknownShape(t *testing.T) {
	if _, err := Interpreter(); err != nil {
		t.Skip("needs python3")
	}
	_, err := RunWorkloads(context.Background(), WorkloadParams{Shapes: []string{"nope"}, Runs: 1, Workers: 1, Scale: 1})
	if err == nil || !strings.Contains(err.Error(), "workloads.py --shapes nope") {
		t.Errorf("RunWorkloads of an unknown shape = %v, want an error naming the command", err)
	}
}

func TestQueueArgs(t *testing.T) {
	args := QueueParams{Shapes: []string{"pipe", "map_set"}, Runs: 3, Items: 10, Sets: 7, LockOps: 11}.Args()
	for _, want := range [][]string{{"--shapes", "pipe,map_set"}, {"--runs", "3"}, {"--items", "10"}, {"--sets", "7"},
		{"--lock-ops", "11"}, {"--lock-incs", "2"}, {"--event-rounds", "10"}, {"--shm-bytes", "1"}} { // a zero count becomes the least the shape can time
		i := slices.Index(args, want[0])
		if i < 0 || args[i+1] != want[1] {
			t.Errorf("Args() = %v, want %s %s", args, want[0], want[1])
		}
	}
}

// TestRunQueues runs the real script at tiny sizes: every metric it
// promises must come back with one positive sample per run, and the
// handle row as unsupported, quoting CPython's refusal.
func TestRunQueues(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if _, err := RunQueues(context.Background(), QueueParams{Shapes: QueueShapes, Runs: 1}); !errors.Is(err, ErrNoPython) {
			t.Fatalf("RunQueues without python3 = %v, want ErrNoPython", err)
		}
		return
	}
	r, err := RunQueues(context.Background(), QueueParams{
		Shapes: QueueShapes, Runs: 2, Items: 200, LatencyRounds: 20, MiBItems: 3, Rounds: 20, Sets: 50, LockOps: 100, LockIncs: 200,
		EventRounds: 20, ShmBytes: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.StartMethod == "" || !strings.HasPrefix(r.Python, "3.") {
		t.Errorf("start method %q, python %q", r.StartMethod, r.Python)
	}
	for _, key := range []string{"queue_items/queue", "queue_items/simplequeue", "queue_latency/queue", "queue_latency/simplequeue",
		"queue_latency_p99/queue", "queue_latency_p99/simplequeue", "queue_mib/queue", "queue_mib/simplequeue", "pipe", "map_set",
		"lock_uncontended", "lock_two_procs", "event_hop", "shm_share", "shared_slice"} {
		m, ok := r.Metrics[key]
		if !ok || m.Error != "" || len(m.Samples) != 2 || m.Variant == "" {
			t.Errorf("%s: %+v (present %v), want 2 samples, a variant and no error", key, m, ok)
			continue
		}
		for _, s := range m.Samples {
			if !(s > 0) {
				t.Errorf("%s: sample %v not positive", key, s)
			}
		}
	}
	if m := r.Metrics["handle_task"]; !strings.Contains(m.Unsupported, "cannot pickle") {
		t.Errorf("handle_task: %+v, want unsupported quoting the pickling error", m)
	}
}

func TestRunQueuesRefusesUnknownShape(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	_, err := RunQueues(context.Background(), QueueParams{Shapes: []string{"nope"}, Runs: 1, Items: 2, LatencyRounds: 1, MiBItems: 1, Rounds: 1, Sets: 1})
	if err == nil || !strings.Contains(err.Error(), "queues.py --shapes nope") {
		t.Errorf("RunQueues of an unknown shape = %v, want an error naming the command", err)
	}
}
