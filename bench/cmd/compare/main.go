// Command compare measures mproc side by side with CPython's multiprocessing
// and pickle, the Go peers (encoding/gob, encoding/json, msgpack/v5, net/rpc
// to a subprocess) and the physical floor of this machine (two Go processes
// over a socketpair, memory copy, goroutines), in one run, and prints one
// table:
//
//	metric | mproc | CPython | best Go peer | floor | mproc vs CPython | mproc vs peer | mproc vs floor
//
// A second table measures real workloads — uneven task times, a trickling
// Imap source, calls after stuck tasks — beside CPython's Pool and, where
// installed, multiprocess, joblib/loky and dask.distributed
// (python/workloads.py). A third compares mproc's queues, pipes, shared
// map and handles with CPython's multiprocessing Queue, SimpleQueue, Pipe
// and Manager (python/queues.py), with the socketpair floor for the pipe
// and the targets of issue 13.
//
// Every figure is the median of -runs runs with the min–max beside it.
// Ratios are speed ratios: above 1x mproc is faster. The run also writes
// results/latest.json (every sample) and results/latest.svg (a chart of the
// ratios) under -out.
//
// Usage, from the bench directory:
//
//	go run ./cmd/compare           # full run, 5 runs per figure
//	go run ./cmd/compare -quick    # under a minute, 3 runs, smaller sizes
//	go run ./cmd/compare -quick -check   # CI: fail unless every figure is present
//
// -check exits with status 1 unless every figure is present and positive.
// Cells that cannot hold a figure say why and are accepted: a peer that
// cannot do the task ("unsupported": gob and cycles), a quantity CPython does
// not have ("n/a": allocation counts) and, printed as a loud warning, an
// mproc API that is not built yet. It never looks at speed.
//
// The harness starts helper processes by re-executing its own binary with
// MPROC_BENCH_CHILD set; each serves one socket and exits when the harness
// closes it or dies.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/python"
)

func main() {
	mproc.Main() // mproc's workers are this binary re-executed
	child.Serve()

	quick := flag.Bool("quick", false, "finish in under a minute: 3 runs per figure and smaller sizes")
	check := flag.Bool("check", false, "exit 1 unless every figure is present and positive (no timing thresholds)")
	runs := flag.Int("runs", 0, "runs per figure (default 5, or 3 with -quick; at least 3)")
	out := flag.String("out", "results", "directory for latest.json and latest.svg")
	noPython := flag.Bool("nopython", false, "do not run the Python side (its columns read skipped)")
	noWorkloads := flag.Bool("noworkloads", false, "leave out the real-workload table")
	noQueues := flag.Bool("noqueues", false, "leave out the queues, pipes and shared objects table")
	timeout := flag.Duration("timeout", 0, "give up, naming the step that hung, after this long (default 25m, or 10m with -quick)")
	flag.Parse()

	cfg := defaultConfig(*quick)
	if *runs != 0 {
		cfg.Runs = *runs
	}
	if cfg.Runs < 3 {
		fmt.Fprintf(os.Stderr, "compare: -runs %d: at least 3 runs are needed for a median with a spread\n", cfg.Runs)
		os.Exit(2)
	}
	cfg.Python = !*noPython
	cfg.Workloads = !*noWorkloads
	cfg.Queues = !*noQueues

	if *timeout == 0 {
		*timeout = 25 * time.Minute
		if *quick {
			*timeout = 10 * time.Minute
		}
	}
	// A hung step must not hang CI, and neither it nor ^C may leave a child
	// behind: exiting closes this process's end of every child's socket, and
	// each child exits at EOF.
	watchdog := time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "compare: gave up after %v while measuring %s\n", *timeout, currentStep())
		python.KillRunning()
		os.Exit(1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		cancel()
		fmt.Fprintf(os.Stderr, "compare: %v while measuring %s\n", s, currentStep())
		python.KillRunning()
		os.Exit(130)
	}()

	code := run(ctx, cfg, *out, *check)
	watchdog.Stop()
	if err := child.CloseAll(); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, cfg config, outDir string, check bool) int {
	r := measure(ctx, cfg)
	if err := r.WriteTable(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	if err := writeFile(filepath.Join(outDir, "latest.json"), r.WriteJSON); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	if err := writeFile(filepath.Join(outDir, "latest.svg"), r.WriteSVG); err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		return 1
	}
	fmt.Printf("\nWrote %s and %s\n", filepath.Join(outDir, "latest.json"), filepath.Join(outDir, "latest.svg"))
	if !check {
		return 0
	}
	warnings, err := r.Check()
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "\n*** WARNING: %s ***", w)
	}
	if len(warnings) > 0 {
		fmt.Fprintf(os.Stderr, "\n*** %d mproc figure(s) are NOT MEASURED: the APIs are not built yet ***\n", len(warnings))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "\ncompare -check: FAIL: %v\n", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "compare -check: every figure present and positive")
	return 0
}

// writeFile writes through a temporary file and renames it, so a failed run
// never leaves a half-written result behind.
func writeFile(path string, write func(w io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
