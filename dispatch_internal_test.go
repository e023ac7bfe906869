package mproc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mproc-go/mproc/internal/spawn"
)

// The dispatch policy on its own: a pool without workers, workers without
// processes (proc set to a placeholder so that they count as process
// workers), calls over slices. Nothing here starts a process.

func policyPool(workers int) *Pool {
	p := &Pool{cfg: config{workers: workers, cancelGrace: DefaultCancelGrace}, workers: make(map[*worker]struct{})}
	p.cond.L = &p.mu
	p.live = workers
	return p
}

// procWorker returns a worker that counts as a process worker.
func procWorker(p *Pool, id int) *worker {
	w := &worker{id: id, proc: &spawn.Proc{}}
	p.workers[w] = struct{}{}
	return w
}

func sliceCall(n int, perItem time.Duration) *call {
	ctx, cancel := context.WithCancel(context.Background())
	c := &call{ctx: ctx, cancel: cancel, slice: sliceArgs[int], total: n, source: &sliceSource[int]{in: make([]int, n)}}
	if perItem > 0 {
		c.observe(1000, int64(perItem)*1000)
	}
	return c
}

func TestFirstInputOfACallGoesAlone(t *testing.T) {
	p := policyPool(2)
	c := sliceCall(1000, 0)
	if n := p.cutSize(c); n != 1 {
		t.Errorf("first cut of a call with nothing measured: %d inputs, want 1", n)
	}
	w := procWorker(p, 1)
	p.addCall(c)
	j := p.nextJob(w)
	p.assign(w, j)
	if j.est != -1 {
		t.Errorf("its estimate is %d, want -1 (unknown)", j.est)
	}
	if k := p.nextJob(w); k != nil {
		t.Errorf("a worker running a task of unknown cost was given %d more inputs; want none until it answers", k.n)
	}
	if k := p.nextJob(procWorker(p, 2)); k == nil || k.n != 1 {
		t.Errorf("an idle worker got %v; want a probe of one input too", k)
	}
}

func TestChunksRunAboutChunkWorkAndTheTailIsSmall(t *testing.T) {
	p := policyPool(2)
	c := sliceCall(1_000_000, 100*time.Nanosecond)
	if n, want := p.cutSize(c), int(chunkWork/int64(100*time.Nanosecond)); n != want {
		t.Errorf("100 ns inputs: chunk of %d, want %d (about %v of work)", n, want, time.Duration(chunkWork))
	}
	// The tail is cut in 2·workers-th parts of what is left, down to
	// minChunkWork.
	c = sliceCall(4000, 100*time.Nanosecond)
	if n := p.cutSize(c); n != 1000 {
		t.Errorf("4000 inputs left on 2 workers: chunk of %d, want 1000", n)
	}
	c = sliceCall(1000, 100*time.Nanosecond)
	if n, want := p.cutSize(c), int(minChunkWork/int64(100*time.Nanosecond)); n != want {
		t.Errorf("1000 inputs left: chunk of %d, want %d (minChunkWork)", n, want)
	}
	// Slow inputs go one by one, fixed chunks as given, OnProgress at 1%.
	if n := p.cutSize(sliceCall(1000, 2*time.Millisecond)); n != 1 {
		t.Errorf("2 ms inputs: chunk of %d, want 1", n)
	}
	fixed := sliceCall(1000, 100*time.Nanosecond)
	fixed.chunk = 7
	if n := p.cutSize(fixed); n != 7 {
		t.Errorf("ChunkSize(7): chunk of %d", n)
	}
	fine := sliceCall(400_000, 100*time.Nanosecond)
	fine.fine = true
	if n := p.cutSize(fine); n != 4000 {
		t.Errorf("OnProgress over 400k inputs: chunk of %d, want 4000 (1%%)", n)
	}
}

