package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/bench/internal/floor"
	"github.com/mproc-go/mproc/bench/internal/mprocbench"
	"github.com/mproc-go/mproc/bench/internal/peers"
	"github.com/mproc-go/mproc/bench/internal/report"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
	"github.com/mproc-go/mproc/bench/python"
)

// measure runs every contender on every metric. Codec rows come first, while
// no helper process or pool is alive, because allocation counts include
// every goroutine of the harness.
func measure(ctx context.Context, cfg config) *report.Report {
	r := &report.Report{
		Machine: report.Machine{
			Date:   time.Now().UTC(),
			CPU:    cpuModel(),
			NumCPU: runtime.NumCPU(),
			OS:     runtime.GOOS + "/" + runtime.GOARCH,
			Go:     runtime.Version(),
		},
		Quick: cfg.Runs < 5,
		Runs:  cfg.Runs,
	}

	progress("codec rows")
	small, smallAllocs := codecRows(cfg, "small", "codec round trip: small struct", workload.NewSmall(),
		(*workload.Small).Equal, workload.CopySmall, workload.NewSmall().RawBytes())
	floats := workload.NewFloats()
	flt, fltAllocs := codecRows(cfg, "floats", "codec round trip: 1e5 float64", &floats,
		func(a, b *[]float64) bool { return equalFloats(*a, *b) },
		func(p *[]float64) *[]float64 { c := workload.CopyFloats(*p); return &c }, 8*len(floats))
	g := workload.NewGraph(cfg.GraphNodes)
	graph, graphAllocs := codecRows(cfg, "graph", fmt.Sprintf("codec round trip: graph with cycles, %d nodes", cfg.GraphNodes), g,
		(*workload.Graph).SameShape, workload.CopyGraph, g.RawBytes())

	progress("codec graph scaling")
	var scaling []report.Reference
	var scalingCs []contender
	for _, n := range []int{1_000, 10_000, 100_000} {
		scaling = append(scaling, report.Reference{
			Key: fmt.Sprintf("mproc_codec_graph_%d", n), Title: fmt.Sprintf("mproc codec: graph of %d nodes, round trip per node", n),
			Unit: report.Seconds, Note: "flat from row to row means linear time",
		})
	}
	for i, n := range []int{1_000, 10_000, 100_000} {
		g := workload.NewGraph(n)
		op, err := mprocbench.Codec(g, (*workload.Graph).SameShape)
		scalingCs = append(scalingCs, on(&scaling[i].Cell, "")(perItem(op, cfg.Budget, n), err))
	}
	compete(cfg.Runs, scalingCs...)

	progress("CPython (bench.py)")
	py := runPython(ctx, cfg)

	progress("pool start")
	start := report.Metric{
		Key: "pool_start", Title: fmt.Sprintf("pool start to first result, %d workers", cfg.Workers), Unit: report.Seconds,
		CPython: report.Best(report.Seconds, py.cell("pool_start_spawn", id), py.cell("pool_start_fork", id), py.cell("pool_start_forkserver", id)),
		Notes: []string{
			"CPython: the fastest of its start methods (all three listed below); mproc re-executes its binary, like spawn, because a Go process cannot fork",
			"floor: re-executing this binary and one 16-byte ping-pong over a socketpair",
		},
	}
	compete(cfg.Runs,
		on(&start.Mproc, "")(mprocbench.Start(cfg.Workers)),
		on(&start.Peer, "net/rpc")(peers.RPCStart(cfg.Workers), nil),
		on(&start.Floor, "exec+ping")(floor.Start(cfg.Workers), nil))

	progress("round trip")
	rt := report.Metric{
		Key: "round_trip", Title: "Submit+Wait round trip, trivial task", Unit: report.Seconds,
		CPython: py.cell("apply", id),
		Notes: []string{fmt.Sprintf("mean of %d round trips per run (CPython: %d); mproc: a pool of one worker, like the one child of net/rpc and of the floor; CPython: Pool.apply; floor: %d-byte ping-pong over a socketpair",
			cfg.Rounds, pyRounds(cfg), floor.MessageSize)},
	}
	compete(cfg.Runs,
		on(&rt.Mproc, "")(mprocbench.RoundTrip(cfg.Rounds)),
		on(&rt.Peer, "net/rpc")(peers.RPCRoundTrip(cfg.Rounds)),
		on(&rt.Floor, "ping-pong")(floor.PingPong(cfg.Rounds)))

	progress("map, chunk 1")
	mapOne := report.Metric{
		Key: "map_chunk1", Title: fmt.Sprintf("Map %d trivial tasks, chunk size 1", cfg.MapChunk1), Unit: report.PerSecond,
		CPython: py.cell("map_chunk1", id),
		Notes: []string{
			"net/rpc: one call per task, 16 calls in flight per worker",
			fmt.Sprintf("floor: pipelined %d-byte messages, one write(2) each, echoed by %d children", floor.MessageSize, cfg.Workers),
		},
	}
	compete(cfg.Runs,
		on(&mapOne.Mproc, "")(mprocbench.Map(cfg.MapChunk1, cfg.Workers, 1)),
		on(&mapOne.Peer, "net/rpc")(peers.RPCMap(cfg.MapChunk1, cfg.Workers, 1)),
		on(&mapOne.Floor, "pipelined")(floor.MessageRate(cfg.MapChunk1, cfg.Workers)))

	progress("map, automatic chunk")
	autoChunk := (cfg.MapAuto + 4*cfg.Workers - 1) / (4 * cfg.Workers) // CPython's default heuristic
	mapAuto := report.Metric{
		Key: "map_auto", Title: fmt.Sprintf("Map %d trivial tasks, automatic chunk size", cfg.MapAuto), Unit: report.PerSecond,
		CPython: py.cell("map_auto", id),
		Notes: []string{
			fmt.Sprintf("net/rpc: %d tasks per call, CPython's default chunk size for %d workers", autoChunk, cfg.Workers),
			"floor: 8 bytes per task streamed through the children in 64 KiB writes",
		},
	}
	compete(cfg.Runs,
		on(&mapAuto.Mproc, "")(mprocbench.Map(cfg.MapAuto, cfg.Workers, 0)),
		on(&mapAuto.Peer, "net/rpc batches")(peers.RPCMap(cfg.MapAuto, cfg.Workers, autoChunk)),
		on(&mapAuto.Floor, "stream")(floor.StreamRate(cfg.MapAuto, cfg.Workers)))

	progress("CPU-bound speed-up")
	speed := report.Metric{
		Key: "speedup", Title: fmt.Sprintf("CPU-bound Map speed-up, %d workers", cfg.Workers), Unit: report.Times,
		CPython: py.cell("speedup", id),
		Notes:   []string{fmt.Sprintf("%d tasks of tens of milliseconds; serial time (measured before and after) over parallel time; floor: the same tasks on %d goroutines", cfg.Tasks, cfg.Workers)},
	}
	compete(cfg.Runs,
		on(&speed.Mproc, "")(mprocbench.Speedup(cfg.Tasks, cfg.Workers)),
		on(&speed.Peer, "net/rpc")(peers.RPCSpeedup(cfg.Tasks, cfg.Workers)),
		on(&speed.Floor, "goroutines")(floor.Speedup(cfg.Tasks, cfg.Workers), nil))

	progress("64 MiB argument")
	bulkBytes := float64(cfg.BulkBytes)
	bulk := report.Metric{
		Key: "bulk", Title: fmt.Sprintf("%d MiB []byte argument round trip", cfg.BulkBytes>>20), Unit: report.BytesPerSec,
		CPython: py.cell("bulk", func(s float64) float64 { return bulkBytes / s }),
		Notes: []string{"bytes/s counts the argument once (it travels there and back); floor: the bytes echoed through a socketpair from and into preallocated buffers",
			fmt.Sprintf("every contender first makes %d untimed round trips on the same pool: the first ones land in memory new to both processes (the first round trip of a fresh pool is among the references)", workload.BulkWarm)},
	}
	compete(cfg.Runs,
		on(&bulk.Mproc, "")(mprocbench.Bulk(cfg.BulkBytes)),
		on(&bulk.Peer, "net/rpc")(peers.RPCBulk(cfg.BulkBytes)),
		on(&bulk.Floor, "socketpair")(floor.Bulk(cfg.BulkBytes)))

	small.CPython = py.cell("pickle_small", bytesPerSec(workload.NewSmall().RawBytes()))
	flt.CPython = report.Best(report.BytesPerSec, py.cell("pickle_floats_array", bytesPerSec(8*len(floats))), py.cell("pickle_floats_list", bytesPerSec(8*len(floats))))
	graph.CPython = py.cell("pickle_graph", bytesPerSec(g.RawBytes()))
	for _, m := range []*report.Metric{&smallAllocs, &fltAllocs, &graphAllocs} {
		m.CPython = report.Missing(report.NotApplicable, "pickle", "CPython allocates an object per value and has no per-operation allocation count comparable to Go's")
	}
	r.Metrics = []report.Metric{start, rt, mapOne, mapAuto, speed, bulk, small, smallAllocs, flt, fltAllocs, graph, graphAllocs}
	r.Machine.Python = py.version()

	progress("references")
	r.References = []report.Reference{
		{Key: "mproc_inprocess_round_trip", Title: "mproc in-process backend: Submit+Wait round trip (no IPC)", Unit: report.Seconds},
		{Key: "mproc_inprocess_map", Title: fmt.Sprintf("mproc in-process backend: Map %d trivial tasks, chunk 1 (no IPC)", cfg.MapChunk1), Unit: report.PerSecond},
		{Key: "memcopy_bulk", Title: fmt.Sprintf("memory copy, %d MiB (allocate + copy)", cfg.BulkBytes>>20), Unit: report.BytesPerSec,
			Note: "what shared memory could approach for the bulk row"},
		{Key: "memcopy_floats", Title: "memory copy, 800 kB (allocate + copy)", Unit: report.BytesPerSec},
		{Key: "mproc_bulk_cold", Title: fmt.Sprintf("mproc: %d MiB []byte argument, the first round trip of a fresh pool", cfg.BulkBytes>>20), Unit: report.BytesPerSec,
			Note: "memory new to both processes: page faults, not the transfer, take most of the time"},
	}
	refs := r.References
	compete(cfg.Runs,
		on(&refs[0].Cell, "")(mprocbench.InProcessRoundTrip(cfg.Rounds)),
		on(&refs[1].Cell, "")(mprocbench.InProcessMap(cfg.MapChunk1, cfg.Workers)),
		on(&refs[2].Cell, "memcopy")(floor.MemCopy(cfg.BulkBytes, cfg.Budget), nil),
		on(&refs[3].Cell, "memcopy")(floor.MemCopy(8*len(floats), cfg.Budget), nil),
		on(&refs[4].Cell, "")(mprocbench.BulkCold(cfg.BulkBytes)))
	r.References = append(r.References, scaling...)

	if cfg.Workloads {
		r.Workloads = measureWorkloads(ctx, cfg)
	}
	if cfg.Queues {
		r.Queues = measureQueues(ctx, cfg)
	}
	return r
}

