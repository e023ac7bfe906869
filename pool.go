package mproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	calls    []*call   // calls with work to send, in the order submitted (dispatch.go)
	workers  map[*worker]struct{}
	live     int  // workers taking jobs
	starting int  // workers being started
	initial  int  // workers NewPool started that are not yet ready or failed
	opened   bool // NewPool returned the pool: a worker that fails to start is replaced

	// starts is the context of every worker start; Terminate cancels it,
	// so that a worker stuck starting does not hold Terminate up.
	starts      context.Context
	stopStarts  context.CancelFunc
	startErr    error // why the last worker failed to start
	closing     bool
	terminated  bool
	interrupted os.Signal // the signal that stopped the pool (ShutdownOnSignal)
	retrying    int       // jobs waiting out a backoff before going back to the queue

	balanceTimer *time.Timer // runs balance again (dispatch.go)
	balanceArmed bool

	nextCall uint64 // guarded by mu
	// remoteCosts holds, on a cluster node, the last measured cost of an
	// input of each function remote tasks ran (see runErased).
	remoteCosts sync.Map
	nextTask    atomic.Uint64
	nextWorker  atomic.Int64
	wg          sync.WaitGroup // process workers' and starters' goroutines
	goroutines  sync.WaitGroup // an InProcess pool's workers: Close waits for them, Terminate does not
	closeOnce   sync.Once
	finished    chan struct{} // closed when Close or Terminate has stopped every worker
	finishOnce  sync.Once
}

// Counters the tests read (export_test.go): results delivered twice (a bug
// if ever non-zero) and tasks run again after their worker died.
var duplicates, retried atomic.Int64

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
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, workers: make(map[*worker]struct{}), finished: make(chan struct{})}
	p.balanceTimer = time.AfterFunc(time.Hour, p.rebalance)
	p.balanceTimer.Stop()
	p.starts, p.stopStarts = context.WithCancel(context.Background())
	p.cond.L = &p.mu
	p.log = p.cfg.logger
	if p.cfg.remote != nil {
		p.startRemote()
		return p, nil
	}
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

// submit queues call c, whose work is in c.pending and c.source. When a
// worker's sender is idle, the caller writes the first jobs to that worker
// itself: waking the sender goroutine would cost a thread wake-up, several
// microseconds on the idle path, against a round trip of about twenty.
func (p *Pool) submit(c *call) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return p.closedError()
	}
	if p.live == 0 && p.starting == 0 && p.startErr != nil {
		p.mu.Unlock()
		return fmt.Errorf("mproc: no worker is running: %w", p.startErr)
	}
	p.nextCall++
	c.id = p.nextCall
	p.addCall(c)
	p.sendNow()
	return nil
}

// closedError is the error of a call on a closed pool.
func (p *Pool) closedError() error {
	if p.interrupted != nil {
		return fmt.Errorf("%w: it was interrupted by %s (ShutdownOnSignal)", ErrClosed, signalName(p.interrupted))
	}
	return ErrClosed
}

// kick tells the pool that call c has new inputs (an Imap's feeder read
// them); it reports false when the pool no longer takes them.
func (p *Pool) kick(c *call) bool {
	p.mu.Lock()
	if p.closing && !c.queued {
		p.mu.Unlock()
		return false
	}
	if c.ctx.Err() == nil {
		p.addCall(c)
	}
	p.sendNow()
	return true
}

// sendNow writes the work that an idle worker may take to it from the
// calling goroutine, or wakes the senders; p.mu is held, and released.
func (p *Pool) sendNow() {
	w := p.idleSender()
	if w == nil {
		p.cond.Broadcast()
		p.mu.Unlock()
		return
	}
	b := p.claim(w)
	if b.empty() {
		w.doneSending()
		p.cond.Broadcast()
		p.mu.Unlock()
		return
	}
	if len(b.jobs) == 1 && b.jobs[0].c.readsItself && len(w.inflight) == 1 && w.reading == readNone {
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
	if p.hasWork() {
		p.cond.Broadcast() // the rest is for the other workers' senders
	}
	p.mu.Unlock()
	ok := p.write(w, b)
	p.mu.Lock()
	w.doneSending()
	if !ok {
		w.broken = true
	}
	// What arrived for w meanwhile woke its sender, which found w busy.
	if !ok || p.hasWork() || len(w.cancels) > 0 || len(w.steals) > 0 || p.closing || w.stopping {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

// idleSender returns a process worker that may take work now and whose
// connection nobody is writing to, the least loaded, or nil; p.mu is
// held. Among equals it takes the one that answered last: its thread is
// the likeliest to be awake still (see sock.Conn), and the others can go
// to sleep instead of waiting for work a little longer each time.
func (p *Pool) idleSender() *worker {
	if !p.hasWork() {
		return nil
	}
	var best *worker
	for w := range p.workers {
		if w.proc == nil || w.sending || !p.wantsWork(w) {
			continue
		}
		if best == nil || len(w.inflight) < len(best.inflight) ||
			len(w.inflight) == len(best.inflight) && w.lastAt > best.lastAt {
			best = w
		}
	}
	return best
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
		var notRun []*job
		if !terminated && j.c.ctx.Err() == nil {
			notRun = p.requeue([]*job{j})
		}
		p.ensureWorkers()
		p.noWorkersLeft()
		p.cond.Broadcast()
		p.mu.Unlock()
		if terminated {
			j.failAll(ErrClosed)
		}
		skip(notRun)
	})
}

// A batch is what a worker's sender writes at once.
type batch struct {
	jobs    []*job
	ids     []uint64 // the task IDs given to jobs (a job's id may change once p.mu is released)
	cancels []uint64 // tasks whose context the worker is to cancel
	steals  []uint64 // tasks the worker is to give back unless started
}

func (b *batch) empty() bool { return len(b.jobs) == 0 && len(b.cancels) == 0 && len(b.steals) == 0 }

// take waits until worker w may send jobs, cancellations or steals, and
// returns them; stop says the worker should close its connection and end.
// For a process worker, the caller then owns w's connection until it
// clears w.sending.
func (p *Pool) take(w *worker) (b batch, stop bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if w.sending {
			// A caller is writing to w (see sendNow); it wakes us after.
			p.cond.Wait()
			continue
		}
		if w.broken {
			return batch{}, true
		}
		if b = p.claim(w); !b.empty() {
			if w.proc != nil {
				w.wakeReceiver()
			}
			return b, false
		}
		w.doneSending()
		if p.closing && !p.hasWork() && p.retrying == 0 && !w.stopping {
			p.retireLocked(w)
		}
		if w.stopping && len(w.inflight) == 0 {
			return batch{}, true
		}
		p.cond.Wait()
	}
}

