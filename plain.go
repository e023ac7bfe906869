package mproc

import (
	"context"
	"runtime"
	"sync"
	"unsafe"

	"github.com/mproc-go/mproc/internal/wire"
)

// Plain adapts a func(In) Out, such as a top-level func square(x int) int,
// to the signature Map, Imap and Submit take:
//
//	out, err := mproc.Map(ctx, pool, mproc.Plain(square), xs)
//
// The function still travels by reference: the pool recognises the adapter
// and sends f itself with a runner for plain functions, not the closure
// Plain returns (which the codec could not send). A panic in f becomes a
// *TaskError like any other.
//
//go:noinline
func Plain[In, Out any](f func(In) Out) func(context.Context, In) (Out, error) {
	g := func(_ context.Context, in In) (Out, error) { return f(in), nil }
	obj := funcObject(g)
	e := &plainEntry{code: *(*uintptr)(obj), run: runPlain[In, Out]{}, fn: f}
	plains.Store(uintptr(obj), e)
	runtime.AddCleanup((*uintptr)(obj), func(key uintptr) { plains.CompareAndDelete(key, e) }, uintptr(obj))
	return g
}

// plains maps the closures Plain returned, by address, to what they adapt.
// An entry goes when its closure is collected.
var plains sync.Map

type plainEntry struct {
	code uintptr // the closure's code pointer, to tell it from a later object at the same address
	run  wire.Runner
	fn   any
}

// funcObject returns the address of the closure object a func value points to.
func funcObject[F any](f F) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&f)) }

// runnerFor returns what to send for fn: the adapted function if fn came
// from Plain, fn itself otherwise.
func runnerFor[In, Out any](fn func(context.Context, In) (Out, error)) (wire.Runner, any) {
	if fn != nil {
		obj := funcObject(fn)
		if v, ok := plains.Load(uintptr(obj)); ok {
			if e := v.(*plainEntry); e.code == *(*uintptr)(obj) {
				return e.run, e.fn
			}
		}
	}
	return runCtx[In, Out]{}, fn
}