// perItem turns a codec operation into a trial whose samples are seconds
// per item of a value of items items.
func perItem(op func(n int) error, budget time.Duration, items int) stats.Trial {
	return stats.Trial{Once: func() (float64, error) {
		o, err := stats.Time(budget, op)
		return o.Seconds / float64(items), err
	}}
}

// contender is one column's trial for the metric being measured, or the
// error that kept it from being set up.
type contender struct {
	cell    *report.Cell
	variant string
	trial   stats.Trial
	err     error
}

// on names where a trial's figure goes: on(&m.Peer, "net/rpc")(peers.RPCRoundTrip(n)).
func on(cell *report.Cell, variant string) func(stats.Trial, error) contender {
	return func(t stats.Trial, err error) contender { return contender{cell, variant, t, err} }
}

// compete runs the contenders that could be set up, taking turns within each
// run, and fills their cells: a figure, "not built yet" for an mproc API
// that does not exist, or the error.
func compete(runs int, cs ...contender) {
	var ready []stats.Trial
	var readyCs []contender
	for _, c := range cs {
		switch {
		case errors.Is(c.err, mprocbench.ErrNotBuilt):
			*c.cell = report.Missing(report.Unavailable, c.variant, c.err.Error())
		case c.err != nil:
			*c.cell = report.Missing(report.Failed, c.variant, c.err.Error())
		default:
			ready, readyCs = append(ready, c.trial), append(readyCs, c)
		}
	}
	samples, errs := stats.Interleave(runs, ready...)
	for i, c := range readyCs {
		*c.cell = report.FromErr(c.variant, samples[i], errs[i])
	}
}

