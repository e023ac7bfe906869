package mproc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/serve"
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
		f, ok := serve.Protect(func() { err = p.cfg.initRun.Init(context.Background(), fn, arg) })
		if !ok || err != nil {
			if ok {
				f = serve.Fail(-1, err)
			}
			return &InitError{Worker: id, Err: &TaskError{Index: -1, Worker: id, Type: f.Type, Msg: f.Msg, Err: f.Err,
				Panic: f.Stack != "", Stack: f.Stack}}
		}
	}
	w := &worker{id: id, window: 1}
	p.mu.Lock()
	p.workers[w] = struct{}{}
	p.live++
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			jobs, _, _, stop := p.take(w)
			if stop {
				p.mu.Lock()
				delete(p.workers, w)
				p.mu.Unlock()
				return
			}
			for _, j := range jobs {
				p.runHere(w, j)
			}
		}
	}()
	return nil
}

// runHere runs job j on this goroutine.
func (p *Pool) runHere(w *worker, j *job) {
	out, fails, err := p.runLocal(j)
	p.mu.Lock()
	w.inflight = w.inflight[:0]
	p.cond.Broadcast()
	p.mu.Unlock()
	if j.c.ctx.Err() != nil {
		return
	}
	if err != nil {
		j.failAll(err)
		return
	}
	j.c.deliver(j, out, taskErrors(j, fails, w.id, 0))
}

func (p *Pool) runLocal(j *job) (out any, fails []wire.Failure, err error) {
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
	ctx := j.c.ctx
	if j.c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.c.timeout)
		defer cancel()
	}
	start := time.Now()
	out, fails = j.c.run.Run(ctx, fn, args, &item)
	if j.c.timeout > 0 && ctx.Err() == context.DeadlineExceeded && j.c.ctx.Err() == nil {
		// Goroutines cannot be killed: the task ran until it saw its context.
		return nil, nil, &TimeoutError{Index: j.start + int(item.Load()), Elapsed: time.Since(start), Limit: j.c.timeout}
	}
	if p.cfg.roundTrip {
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
func roundTrip(v any) (any, error) {
	data, err := codec.Marshal(boxed{v})
	if err != nil {
		return nil, err
	}
	var b boxed
	if err := codec.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	return b.V, nil
}
