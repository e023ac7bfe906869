package mproc

import (
	"fmt"
	"slices"
	"time"

	"github.com/mproc-go/mproc/internal/spawn"
)

// Dispatch: which worker gets which task, and when. Everything here runs
// with Pool.mu held. The rules, in the order they apply:
//
//   - Calls are served in the order they were submitted (Pool.calls). A
//     call's inputs are cut into jobs (chunks) only when a worker can take
//     one, so a chunk's size uses what the call's tasks were measured to
//     cost so far (cutSize).
//   - A worker holds at most pipelineWork of estimated work queued behind
//     the task it runs (or one job, however long), and at most maxWindow
//     tasks: enough to hide the round trip, never so much that short tasks
//     wait behind a long one while another worker idles. A task of unknown cost
//     (the first of a call) goes only to a worker with nothing in flight,
//     and nothing is queued behind it (fits).
//   - A worker that runs out of work takes back (steals) the tasks queued
//     at a worker whose running task has run twice as long as expected, or
//     whose call was cancelled; a worker gives back only tasks it has not
//     started, so every input still runs once (balance).
//   - A worker running a task of a cancelled call gets no new work until
//     that task returns, and is killed after CancelGrace if it does not;
//     if it has not returned after spareAfter, a replacement starts at once
//     and the held worker ends with its task (hold).
const (
	// pipelineWork bounds the estimated work queued at a worker behind
	// the task it runs.
	pipelineWork = int64(time.Millisecond)
	// maxWindow bounds the tasks in flight to one worker: at ChunkSize(1),
	// trivial tasks ran at 270k/s on 2 workers with 64 in flight and at
	// 365k/s with 256.
	maxWindow = 256
	// spareAfter is how long a task of a cancelled call may go on before
	// its worker is replaced without waiting for CancelGrace: a task that
	// heeds its context returns within microseconds; one still running
	// after this likely ignores it, and the next calls should not wait the
	// grace out (a second of CancelGrace against 10-20 ms to start a
	// process). The held worker ends when its task returns, or is killed
	// after CancelGrace; until then the pool has a process more.
	spareAfter = 10 * time.Millisecond
	// chunkWork is how long an automatic chunk should run, and
	// minChunkWork the least, in the tail of a call: the cost of a
	// message, some microseconds, stays a small part of a chunk's.
	chunkWork    = int64(500 * time.Microsecond)
	minChunkWork = int64(50 * time.Microsecond)
	// For a remote pool a chunk also pays a network round trip through a
	// server that stores it (about 0.3–1 ms on loopback): its chunks run
	// longer, so that the round trip stays a small part of them.
	remoteChunkWork    = int64(20 * time.Millisecond)
	remoteMinChunkWork = int64(2 * time.Millisecond)
	// stealMin is the least time a task must have run before the tasks
	// queued behind it are taken back for an idle worker.
	stealMin = int64(time.Millisecond)
)

// addCall puts c at the end of the queue of calls with work.
func (p *Pool) addCall(c *call) {
	if !c.queued {
		c.queued = true
		p.calls = append(p.calls, c)
	}
}

// removeCall takes c out of the queue of calls with work.
func (p *Pool) removeCall(c *call) {
	if !c.queued {
		return
	}
	c.queued = false
	if i := slices.Index(p.calls, c); i >= 0 {
		p.calls = slices.Delete(p.calls, i, i+1)
	}
}

// hasWork reports whether some call has a job to send now.
func (p *Pool) hasWork() bool {
	for _, c := range p.calls {
		if c.ctx.Err() == nil && (len(c.pending) > 0 || c.source != nil && c.source.available() > 0) {
			return true
		}
	}
	return false
}

// queued returns the estimated work waiting at w behind the task it runs.
func (w *worker) queued() int64 {
	if len(w.inflight) == 0 {
		return 0
	}
	return w.work - max(w.inflight[0].est, 0)
}

