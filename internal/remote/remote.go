// Package remote is the seam between package mproc and the executors that
// run its tasks on other machines (package cluster, in its own module):
// the pool cuts and balances the work, encodes each task, and hands the
// bytes to an Executor; a node decodes them and runs them in a pool of its
// own worker processes. Only packages of mproc's tree can import it, so the
// contract can change with them.
package remote

import (
	"context"
	"time"
)

// A Task is one chunk of a call's inputs, encoded by the pool.
type Task struct {
	Call    uint64        // the call it belongs to, unique in the pool
	ID      uint64        // the task, unique in the pool
	First   int           // index in the call of its first input
	N       int           // its inputs
	Timeout time.Duration // per input, 0 for none: the node enforces it
	Retries int           // runs again after a node's or a worker's death
	Payload []byte        // what Node runs
}

// An Executor runs tasks elsewhere. The pool calls Execute from Slots
// goroutines at most, one task each at a time.
type Executor interface {
	// Slots returns how many tasks may be in flight at once.
	Slots() int
	// Execute runs t and returns the encoded result (see Decode). It
	// returns an error only when the task did not run to a result: ctx was
	// cancelled (the executor then cancels it where it runs), the executor
	// was closed, or the task was lost more often than its Retries allow.
	Execute(ctx context.Context, t *Task) ([]byte, error)
	// Close releases the executor once the pool has stopped using it.
	Close() error
	// Strict reports whether tasks must decode by name alone (nodes of
	// other builds, codec.Strict): the pool then sends no Runner, and the
	// function and types must be registered with codec.Register.
	Strict() bool
}

// Hooks package mproc fills in at initialisation, for the executors and
// nodes, which cannot see its unexported parts.
var (
	// Run decodes a task's payload, runs it on local, a *mproc.Pool of
	// the node's worker processes, and returns the encoded result. It
	// never fails: a task that cannot be decoded or run has a result
	// saying so for each of its inputs. node names this process in errors;
	// strict decodes the task with codec.Strict (see Executor.Strict).
	Run func(ctx context.Context, local any, payload []byte, node string, strict bool) []byte
)

// Node, when a package (cluster) sets it at initialisation, is called by
// mproc.Main in a process that is not a worker: it reports false when the
// process is not to be a node, and otherwise serves as one and exits.
var Node func() bool
