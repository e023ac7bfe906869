package mproc

import (
	"context"
	"sync/atomic"

	"github.com/mproc-go/mproc/internal/serve"
	"github.com/mproc-go/mproc/internal/wire"
)

// runCtx is the wire.Runner for a func(context.Context, In) (Out, error).
// It is empty: what travels is its type, by reference.
type runCtx[In, Out any] struct{}

func (runCtx[In, Out]) Run(ctx context.Context, fn, args any, item *atomic.Uint64) (any, []wire.Failure) {
	f, _ := fn.(func(context.Context, In) (Out, error))
	return runEach(ctx, args.([]In), item, func(in In) (Out, error) { return f(ctx, in) })
}

// runPlain is the wire.Runner for a func(In) Out given to Plain.
type runPlain[In, Out any] struct{}

func (runPlain[In, Out]) Run(ctx context.Context, fn, args any, item *atomic.Uint64) (any, []wire.Failure) {
	f, _ := fn.(func(In) Out)
	return runEach(ctx, args.([]In), item, func(in In) (Out, error) { return f(in), nil })
}

// runEach calls f on each input, recording progress in item, recovering
// panics, and failing the inputs left when ctx is cancelled.
func runEach[In, Out any](ctx context.Context, in []In, item *atomic.Uint64, f func(In) (Out, error)) (any, []wire.Failure) {
	out := make([]Out, len(in))
	var fails []wire.Failure
	for i := range in {
		if err := ctx.Err(); err != nil {
			for ; i < len(in); i++ {
				fails = append(fails, serve.Fail(i, err))
			}
			break
		}
		item.Store(uint64(i))
		var err error
		fail, ok := serve.Protect(func() { out[i], err = f(in[i]) })
		switch {
		case !ok:
			fail.Item = i
			fails = append(fails, fail)
		case err != nil:
			fails = append(fails, serve.Fail(i, err))
		}
	}
	return out, fails
}

// runInit is the wire.Initializer for an initializer with an argument of
// type A.
type runInit[A any] struct{}

func (runInit[A]) Init(ctx context.Context, fn, arg any) error {
	a, _ := arg.(A)
	return fn.(func(context.Context, A) error)(ctx, a)
}
