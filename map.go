package mproc

import (
	"cmp"
	"context"
	"errors"
	"os"
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
// Inputs go to workers in chunks cut as workers free up (ChunkSize); by
// default their size adapts to what the call's inputs were measured to
// cost, which brings a trivial task under 100 ns while uneven tasks still
// balance: a worker never holds more than about a millisecond of work
// queued behind the task it runs, and an idle worker takes back what waits
// behind a task that runs long.
//
// Under ShutdownOnSignal, a signal stops the call: the inputs that started
// run to the end, Map returns the outputs of every input that finished
// (zero values for the others) and an *InterruptedError naming the signal
// and how many inputs did not run.
func Map[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), in []In, opts ...CallOption) ([]Out, error) {
	cfg := p.callConfig(opts)
	if cfg.err != nil {
		return nil, cfg.err
	}
	if fn == nil {
		return nil, errNilFn
	}
	defer callBegins()()
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

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		remaining = len(in)
		done      int // inputs that succeeded
		notRun    int
		errs      []indexedError
		first     error // the first error delivered: the cause, when one failure leads to others
		finished  = make(chan struct{})
		changed   = make(chan struct{}, 1)
		once      sync.Once
		delivered = make([]bool, len(in))
	)
	report := newReporter(cfg.progress, len(in))
	defer report.stop()
	finish := func(j *job, failed bool) {
		remaining -= j.n
		report.note(Progress{Done: done, Failed: len(errs), Total: len(in)})
		if remaining == 0 || failed && !cfg.collect {
			once.Do(func() { close(finished) })
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	c := &call{ctx: cctx, cancel: cancel, run: run, fn: f, slice: sliceArgs[In], timeout: cfg.timeout, retries: cfg.retries,
		chunk: cfg.chunk, fine: cfg.progress != nil, total: len(in), source: &sliceSource[In]{in: in}}
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
		if first == nil && len(jerrs) > 0 {
			first = jerrs[0].err
		}
		done += j.n - len(jerrs)
		finish(j, len(jerrs) > 0)
	}
	c.notRun = func(j *job) {
		mu.Lock()
		defer mu.Unlock()
		notRun += j.n
		finish(j, false)
	}
	if err := p.submit(c); err != nil {
		return nil, err
	}
	for {
		select {
		case <-ctx.Done():
			p.abandon(c)
			report.final()
			return nil, ctx.Err()
		case <-changed:
			report.flush()
			continue
		case <-report.due():
			report.tick()
			continue
		case <-finished:
		}
		break
	}
	p.abandon(c)
	report.final()
	mu.Lock()
	defer mu.Unlock()
	// Interrupted: what finished is returned along with the signal.
	var all []error
	if notRun > 0 {
		all = append(all, &InterruptedError{Signal: p.interruptSignal(), NotRun: notRun})
	}
	switch {
	case len(errs) == 0:
	case !cfg.collect && notRun == 0:
		return nil, first
	case !cfg.collect:
		all = append(all, first)
	default:
		slices.SortStableFunc(errs, func(a, b indexedError) int { return cmp.Compare(a.index, b.index) })
		for _, e := range errs {
			all = append(all, e.err)
		}
	}
	return out, errors.Join(all...)
}

// errNilFn is the error of a call given a nil function.
var errNilFn = errors.New("mproc: fn is nil: pass a top-level function, or a func literal that captures nothing")

// interruptSignal returns the signal that interrupted the pool, if any.
func (p *Pool) interruptSignal() os.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.interrupted
}

// check reports a function or a first input that the codec cannot send,
// before anything runs; an in-process pool without RoundTrip sends nothing.
// first is the []In holding the first input.
func (p *Pool) check(fn, first any) error {
	if p.cfg.remote != nil {
		return checkRemote(fn, first)
	}
	if p.cfg.inProcess && !p.cfg.roundTrip {
		return nil
	}
	if err := checkFn(fn); err != nil {
		return err
	}
	err := codec.Sendable(boxed{first})
	return userPath(err, func(path string) (string, bool) { return argsPath(".V.", path, 0) })
}

// checkSendable reports a function or input the codec cannot send.
func checkSendable(fn, arg any) error {
	if err := checkFn(fn); err != nil {
		return err
	}
	err := codec.Sendable(boxed{arg})
	return userPath(err, func(path string) (string, bool) {
		rest, ok := afterAssertion(".V.", path)
		return "args[0]" + rest, ok
	})
}

// checkFn reports a function the codec cannot send.
func checkFn(fn any) error {
	err := codec.Sendable(boxed{fn})
	return userPath(err, func(path string) (string, bool) { return fnPath(".V.", path) })
}
