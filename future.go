package mproc

import (
	"context"
	"sync"
)

// A Future is the result of a task started with Submit.
type Future[Out any] struct {
	done chan struct{}
	once sync.Once
	out  Out
	err  error
	c    *call
	j    *job
	p    *Pool
	stop func() bool // stops watching the caller's context
	ends func()      // counts the call out of callsInFlight
}

// Submit runs fn(in) in one of the pool's workers and returns at once, like
// Python's Pool.apply_async. fn travels by reference as with Map. Errors
// are those of Map, the input's index being 0. Cancelling ctx before the
// task finishes cancels it: its context in the worker is cancelled and the
// future completes with ctx.Err().
func Submit[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), in In, opts ...CallOption) *Future[Out] {
	f := &Future[Out]{done: make(chan struct{}), p: p, ends: callBegins()}
	cfg := p.callConfig(opts)
	run, fv := runnerFor(fn)
	cctx, cancel := context.WithCancel(ctx)
	c := &call{ctx: cctx, cancel: cancel, run: run, fn: fv, slice: sliceArgs[In], timeout: cfg.timeout, retries: cfg.retries,
		readsItself: ctx.Done() == nil, total: 1}
	f.c = c
	f.j = &job{c: c, n: 1, args: []In{in}}
	f.stop = func() bool { return false }
	switch {
	case cfg.err != nil:
		f.complete(*new(Out), cfg.err)
		return f
	case fn == nil:
		f.complete(*new(Out), errNilFn)
		return f
	}
	c.deliver = func(j *job, o any, errs []indexedError) {
		var out Out
		if outs, ok := o.([]Out); ok && len(outs) == 1 {
			out = outs[0]
		}
		var err error
		if len(errs) > 0 {
			err = errs[0].err
		}
		f.complete(out, err)
	}
	c.notRun = func(j *job) {
		f.complete(*new(Out), &InterruptedError{Signal: p.interruptSignal(), NotRun: 1})
	}
	f.stop = context.AfterFunc(ctx, func() {
		p.abandon(c)
		f.complete(*new(Out), ctx.Err())
	})
	c.pending = []*job{f.j}
	if err := p.submit(c); err != nil {
		f.complete(*new(Out), err)
	}
	return f
}

func (f *Future[Out]) complete(out Out, err error) {
	f.once.Do(func() {
		f.out, f.err = out, err
		f.ends()
		close(f.done)
		f.stop()
		f.c.cancel()
	})
}

// Done returns a channel that is closed when the task has finished.
func (f *Future[Out]) Done() <-chan struct{} {
	if f.c.readsItself {
		f.p.wakeFor(f.j) // nobody may come to read the result in Wait
	}
	return f.done
}

// Wait waits for the task and returns its output or error. If ctx is done
// first, Wait returns ctx.Err() and the task goes on.
//
// When neither ctx nor the context given to Submit can be cancelled, and
// no other goroutine reads the results of the worker running the task,
// Wait reads them itself: the result then reaches the caller without a
// goroutine switch.
func (f *Future[Out]) Wait(ctx context.Context) (Out, error) {
	if f.c.readsItself && ctx.Done() == nil {
		f.p.readFor(f.j, f.done)
	}
	select {
	case <-f.done:
		return f.out, f.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}
