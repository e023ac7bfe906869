package mproc

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/mproc-go/mproc/codec"
)

// Map runs fn on every input in the pool's workers and returns the outputs
// in input order, like Python's Pool.map. fn must be a top-level function
// or a func literal that captures nothing: it travels by reference, not by
// value. Use Plain for a func(In) Out.
//
// By default the first failure cancels the rest of the call and Map returns
// it: a *TaskError when fn returned an error or panicked, a
// *WorkerExitError when the worker running it died, a
// *codec.UnsupportedError when fn or an input cannot be sent (checked on
// fn and the first input before anything runs). With CollectErrors, every
// input runs and Map returns the outputs with every error joined.
//
// Cancelling ctx stops sending inputs, cancels the context the running
// tasks see in their workers, and returns ctx.Err().
//
// Inputs go to workers in chunks (ChunkSize); the default, about four
// chunks per worker, brings the cost of a trivial task under 100 ns.
func Map[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), in []In, opts ...CallOption) ([]Out, error) {
	cfg := p.callConfig(opts)
	run, f := runnerFor(fn)
	out := make([]Out, len(in))
	if len(in) == 0 {
		return out, nil
	}
	if err := p.check(f, in[:1]); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := cfg.chunk
	if size <= 0 {
		size = autoChunk(len(in), p.cfg.workers)
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		remaining = len(in)
		errs      []indexedError
		finished  = make(chan struct{})
		progress  = make(chan struct{}, 1)
		once      sync.Once
		delivered = make([]bool, len(in))
	)
	c := &call{ctx: cctx, cancel: cancel, run: run, fn: f, slice: sliceArgs[In], timeout: cfg.timeout, retries: cfg.retries}
	c.deliver = func(j *job, o any, jerrs []indexedError) {
		mu.Lock()
		defer mu.Unlock()
		for i := j.start; i < j.start+j.n; i++ {
			if delivered[i] {
				duplicates.Add(1) // never: each job is answered once
				return
			}
			delivered[i] = true
		}
		if o, ok := o.([]Out); ok {
			copy(out[j.start:j.start+j.n], o)
		}
		errs = append(errs, jerrs...)
		remaining -= j.n
		if remaining == 0 || len(jerrs) > 0 && !cfg.collect {
			once.Do(func() { close(finished) })
		}
		select {
		case progress <- struct{}{}:
		default:
		}
	}
	jobs := make([]*job, 0, (len(in)+size-1)/size)
	for lo := 0; lo < len(in); lo += size {
		hi := min(lo+size, len(in))
		jobs = append(jobs, &job{c: c, start: lo, n: hi - lo, args: in[lo:hi:hi]})
	}
	if err := p.enqueue(jobs...); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			p.abandon(c)
			return nil, ctx.Err()
		case <-progress:
			if cfg.progress != nil {
				mu.Lock()
				done := len(in) - remaining
				mu.Unlock()
				cfg.progress(Progress{Done: done, Total: len(in)})
			}
			continue
		case <-finished:
		}
		break
	}
	p.abandon(c)
	mu.Lock()
	defer mu.Unlock()
	if cfg.progress != nil {
		cfg.progress(Progress{Done: len(in) - remaining, Total: len(in)})
	}
	if len(errs) == 0 {
		return out, nil
	}
	slices.SortStableFunc(errs, func(a, b indexedError) int { return cmp.Compare(a.index, b.index) })
	if !cfg.collect {
		return nil, errs[0].err
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e.err
	}
	return out, errors.Join(all...)
}

// autoChunk sizes chunks so that each worker gets about four, like
// CPython's Pool.map: few enough messages that trivial tasks cost
// nanoseconds, enough that uneven tasks still balance.
func autoChunk(n, workers int) int {
	return max(1, (n+4*workers-1)/(4*workers))
}

// check reports a function or a first input that the codec cannot send,
// before anything runs; an in-process pool without RoundTrip sends nothing.
// first is the []In holding the first input.
func (p *Pool) check(fn, first any) error {
	if p.cfg.inProcess && !p.cfg.roundTrip {
		return nil
	}
	if err := checkFn(fn); err != nil {
		return err
	}
	_, err := codec.Marshal(boxed{first})
	return userPath(err, func(path string) (string, bool) { return argsPath(".V.", path, 0) })
}

// checkSendable reports a function or input the codec cannot send.
func checkSendable(fn, arg any) error {
	if err := checkFn(fn); err != nil {
		return err
	}
	_, err := codec.Marshal(boxed{arg})
	return userPath(err, func(path string) (string, bool) {
		rest, ok := afterAssertion(".V.", path)
		return "args[0]" + rest, ok
	})
}

// checkFn reports a function the codec cannot send.
func checkFn(fn any) error {
	_, err := codec.Marshal(boxed{fn})
	return userPath(err, func(path string) (string, bool) { return fnPath(".V.", path) })
}