func TestAWorkerHoldsLittleWorkBehindItsTask(t *testing.T) {
	p := policyPool(1)
	w := procWorker(p, 1)
	c := sliceCall(100_000, 300*time.Microsecond) // chunks of one input
	p.addCall(c)
	var got []*job
	for {
		j := p.nextJob(w)
		if j == nil {
			break
		}
		p.assign(w, j)
		got = append(got, j)
	}
	// The running task, then 1 ms of 300 µs tasks: three.
	if len(got) != 4 || w.queued() > pipelineWork {
		t.Errorf("took %d jobs, %v queued behind the first; want 4, at most %v", len(got), time.Duration(w.queued()), time.Duration(pipelineWork))
	}
	// Of tasks longer than pipelineWork, one waits behind the running
	// one, so that the worker starts it without a round trip; never two.
	p = policyPool(1)
	w = procWorker(p, 1)
	p.addCall(sliceCall(100, 5*time.Millisecond))
	p.assign(w, p.nextJob(w))
	j := p.nextJob(w)
	if j == nil {
		t.Fatalf("no 5 ms task waits behind the running one: the worker would idle a round trip")
	}
	p.assign(w, j)
	if j := p.nextJob(w); j != nil {
		t.Errorf("a second 5 ms task was queued behind the running one")
	}
	// A quick worker's window is capped at maxWindow tasks.
	p = policyPool(1)
	w = procWorker(p, 1)
	c = sliceCall(10_000, time.Nanosecond)
	c.chunk = 1
	p.addCall(c)
	for range 2 * maxWindow {
		if j := p.nextJob(w); j != nil {
			p.assign(w, j)
		}
	}
	if len(w.inflight) != maxWindow {
		t.Errorf("%d trivial tasks in flight, want maxWindow = %d", len(w.inflight), maxWindow)
	}
	// Once full, it is refilled only after it used up a quarter.
	p.unassign(w, w.inflight[0])
	if p.wantsWork(w) {
		t.Errorf("a worker with %d of %d tasks in flight wants work; want it to wait for a batch", len(w.inflight), maxWindow)
	}
}

func TestAWorkerTakesNoMoreThanItsShare(t *testing.T) {
	p := policyPool(2)
	a, b := procWorker(p, 1), procWorker(p, 2)
	c := sliceCall(10_000, 10*time.Nanosecond)
	p.addCall(c)
	for {
		j := p.nextJob(a)
		if j == nil {
			break
		}
		p.assign(a, j)
	}
	if a.inputs > 5000 {
		t.Errorf("the first worker to ask took %d of 10000 inputs while another was about to; want at most half", a.inputs)
	}
	if j := p.nextJob(b); j == nil {
		t.Errorf("nothing left for the second worker")
	}
}

func TestStealTakesBackQueuedTasksButNotTheRunningOne(t *testing.T) {
	p := policyPool(2)
	w := procWorker(p, 1)
	c, other := sliceCall(10, time.Microsecond), sliceCall(10, time.Microsecond)
	for i, cc := range []*call{c, c, other, c} {
		p.assign(w, &job{c: cc, start: i, n: 1, est: 1000})
	}
	p.steal(w, other)
	var want []uint64
	for _, j := range w.inflight[1:] {
		if j.c != other {
			want = append(want, j.id)
		}
	}
	if !slices.Equal(w.steals, want) {
		t.Errorf("asked back %v, want %v: the queued tasks but the running one and those of the call kept", w.steals, want)
	}
	p.steal(w, other)
	if len(w.steals) != len(want) {
		t.Errorf("a second steal asked again: %v", w.steals)
	}
	// A task given back returns to its call, in input order.
	j := w.inflight[3]
	if _, ok := p.returned(w, j.id); !ok || len(c.pending) != 1 || c.pending[0] != j || !c.queued || p.calls[0] != c {
		t.Errorf("a returned task is not first in its call's queue: pending %v, calls %v", c.pending, p.calls)
	}
}

