package mproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/queue"
	"github.com/mproc-go/mproc/internal/shared"
	"github.com/mproc-go/mproc/internal/sock"
)

// A Shared holds a value of type T that lives in the process that made it
// (its owner) and is used from any process it is handed to, like the
// objects of Python's multiprocessing managers: Call sends a function and
// an argument to the owner, which runs them on the value, one call at a
// time, and sends back the result. Functions travel by reference, arguments
// and results through the codec. Because every call runs in the owner on
// the one value, a mutation through a nested part of it is seen by every
// process (CPython's nested proxies lose it, gh-91192).
//
// A Shared is a handle: it travels as a connection to the owner, passed
// as a descriptor, to processes of this machine only. When the owner
// exits, every call elsewhere fails with ErrSharedOwnerGone instead of
// waiting. As for a Queue, a Shared that came with a task's input lasts as
// long as the task.
//
// SharedMap and SharedList are ready-made shared containers; a Shared of a
// struct is Python's Namespace.
type Shared[T any] struct {
	mu    sync.Mutex // serializes calls in the owner
	v     *T
	name  string
	owner int
	srv   *shared.Server
	proxy *shared.Proxy
}

var sharedSeq atomic.Int64

// NewShared makes v a shared value owned by this process.
func NewShared[T any](v T) *Shared[T] {
	s := &Shared[T]{v: &v, owner: os.Getpid()}
	s.name = fmt.Sprintf("shared-%d-%d", os.Getpid(), sharedSeq.Add(1))
	s.srv = shared.NewServer(s.name, sharedHandler[T]{s})
	return s
}

// Name returns the shared value's name, as errors give it.
func (s *Shared[T]) Name() string { return s.name }

// Call runs fn(v, arg) in the process that owns s, on its value v, while
// no other call runs, and returns fn's result. In the owner, fn gets arg
// itself; elsewhere a copy, through the codec, and the result comes back
// the same way. fn must be a function that travels by reference (a
// top-level function, a method expression, a generic instantiation) and
// must not Call s itself: calls are serialized. A panic in fn fails the
// call with its message and stack, and leaves the owner running. A call that ctx
// ends while it runs in the owner still completes there.
func Call[T, A, R any](ctx context.Context, s *Shared[T], fn func(*T, A) (R, error), arg A) (R, error) {
	var zero R
	if s.proxy == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		var r R
		err := protect(func() error {
			var err error
			r, err = fn(s.v, arg)
			return err
		})
		return r, s.fail("Call", err)
	}
	out, err := s.proxy.Call(ctx, sharedCall[T]{Run: runCall[T, A, R], Fn: fn, Arg: arg})
	if err != nil {
		return zero, s.fail("Call", err)
	}
	o, ok := out.(sharedOutcome)
	if !ok {
		return zero, s.fail("Call", fmt.Errorf("the owner answered a %T", out))
	}
	if o.Err != nil {
		return zero, s.fail("Call", o.Err)
	}
	r, _ := o.V.(R)
	return r, nil
}

// Load returns a copy of the value (through the codec: in the owner too).
func (s *Shared[T]) Load(ctx context.Context) (T, error) {
	return Call(ctx, s, loadShared[T], struct{}{})
}

// Store replaces the value.
func (s *Shared[T]) Store(ctx context.Context, v T) error {
	_, err := Call(ctx, s, storeShared[T], v)
	return err
}

func loadShared[T any](v *T, _ struct{}) (T, error) {
	var b box[T]
	// A copy, so that the caller cannot change the owner's value behind
	// its lock.
	if err := roundTripInto(box[T]{V: *v}, &b); err != nil {
		return b.V, err
	}
	return b.V, nil
}

func storeShared[T any](v *T, x T) (struct{}, error) {
	*v = x
	return struct{}{}, nil
}

// roundTripInto copies src into dst through the codec, handles included.
func roundTripInto(src, dst any) error {
	it, err := queue.Encode(src)
	if err != nil {
		return err
	}
	return queue.Decode(it, dst)
}

// A sharedCall is what a proxy sends: the function, its argument, and
// the instantiation of runCall that calls it with their types.
type sharedCall[T any] struct {
	Run func(*T, any, any) (any, error)
	Fn  any
	Arg any
}

