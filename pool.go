package mproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/internal/spawn"
)

// A Pool runs tasks on a set of workers: processes of this executable
// (the default) or goroutines (InProcess). It is safe for concurrent use:
// several calls may share it, their tasks are served in the order they
// were submitted. A worker that dies is replaced; the pool never stops
// serving until Close or Terminate.
type Pool struct {
	cfg config
	log *slog.Logger

	mu       sync.Mutex
	cond     sync.Cond // signalled on any change below
	queue    []*job    // jobs waiting for a worker, in order
	workers  map[*worker]struct{}
	live     int  // workers taking jobs
	starting int  // workers being started
	initial  int  // workers NewPool started that are not yet ready or failed
	opened   bool // NewPool returned the pool: a worker that fails to start is replaced

	// starts is the context of every worker start; Terminate cancels it,
	// so that a worker stuck starting does not hold Terminate up.
	starts     context.Context
	stopStarts context.CancelFunc
	startErr   error // why the last worker failed to start
	closing    bool
	terminated bool
	retrying   int // jobs waiting out a backoff before going back to the queue

	nextTask   atomic.Uint64
	nextWorker atomic.Int64
	wg         sync.WaitGroup // worker and starter goroutines
	closeOnce  sync.Once
	finished   chan struct{} // closed when Close or Terminate has stopped every worker
	finishOnce sync.Once
}

// Counters the tests read (export_test.go): results delivered twice (a bug
// if ever non-zero) and tasks run again after their worker died.
var duplicates, retried atomic.Int64

// window is how many tasks a process worker may have in flight at first:
// it keeps a worker busy while its results travel back and the next tasks
// arrive. A worker whose tasks turn out to be quick gets more, up to
// maxWindow, so that about windowWork of them are in flight (see
// worker.pace): at ChunkSize(1), trivial tasks went from 270k to 365k a
// second on 2 workers with 256 in flight instead of 64. Slower tasks keep
// 64, which bounds how much work waits on a busy worker while another is
// idle at the end of a call.
const (
	window     = 64
	maxWindow  = 256
	windowWork = time.Millisecond
)

// NewPool starts a pool's workers in parallel (each is a fork and exec of
// this binary, a few milliseconds) and returns once they can take tasks.
//
// With an Initializer, that is when every worker ran it: NewPool fails if
// a worker cannot start or its initializer fails, with no worker left
// behind. Without one, NewPool returns as soon as the first worker is
// ready, which is when a call can start, and the others join as they come
// up and take their share of the tasks queued meanwhile; a worker that
// fails to start then is replaced, as one that dies is. NewPool fails if
// none starts.
func NewPool(opts ...Option) (*Pool, error) {
	p := &Pool{cfg: newConfig(opts), workers: make(map[*worker]struct{}), finished: make(chan struct{})}
	p.starts, p.stopStarts = context.WithCancel(context.Background())
	p.cond.L = &p.mu
	p.log = p.cfg.logger
	if p.cfg.inProcess {
		for range p.cfg.workers {
			if err := p.startInProcess(); err != nil {
				p.Terminate()
				return nil, err
			}
		}
		return p, nil
	}
	if err := checkInitializer(p.cfg.initFn, p.cfg.initArg); err != nil {
		return nil, err
	}
	n := p.cfg.workers
	p.starting, p.initial = n, n
	errs := make(chan error, n)
	p.wg.Add(n)
	for range n {
		go func() {
			defer p.wg.Done()
			err := p.startProcess(true)
			if err != nil {
				p.mu.Lock()
				p.starting--
				p.initial--
				if p.opened {
					if !errors.Is(err, ErrClosed) {
						p.log.Warn("mproc: a worker did not start; starting another", "err", err)
						p.startErr = err
					}
					p.ensureWorkers()
				}
				p.noWorkersLeft()
				p.cond.Broadcast()
				p.mu.Unlock()
			}
			errs <- err
		}()
	}
	// Without an initializer the first ready worker is enough; with one,
	// every worker must have run it.
	enough := n
	if p.cfg.initRun == nil {
		enough = 1
	}
	var err error
	ready := 0
	for range n {
		if e := <-errs; e != nil {
			err = errors.Join(err, e)
			continue
		}
		if ready++; ready == enough {
			p.mu.Lock()
			p.opened = true // from now on a start that fails is logged and replaced
			p.mu.Unlock()
			break
		}
	}
	if ready == 0 || enough == n && err != nil {
		p.Terminate()
		return nil, firstError(err)
	}
	p.mu.Lock()
	if err != nil {
		p.log.Warn("mproc: a worker did not start; starting another", "err", err)
		p.startErr = err
	}
	p.ensureWorkers() // in place of those that failed already
	p.mu.Unlock()
	if p.cfg.signals {
		p.handleSignals()
	}
	return p, nil
}

