package mproc

import (
	"context"
	"iter"
	"sync"
)

// Imap runs fn on the inputs of seq in the pool's workers and yields the
// outputs in input order, like Python's Pool.imap but lazy: it reads seq
// only as results drain, keeping at most Window inputs in flight, so an
// endless or huge sequence streams in bounded memory (CPython's imap reads
// its whole input first). An input that fails yields its error (see Map
// for the error types) and the sequence goes on; stop iterating to cancel
// the rest. Cancelling ctx yields ctx.Err() once and stops.
func Imap[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return imap(ctx, p, fn, seq, true, opts)
}

// ImapUnordered is Imap yielding outputs as they complete, in any order:
// one slow input does not hold back the others.
func ImapUnordered[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return imap(ctx, p, fn, seq, false, opts)
}

// An imapItem is the outcome of one input.
type imapItem[Out any] struct {
	out Out
	err error
}

func imap[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], ordered bool, opts []CallOption) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		var zero Out
		cfg := p.callConfig(opts)
		size := max(cfg.chunk, 1)
		limit := cfg.window
		if limit <= 0 {
			limit = 4 * p.cfg.workers * size
		}
		limit = max(limit, size)
		run, f := runnerFor(fn)

		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			mu     sync.Mutex
			ready  = make(map[int]imapItem[Out]) // by input index
			order  []int                         // arrival order, for ImapUnordered
			signal = make(chan struct{}, 1)
		)
		c := &call{ctx: cctx, cancel: cancel, run: run, fn: f, slice: sliceArgs[In], timeout: cfg.timeout, retries: cfg.retries}
		c.deliver = func(j *job, o any, errs []indexedError) {
			outs, _ := o.([]Out)
			mu.Lock()
			for i := range j.n {
				var it imapItem[Out]
				if outs != nil {
					it.out = outs[i]
				}
				ready[j.start+i] = it
				order = append(order, j.start+i)
			}
			for _, e := range errs {
				ready[e.index] = imapItem[Out]{err: e.err}
			}
			mu.Unlock()
			select {
			case signal <- struct{}{}:
			default:
			}
		}
		defer p.abandon(c)

		next, stop := iter.Pull(seq)
		defer stop()
		var (
			sent, yielded, taken int // inputs sent, yielded, and read from seq
			exhausted            bool
			checked              bool
		)
		for {
			// Send inputs while the window has room.
			for !exhausted && sent-yielded < limit {
				chunk := make([]In, 0, size)
				for len(chunk) < size {
					v, ok := next()
					if !ok {
						exhausted = true
						break
					}
					chunk = append(chunk, v)
				}
				if len(chunk) == 0 {
					break
				}
				if !checked {
					checked = true
					if err := p.check(f, chunk[:1]); err != nil {
						yield(zero, err)
						return
					}
				}
				if err := p.enqueue(&job{c: c, start: taken, n: len(chunk), args: chunk}); err != nil {
					yield(zero, err)
					return
				}
				taken += len(chunk)
				sent += len(chunk)
			}
			if exhausted && yielded == sent {
				return
			}
			// Yield what is ready.
			mu.Lock()
			var batch []imapItem[Out]
			if ordered {
				for {
					it, ok := ready[yielded+len(batch)]
					if !ok {
						break
					}
					delete(ready, yielded+len(batch))
					batch = append(batch, it)
				}
			} else {
				for _, i := range order {
					if it, ok := ready[i]; ok {
						delete(ready, i)
						batch = append(batch, it)
					}
				}
				order = order[:0]
			}
			mu.Unlock()
			for _, it := range batch {
				yielded++
				if cfg.progress != nil {
					cfg.progress(Progress{Done: yielded, Total: -1})
				}
				if !yield(it.out, it.err) {
					return
				}
			}
			if len(batch) > 0 {
				continue
			}
			select {
			case <-signal:
			case <-ctx.Done():
				yield(zero, ctx.Err())
				return
			}
		}
	}
}
