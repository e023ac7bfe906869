package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/report"
)

func TestMain(m *testing.M) {
	mproc.Main()
	child.Serve()
	code := m.Run()
	if n := child.Live(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "compare tests left %d process(es) running\n", n)
		child.CloseAll()
		code = 1
	}
	os.Exit(code)
}

// tiny sizes every metric so that the whole harness runs in seconds.
func tiny(python bool) config {
	return config{Runs: 3, Workers: 2, Rounds: 10, MapChunk1: 200, MapAuto: 1000, BulkBytes: 1 << 20,
		Tasks: 2, GraphNodes: 100, Budget: time.Millisecond, Python: python,
		Workloads: true, Scale: 0.02, LognormalN: 50, TrickleN: 20, TrickleInterval: 0.002,
		PythonPeers: []string{"cpython"}, // the optional peers take minutes (dask's stuck shapes)
		Queues:      true, QueueItems: 300, LatencyRounds: 20, MiBItems: 3, MapSets: 50, HandleRounds: 50, LockOps: 1000, LockIncs: 2000,
		EventRounds: 20, ShmBytes: 1 << 20, TableBytes: 8 << 20}
}

func readReport(t *testing.T, dir string) *report.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "latest.svg"))
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Fatalf("latest.svg: %v, starts %.20q", err, svg)
	}
	if _, err := os.Stat(filepath.Join(dir, "latest.json.tmp")); !os.IsNotExist(err) {
		t.Errorf("a temporary file was left behind: %v", err)
	}
	return &r
}

func TestRunEverything(t *testing.T) {
	_, err := exec.LookPath("python3")
	hasPython := err == nil
	dir := t.TempDir()
	code := run(context.Background(), tiny(hasPython), dir, true)
	r := readReport(t, dir)
	if !hasPython {
		if code != 1 {
			t.Errorf("-check without python3 exited %d, want 1: the CPython figures are missing", code)
		}
		return
	}
	if code != 0 {
		t.Fatalf("-check exited %d, want 0", code)
	}
	if len(r.Metrics) != 12 || len(r.References) != 8 || r.Runs != 3 || !strings.HasPrefix(r.Machine.Python, "3.") {
		t.Errorf("report: %d metrics, %d references, %d runs, python %q", len(r.Metrics), len(r.References), r.Runs, r.Machine.Python)
	}
	if len(r.Workloads) != 9 {
		t.Errorf("report: %d real-workload rows, want 9", len(r.Workloads))
	}
	for _, w := range r.Workloads {
		if !w.Mproc.OK() || len(w.Mproc.Samples) != 3 || len(w.Others) != 4 || !w.Others[0].Cell.OK() {
			t.Errorf("%s: mproc %+v, %d Python columns, CPython %+v: want figures of 3 runs from both", w.Title, w.Mproc, len(w.Others), w.Others)
		}
		for _, c := range w.Others[1:] {
			if c.Cell.Status != report.Skipped || !strings.Contains(c.Cell.Reason, "not among the selected peers") {
				t.Errorf("%s, %s: %s %q, want skipped as not selected", w.Title, c.Name, c.Cell.Status, c.Cell.Reason)
			}
		}
	}
	checkQueueRows(t, r)
	for _, m := range r.Metrics {
		for name, c := range map[string]report.Cell{"CPython": m.CPython, "peer": m.Peer, "floor": m.Floor} {
			if c.OK() && len(c.Samples) != 3 {
				t.Errorf("%s, %s: %d samples, want 3", m.Title, name, len(c.Samples))
			}
		}
	}
	if child.Live() != 0 {
		t.Errorf("run left %d children", child.Live())
	}
}