func TestACancelledTaskHoldsItsWorker(t *testing.T) {
	p := policyPool(2)
	p.cfg.cancelGrace = time.Hour // the grace timer must not fire here
	w := procWorker(p, 1)
	c, other := sliceCall(10, time.Microsecond), sliceCall(10, time.Microsecond)
	p.assign(w, &job{c: c, start: 0, n: 1, est: 1000})
	p.assign(w, &job{c: other, start: 0, n: 1, est: 1000})
	p.abandon(c)
	defer w.grace.Stop()
	if w.held == nil || p.wantsWork(w) {
		t.Fatalf("a worker running a cancelled task wants work (held %v)", w.held)
	}
	if len(w.cancels) != 1 || len(w.steals) != 1 || w.steals[0] != w.inflight[1].id {
		t.Errorf("cancels %v, steals %v: want the cancelled task cancelled and the other call's task asked back", w.cancels, w.steals)
	}
	p.release(w, w.inflight[0])
	if w.held != nil || !p.wantsWork(w) {
		t.Errorf("once the cancelled task returned, the worker still takes no work")
	}
}

func TestObserveForgetsASlowFirstInput(t *testing.T) {
	c := sliceCall(10, 0)
	c.observe(1, int64(10*time.Microsecond)) // cold
	c.observe(1000, int64(40*time.Microsecond))
	if c.perItem > 100 {
		t.Errorf("after 1 input in 10 µs and 1000 in 40 µs: %d ns per input, want about 40", c.perItem)
	}
	c.observe(100, int64(100*time.Millisecond)) // the inputs got slower
	if c.perItem != int64(time.Millisecond) {
		t.Errorf("after a chunk of 1 ms inputs: %v per input, want 1ms at once", time.Duration(c.perItem))
	}
	// Single inputs are averaged, the past halving each time.
	c = sliceCall(10, 0)
	c.observe(1, int64(2*time.Second))
	c.observe(1, int64(50*time.Millisecond))
	if got, want := time.Duration(c.perItem), (time.Second+50*time.Millisecond)*2/3; got != want {
		t.Errorf("after inputs of 2 s and 50 ms: %v per input, want %v", got, want)
	}
}

func TestReporterReportsEveryPercentInOrder(t *testing.T) {
	var got []Progress
	r := newReporter(func(pr Progress) { got = append(got, pr) }, 400)
	for done := 1; done <= 400; done++ {
		r.note(Progress{Done: done, Total: 400}) // all before the caller looks
	}
	r.flush()
	if len(got) != 100 {
		t.Fatalf("%d reports for 400 inputs, want 100 (every 1%%)", len(got))
	}
	for i, pr := range got {
		if pr.Done != 4*(i+1) {
			t.Fatalf("report %d: %+v, want Done %d", i, pr, 4*(i+1))
		}
	}
	r.final()
	if len(got) != 101 || got[100].Done != 400 {
		t.Errorf("final report missing: %v", got[len(got)-1])
	}
}

// A job that partial results answered in part, then sent again after its
// worker died, counts its inputs from where it now starts: the new worker
// knows nothing of the old one's partial results.
func TestAJobSentAgainForgetsPartialResults(t *testing.T) {
	p := policyPool(1)
	w := procWorker(p, 1)
	c := sliceCall(10, time.Microsecond)
	j := &job{c: c, start: 0, n: 10, args: make([]int, 10), est: 1000}
	p.assign(w, j)
	piece := j.answered(4)
	if piece.start != 0 || piece.n != 4 || j.start != 4 || j.n != 6 || j.skip != 4 {
		t.Fatalf("after a partial result of 4: piece %d+%d, job %d+%d skip %d", piece.start, piece.n, j.start, j.n, j.skip)
	}
	p.unassign(w, j)
	p.requeue([]*job{j})
	p.assign(procWorker(p, 2), p.nextJob(w))
	if j.skip != 0 || j.start != 4 || j.n != 6 {
		t.Errorf("sent again: job %d+%d skip %d, want 4+6 skip 0", j.start, j.n, j.skip)
	}
}