// codecRows measures one data shape through every codec and returns its
// bytes/s row and its allocations row (CPython is filled in later). The
// contenders take turns within each run, so a burst of load on the machine
// hits all of them alike instead of one contender's every run.
func codecRows[T any](cfg config, key, title string, v *T, same func(a, b *T) bool, deepCopy func(*T) *T, raw int) (speed, allocs report.Metric) {
	type contender struct {
		column, name string
		op           func(n int) error
		err          error // set up or measurement failed
		speed, alloc []float64
	}
	cs := []*contender{{column: "mproc", name: "codec stream"}}
	cs[0].op, cs[0].err = mprocbench.Codec(v, same)
	var unsupported []report.Cell
	if key == "graph" {
		reason := "no shared references: a cycle recurses until the stack overflows, a fatal error no program can recover from"
		_, err := peers.JSON(v, same)
		if err == nil {
			err = errors.New("it did not refuse the cycle")
		}
		unsupported = []report.Cell{
			report.Missing(report.Unsupported, "gob", "encoding/gob has "+reason),
			report.Missing(report.Unsupported, "msgpack/v5", "msgpack has "+reason),
			report.Missing(report.Unsupported, "json", "encoding/json refuses the graph: "+err.Error()),
		}
	} else {
		for _, p := range []struct {
			name string
			rt   func(v *T, same func(a, b *T) bool) (func(int) error, error)
		}{{"gob stream", peers.GobStream[T]}, {"json", peers.JSON[T]}, {"msgpack/v5", peers.Msgpack[T]}} {
			c := &contender{column: "peer", name: p.name}
			c.op, c.err = p.rt(v, same)
			cs = append(cs, c)
		}
	}
	cs = append(cs, &contender{column: "floor", name: "deep copy", op: func(n int) error {
		for range n {
			if out := deepCopy(v); out == nil {
				return fmt.Errorf("deep copy of %T returned nil", v)
			}
		}
		return nil
	}})

	for range cfg.Runs {
		for _, c := range cs {
			if c.err != nil {
				continue
			}
			o, err := stats.Time(cfg.Budget, c.op)
			if err != nil {
				c.err = err
				continue
			}
			c.speed = append(c.speed, float64(raw)/o.Seconds)
			c.alloc = append(c.alloc, o.Allocs)
		}
	}

	cells := func(c *contender) (report.Cell, report.Cell) {
		switch {
		case errors.Is(c.err, mprocbench.ErrNotBuilt):
			m := report.Missing(report.Unavailable, c.name, c.err.Error())
			return m, m
		case c.err != nil:
			m := report.Missing(report.Failed, c.name, c.err.Error())
			return m, m
		}
		return report.Measured(c.name, c.speed), report.Measured(c.name, c.alloc)
	}
	speed = report.Metric{Key: "codec_" + key, Title: title + " (bytes/s)", Unit: report.BytesPerSec}
	allocs = report.Metric{Key: "codec_" + key + "_allocs", Title: title + " (allocs)", Unit: report.AllocsPerOp}
	peerSpeed, peerAllocs := unsupported, unsupported
	for _, c := range cs {
		s, a := cells(c)
		switch c.column {
		case "mproc":
			speed.Mproc, allocs.Mproc = s, a
		case "peer":
			peerSpeed, peerAllocs = append(peerSpeed, s), append(peerAllocs, a)
		case "floor":
			speed.Floor, allocs.Floor = s, a
		}
	}
	speed.Peer = report.Best(report.BytesPerSec, peerSpeed...)
	allocs.Peer = report.Best(report.AllocsPerOp, peerAllocs...)
	speed.Notes = []string{fmt.Sprintf("bytes/s counts the value's raw data, %d bytes, for every contender; floor: a hand-written deep copy", raw)}
	return speed, allocs
}