// checkQueueRows checks the queues, pipes and shared objects table of a
// run with python3: every row, mproc's figures from 3 runs (both variants
// of the queue of ints), CPython's figures but for the handle row, which
// CPython cannot do, the pipe's floor and the handle row's base.
func checkQueueRows(t *testing.T, r *report.Report) {
	t.Helper()
	keys := []string{"queue_items", "queue_latency", "queue_mib", "pipe", "map_set", "lock_uncontended", "lock_two_procs", "event_hop", "shm_share", "shared_slice", "table_pss", "handle_task"}
	if len(r.Queues) != len(keys) {
		t.Fatalf("report: %d queue rows, want %d", len(r.Queues), len(keys))
	}
	for i, q := range r.Queues {
		if q.Key != keys[i] || q.Target == nil {
			t.Errorf("queue row %d: key %q, target %v, want %s with a target", i, q.Key, q.Target, keys[i])
		}
		if !q.Mproc.OK() || len(q.Mproc.Samples) != 3 {
			t.Errorf("%s: mproc %+v, want a figure of 3 runs", q.Title, q.Mproc)
		}
		switch q.Key {
		case "handle_task":
			if q.CPython.Status != report.Unsupported || !strings.Contains(q.CPython.Reason, "cannot pickle") {
				t.Errorf("%s: CPython %+v, want unsupported quoting the pickling error", q.Title, q.CPython)
			}
		case "table_pss":
			if q.CPython.Status != report.NotApplicable || !strings.Contains(q.CPython.Reason, "copy-on-write") {
				t.Errorf("%s: CPython %+v, want n/a saying why", q.Title, q.CPython)
			}
		default:
			if !q.CPython.OK() || len(q.CPython.Samples) != 3 {
				t.Errorf("%s: CPython %+v, want a figure of 3 runs", q.Title, q.CPython)
			}
		}
		if (q.Key == "pipe") != (q.Floor != nil) || (q.Floor != nil && !q.Floor.OK()) {
			t.Errorf("%s: floor %+v, want a figure on the pipe row only", q.Title, q.Floor)
		}
		if (q.Key == "handle_task") != (q.Base != nil) || (q.Base != nil && (!q.Base.OK() || len(q.Base.Samples) != 3)) {
			t.Errorf("%s: base %+v, want a figure of 3 runs on the handle row only", q.Title, q.Base)
		}
	}
	if items := r.Queues[0]; len(items.Mproc.Others) != 1 || !items.Mproc.Others[0].OK() || len(items.CPython.Others) != 1 {
		t.Errorf("queue of ints: mproc others %+v, CPython others %+v, want the losing variant of each", items.Mproc.Others, items.CPython.Others)
	}
}

func TestCheckFailsWithoutCPython(t *testing.T) {
	dir := t.TempDir()
	if code := run(context.Background(), tiny(false), dir, true); code != 1 {
		t.Errorf("-check with the CPython column skipped exited %d, want 1", code)
	}
	r := readReport(t, dir)
	_, err := r.Check()
	if err == nil || !strings.Contains(err.Error(), "CPython: skipped: -nopython given") {
		t.Errorf("Check = %v, want the skipped CPython column named", err)
	}
	if len(r.Queues) == 0 || !strings.Contains(err.Error(), r.Queues[0].Title+", CPython: skipped: -nopython given") {
		t.Errorf("Check = %v, want the skipped CPython cells of the queue table named too", err)
	}
	// Without -check the same run succeeds: the table is still worth reading.
	if code := run(context.Background(), tiny(false), dir, false); code != 0 {
		t.Errorf("run without -check exited %d, want 0", code)
	}
}

func TestWriteFileReportsAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.json")
	err := writeFile(path, func(w io.Writer) error { return fmt.Errorf("disk full") })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("writeFile = %v, want the path and the cause", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("writeFile left %v behind", entries)
	}
}

func TestLeavingTablesOut(t *testing.T) {
	cfg := tiny(false)
	cfg.Workloads, cfg.Queues = false, false
	dir := t.TempDir()
	if code := run(context.Background(), cfg, dir, false); code != 0 {
		t.Fatalf("run exited %d", code)
	}
	if r := readReport(t, dir); len(r.Workloads) != 0 || len(r.Queues) != 0 {
		t.Errorf("-noworkloads -noqueues: %d workload rows, %d queue rows, want none", len(r.Workloads), len(r.Queues))
	}
}

func TestDefaultConfig(t *testing.T) {
	full, quick := defaultConfig(false), defaultConfig(true)
	if !full.Queues || !quick.Queues || quick.QueueItems >= full.QueueItems || quick.MiBItems >= full.MiBItems ||
		quick.LatencyRounds >= full.LatencyRounds || quick.MapSets >= full.MapSets || quick.HandleRounds >= full.HandleRounds ||
		quick.LockOps >= full.LockOps || quick.LockIncs >= full.LockIncs || quick.EventRounds >= full.EventRounds || quick.TableBytes >= full.TableBytes {
		t.Errorf("the queue table must be on and smaller in quick mode: full %+v, quick %+v", full, quick)
	}
	if full.Runs < 5 || quick.Runs < 3 || full.BulkBytes != 64<<20 || quick.BulkBytes != 64<<20 || full.MapChunk1 != 100_000 {
		t.Errorf("configs break the issue's promises: full %+v, quick %+v", full, quick)
	}
}
