package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mproc-go/mproc/bench/internal/floor"
	"github.com/mproc-go/mproc/bench/internal/mprocbench"
	"github.com/mproc-go/mproc/bench/internal/report"
	"github.com/mproc-go/mproc/bench/python"
)

// measureQueues measures the queues, pipes and shared objects table shape
// by shape: mproc's runs of a shape (with the floor's, taking turns,
// where the row has one), then queues.py on the same shape, so that a
// change of load on the machine hits both sides of a row alike.
func measureQueues(ctx context.Context, cfg config) []report.QueueRow {
	py := &pythonQueues{ctx: ctx, cfg: cfg}
	// Rows are appended before any pointer into out is kept: size it first.
	out := make([]report.QueueRow, 0, 12)
	add := func(key, title string, unit report.Unit, target report.Target, notes ...string) *report.QueueRow {
		out = append(out, report.QueueRow{Key: key, Title: title, Unit: unit, Target: &target, Notes: notes})
		row := &out[len(out)-1]
		progress("queues: " + key)
		return row
	}

	row := add("queue_items", fmt.Sprintf("Queue of ints, producer process → consumer, %d items", cfg.QueueItems), report.PerSecond,
		report.Target{Value: 2e6},
		"items/s from the first put (item 0 carries the system-wide monotonic clock) to the consumer's get that sees the end (mproc: the producer Closes the queue; CPython: the sentinel None); new processes and a new queue per run, their start not timed",
		"mproc: the producer is a process started with mproc.Start, putting one item per Put; the consumer is either the process that made the queue (parent consumer: its Gets are local) or a second mproc.Start process looping over All, which asks for 32 items ahead (consumer process: the parent only relays)",
		"CPython: a Process putting into multiprocessing.Queue (put returns before the item is pickled: a feeder thread writes it) or SimpleQueue (put pickles and writes under a lock), the parent consuming")
	var parent, between report.Cell
	compete(cfg.Runs,
		on(&parent, "parent consumer")(mprocbench.QueueItems(cfg.QueueItems, false)),
		on(&between, "consumer process")(mprocbench.QueueItems(cfg.QueueItems, true)))
	row.Mproc = report.Best(row.Unit, parent, between)
	res, err := py.run("queue_items")
	row.CPython = report.Best(row.Unit, py.cell(row, res, err, "queue_items/queue", "Queue"), py.cell(row, res, err, "queue_items/simplequeue", "SimpleQueue"))

	row = add("queue_latency", fmt.Sprintf("Queue put→get latency, p50 of %d items one at a time", cfg.LatencyRounds), report.Seconds,
		report.Target{Value: 10e-6},
		"one-way, measured with timestamps: the producer process puts the system-wide monotonic clock (CLOCK_MONOTONIC: unix.ClockGettime in Go, time.monotonic_ns in Python), the parent, which made the queue, reads it again when its get returns and answers on a second queue of the same kind; the producer puts the next item only then, so no item waits behind another. The first tenth of the items warms up and is not counted; per run the median, p99 below")
	lat, p99, err := mprocbench.QueueLatency(cfg.LatencyRounds)
	compete(cfg.Runs, on(&row.Mproc, "")(lat, err))
	res, err = py.run("queue_latency")
	row.CPython = report.Best(row.Unit, py.cell(row, res, err, "queue_latency/queue", "Queue"), py.cell(row, res, err, "queue_latency/simplequeue", "SimpleQueue"))
	tails := []string{"mproc " + formatSamples(row.Unit, *p99, row.Mproc.OK())}
	for _, kind := range []struct{ key, name string }{{"simplequeue", "SimpleQueue"}, {"queue", "Queue"}} {
		c := py.cell(nil, res, err, "queue_latency_p99/"+kind.key, kind.name)
		tails = append(tails, "CPython "+kind.name+" "+report.FormatCell(row.Unit, withoutVariant(c)))
	}
	row.Notes = append(row.Notes, "p99 (nearest rank) of each run, median (min–max) of the runs: "+strings.Join(tails, "; "))

	row = add("queue_mib", fmt.Sprintf("Queue of 1 MiB items, producer process → parent, %d items", cfg.MiBItems), report.BytesPerSec,
		report.Target{Value: 1e9},
		fmt.Sprintf("bytes/s from the first put (the clock in item 0's first 8 bytes) to the parent's get that sees the end; mproc: a Queue[[]byte] bounded by QueueCapacity(%d), closed by the producer; CPython: multiprocessing.Queue(maxsize=%d) or SimpleQueue (bounded only by its pipe) of bytes, ended by None", mprocbench.QueueCapacityMiB, mprocbench.QueueCapacityMiB))
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.QueueMiB(cfg.MiBItems)))
	res, err = py.run("queue_mib")
	row.CPython = report.Best(row.Unit, py.cell(row, res, err, "queue_mib/queue", "Queue"), py.cell(row, res, err, "queue_mib/simplequeue", "SimpleQueue"))

	row = add("pipe", "Pipe round trip, echo process", report.Seconds,
		report.Target{Value: 1.3, OfFloor: true},
		fmt.Sprintf("mean of %d round trips per run after %d to warm up; mproc: Send and Recv of an int over mproc.NewPipe[int], the other end in a process started with mproc.Start that Recvs and Sends it back; CPython: conn.send/conn.recv over multiprocessing.Pipe() to a Process echoing; floor: a %d-byte ping-pong over a socketpair to an echo child, no encoding", cfg.Rounds, cfg.Rounds/10, floor.MessageSize))
	row.Floor = new(report.Cell)
	compete(cfg.Runs,
		on(&row.Mproc, "")(mprocbench.PipeRoundTrip(cfg.Rounds)),
		on(row.Floor, "")(floor.PingPong(cfg.Rounds)))
	res, err = py.run("pipe")
	row.CPython = py.cell(row, res, err, "pipe", "Pipe")

	row = add("map_set", fmt.Sprintf("shared map set through a proxy, %d sets", cfg.MapSets), report.PerSecond,
		report.Target{Value: 1e5},
		"sets/s, one after the other, timed by the setting process itself after one untimed set; mproc: NewSharedMap[int, int]() in the parent, m.Set(ctx, i, i) in a process started with mproc.Start; CPython: Manager().dict() made in the parent, d[i] = i in a Process; a new map and process per run, the parent checking every key afterwards")
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.MapSets(cfg.MapSets)))
	res, err = py.run("map_set")
	row.CPython = py.cell(row, res, err, "map_set", "Manager().dict()")

	row = add("lock_uncontended", "Lock acquire+release, uncontended", report.Seconds,
		report.Target{Value: 25e-9},
		fmt.Sprintf("per run a new lock, %d pairs by one goroutine (one thread), the mean; mproc: Lock and Unlock of mproc.NewLock(), a futex word in shared memory; CPython: acquire() and release() of multiprocessing.Lock(), a POSIX semaphore, bound methods looked up once", cfg.LockOps))
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.LockUncontended(cfg.LockOps)))
	res, err = py.run("lock_uncontended")
	row.CPython = py.cell(row, res, err, "lock_uncontended", "Lock")

	row = add("lock_two_procs", fmt.Sprintf("two processes incrementing under one Lock, %d increments", cfg.LockIncs), report.PerSecond,
		report.Target{Value: 5e6},
		"increments/s of one shared int64, each under the lock, half by each of two processes; timed by the parent from a barrier that starts both to their end, process start not timed, the counter checked; mproc: mproc.Lock, mproc.SharedValue[int64] and mproc.Barrier, two processes of mproc.Start; CPython: multiprocessing.Lock, Value('q', lock=False) and Barrier, two Processes")
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.LockTwoProcesses(cfg.LockIncs)))
	res, err = py.run("lock_two_procs")
	row.CPython = py.cell(row, res, err, "lock_two_procs", "Lock")

	row = add("event_hop", "Event set→wake between two processes", report.Seconds,
		report.Target{Value: 10e-6},
		fmt.Sprintf("half the round trip of Set on one event and Wait on a second, a process answering (Wait, Clear, Set), %d rounds per run, the median after the first tenth; mproc: two mproc.NewEvent (futex words in shared memory) handed to a process of mproc.Start; CPython: two multiprocessing.Event, a Process answering", cfg.EventRounds))
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.EventHop(cfg.EventRounds)))
	res, err = py.run("event_hop")
	row.CPython = py.cell(row, res, err, "event_hop", "Event")

	row = add("shm_share", fmt.Sprintf("SharedMemory of %d MiB created and handed to a worker", cfg.ShmBytes>>20), report.Seconds,
		report.Target{Value: 1e-3},
		"from creating the segment to the return of a task in a warm worker of a pool of one that wrote its last byte, the parent checking it; mproc: mproc.NewSharedMemory (a memfd, mapped) passed in Submit's argument as a handle; CPython: shared_memory.SharedMemory(create=True) and pool.apply of a function attaching it by name, close and unlink after the clock")
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.ShmShare(cfg.ShmBytes)))
	res, err = py.run("shm_share")
	row.CPython = py.cell(row, res, err, "shm_share", "SharedMemory")

	row = add("shared_slice", fmt.Sprintf("a %d MiB shared slice to a worker and back", cfg.ShmBytes>>20), report.Seconds,
		report.Target{Value: 100e-6},
		fmt.Sprintf("Submit+Wait on a warm pool of one of a task whose input holds a shared slice made once, the worker reading one element the parent wrote before (another each time); per run the median of %d tasks; mproc:", mprocbench.SliceTasks)+" mproc.NewSharedSlice[byte] passed as a handle (the worker maps the memfd, unmaps it when the task returns); CPython: pool.apply of a function attaching a shared_memory.SharedMemory by name and reading the byte")
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.SharedSliceTrip(cfg.ShmBytes)))
	res, err = py.run("shared_slice")
	row.CPython = py.cell(row, res, err, "shared_slice", "SharedMemory")

	row = add("table_pss", fmt.Sprintf("4 workers reading one %d MiB shared table: memory it costs the machine", cfg.TableBytes>>20), report.OfSize,
		report.Target{Value: 1.10},
		"per run a new mproc.NewSharedSlice[uint64] filled by the parent and a new pool of 4 workers handed it by Initializer, each reading all of it (a Map of 4 tasks, one each, the sums checked); the figure is the proportional set size of the 5 processes together (/proc/PID/smaps_rollup) less what the parent held before the table and the workers before they read it, over the table's size: 1.00 means one copy in RAM, 5.00 one per process")
	compete(cfg.Runs, on(&row.Mproc, "")(mprocbench.TablePSS(cfg.TableBytes)))
	row.CPython = report.Missing(report.NotApplicable, "", "not measured: under fork a Pool's workers share the parent's pages copy-on-write (no copy while they only read a bytes table), under spawn initargs are pickled into each worker (a copy per worker); neither is a shared object it hands over")

	row = add("handle_task", "Submit+Wait of a task carrying an open file (a handle)", report.Seconds,
		report.Target{Value: 20e-6, OverBase: true},
		fmt.Sprintf("per run %d pairs of Submit+Wait on a warm pool of 1 worker, alternating: the input struct holding an *os.File (os.DevNull, opened once: it travels as a duplicated descriptor and the worker closes its copy when the task returns) and the same struct with a nil file, the base; each figure is the median call of its kind, and the target bounds what the file adds to the base", cfg.HandleRounds))
	handle, without, err := mprocbench.HandleCost(cfg.HandleRounds)
	compete(cfg.Runs, on(&row.Mproc, "")(handle, err))
	base := report.Missing(row.Mproc.Status, "", "measured in the runs with a file: "+row.Mproc.Reason)
	if row.Mproc.OK() {
		base = report.Measured("", *without)
	}
	row.Base = &base
	res, err = py.run("handle_task")
	row.CPython = py.cell(row, res, err, "handle_task", "Pool.apply")
	return out
}

