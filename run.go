package mproc

import (
	"context"
	"fmt"
	"reflect"

	"github.com/mproc-go/mproc/internal/serve"
	"github.com/mproc-go/mproc/internal/wire"
)

// runCtx is the wire.Runner for a func(context.Context, In) (Out, error).
// It is empty: what travels is its type, by reference.
type runCtx[In, Out any] struct{}

func (runCtx[In, Out]) Run(ctx context.Context, fn, args any, t *wire.Tracker, resume func(any, []wire.Failure)) (any, []wire.Failure) {
	f, _ := fn.(func(context.Context, In) (Out, error))
	return runEach(ctx, args.([]In), t, resume, func(in In) (Out, error) { return f(ctx, in) })
}

// NewOut returns a *[]Out, where a remote result's outputs decode.
func (runCtx[In, Out]) NewOut() any { return new([]Out) }

// runPlain is the wire.Runner for a func(In) Out given to Plain.
type runPlain[In, Out any] struct{}

func (runPlain[In, Out]) Run(ctx context.Context, fn, args any, t *wire.Tracker, resume func(any, []wire.Failure)) (any, []wire.Failure) {
	f, _ := fn.(func(In) Out)
	return runEach(ctx, args.([]In), t, resume, func(in In) (Out, error) { return f(in), nil })
}

// NewOut returns a *[]Out, where a remote result's outputs decode.
func (runPlain[In, Out]) NewOut() any { return new([]Out) }

// runEach calls f on each input, recording progress in item, recovering
// panics, and failing the inputs left when ctx is cancelled. An input that
// calls runtime.Goexit fails, and the rest of the inputs run on a fresh
// goroutine, which passes the outcome to resume (see wire.Runner).
func runEach[In, Out any](ctx context.Context, in []In, t *wire.Tracker, resume func(any, []wire.Failure), f func(In) (Out, error)) (any, []wire.Failure) {
	s := &eachRun[In, Out]{ctx: ctx, in: in, out: make([]Out, len(in)), t: t, f: f, resume: resume}
	s.loop()
	return s.out[t.Sent:], s.fails
}

// eachRun is the state of a runEach, which a fresh goroutine takes over
// when an input calls runtime.Goexit.
type eachRun[In, Out any] struct {
	ctx    context.Context
	in     []In
	out    []Out
	fails  []wire.Failure
	i      int // the input running
	t      *wire.Tracker
	f      func(In) (Out, error)
	resume func(any, []wire.Failure)
}

// loop runs the inputs from s.i on. It returns normally unless an input
// called runtime.Goexit; then its deferred call fails that input and hands
// the rest over to a fresh goroutine, as this one is ending.
func (s *eachRun[In, Out]) loop() {
	returned := false
	defer func() {
		if returned {
			return
		}
		// Protect recovers every panic, so only runtime.Goexit gets here.
		s.fails = append(s.fails, serve.GoexitFailure(s.i, "task"))
		s.i++
		go func() {
			s.loop()
			s.resume(s.out[s.t.Sent:], s.fails)
		}()
	}()
	// One Protect covers a run of inputs rather than each: a deferred
	// recover per input cost trivial tasks a fifth of their speed. A panic
	// ends the run at the input that panicked; the next run starts after it.
	for s.i < len(s.in) {
		if fail, ok := serve.Protect(s.run); !ok {
			fail.Item = s.i
			s.fails = append(s.fails, fail)
			s.after(s.i)
			s.i++
		}
	}
	returned = true
}

// run runs the inputs from s.i on until they are all done, the call is
// cancelled (the inputs left fail with its error) or one panics (s.i is
// that input).
func (s *eachRun[In, Out]) run() {
	for ; s.i < len(s.in); s.i++ {
		i := s.i
		if err := s.ctx.Err(); err != nil {
			for ; i < len(s.in); i++ {
				s.fails = append(s.fails, serve.Fail(i, err))
			}
			s.i = len(s.in)
			return
		}
		s.t.Item.Store(uint64(i))
		out, err := s.f(s.in[i])
		s.out[i] = out
		if err != nil {
			s.fails = append(s.fails, serve.Fail(i, err))
		}
		s.after(i)
	}
}

// after passes on the outcome of the inputs up to i when the tracker says
// it is time: a crash later in the chunk then keeps it.
func (s *eachRun[In, Out]) after(i int) {
	if s.t.Due != nil && i+1 < len(s.in) && s.t.Due(i+1, len(s.in)) {
		from := s.t.Sent
		s.t.Sent = i + 1
		s.t.Partial(from, s.out[from:i+1], s.fails)
		s.fails = nil
	}
}

// runReflect is the wire.Runner of a task decoded by name only (a cluster
// pool in Strict mode, whose nodes may run another build): no generic
// Runner travels, so the function is called through reflect, for a
// func(context.Context, In) (Out, error) or a func(In) Out (Plain), on a
// []In. It costs a reflect call per input, next to a network round trip
// per task. It sends no partial results.
type runReflect struct{}

func (runReflect) Run(ctx context.Context, fn, args any, t *wire.Tracker, _ func(any, []wire.Failure)) (any, []wire.Failure) {
	fv, in := reflect.ValueOf(fn), reflect.ValueOf(args)
	ft := fv.Type()
	n := in.Len()
	out := reflect.MakeSlice(reflect.SliceOf(ft.Out(0)), n, n)
	ctxV := reflect.ValueOf(&ctx).Elem()
	var fails []wire.Failure
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			for ; i < n; i++ {
				fails = append(fails, serve.Fail(i, err))
			}
			break
		}
		t.Item.Store(uint64(i))
		fail, ok := serve.Protect(func() {
			var res []reflect.Value
			if ft.NumIn() == 2 {
				res = fv.Call([]reflect.Value{ctxV, in.Index(i)})
			} else {
				res = fv.Call([]reflect.Value{in.Index(i)})
			}
			out.Index(i).Set(res[0])
			if len(res) == 2 && !res[1].IsNil() {
				fails = append(fails, serve.Fail(i, res[1].Interface().(error)))
			}
		})
		if !ok {
			fail.Item = i
			fails = append(fails, fail)
		}
	}
	return out.Interface(), fails
}

// reflectRunnable reports whether fn and args can go to runReflect.
func reflectRunnable(fn any, args reflect.Value) error {
	ft := reflect.TypeOf(fn)
	ctxT, errT := reflect.TypeFor[context.Context](), reflect.TypeFor[error]()
	switch {
	case ft == nil || ft.Kind() != reflect.Func:
		return fmt.Errorf("the task's function is a %v", ft)
	case ft.NumIn() == 2 && ft.In(0) == ctxT && ft.NumOut() == 2 && ft.Out(1) == errT,
		ft.NumIn() == 1 && ft.NumOut() == 1:
	default:
		return fmt.Errorf("the task's function is a %v, not a func(context.Context, In) (Out, error) or a func(In) Out", ft)
	}
	if want := reflect.SliceOf(ft.In(ft.NumIn() - 1)); args.Type() != want {
		return fmt.Errorf("the task's inputs are a %v, its function takes a %v", args.Type(), want)
	}
	return nil
}

// runInit is the wire.Initializer for an initializer with an argument of
// type A.
type runInit[A any] struct{}

func (runInit[A]) Init(ctx context.Context, fn, arg any) error {
	a, _ := arg.(A)
	return fn.(func(context.Context, A) error)(ctx, a)
}