// claim takes for w the jobs it may be sent now and its pending
// cancellations and steals, gives the jobs their task IDs and moves them
// to w's in-flight tasks; p.mu is held. A process worker's connection is
// the caller's until it clears w.sending: task IDs must reach a worker in
// increasing order, which is the order it runs them (see died).
func (p *Pool) claim(w *worker) (b batch) {
	b.cancels, w.cancels = w.cancels, nil
	b.steals, w.steals = w.steals, nil
	if w.proc != nil {
		w.sending = true
	}
	if !p.wantsWork(w) {
		return b
	}
	for w.budget == 0 || len(b.jobs) < w.budget {
		j := p.nextJob(w)
		if j == nil {
			break
		}
		b.jobs = append(b.jobs, j)
		b.ids = append(b.ids, p.assign(w, j))
	}
	if w.budget > 0 && len(b.jobs) > 0 {
		w.budget -= len(b.jobs)
		if w.budget == 0 {
			p.retire(w)
			p.cond.Broadcast() // what it may not take is for the others
		}
	}
	return b
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
	if !p.cfg.respawn || p.cfg.inProcess || p.cfg.remote != nil || !p.needsWorkers() {
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

// needsWorkers reports whether the pool still needs its workers: it is
// open, or closing with tasks left (a worker that died while the pool
// closed leaves its tasks to a replacement); p.mu is held.
func (p *Pool) needsWorkers() bool {
	return !p.terminated && (!p.closing || p.hasWork() || p.retrying > 0)
}

// noWorkersLeft fails the work of every queued call when no worker runs
// and none is starting, so that no call waits for ever; p.mu is held.
func (p *Pool) noWorkersLeft() {
	if p.live > 0 || p.starting > 0 || len(p.calls) == 0 {
		return
	}
	err := p.closedError()
	if !p.closing && p.startErr != nil {
		err = fmt.Errorf("mproc: no worker is running: %w", p.startErr)
	}
	for _, j := range p.takeAll() {
		go j.failAll(err)
	}
}

// takeAll empties the queue of calls and returns all their work left as
// jobs, to be failed or skipped: the inputs not cut yet make one job per
// call, without its inputs, which the pool no longer keeps. p.mu is held.
func (p *Pool) takeAll() []*job {
	var jobs []*job
	for _, c := range p.calls {
		c.queued = false
		jobs = append(jobs, c.pending...)
		c.pending = nil
		if c.source != nil {
			if start, n := c.source.drop(); n > 0 && c.ctx.Err() == nil {
				jobs = append(jobs, &job{c: c, start: start, n: n})
			}
		}
	}
	p.calls = nil
	return jobs
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
	p.goroutines.Wait()
	p.finishOnce.Do(p.finish)
	return nil
}

// Terminate kills the workers at once. Tasks queued or running fail with
// ErrClosed. It is idempotent, and may follow or interrupt Close. It
// returns once the worker processes are gone; the goroutines of an
// InProcess pool cannot be killed: those running a task finish it in the
// background, and its outcome is dropped.
func (p *Pool) Terminate() error {
	p.stopStarts()
	p.mu.Lock()
	p.closing, p.terminated = true, true
	queue := p.takeAll()
	for w := range p.workers {
		p.retireLocked(w)
		if w.proc != nil {
			w.proc.Kill()
			continue
		}
		for _, j := range w.inflight {
			if !j.closed {
				j.closed = true // its goroutine drops the outcome (doneHere)
				queue = append(queue, j)
			}
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, j := range queue {
		j.failAll(ErrClosed)
	}
	p.closeOnce.Do(func() {})
	p.wg.Wait()
	if p.cfg.remote != nil {
		p.goroutines.Wait() // their Execute ends with p.starts
	}
	p.finishOnce.Do(p.finish)
	return nil
}

// finish ends the pool once its workers have stopped: it closes a remote
// pool's executor and tells Pool.Done.
func (p *Pool) finish() {
	if p.cfg.remote != nil {
		if err := p.cfg.remote.Close(); err != nil {
			p.log.Warn("mproc: closing the remote executor", "err", err)
		}
	}
	close(p.finished)
}

// skip tells the calls of jobs that they will not run (an interruption).
func skip(jobs []*job) {
	for _, j := range jobs {
		j.c.notRun(j)
	}
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