// runCall calls fn(v, arg) with their static types; a generic
// instantiation, it travels by reference.
func runCall[T, A, R any](v *T, fn, arg any) (any, error) {
	f, ok := fn.(func(*T, A) (R, error))
	if !ok {
		return nil, fmt.Errorf("mproc: a shared call's function is a %T", fn)
	}
	a, _ := arg.(A)
	return f(v, a)
}

// sharedOutcome is what the owner answers.
type sharedOutcome struct {
	V   any
	Err error
}

// sharedHandler runs the calls of proxies on s's value.
type sharedHandler[T any] struct{ s *Shared[T] }

func (h sharedHandler[T]) Serve(call any) any {
	c, ok := call.(sharedCall[T])
	if !ok || c.Run == nil {
		return sharedOutcome{Err: fmt.Errorf("the owner cannot run a %T", call)}
	}
	var o sharedOutcome
	h.s.mu.Lock()
	o.Err = protect(func() error {
		var err error
		o.V, err = c.Run(h.s.v, c.Fn, c.Arg)
		return err
	})
	h.s.mu.Unlock()
	return o
}

// Unsendable says that the result or the error cannot travel.
func (h sharedHandler[T]) Unsendable(outcome any, err error) any {
	msg := err.Error()
	if o, ok := outcome.(sharedOutcome); ok && o.Err != nil {
		msg = o.Err.Error() + " (and it cannot travel: " + msg + ")"
	}
	return sharedOutcome{Err: errors.New(msg)}
}

// protect runs f, turning a panic into an error that carries the stack.
func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the call panicked in the owner, process %d: %v (%T)\n\n%s", os.Getpid(), r, r, debug.Stack())
		}
	}()
	return f()
}

// ErrSharedOwnerGone is what calls on a shared value report once the
// process that owns it exited.
var ErrSharedOwnerGone = shared.ErrOwnerGone

// A SharedError reports a call on a shared value that failed: which value,
// in which process, and why (Err, for errors.Is and errors.As: the
// function's own error, a panic's message and stack, ErrSharedOwnerGone, a
// *codec.UnsupportedError, a context's error).
type SharedError struct {
	Shared string
	Op     string
	Pid    int // the process the call was made in
	Owner  int // the process that owns the value
	Err    error
}

func (e *SharedError) Error() string {
	msg := fmt.Sprintf("mproc: %s on shared value %q (owned by process %d) in process %d: %v", e.Op, e.Shared, e.Owner, e.Pid, e.Err)
	if errors.Is(e.Err, ErrSharedOwnerGone) {
		msg += fmt.Sprintf("; fix: keep process %d alive while other processes use the values it shares", e.Owner)
	}
	return msg
}

func (e *SharedError) Unwrap() error { return e.Err }

func (s *Shared[T]) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return &SharedError{Shared: s.name, Op: op, Pid: os.Getpid(), Owner: s.owner, Err: err}
}

type sharedHandle struct {
	Conn  *os.File
	Name  string
	Owner int
}

// MarshalHandle gives the receiver a connection of its own to the owner
// (codec.HandleMarshaler).
func (s *Shared[T]) MarshalHandle() (any, []*os.File, error) {
	var c *sock.Conn
	var err error
	if s.proxy == nil {
		c, err = s.srv.Connect()
	} else {
		c, err = s.proxy.Dial()
	}
	if err != nil {
		return nil, nil, s.fail("send", err)
	}
	f := c.File()
	return sharedHandle{Conn: f, Name: s.name, Owner: s.owner}, []*os.File{f}, nil
}

// UnmarshalHandle makes the value received a proxy
// (codec.HandleUnmarshaler).
func (s *Shared[T]) UnmarshalHandle(state any) error {
	h, ok := state.(sharedHandle)
	if !ok || h.Conn == nil {
		return fmt.Errorf("mproc: a Shared's handle is a %T", state)
	}
	c, err := sock.FileConn(h.Conn)
	if err != nil {
		return fmt.Errorf("mproc: shared value %q: %w", h.Name, err)
	}
	s.name, s.owner = h.Name, h.Owner
	s.proxy = shared.NewProxy(h.Name, c)
	return nil
}

// Release lets go of a shared value received from another process; it
// does nothing in the owner.
func (s *Shared[T]) Release() error {
	if s.proxy == nil {
		return nil
	}
	return s.proxy.Release()
}

var _ codec.HandleMarshaler = (*Shared[int])(nil)

// CloseHandle lets go of the shared value in this process
// (codec.HandleCloser): Release.
func (s *Shared[T]) CloseHandle() error { return s.Release() }
