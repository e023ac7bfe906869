package mproc

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTimeout is matched by errors.Is for a task that ran past its timeout
// and whose worker was killed for it.
var ErrTimeout = errors.New("mproc: task timed out")

// ErrClosed is returned for calls on a pool that was closed or terminated,
// and for their tasks still waiting when Terminate was called.
var ErrClosed = errors.New("mproc: pool is closed")

// A TaskError reports a task that returned an error or panicked. The worker
// that ran it is unharmed and goes on with other tasks.
type TaskError struct {
	Index  int    // index of the input in the call (0 for Submit and Start)
	Worker int    // ID of the worker that ran it (0 in-process)
	Pid    int    // its process ID
	Type   string // concrete type of the error, or of the panic value
	Msg    string // the error's message, or the panic value printed
	Err    error  // the error as returned, rebuilt in this process; nil after a panic or when it could not be sent
	Panic  bool   // whether the task panicked
	Stack  string // the worker's stack when it panicked
}

func (e *TaskError) Error() string {
	where := ""
	if e.Pid != 0 {
		where = fmt.Sprintf(" in worker %d (pid %d)", e.Worker, e.Pid)
	}
	if e.Panic {
		return fmt.Sprintf("mproc: task %d panicked%s: %s (%s); the worker's stack is in TaskError.Stack", e.Index, where, e.Msg, e.Type)
	}
	return fmt.Sprintf("mproc: task %d failed%s: %s (%s)", e.Index, where, e.Msg, e.Type)
}

// Unwrap returns the task's error, so that errors.Is and errors.As see
// through a TaskError to sentinel errors and error types of this binary.
func (e *TaskError) Unwrap() error { return e.Err }

// A WorkerExitError reports a worker process that died: while running a
// task (os.Exit, a signal, a Go fatal error), or before it could say why.
// The pool has started a replacement; other tasks go on.
type WorkerExitError struct {
	Worker int    // ID of the worker
	Pid    int    // its process ID
	Index  int    // index of the input it was running, -1 if none
	Code   int    // exit status, -1 when killed by a signal
	Signal string // name of the signal that killed it, such as "SIGKILL"
	Reason string // what the worker or the pool said, when it said something
	Stderr string // the last lines the worker wrote to its stderr
}

func (e *WorkerExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mproc: worker %d (pid %d) ", e.Worker, e.Pid)
	if e.Index >= 0 {
		fmt.Fprintf(&b, "died running task %d: ", e.Index)
	} else {
		b.WriteString("died: ")
	}
	switch {
	case e.Signal != "":
		b.WriteString("killed by " + e.Signal)
	default:
		fmt.Fprintf(&b, "exit status %d", e.Code)
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	if e.Stderr != "" {
		b.WriteString("; its stderr ends with:\n" + e.Stderr)
	}
	return b.String()
}

// A TimeoutError reports a task that ran past its timeout (see Timeout).
// Its worker was killed for it and replaced. errors.Is(err, ErrTimeout)
// holds.
type TimeoutError struct {
	Index   int           // index of the input in the call
	Worker  int           // ID of the worker that ran it, 0 in-process
	Pid     int           // its process ID
	Elapsed time.Duration // how long the task had run
	Limit   time.Duration // the timeout
}

func (e *TimeoutError) Error() string {
	if e.Pid == 0 {
		return fmt.Sprintf("mproc: task %d timed out after %v (limit %v); its context was cancelled", e.Index, e.Elapsed.Round(time.Millisecond), e.Limit)
	}
	return fmt.Sprintf("mproc: task %d timed out after %v (limit %v); worker %d (pid %d) was killed", e.Index,
		e.Elapsed.Round(time.Millisecond), e.Limit, e.Worker, e.Pid)
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// An InitError reports a pool initializer that failed in a worker; NewPool
// returns it.
type InitError struct {
	Worker int
	Pid    int
	Err    *TaskError // what the initializer returned or how it panicked
}

func (e *InitError) Error() string {
	return fmt.Sprintf("mproc: initializer failed in worker %d (pid %d): %s", e.Worker, e.Pid, e.Err.Msg)
}

func (e *InitError) Unwrap() error { return e.Err }
