package mproc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mproc-go/mproc/codec"
)

// ErrTimeout is matched by errors.Is for a task that ran past its timeout
// and whose worker was killed for it.
var ErrTimeout = errors.New("mproc: task timed out")

// ErrClosed is returned for calls on a pool that was closed or terminated,
// and for their tasks still waiting when Terminate was called.
var ErrClosed = errors.New("mproc: pool is closed")

// ErrInterrupted is matched by errors.Is for a call stopped by a signal
// under ShutdownOnSignal (see InterruptedError).
var ErrInterrupted = errors.New("mproc: interrupted")

// An InterruptedError reports a call that a signal stopped (see
// ShutdownOnSignal): the inputs that had started ran to the end and their
// outputs are returned along with this error; NotRun inputs never started.
// errors.Is(err, ErrInterrupted) holds.
type InterruptedError struct {
	Signal os.Signal
	NotRun int // inputs of the call that did not run
}

func (e *InterruptedError) Error() string {
	inputs := "inputs"
	if e.NotRun == 1 {
		inputs = "input"
	}
	return fmt.Sprintf("mproc: interrupted by %v: the running tasks finished, %d %s did not run", signalName(e.Signal), e.NotRun, inputs)
}

// Is reports whether target is ErrInterrupted.
func (e *InterruptedError) Is(target error) bool { return target == ErrInterrupted }

// signalName names a signal as the kernel headers do ("SIGINT").
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return fmt.Sprint(sig)
}

// A TaskError reports a task that returned an error or panicked. The worker
// that ran it is unharmed and goes on with other tasks.
type TaskError struct {
	Index  int    // index of the input in the call (0 for Submit and Start)
	Worker int    // ID of the worker that ran it (0 in-process)
	Pid    int    // its process ID
	Node   string // the cluster node it ran on, "" on this machine
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
	where += onNode(e.Node)
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
	Node   string // the cluster node it ran on, "" on this machine
	Index  int    // index of the input it was running (see Lost), -1 if none
	Code   int    // exit status, -1 when killed by a signal
	Signal string // name of the signal that killed it, such as "SIGKILL"
	Reason string // what the worker or the pool said, when it said something
	Stderr string // the last lines the worker wrote to its stderr

	// Lost reports an input that had run to the end, but whose result died
	// with the worker before it reached the pool: Index is that input, and
	// Running the input the worker was running when it died (-1 if it was
	// between tasks). Without Retries such an input is not run again.
	Lost    bool
	Running int

	// Attempts is how many times the input was run, when its call had
	// Retries: 1 + the retries used, all of them ended by a worker's death.
	Attempts int

	runningOther bool // with Lost: Running is an input of another call
}

