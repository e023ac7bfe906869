// Package wire defines the messages a pool and its workers exchange over a
// control socket after the hello, and the functions that run inside a
// worker. Messages travel as codec values over one long-lived encoder and
// decoder per direction, so each type's description crosses once per
// connection; functions travel by reference.
package wire

import (
	"context"
	"sync/atomic"
)

// Kind says what a Msg is.
type Kind uint8

const (
	KindInit       Kind = iota + 1 // parent → worker, first: worker ID and initializer
	KindReady                      // worker → parent: initializer done, tasks welcome
	KindInitFailed                 // worker → parent: initializer failed (Fails[0]), worker exits
	KindTask                       // parent → worker: run Run(Fn, Args)
	KindCancel                     // parent → worker: cancel task ID's context
	KindResult                     // worker → parent: task ID's results, in task order
	KindFatal                      // worker → parent: the worker cannot go on (Text), it exits
	KindSteal                      // parent → worker: give task ID back unless it has started
	KindReturned                   // worker → parent: task ID was given back unstarted; it never runs there
)

// Msg is every message; Kind tells which fields are set.
type Msg struct {
	Kind  Kind
	ID    uint64      // Task, Cancel, Result: the task; Init: the worker's ID
	Init  Initializer // Init
	Setup *Setup      // Init
	Run   Runner      // Task
	Fn    any         // Init, Task: the user's function
	Args  any         // Init: the initializer's argument; Task: the inputs ([]In)
	Out   any         // Result: the outputs ([]Out), zero values where an item failed
	Fails []Failure
	Took  int64 // Result: how long the task ran in the worker, in ns
	// Result: the outputs are those of the task's inputs from From on;
	// a Partial result is followed by others for the inputs after it.
	From    int
	Partial bool
	N       int    // Partial: how many inputs it covers
	Text    string // Fatal
}

// Setup is how a worker is to run, sent with Init.
type Setup struct {
	Heartbeat   int64 // beat in the slot at least this often, in ns; 0 for never
	MemoryLimit int64 // bytes; 0 for none
}

// A Runner runs fn over the inputs args inside a worker and returns the
// outputs and the items that failed. It stores in t.Item the index of the
// input it is running, so that the parent can name it if the worker dies,
// and passes the outcome of the inputs done so far to t.Partial whenever
// t.Due says so; it then returns the outputs of the inputs after them
// (from t.Sent on) and the failures it did not pass on.
//
// The pool sends an empty value of a generic type instantiated for the
// task's In and Out: the codec sends the type by reference, and the worker
// calls its method through this interface without knowing In and Out. (A
// generic function instantiated inside generic code would not do: its
// value is a closure over the type arguments, which cannot travel.)
//
// An input whose function calls runtime.Goexit ends the goroutine running
// Run, which nothing can stop: Run then never returns. It fails that
// input instead, runs the inputs left on a fresh goroutine, and calls
// resume there with the outputs and failures it would have returned. The
// caller must thus do after Run only what resume does too, and defer
// nothing around Run that must not run when its goroutine ends.
type Runner interface {
	Run(ctx context.Context, fn, args any, t *Tracker, resume func(out any, fails []Failure)) (out any, fails []Failure)
}

// A Tracker is how a Runner tells the worker how far it got.
type Tracker struct {
	Item *atomic.Uint64 // the index of the input running, in the slot
	// Due, when not nil, is called after each input but the last, with the
	// number of inputs done and their total, and says whether the outcome
	// of the inputs done so far should go out now: Partial takes
	// the outputs of inputs from on and the failures among them, and
	// Sent is the number of inputs passed to it so far.
	Due     func(done, n int) bool
	Partial func(from int, out any, fails []Failure)
	Sent    int
}

// An Initializer runs a pool's initializer fn with its argument inside a
// worker; like a Runner it is an empty value of a generic type.
type Initializer interface {
	Init(ctx context.Context, fn, arg any) error
}

// A Failure is one input for which the task failed.
type Failure struct {
	Item  int    // index within the task's inputs; -1 for all of them
	Err   error  // the error as returned, when the codec could send it
	Type  string // the concrete type of the error, or of the panic value
	Msg   string // the error's message, or the panic value printed
	Stack string // the worker's stack, for a panic
}