// firstError unwraps a join of identical failures to the first, which says
// it all: every worker runs the same initializer.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

// enqueue adds the jobs of a call at the end of the queue. When a worker's
// sender is idle, the caller writes the jobs to that worker itself: waking
// the sender goroutine would cost a thread wake-up, several microseconds
// on the idle path, against a round trip of about twenty.
func (p *Pool) enqueue(jobs ...*job) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return ErrClosed
	}
	if p.live == 0 && p.starting == 0 && p.startErr != nil {
		p.mu.Unlock()
		return fmt.Errorf("mproc: no worker is running: %w", p.startErr)
	}
	p.queue = append(p.queue, jobs...)
	w := p.idleSender()
	if w == nil {
		p.cond.Broadcast()
		p.mu.Unlock()
		return nil
	}
	jobs, ids, cancels := p.claim(w)
	if len(jobs) == 1 && jobs[0].c.readsItself && len(w.inflight) == 1 && w.reading == readNone {
		// The caller reads the result (see readFor); the receiver is
		// woken only if it does not come to it soon. The timer is set
		// once per lazyRead at most, not per task: setting a timer can
		// wake a thread.
		w.lazySince = spawn.Now()
		if !w.lazyArmed {
			w.lazyArmed = true
			w.lazy.Reset(lazyRead)
		}
	} else {
		w.wakeReceiver()
	}
	if len(p.queue) > 0 {
		p.cond.Broadcast() // the rest is for the other workers' senders
	}
	p.mu.Unlock()
	ok := p.write(w, jobs, ids, cancels)
	p.mu.Lock()
	w.sending = false
	if !ok {
		w.broken = true
	}
	// What arrived for w meanwhile woke its sender, which found w busy.
	if !ok || len(p.queue) > 0 || len(w.cancels) > 0 || p.closing || w.stopping {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	return nil
}

// idleSender returns a process worker that may take queued jobs now and
// whose connection nobody is writing to, the least loaded, or nil; p.mu is
// held. Among equals it takes the one that answered last: its thread is
// the likeliest to be awake still (see spawn.Conn), and the others can go
// to sleep instead of waiting for work a little longer each time.
func (p *Pool) idleSender() *worker {
	var best *worker
	for w := range p.workers {
		if w.proc == nil || w.sending || p.sendable(w) == 0 {
			continue
		}
		if best == nil || len(w.inflight) < len(best.inflight) ||
			len(w.inflight) == len(best.inflight) && w.lastAt > best.lastAt {
			best = w
		}
	}
	return best
}

// requeue puts jobs back at the front of the queue; p.mu is held.
func (p *Pool) requeue(jobs []*job) {
	if len(jobs) == 0 {
		return
	}
	p.queue = append(jobs[:len(jobs):len(jobs)], p.queue...)
	p.cond.Broadcast()
}

// retryLater puts j back in the queue after a backoff that doubles with
// each attempt; p.mu is held.
func (p *Pool) retryLater(j *job) {
	p.retrying++
	backoff := min(10*time.Millisecond<<(j.attempts-1), time.Second)
	time.AfterFunc(backoff, func() {
		p.mu.Lock()
		p.retrying--
		terminated := p.terminated
		if !terminated && j.c.ctx.Err() == nil {
			p.requeue([]*job{j})
		}
		p.ensureWorkers()
		p.noWorkersLeft()
		p.cond.Broadcast()
		p.mu.Unlock()
		if terminated {
			j.failAll(ErrClosed)
		}
	})
}

