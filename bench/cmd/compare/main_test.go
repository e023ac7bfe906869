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
		PythonPeers: []string{"cpython"}} // the optional peers take minutes (dask's stuck shapes)
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
	if len(r.Metrics) != 12 || len(r.References) != 7 || r.Runs != 3 || !strings.HasPrefix(r.Machine.Python, "3.") {
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

func TestDefaultConfig(t *testing.T) {
	full, quick := defaultConfig(false), defaultConfig(true)
	if full.Runs < 5 || quick.Runs < 3 || full.BulkBytes != 64<<20 || quick.BulkBytes != 64<<20 || full.MapChunk1 != 100_000 {
		t.Errorf("configs break the issue's promises: full %+v, quick %+v", full, quick)
	}
}