// pyResult wraps bench.py's result, or why there is none.
type pyResult struct {
	res *python.Result
	err error
}

func runPython(ctx context.Context, cfg config) pyResult {
	if !cfg.Python {
		return pyResult{err: errors.New("-nopython given")}
	}
	res, err := python.Run(ctx, python.Params{
		Runs: cfg.Runs, Workers: cfg.Workers, Rounds: pyRounds(cfg),
		MapChunk1: cfg.MapChunk1, MapAuto: cfg.MapAuto, BulkBytes: cfg.BulkBytes, Tasks: cfg.Tasks,
		Floats: workload.FloatsLen, GraphNodes: cfg.GraphNodes, BudgetSeconds: cfg.Budget.Seconds(),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: CPython skipped: %v\n", err)
	}
	return pyResult{res: res, err: err}
}

// pyRounds caps the apply round trips per run: CPython's are ten times
// slower, and the mean of 2000 is as steady as that of more.
func pyRounds(cfg config) int { return min(cfg.Rounds, 2000) }

func (p pyResult) version() string {
	if p.res == nil {
		return "not run (" + p.err.Error() + ")"
	}
	return p.res.Python
}

// cell converts bench.py's samples for key with convert.
func (p pyResult) cell(key string, convert func(float64) float64) report.Cell {
	if p.err != nil {
		return report.Missing(report.Skipped, "", p.err.Error())
	}
	m, ok := p.res.Metrics[key]
	return pythonCell(m, ok, key, convert)
}

// pythonCell converts one metric of a Python script, reported as key (ok
// false when it was not), with convert.
func pythonCell(m python.Metric, ok bool, key string, convert func(float64) float64) report.Cell {
	switch {
	case !ok:
		return report.Missing(report.Failed, "", "the Python script reported no "+key)
	case m.Unsupported != "":
		return report.Missing(report.Unsupported, m.Variant, m.Unsupported)
	case m.Error != "":
		return report.Missing(report.Failed, m.Variant, m.Error)
	}
	samples := make([]float64, len(m.Samples))
	for i, s := range m.Samples {
		if s <= 0 {
			return report.Missing(report.Failed, m.Variant, fmt.Sprintf("the Python script reported a non-positive sample %v for %s", s, key))
		}
		samples[i] = convert(s)
	}
	return report.Measured(m.Variant, samples)
}

func id(x float64) float64 { return x }

func bytesPerSec(raw int) func(seconds float64) float64 {
	return func(s float64) float64 { return float64(raw) / s }
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var step atomic.Value // string: the metric being measured, for the watchdog

// progress announces the next step on stderr and records it for the
// watchdog's message.
func progress(what string) {
	step.Store(what)
	fmt.Fprintf(os.Stderr, "compare: %s ...\n", what)
}

func currentStep() string {
	if s, ok := step.Load().(string); ok {
		return s
	}
	return "nothing yet"
}

// cpuModel reads the processor's name from /proc/cpuinfo, or GOARCH.
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.Lines(string(data)) {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
			}
		}
	}
	return runtime.GOARCH
}