// wantsWork reports whether w may be sent jobs now. A busy process worker
// is refilled in batches, once it has used up half of what it holds: one
// write then carries many tasks.
func (p *Pool) wantsWork(w *worker) bool {
	if w.stopping || w.broken || w.held != nil {
		return false
	}
	n := len(w.inflight)
	if w.proc == nil {
		return n == 0 // a goroutine runs one job at a time
	}
	if n <= 1 {
		return true
	}
	return w.unknown == 0 && n <= maxWindow*3/4 && w.queued() <= pipelineWork/2
}

// fits reports whether a job estimated at est (-1 unknown) may join what
// w holds.
func fits(w *worker, est int64) bool {
	n := len(w.inflight)
	if n == 0 {
		return true
	}
	if w.proc == nil || est < 0 || w.unknown > 0 || n >= maxWindow {
		return false
	}
	// One job always waits behind the running one, however long: the
	// worker then starts it without a round trip, and if the running
	// task overruns, an idle worker steals it back (balance).
	return n == 1 || w.queued()+est <= pipelineWork
}

// cutSize returns how many inputs of c the next job takes, 0 when c has
// none available now.
//
// A fixed ChunkSize is taken as it is. Otherwise the first job of a call
// has one input, to measure; then a job runs about chunkWork, but no more
// than its share of the work left (guided scheduling: a 2·workers-th of
// the inputs left), so that the tail of a call comes in pieces small
// enough to spread over every worker, down to minChunkWork. With
// OnProgress a job holds at most 1% of the call.
func (p *Pool) cutSize(c *call) int {
	avail := c.source.available()
	if avail == 0 {
		return 0
	}
	if c.chunk > 0 {
		return min(c.chunk, avail)
	}
	if c.perItem == 0 {
		return 1
	}
	workers := max(p.cfg.workers, 1)
	left := c.source.remaining()
	if left < 0 {
		left = avail // an Imap: what was read so far is all there is to share
	}
	share := (left + 2*workers - 1) / (2 * workers)
	work, least := chunkWork, minChunkWork
	if p.cfg.remote != nil {
		work, least = remoteChunkWork, remoteMinChunkWork
	}
	n := min(int(work/c.perItem), max(share, int(least/c.perItem)))
	if c.fine && c.total > 0 {
		n = min(n, (c.total+99)/100)
	}
	return max(1, min(n, avail))
}

// nextJob returns the next job for w, or nil when none fits: the first
// pending job of the first call with work, or a new cut of its inputs.
// Calls that have ended or have nothing left leave the queue.
func (p *Pool) nextJob(w *worker) *job {
	for len(p.calls) > 0 {
		c := p.calls[0]
		if c.ctx.Err() != nil {
			p.forget(c)
			continue
		}
		if len(c.pending) > 0 {
			j := c.pending[0]
			est := c.estimate(j.n)
			if !fits(w, est) {
				return nil
			}
			c.pending[0] = nil
			c.pending = c.pending[1:]
			j.est = est
			return j
		}
		n := 0
		if c.source != nil {
			n = p.cutSize(c)
		}
		if n == 0 {
			p.removeCall(c)
			continue
		}
		if len(w.inflight) > 0 && c.chunk == 0 && c.perItem > 0 && c.source.remaining() < 0 &&
			int64(n) < minChunkWork/c.perItem {
			// An Imap whose inputs come one by one while this worker is
			// busy: wait for enough of them to make a chunk worth its
			// message (the worker's next result brings it back here); an
			// idle worker takes even one, so that a trickle streams.
			return nil
		}
		if len(w.inflight) > 0 {
			// No more than its share of what is outstanding: a worker
			// that answered first must not take what the others, about
			// to answer, would run as soon.
			n = min(n, p.share()-w.inputs)
			if n <= 0 {
				return nil
			}
		}
		est := c.estimate(n)
		if !fits(w, est) {
			return nil
		}
		args, start := c.source.cut(n)
		return &job{c: c, start: start, n: n, args: args, est: est}
	}
	return nil
}