func (e *WorkerExitError) Error() string {
	var b strings.Builder
	if e.Lost {
		fmt.Fprintf(&b, "mproc: task %d ran but its result was lost when worker %d (pid %d) died ", e.Index, e.Worker, e.Pid)
		switch {
		case e.Running < 0:
			b.WriteString("between tasks: ")
		case e.runningOther:
			fmt.Fprintf(&b, "running input %d of another call: ", e.Running)
		default:
			fmt.Fprintf(&b, "running input %d: ", e.Running)
		}
		b.WriteString("it is not run again without Retries; how the worker ended: ")
	} else {
		fmt.Fprintf(&b, "mproc: worker %d (pid %d)%s ", e.Worker, e.Pid, onNode(e.Node))
		if e.Index >= 0 {
			fmt.Fprintf(&b, "died running task %d: ", e.Index)
		} else {
			b.WriteString("died: ")
		}
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
	if e.Attempts > 1 {
		fmt.Fprintf(&b, "; it was run %d times (Retries(%d)), and each time its worker died", e.Attempts, e.Attempts-1)
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
	Node    string        // the cluster node it ran on, "" on this machine
	Elapsed time.Duration // how long the task had run
	Limit   time.Duration // the timeout
}

func (e *TimeoutError) Error() string {
	if e.Pid == 0 {
		return fmt.Sprintf("mproc: task %d timed out after %v (limit %v); its context was cancelled", e.Index, e.Elapsed.Round(time.Millisecond), e.Limit)
	}
	return fmt.Sprintf("mproc: task %d timed out after %v (limit %v); worker %d (pid %d)%s was killed", e.Index,
		e.Elapsed.Round(time.Millisecond), e.Limit, e.Worker, e.Pid, onNode(e.Node))
}

// onNode says where a worker ran, for errors: nothing on this machine.
func onNode(node string) string {
	if node == "" {
		return ""
	}
	return " on node " + node
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// An InitError reports a pool initializer that failed in a worker, or
// that ran past InitTimeout; NewPool returns it.
type InitError struct {
	Worker int
	Pid    int
	Err    *TaskError    // what the initializer returned or how it panicked; nil when it timed out
	Limit  time.Duration // the InitTimeout it ran past, 0 when it failed
}

func (e *InitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("mproc: initializer in worker %d (pid %d) did not return within %v (InitTimeout); the worker was killed",
			e.Worker, e.Pid, e.Limit)
	}
	return fmt.Sprintf("mproc: initializer failed in worker %d (pid %d): %s", e.Worker, e.Pid, e.Err.Msg)
}

func (e *InitError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Is reports whether target is ErrTimeout for an initializer that timed
// out.
func (e *InitError) Is(target error) bool { return target == ErrTimeout && e.Limit > 0 }

// The codec reports where a value cannot be sent by its path from what it
// encoded: a task message (.Fn, .Args), or the box an up-front check or the
// in-process RoundTrip backend wraps a value in (.V). The caller knows
// neither: these rewrite the path as the function, fn, or the input in the
// caller's slice, args[i], followed by the rest of the path.

// userPath returns err with its path rewritten by rewrite, as a new
// *codec.UnsupportedError, when err is one and rewrite recognises its path;
// otherwise err.
func userPath(err error, rewrite func(path string) (string, bool)) error {
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		return err
	}
	path, ok := rewrite(ue.Path)
	if !ok {
		return err
	}
	return &codec.UnsupportedError{Path: path, Type: ue.Type, Reason: ue.Reason, Fix: ue.Fix}
}

// sendError rewrites the path of an error from sending job j: a task
// message, or in-process the function and the inputs boxed apart.
func (j *job) sendError(err error) error {
	return userPath(err, func(path string) (string, bool) {
		switch {
		case strings.HasPrefix(path, ".Fn."):
			return fnPath(".Fn.", path)
		case strings.HasPrefix(path, ".Args."):
			return argsPath(".Args.", path, j.start)
		case strings.HasPrefix(path, ".V."):
			// Which box failed: the function's, the inputs', or neither
			// (an output on its way back).
			if samePath(boxed{j.c.fn}, path) {
				return fnPath(".V.", path)
			}
			if samePath(boxed{j.args}, path) {
				return argsPath(".V.", path, j.start)
			}
		}
		return "", false
	})
}

// samePath reports whether encoding v fails at path.
func samePath(v any, path string) bool {
	var ue *codec.UnsupportedError
	err := codec.Sendable(v)
	return errors.As(err, &ue) && ue.Path == path
}

// fnPath turns field.(T)rest into fn followed by rest.
func fnPath(field, path string) (string, bool) {
	rest, ok := afterAssertion(field, path)
	return "fn" + rest, ok
}

// argsPath turns field.([]In)[k]rest into args[start+k] followed by rest.
func argsPath(field, path string, start int) (string, bool) {
	rest, ok := afterAssertion(field, path)
	if !ok || !strings.HasPrefix(rest, "[") {
		return "", false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return "", false
	}
	k, err := strconv.Atoi(rest[1:end])
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("args[%d]%s", start+k, rest[end+1:]), true
}

// afterAssertion returns what follows field.(T) at the start of path, T
// being a type that may hold parentheses itself (a func type).
func afterAssertion(field, path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, field)
	if !ok {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	if !strings.HasPrefix(rest, "(") {
		return "", false
	}
	depth := 0
	for i, r := range rest {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return rest[i+1:], true
			}
		}
	}
	return "", false
}
