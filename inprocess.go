package mproc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/serve"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
)

// startInProcess starts a goroutine worker (the InProcess option): it runs
// the initializer, then jobs one at a time, in this process.
func (p *Pool) startInProcess() error {
	id := int(p.nextWorker.Add(1))
	if p.cfg.initRun != nil {
		fn, arg := p.cfg.initFn, p.cfg.initArg
		var err error
		if p.cfg.roundTrip {
			if fn, err = roundTrip(fn); err == nil {
				arg, err = roundTrip(arg)
			}
			if err != nil {
				return err
			}
		}
		f, ok := serve.ProtectInit(func() { err = p.cfg.initRun.Init(context.Background(), fn, arg) })
		if !ok || err != nil {
			if ok {
				f = serve.Fail(-1, err)
			}
			return &InitError{Worker: id, Err: &TaskError{Index: -1, Worker: id, Type: f.Type, Msg: f.Msg, Err: f.Err,
				Panic: f.Stack != "", Stack: f.Stack}}
		}
	}
	w := &worker{id: id}
	p.mu.Lock()
	p.workers[w] = struct{}{}
	p.live++
	p.mu.Unlock()
	p.goroutines.Add(1)
	go p.serveHere(w, nil)
	return nil
}

// serveHere runs jobs, then those the pool gives w, one at a time on this
// goroutine until the pool stops. A task that calls runtime.Goexit ends the
// goroutine: a fresh one then takes over (see runHere), which is why
// nothing here is deferred.
func (p *Pool) serveHere(w *worker, jobs []*job) {
	for {
		for len(jobs) > 0 {
			j := jobs[0]
			jobs = jobs[1:]
			p.runHere(w, j, jobs)
		}
		b, stop := p.take(w)
		jobs = b.jobs
		if stop {
			p.mu.Lock()
			delete(p.workers, w)
			p.mu.Unlock()
			p.goroutines.Done()
			return
		}
	}
}

// runHere runs job j on this goroutine; rest are the jobs to run after it.
// If a task of j calls runtime.Goexit, runHere does not return: a fresh
// goroutine finishes j and goes on serving with rest.
func (p *Pool) runHere(w *worker, j *job, rest []*job) {
	start := spawn.Now()
	out, fails, err := p.runLocal(j, func(out any, fails []wire.Failure, err error) {
		p.doneHere(w, j, start, out, fails, err)
		p.serveHere(w, rest)
	})
	p.doneHere(w, j, start, out, fails, err)
}

// doneHere delivers the outcome of job j, which started at start.
func (p *Pool) doneHere(w *worker, j *job, start int64, out any, fails []wire.Failure, err error) {
	p.mu.Lock()
	p.unassign(w, j)
	j.c.observe(j.n, spawn.Now()-start)
	p.cond.Broadcast()
	closed := j.closed
	p.mu.Unlock()
	if closed || j.c.ctx.Err() != nil {
		return // Terminate answered it, or nobody waits
	}
	if err != nil {
		j.failAll(err)
		return
	}
	j.c.deliver(j, out, taskErrors(j, fails, w.id, 0))
}

// runLocal runs job j and returns its outcome, unless a task calls
// runtime.Goexit: then it passes the outcome to resume on a fresh
// goroutine instead (see wire.Runner).
func (p *Pool) runLocal(j *job, resume func(any, []wire.Failure, error)) (out any, fails []wire.Failure, err error) {
	fn, args := j.c.fn, j.args
	if p.cfg.roundTrip {
		if fn, err = roundTrip(fn); err != nil {
			return nil, nil, err
		}
		if args, err = roundTrip(args); err != nil {
			return nil, nil, err
		}
	}
	var item atomic.Uint64
	ctx, cancel := j.c.ctx, context.CancelFunc(nil)
	if j.c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, j.c.timeout)
	}
	start := time.Now()
	out, fails = j.c.run.Run(ctx, fn, args, &wire.Tracker{Item: &item}, func(out any, fails []wire.Failure) {
		resume(p.afterRun(j, ctx, cancel, start, &item, out, fails))
	})
	return p.afterRun(j, ctx, cancel, start, &item, out, fails)
}

// afterRun turns what a job's Runner returned into runLocal's outcome.
func (p *Pool) afterRun(j *job, ctx context.Context, cancel context.CancelFunc, start time.Time, item *atomic.Uint64,
	out any, fails []wire.Failure) (any, []wire.Failure, error) {
	if cancel != nil {
		defer cancel()
	}
	if j.c.timeout > 0 && ctx.Err() == context.DeadlineExceeded && j.c.ctx.Err() == nil {
		// Goroutines cannot be killed: the task ran until it saw its context.
		return nil, nil, &TimeoutError{Index: j.start + int(item.Load()), Elapsed: time.Since(start), Limit: j.c.timeout}
	}
	if p.cfg.roundTrip {
		var err error
		if out, err = roundTrip(out); err != nil {
			return nil, nil, err
		}
		for i := range fails {
			if fails[i].Err != nil {
				if e, err := roundTrip(fails[i].Err); err == nil {
					fails[i].Err, _ = e.(error)
				} else {
					fails[i].Err = nil
				}
			}
		}
	}
	return out, fails, nil
}

// boxed carries a value of any type through the codec with its dynamic type.
type boxed struct{ V any }

// roundTrip encodes and decodes v as a worker's connection would.
// Open files and handles are duplicated as a worker's connection would
// pass them.
func roundTrip(v any) (any, error) {
	data, fds, err := codec.MarshalFiles(boxed{v})
	if err != nil {
		return nil, err
	}
	var b boxed
	if _, err := codec.UnmarshalFiles(data, fds, &b); err != nil {
		return nil, err
	}
	return b.V, nil
}
