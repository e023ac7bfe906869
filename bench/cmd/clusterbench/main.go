// Command clusterbench measures mproc's cluster pool (package cluster: an
// embedded NATS JetStream server and node processes of this binary) side
// by side with dask.distributed's LocalCluster and with the raw JetStream
// floor, in one run, runs interleaved:
//
//	metric | mproc cluster | dask.distributed | JetStream floor | vs dask | vs floor
//
// Both clusters have two worker processes on this machine (mproc: two
// nodes of one worker each; dask: LocalCluster(n_workers=2,
// threads_per_worker=1)). Figures are medians of -runs runs, min–max
// beside. Ratios are speed ratios: above 1x mproc is faster.
//
// Beyond the trivial tasks, the rows of real workloads: an uneven Map, an
// Imap over a source that trickles (dask: submit per item into
// as_completed, as the compare harness's workloads.py does), the next
// call after a task that ignores its cancellation, a task that kills its
// worker process on its first run, and a node SIGKILLed mid-Map (dask: a
// worker process, which its nanny restarts). The floor runs twice: its
// consumer in the benchmark's process, and in a process of its own, as a
// node on another machine must (the cluster's task crosses four processes:
// pool, node, worker, node, pool).
//
// Usage, from the bench directory:
//
//	go run ./cmd/clusterbench          # 5 runs
//	go run ./cmd/clusterbench -quick   # 3 runs, smaller sizes
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/report"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
	"github.com/mproc-go/mproc/bench/python"
	"github.com/mproc-go/mproc/cluster"
)