// share returns a live worker's fair share of the inputs outstanding: in
// flight at workers, and available in the queue.
func (p *Pool) share() int {
	total := 0
	for w := range p.workers {
		if !w.stopping {
			total += w.inputs
		}
	}
	for _, c := range p.calls {
		for _, j := range c.pending {
			total += j.n
		}
		if c.source != nil {
			total += c.source.available()
		}
	}
	live := max(p.live+p.initial, 1)
	return (total + live - 1) / live
}

// forget drops what is left of call c, which nobody waits for any more:
// the pool keeps no reference to its inputs.
func (p *Pool) forget(c *call) {
	p.removeCall(c)
	clear(c.pending)
	c.pending = nil
	if c.source != nil {
		c.source.drop()
	}
}

// assign moves job j to w's in-flight tasks under a new task ID.
func (p *Pool) assign(w *worker, j *job) uint64 {
	j.id = p.nextTask.Add(1)
	j.w = w
	j.stealing = false
	j.skip = 0 // the chunk as sent now starts at j.start: partial results count from there
	w.inflight = append(w.inflight, j)
	w.inputs += j.n
	if j.est < 0 {
		w.unknown++
	} else {
		w.work += j.est
	}
	return j.id
}

// unassign removes job j from w's in-flight tasks: it was answered, given
// back, or never sent.
func (p *Pool) unassign(w *worker, j *job) bool {
	i := slices.Index(w.inflight, j)
	if i < 0 {
		return false
	}
	if i == 0 {
		w.inflight[0] = nil
		w.inflight = w.inflight[1:]
	} else {
		w.inflight = slices.Delete(w.inflight, i, i+1)
	}
	w.inputs -= j.n
	if j.est < 0 {
		w.unknown--
	} else {
		w.work -= j.est
	}
	if len(w.inflight) == 0 {
		w.inflight = nil // let the backing array go
	}
	return true
}

// requeue puts jobs back in front of their calls' pending jobs, in input
// order, and the calls at the front of the queue: they are the oldest
// work. After an interruption they are not run at all.
func (p *Pool) requeue(jobs []*job) (notRun []*job) {
	if len(jobs) == 0 {
		return nil
	}
	var calls []*call
	for _, j := range jobs {
		j.w = nil
		if p.interrupted != nil {
			notRun = append(notRun, j)
			continue
		}
		if j.c.ctx.Err() != nil {
			continue
		}
		c := j.c
		i, _ := slices.BinarySearchFunc(c.pending, j.start, func(k *job, start int) int { return k.start - start })
		c.pending = slices.Insert(c.pending, i, j)
		if !slices.Contains(calls, c) {
			calls = append(calls, c)
		}
	}
	for _, c := range slices.Backward(calls) {
		p.removeCall(c)
		c.queued = true
		p.calls = slices.Insert(p.calls, 0, c)
	}
	p.cond.Broadcast()
	return notRun
}

// steal asks w for every job it holds behind the one it runs, except
// those of call keep; a job it has not started comes back (returned) and
// goes to another worker.
func (p *Pool) steal(w *worker, except *call) {
	asked := false
	for _, j := range w.inflight[min(1, len(w.inflight)):] {
		if !j.stealing && j.c != except {
			j.stealing = true
			w.steals = append(w.steals, j.id)
			asked = true
		}
	}
	if asked {
		p.cond.Broadcast() // w's sender writes the requests
	}
}

// returned handles a job its worker gave back unstarted: it goes back to
// its call, or nowhere after an interruption; p.mu is held.
func (p *Pool) returned(w *worker, id uint64) (notRun []*job, ok bool) {
	for _, j := range w.inflight {
		if j.id == id {
			p.unassign(w, j)
			return p.requeue([]*job{j}), true
		}
	}
	return nil, false
}