// dropAbandoned removes jobs of calls nobody waits for from the head of
// the queue; p.mu is held. Those deeper in the queue go when they reach it.
func (p *Pool) dropAbandoned() {
	for len(p.queue) > 0 && p.queue[0].c.ctx.Err() != nil {
		p.queue[0] = nil
		p.queue = p.queue[1:]
	}
}

// sendable returns how many queued jobs w's sender may take now, 0 when it
// must wait; p.mu is held. Whatever can make it positive must wake the
// senders (p.cond.Broadcast).
func (p *Pool) sendable(w *worker) int {
	if w.stopping || w.broken {
		return 0
	}
	room := w.window - len(w.inflight)
	if w.budget > 0 {
		room = min(room, w.budget)
	}
	// A busy worker is refilled in batches, one write for many tasks.
	if room < w.batch() && len(w.inflight) >= w.batch() {
		return 0
	}
	return max(0, min(room, p.share(w)))
}

// take waits until worker w may send jobs or cancellations, and returns
// them with the task IDs given to the jobs (a job's id field may change
// once the lock is released: a job goes back to the queue if w dies);
// stop says the worker should close its connection and end. For a process
// worker, the caller then owns w's connection until it clears w.sending.
func (p *Pool) take(w *worker) (jobs []*job, ids []uint64, cancels []uint64, stop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		p.dropAbandoned()
		if w.sending {
			// A caller is writing to w (see enqueue); it wakes us after.
			p.cond.Wait()
			continue
		}
		if w.broken {
			return nil, nil, nil, true
		}
		if p.sendable(w) > 0 || len(w.cancels) > 0 {
			jobs, ids, cancels = p.claim(w)
			if w.proc != nil {
				w.wakeReceiver()
			}
			return jobs, ids, cancels, false
		}
		if p.closing && len(p.queue) == 0 && p.retrying == 0 && !w.stopping {
			p.retireLocked(w)
		}
		if w.stopping && len(w.inflight) == 0 {
			return nil, nil, nil, true
		}
		p.cond.Wait()
	}
}

// claim takes for w the jobs it may send now and its pending
// cancellations, gives the jobs their task IDs and moves them to w's
// in-flight tasks; p.mu is held. A process worker's connection is the
// caller's until it clears w.sending: task IDs must reach a worker in
// increasing order, which is the order it runs them (see died).
func (p *Pool) claim(w *worker) (jobs []*job, ids []uint64, cancels []uint64) {
	cancels, w.cancels = w.cancels, nil
	p.dropAbandoned()
	if w.proc != nil {
		w.sending = true
	}
	k := p.sendable(w)
	if k == 0 {
		return nil, nil, cancels
	}
	jobs = make([]*job, k)
	copy(jobs, p.queue)
	clear(p.queue[:k])
	p.queue = p.queue[k:]
	ids = make([]uint64, k)
	for i, j := range jobs {
		j.id = p.nextTask.Add(1)
		j.w = w
		ids[i] = j.id
	}
	w.inflight = append(w.inflight, jobs...)
	if w.budget > 0 {
		w.budget -= k
		if w.budget == 0 {
			p.retire(w)
		}
	}
	return jobs, ids, cancels
}

// share returns how many queued jobs w may take: its fair share of the
// work outstanding (queued and in flight on live workers) less what it
// holds, and at least one when it holds none. Taking a fair share rather
// than all that fits keeps a few long chunks spread over the workers.
// p.mu is held.
func (p *Pool) share(w *worker) int {
	if len(p.queue) == 0 {
		return 0
	}
	outstanding := len(p.queue)
	for o := range p.workers {
		if !o.stopping {
			outstanding += len(o.inflight)
		}
	}
	// Workers NewPool is still starting count as takers: the first
	// call on a new pool must not go all to its first worker.
	live := max(p.live+p.initial, 1)
	k := (outstanding+live-1)/live - len(w.inflight)
	if len(w.inflight) == 0 {
		k = max(k, 1)
	}
	return min(k, len(p.queue))
}