func main() {
	mproc.Main() // the nodes, and their workers, are this binary
	if url := os.Getenv(floorEnv); url != "" {
		if err := floorConsumer(url); err != nil {
			fmt.Fprintln(os.Stderr, "clusterbench floor consumer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	quick := flag.Bool("quick", false, "3 runs and smaller sizes")
	runs := flag.Int("runs", 0, "runs per figure (default 5, 3 with -quick)")
	noPython := flag.Bool("nopython", false, "leave dask.distributed out")
	slots := flag.Int("slots", 0, "the cluster's Slots, and the floor's round trips at a time (default: the cluster's default)")
	flag.Parse()
	cfg := sizes{Runs: 5, RoundTrips: 300, Auto: 200_000, Chunk1: 5_000, DaskTasks: 2_000, Trickle: 200}
	if *quick {
		cfg = sizes{Runs: 3, RoundTrips: 100, Auto: 50_000, Chunk1: 2_000, DaskTasks: 1_000, Trickle: 100}
	}
	if *runs > 0 {
		cfg.Runs = *runs
	}
	cfg.Python = !*noPython
	cfg.Slots = *slots
	if err := run(context.Background(), os.Stdout, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

type sizes struct {
	Runs       int
	RoundTrips int // sequential Submit+Wait per run
	Auto       int // trivial inputs per run, automatic chunking
	Chunk1     int // trivial inputs per run, ChunkSize(1)
	DaskTasks  int // trivial tasks per run of dask's map
	Trickle    int // inputs of the trickle shape, one every 5 ms
	Python     bool
	Slots      int // 0: the cluster's default
}

const workers = 2

func run(ctx context.Context, w io.Writer, cfg sizes) error {
	slots := 2 * workers // the cluster's default Slots for these nodes
	opts := []cluster.Option{cluster.LocalNodes(workers), cluster.NodeWorkers(1)}
	if cfg.Slots > 0 {
		slots = cfg.Slots
		opts = append(opts, cluster.Slots(slots))
	}
	c, err := cluster.New(ctx, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := newFloor(false)
	if err != nil {
		return err
	}
	defer f.close()
	f2, err := newFloor(true)
	if err != nil {
		return err
	}
	defer f2.close()
	if _, err := mproc.Map(ctx, c.Pool, workload.Trivial, make([]int, 100), mproc.ChunkSize(1)); err != nil {
		return err // warm: every node has run tasks
	}
	dir, err := os.MkdirTemp("", "mproc-clusterbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var (
		rt, rtFloor, auto, chunk1, tpFloor, uneven []float64
		rtApart, tpApart                           []float64 // the floor with its consumer in a process of its own
		trickle, trickle99, stuck, crash, killed   []float64
		dask                                       python.ClusterResult
		daskTrickle, daskTrickle99, daskStuck      []float64
		daskErr                                    error
		daskStuckErr                               string // why dask has no figure after a stuck task
	)
	if !cfg.Python {
		daskErr = errors.New("-nopython given")
	}
	for r := range cfg.Runs {
		fmt.Fprintf(os.Stderr, "clusterbench: run %d of %d\n", r+1, cfg.Runs)
		s, err := median(cfg.RoundTrips, func() error {
			_, err := mproc.Submit(ctx, c.Pool, workload.Trivial, r).Wait(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("cluster round trip: %w", err)
		}
		rt = append(rt, s)
		if s, err = median(cfg.RoundTrips, func() error { return f.roundTrip(ctx) }); err != nil {
			return fmt.Errorf("floor round trip: %w", err)
		}
		rtFloor = append(rtFloor, s)
		if s, err = median(cfg.RoundTrips, func() error { return f2.roundTrip(ctx) }); err != nil {
			return fmt.Errorf("floor round trip, consumer apart: %w", err)
		}
		rtApart = append(rtApart, s)

		tp, err := throughput(cfg.Auto, func(in []int) error {
			_, err := mproc.Map(ctx, c.Pool, workload.Trivial, in)
			return err
		})
		if err != nil {
			return fmt.Errorf("cluster map: %w", err)
		}
		auto = append(auto, tp)
		if tp, err = throughput(cfg.Chunk1, func(in []int) error {
			_, err := mproc.Map(ctx, c.Pool, workload.Trivial, in, mproc.ChunkSize(1))
			return err
		}); err != nil {
			return fmt.Errorf("cluster map, chunk 1: %w", err)
		}
		chunk1 = append(chunk1, tp)
		if tp, err = throughput(cfg.Chunk1, func(in []int) error { return concurrently(ctx, slots, len(in), f.roundTrip) }); err != nil {
			return fmt.Errorf("floor throughput: %w", err)
		}
		tpFloor = append(tpFloor, tp)
		if tp, err = throughput(cfg.Chunk1, func(in []int) error { return concurrently(ctx, slots, len(in), f2.roundTrip) }); err != nil {
			return fmt.Errorf("floor throughput, consumer apart: %w", err)
		}
		tpApart = append(tpApart, tp)

		tasks := workload.Uneven(1)
		t0 := time.Now()
		out, err := mproc.Map(ctx, c.Pool, workload.Take, tasks)
		if err != nil || !slices.Equal(out, tasks) {
			return fmt.Errorf("cluster uneven: %v", err)
		}
		uneven = append(uneven, time.Since(t0).Seconds())

		med, p99, err := trickleOn(ctx, c, cfg.Trickle)
		if err != nil {
			return fmt.Errorf("cluster trickle: %w", err)
		}
		trickle, trickle99 = append(trickle, med), append(trickle99, p99)
		s, err = afterStuckOn(ctx, c)
		if err != nil {
			return fmt.Errorf("cluster after a stuck task: %w", err)
		}
		stuck = append(stuck, s)
		if s, err = crashOn(ctx, c, dir, r); err != nil {
			return err
		}
		crash = append(crash, s)
		if s, err = nodeKillOn(ctx, c); err != nil {
			return err
		}
		killed = append(killed, s)

		if daskErr == nil {
			fmt.Fprintln(os.Stderr, "clusterbench: dask.distributed")
			res, err := python.RunCluster(ctx, python.ClusterParams{Runs: 1, Workers: workers, RoundTrips: cfg.RoundTrips,
				Tasks: cfg.DaskTasks, Uneven: true, Crash: true})
			if err != nil {
				daskErr = err
				fmt.Fprintln(os.Stderr, "clusterbench: dask skipped:", err)
			} else {
				dask.Version = res.Version
				dask.RoundTrip = append(dask.RoundTrip, res.RoundTrip...)
				dask.Map = append(dask.Map, res.Map...)
				dask.Uneven = append(dask.Uneven, res.Uneven...)
				dask.Crash = append(dask.Crash, res.Crash...)
				dask.NodeKill = append(dask.NodeKill, res.NodeKill...)
			}
			// The trickle and stuck shapes as the compare harness's
			// workloads.py runs them on dask's LocalCluster.
			wl, err := python.RunWorkloads(ctx, python.WorkloadParams{Shapes: []string{"trickle", "stuck_one"},
				Only: []string{"dask"}, Runs: 1, Workers: workers, Scale: 1, LognormalN: 1,
				TrickleN: cfg.Trickle, TrickleInterval: trickleInterval.Seconds()})
			if err != nil {
				fmt.Fprintln(os.Stderr, "clusterbench: dask workloads skipped:", err)
			} else {
				daskTrickle = append(daskTrickle, wl.Metrics["trickle_median/dask"].Samples...)
				daskTrickle99 = append(daskTrickle99, wl.Metrics["trickle_p99/dask"].Samples...)
				stuckOne := wl.Metrics["stuck_one/dask"]
				daskStuck = append(daskStuck, stuckOne.Samples...)
				if stuckOne.Error != "" {
					daskStuckErr = stuckOne.Error
				}
			}
		}
	}
	st := c.Stats()
	ideal := workload.Ideal(workload.Uneven(1), workers).Seconds()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tmproc cluster\tdask.distributed %s\tJetStream floor\tfloor, consumer apart\tmproc vs dask\tmproc vs floor\tvs floor apart\n", dask.Version)
	row := func(name string, unit report.Unit, m, d, fl, apart []float64) {
		hi := unit.HigherIsBetter()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, cell(m, unit), cell(d, unit), cell(fl, unit), cell(apart, unit),
			ratio(m, d, hi), ratio(m, fl, hi), ratio(m, apart, hi))
	}
	row("Submit+Wait round trip, trivial task", report.Seconds, rt, dask.RoundTrip, rtFloor, rtApart)
	row(fmt.Sprintf("Map of %d trivial tasks, automatic chunking (dask: %d, one per task)", cfg.Auto, cfg.DaskTasks), report.PerSecond, auto, dask.Map, nil, nil)
	row(fmt.Sprintf("Map of %d trivial tasks, ChunkSize(1) (floor: %d round trips, %d at a time)", cfg.Chunk1, cfg.Chunk1, slots), report.PerSecond, chunk1, dask.Map, tpFloor, tpApart)
	row(fmt.Sprintf("uneven: 1×2s + 60×50ms, makespan (ideal %.2fs)", ideal), report.Seconds, uneven, dask.Uneven, nil, nil)
	row(fmt.Sprintf("Imap over a source yielding every 5ms, %d inputs: median latency", cfg.Trickle), report.Seconds, trickle, daskTrickle, nil, nil)
	row(fmt.Sprintf("Imap over a source yielding every 5ms, %d inputs: p99 latency", cfg.Trickle), report.Seconds, trickle99, daskTrickle99, nil, nil)
	row("after 1 stuck task (given up after 100ms): next Map of 4 trivial tasks", report.Seconds, stuck, daskStuck, nil, nil)
	row(fmt.Sprintf("crash: %d×50ms, one SIGKILLs its worker on its first run, makespan (ideal %.2fs)", crashTasks, crashIdeal.Seconds()),
		report.Seconds, crash, dask.Crash, nil, nil)
	row(fmt.Sprintf("node kill: %d×50ms, a node SIGKILLed after 200ms, makespan (ideal %.2fs)", killTasks, killIdeal.Seconds()),
		report.Seconds, killed, dask.NodeKill, nil, nil)
	tw.Flush()
	fmt.Fprintf(w, "\nuneven vs ideal: mproc %+.1f%%", 100*(stats.Summarize(uneven).Median/ideal-1))
	if len(dask.Uneven) > 0 {
		fmt.Fprintf(w, ", dask %+.1f%%", 100*(stats.Summarize(dask.Uneven).Median/ideal-1))
	}
	fmt.Fprintf(w, "\ncrash vs ideal: mproc %+.1f%%", 100*(stats.Summarize(crash).Median/crashIdeal.Seconds()-1))
	if len(dask.Crash) > 0 {
		fmt.Fprintf(w, ", dask %+.1f%%", 100*(stats.Summarize(dask.Crash).Median/crashIdeal.Seconds()-1))
	}
	if daskStuckErr != "" {
		fmt.Fprintf(w, "\ndask after a stuck task: %s", daskStuckErr)
	}
	fmt.Fprintf(w, "\ncluster stats: %+v\n", st)
	if daskErr != nil {
		fmt.Fprintf(w, "dask.distributed: %v\n", daskErr)
	}
	return nil
}

// median times op n times and returns the median, in seconds.
func median(n int, op func() error) (float64, error) {
	samples := make([]float64, 0, n)
	for range n {
		t0 := time.Now()
		if err := op(); err != nil {
			return 0, err
		}
		samples = append(samples, time.Since(t0).Seconds())
	}
	return stats.Summarize(samples).Median, nil
}

// throughput runs op over n inputs and returns inputs per second.
func throughput(n int, op func(in []int) error) (float64, error) {
	in := make([]int, n)
	for i := range in {
		in[i] = i
	}
	t0 := time.Now()
	if err := op(in); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t0).Seconds(), nil
}

// concurrently runs op n times, k at a time.
func concurrently(ctx context.Context, k, n int, op func(context.Context) error) error {
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	errs := make(chan error, k)
	for range k {
		go func() {
			for range jobs {
				if err := op(ctx); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range k {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// cell renders samples as the compare harness does: median (min–max).
func cell(samples []float64, unit report.Unit) string {
	if len(samples) == 0 {
		return "—"
	}
	return report.FormatCell(unit, report.Measured("", samples))
}

func ratio(m, other []float64, higherBetter bool) string {
	if len(m) == 0 || len(other) == 0 {
		return "—"
	}
	a, b := stats.Summarize(m).Median, stats.Summarize(other).Median
	if higherBetter {
		return fmt.Sprintf("%.2fx", a/b)
	}
	return fmt.Sprintf("%.2fx", b/a)
}