// withoutVariant drops the cell's variant, for notes that name it already.
func withoutVariant(c report.Cell) report.Cell {
	c.Variant = ""
	return c
}

// formatSamples renders side samples (the p99s of the latency runs) as a
// cell would, or says there are none when their trial failed.
func formatSamples(u report.Unit, samples []float64, ok bool) string {
	if !ok || len(samples) == 0 {
		return "none (the runs failed)"
	}
	return report.FormatCell(u, report.Measured("", samples))
}

// pythonQueues runs queues.py one shape at a time.
type pythonQueues struct {
	ctx context.Context
	cfg config
}

// run runs queues.py on one shape.
func (py *pythonQueues) run(shape string) (*python.QueueResult, error) {
	cfg := py.cfg
	if !cfg.Python {
		return nil, fmt.Errorf("-nopython given")
	}
	progress("queues: CPython " + shape)
	res, err := python.RunQueues(py.ctx, python.QueueParams{
		Shapes: []string{shape}, Runs: cfg.Runs, Items: cfg.QueueItems, LatencyRounds: cfg.LatencyRounds,
		MiBItems: cfg.MiBItems, Rounds: cfg.Rounds, Sets: cfg.MapSets, LockOps: cfg.LockOps, LockIncs: cfg.LockIncs,
		EventRounds: cfg.EventRounds, ShmBytes: cfg.ShmBytes,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: CPython %s skipped: %v\n", shape, err)
	}
	return res, err
}

// cell is queues.py's metric key as a cell named name; what the script
// says it ran goes to row's notes (when row is not nil).
func (py *pythonQueues) cell(row *report.QueueRow, res *python.QueueResult, err error, key, name string) report.Cell {
	if err != nil {
		return report.Missing(report.Skipped, "", err.Error())
	}
	m, ok := res.Metrics[key]
	c := pythonCell(m, ok, key, id)
	c.Variant = name
	if row != nil && m.Variant != "" {
		row.Notes = append(row.Notes, fmt.Sprintf("CPython %s ran %s", name, m.Variant))
	}
	return c
}