// retire stops giving jobs to w, which ends once its in-flight tasks are
// done, and starts its replacement; p.mu is held.
func (p *Pool) retire(w *worker) {
	p.retireLocked(w)
	p.ensureWorkers()
}

// ensureWorkers starts replacements until the pool has its number of
// workers running or starting, or one while it closes with tasks left;
// p.mu is held.
func (p *Pool) ensureWorkers() {
	if !p.cfg.respawn || p.cfg.inProcess || !p.needsWorkers() {
		return
	}
	target := p.cfg.workers
	if p.closing {
		target = 1
	}
	for p.live+p.starting < target {
		p.starting++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.startReplacement()
		}()
	}
}

func (p *Pool) retireLocked(w *worker) {
	if !w.stopping {
		w.stopping = true
		p.live--
		p.cond.Broadcast()
	}
}

// abandon stops a call: its queued jobs are dropped and its running tasks
// are told to cancel their context.
func (p *Pool) abandon(c *call) {
	c.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	signalled := false
	for w := range p.workers {
		for _, j := range w.inflight {
			if j.c == c && w.proc != nil {
				w.cancels = append(w.cancels, j.id)
				signalled = true
			}
		}
	}
	if signalled {
		p.cond.Broadcast()
	}
}

// needsWorkers reports whether the pool still needs its workers: it is
// open, or closing with tasks left (a worker that died while the pool
// closed leaves its tasks to a replacement); p.mu is held.
func (p *Pool) needsWorkers() bool {
	return !p.terminated && (!p.closing || len(p.queue) > 0 || p.retrying > 0)
}

// noWorkersLeft fails every queued job when no worker runs and none is
// starting, so that no call waits for ever; p.mu is held.
func (p *Pool) noWorkersLeft() {
	if p.live > 0 || p.starting > 0 || len(p.queue) == 0 {
		return
	}
	err := ErrClosed
	if !p.closing && p.startErr != nil {
		err = fmt.Errorf("mproc: no worker is running: %w", p.startErr)
	}
	queue := p.queue
	p.queue = nil
	for _, j := range queue {
		go j.failAll(err)
	}
}

// Close stops accepting calls, waits for the queued and running tasks to
// finish, and stops the workers. It is idempotent; later calls wait too.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closing = true
		p.cond.Broadcast()
		p.noWorkersLeft()
		p.mu.Unlock()
	})
	p.wg.Wait()
	p.finishOnce.Do(func() { close(p.finished) })
	return nil
}

// Terminate kills the workers at once. Tasks queued or running fail with
// ErrClosed. It is idempotent, and may follow or interrupt Close.
func (p *Pool) Terminate() error {
	p.stopStarts()
	p.mu.Lock()
	p.closing, p.terminated = true, true
	queue := p.queue
	p.queue = nil
	for w := range p.workers {
		p.retireLocked(w)
		if w.proc != nil {
			w.proc.Kill()
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, j := range queue {
		j.failAll(ErrClosed)
	}
	p.closeOnce.Do(func() {})
	p.wg.Wait()
	p.finishOnce.Do(func() { close(p.finished) })
	return nil
}

// Pids returns the process IDs of the pool's workers, sorted; none for an
// InProcess pool. Workers come and go as they die or retire. Right after
// NewPool, Pids first waits for the workers NewPool started that are not
// ready yet (see NewPool), at most about twice StartTimeout (for the
// worker's hello, then for its answer to its settings), and lists those
// that started.
func (p *Pool) Pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.initial > 0 && !p.terminated {
		p.cond.Wait()
	}
	var pids []int
	for w := range p.workers {
		if w.proc != nil {
			pids = append(pids, w.proc.Pid)
		}
	}
	slices.Sort(pids)
	return pids
}

// Workers returns the number of workers the pool keeps running.
func (p *Pool) Workers() int { return p.cfg.workers }