// balance lets idle workers take back the work queued at busy ones, when
// no call has work for them: a worker whose running task has run twice
// its estimate (and at least stealMin) gives back what waits behind it.
// When none has run that long yet, balance checks again once the first
// will have.
func (p *Pool) balance() {
	idle := false
	for w := range p.workers {
		if w.proc != nil && len(w.inflight) == 0 && p.wantsWork(w) {
			idle = true
			break
		}
	}
	if !idle || p.hasWork() {
		return
	}
	now := spawn.Now()
	next := int64(0)
	for v := range p.workers {
		if v.proc == nil || v.broken || len(v.inflight) < 2 {
			continue
		}
		head := v.inflight[0]
		id, at, started := v.proc.Slot.Started()
		if !started || id != head.id {
			continue // between tasks: its next one starts at once
		}
		after := max(2*head.est, stealMin)
		if now-at >= after {
			p.steal(v, nil)
		} else if due := at + after; next == 0 || due < next {
			next = due
		}
	}
	if next != 0 && !p.balanceArmed {
		p.balanceArmed = true
		p.balanceTimer.Reset(time.Duration(next - now))
	}
}

// rebalance is balance run by its timer.
func (p *Pool) rebalance() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.balanceArmed = false
	p.balance()
}

// hold stops giving work to w, which runs job j of a cancelled call, and
// takes back what it holds behind j. If j has not returned after
// CancelGrace, w is killed: a task that ignores its context must not keep
// a worker, or the tasks queued behind it, for as long as it likes.
func (p *Pool) hold(w *worker, j *job) {
	w.held = j
	p.steal(w, j.c)
	grace := p.cfg.cancelGrace
	if grace > spareAfter && p.cfg.respawn && !p.cfg.inProcess && p.cfg.remote == nil {
		w.spare = time.AfterFunc(spareAfter, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if w.held == j && !w.broken && !w.stopping && !p.closing {
				p.log.Debug("mproc: a task of a cancelled call is still running; replacing its worker now", "worker", w.id, "pid", w.proc.Pid)
				p.retire(w)
			}
		})
	}
	w.grace = time.AfterFunc(grace, func() {
		p.mu.Lock()
		kill := w.held == j && !w.broken
		if kill && w.killReason == "" {
			w.killReason = fmt.Sprintf("killed by the pool: task %d, of a call that was cancelled, had not returned %v after it (CancelGrace)",
				j.start+int(w.proc.Slot.Item().Load()), grace)
		}
		p.mu.Unlock()
		if kill {
			w.proc.Kill()
		}
	})
}

// release gives w work again once the job it was held for has ended.
func (p *Pool) release(w *worker, j *job) {
	if w.held == j {
		w.held = nil
		w.grace.Stop()
		if w.spare != nil {
			w.spare.Stop()
		}
		p.cond.Broadcast()
	}
}

// abandon stops call c: it leaves the queue, its tasks queued at workers
// are cancelled there (a worker skips a cancelled task it has not
// started), its running tasks see their context cancelled, and a worker
// running one is held (see hold).
func (p *Pool) abandon(c *call) {
	c.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stop(c, true)
}

// stop drops what is left of call c in the queue and cancels its tasks at
// the workers; with hold, a worker running one of them is held (see hold).
// It reports whether a task of c was at a worker. p.mu is held.
func (p *Pool) stop(c *call, hold bool) (signalled bool) {
	p.forget(c)
	for w := range p.workers {
		if w.proc == nil {
			continue
		}
		for i, j := range w.inflight {
			if j.c != c {
				continue
			}
			w.cancels = append(w.cancels, j.id)
			signalled = true
			if hold && i == 0 && w.held == nil {
				p.hold(w, j)
			}
		}
	}
	if signalled {
		p.cond.Broadcast() // the senders write the cancellations
	}
	return signalled
}
