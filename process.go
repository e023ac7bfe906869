package mproc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// A Process is one function running in a new process of this executable,
// like Python's multiprocessing.Process, or an *exec.Cmd that Start has
// started: Wait returns fn's outcome, Done is closed when the process has
// ended, ExitCode and ProcessState say how it exited, Kill and Signal stop
// it.
type Process[Out any] struct {
	pool  *Pool
	w     *worker
	fut   *Future[Out]
	grace time.Duration
	stop  func() bool // stops watching Start's ctx

	mu           sync.Mutex
	ctxErr       error       // Start's ctx ended while fn ran
	timer        *time.Timer // kills the process CancelGrace after that
	graceKilled  bool        // the timer killed it
	callerKilled bool        // Kill killed it, before any timer did

	done  chan struct{} // closed once out, err and state are set
	out   Out
	err   error
	state *os.ProcessState
}

// Start runs fn(ctx, arg) in a new process and returns once the process
// has started and fn was sent to it. fn and arg travel as with Map; Pool
// options such as Env, Dir, Initializer, Output and CancelGrace apply. A
// ctx that is done already fails Start with ctx.Err() before a process
// starts. Start encodes fn and arg once before it starts the process, so
// that a value the codec refuses fails Start at no process's cost, and
// again to send them.
//
// Cancelling ctx, or its deadline, cancels the context fn sees at once. If
// fn has not returned CancelGrace later (DefaultCancelGrace unless set;
// zero means at once), the process is killed with SIGKILL, as
// exec.CommandContext does, and Wait returns an *ExitError for which
// errors.Is(err, ctx.Err()) holds. If fn returns within the grace period,
// Wait returns what it returned, often ctx.Err(); a result that was on its
// way as the grace ran out still counts, though the process then shows as
// killed in ProcessState.
//
// Each Process keeps one goroutine of this process until it has ended;
// its resources are released then, whether or not Wait is called.
func Start[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), arg In, opts ...Option) (*Process[Out], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, errNilFn
	}
	_, f := runnerFor(fn)
	if err := checkSendable(f, arg); err != nil {
		return nil, err
	}
	opts = append(opts[:len(opts):len(opts)], Workers(1), func(c *config) { c.respawn, c.inProcess = false, false })
	pool, err := NewPool(opts...)
	if err != nil {
		return nil, err
	}
	pr := &Process[Out]{pool: pool, grace: pool.cfg.cancelGrace, done: make(chan struct{})}
	pool.mu.Lock()
	for w := range pool.workers {
		pr.w = w // the only one, never replaced; taken before fn can end it
	}
	pool.mu.Unlock()
	// The pool does not see ctx: on a cancellation it would drop fn's
	// result and apply its own grace, in a pool's terms. The process
	// watches ctx itself (cancel).
	pr.fut = Submit(context.WithoutCancel(ctx), pool, fn, arg)
	pr.stop = context.AfterFunc(ctx, func() { pr.cancel(ctx.Err()) })
	go pr.run()
	return pr, nil
}

// run waits for fn's outcome, stops the process and records how it ended.
func (pr *Process[Out]) run() {
	out, err := pr.fut.Wait(context.Background())
	pr.stop()
	pr.mu.Lock()
	if pr.timer != nil {
		pr.timer.Stop()
	}
	pr.mu.Unlock()
	pr.pool.Close() // the process exits on the end of its control socket
	pr.w.proc.Wait()
	if we, ok := err.(*WorkerExitError); ok {
		err = pr.exitError(we)
	}
	pr.out, pr.err, pr.state = out, err, pr.w.proc.ProcessState()
	close(pr.done)
}

// cancel tells fn that Start's ctx ended with err, and arms the kill that
// follows if fn does not return within CancelGrace.
func (pr *Process[Out]) cancel(err error) {
	p := pr.pool
	p.mu.Lock()
	// The grace and the kill are the Process's own (below), in its terms.
	sent := p.stop(pr.fut.j.c, false)
	p.mu.Unlock()
	if !sent {
		pr.fut.complete(*new(Out), err)
		return
	}
	pr.mu.Lock()
	select {
	case <-pr.fut.done:
		pr.mu.Unlock()
		return // fn returned: run stops no timer set after this
	default:
	}
	pr.ctxErr = err
	if pr.grace > 0 {
		pr.timer = time.AfterFunc(pr.grace, pr.killForCancel)
		pr.mu.Unlock()
		return
	}
	pr.mu.Unlock()
	pr.killForCancel()
}

// killForCancel kills the process whose fn did not return within
// CancelGrace of the cancellation.
func (pr *Process[Out]) killForCancel() {
	pr.mu.Lock()
	select {
	case <-pr.fut.done:
		pr.mu.Unlock()
		return // fn returned meanwhile: let the process exit normally
	default:
	}
	if pr.callerKilled {
		pr.mu.Unlock()
		return
	}
	pr.graceKilled = true
	pr.mu.Unlock()
	p := pr.pool
	p.mu.Lock()
	if pr.w.killReason == "" {
		// The pool's word that it killed the worker itself: no memory
		// limit is blamed for it (see died).
		pr.w.killReason = fmt.Sprintf("killed after CancelGrace(%v)", pr.grace)
	}
	p.mu.Unlock()
	pr.w.proc.Kill()
}

// exitError describes, in a process's terms, the pool's report that the
// process ended before fn's result reached this one.
func (pr *Process[Out]) exitError(we *WorkerExitError) *ExitError {
	e := &ExitError{Pid: we.Pid, Code: we.Code, Signal: we.Signal, Reason: we.Reason, Stderr: we.Stderr, Lost: we.Lost, worker: we}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if we.Signal != "SIGKILL" {
		return e // it ended before the kill could, by itself
	}
	switch {
	case pr.graceKilled:
		e.Err, e.Grace = pr.ctxErr, pr.grace
		if pr.grace > 0 {
			e.Reason = fmt.Sprintf("its context ended (%v) and fn had not returned within the grace period of %v (CancelGrace)", pr.ctxErr, pr.grace)
		} else {
			e.Reason = fmt.Sprintf("its context ended (%v), and CancelGrace(0) kills at once", pr.ctxErr)
		}
	case pr.callerKilled:
		e.Reason = "Process.Kill was called"
	}
	return e
}

// Pid returns the process ID.
func (pr *Process[Out]) Pid() int { return pr.w.proc.Pid }

// Wait waits for the process to end and returns fn's output and error: a
// *TaskError when fn failed or panicked, ctx.Err() when fn returned it, an
// *ExitError when the process ended before fn returned (os.Exit, a signal,
// Kill, a cancellation it outlived by CancelGrace). It may be called any
// number of times, from any goroutines, and returns the same each time;
// it need not be called at all: the process's resources (its pipes,
// socket, shared memory and any memory cgroup) are released when it ends.
func (pr *Process[Out]) Wait() (Out, error) {
	<-pr.done
	return pr.out, pr.err
}

// Done returns a channel that is closed when the process has ended and
// Wait would return without blocking.
func (pr *Process[Out]) Done() <-chan struct{} { return pr.done }

// ExitCode returns the process's exit status once it has ended, as
// os.ProcessState.ExitCode does: -1 while it runs, and when a signal
// killed it (ProcessState says which). fn returning makes the process exit
// with status 0.
func (pr *Process[Out]) ExitCode() int {
	if st := pr.ProcessState(); st != nil {
		return st.ExitCode()
	}
	return -1
}

// ProcessState returns how the process ended, as exec.Cmd.ProcessState
// does: exit status, resource usage and, through Sys().(syscall.WaitStatus),
// the signal that killed it. It is nil until Done is closed.
func (pr *Process[Out]) ProcessState() *os.ProcessState {
	select {
	case <-pr.done:
		return pr.state
	default:
		return nil
	}
}

// Kill kills the process with SIGKILL; once it has ended, Kill does
// nothing and returns nil. Wait then returns an *ExitError that names
// Kill, unless fn had returned first.
func (pr *Process[Out]) Kill() error {
	pr.mu.Lock()
	if !pr.graceKilled {
		pr.callerKilled = true
	}
	pr.mu.Unlock()
	pr.pool.mu.Lock()
	pr.w.callerKilled = true
	pr.pool.mu.Unlock()
	return pr.w.proc.Kill()
}

// Signal sends sig to the process; once it has ended, Signal does nothing
// and returns nil.
func (pr *Process[Out]) Signal(sig os.Signal) error { return pr.w.proc.Signal(sig) }

// An ExitError reports a Process that ended before fn returned, as
// os/exec's *exec.ExitError reports a command's exit: fn called os.Exit,
// the process crashed or was killed by a signal (Kill, the OOM killer, a
// missed heartbeat), or Start's ctx ended and fn did not return within
// CancelGrace; Process.Wait returns it. With Lost, fn did return, but its
// result died with the process.
//
// errors.Is(err, ctx.Err()) holds when the process was killed for the
// cancellation (Err), and errors.As finds the pool's *WorkerExitError
// under it, for code written for pools.
type ExitError struct {
	Pid    int
	Code   int           // exit status, -1 when killed by a signal
	Signal string        // name of the signal that killed it, such as "SIGKILL"
	Reason string        // what ended it, when known: "Process.Kill was called", the cancellation, a missed heartbeat, a memory limit
	Stderr string        // the last lines it wrote to its stderr
	Err    error         // Start's ctx.Err() when it was killed for the cancellation; nil otherwise
	Grace  time.Duration // with Err: the CancelGrace fn was given to return
	Lost   bool          // fn returned, but the process ended before its result reached this one

	worker *WorkerExitError
}

func (e *ExitError) Error() string {
	var b strings.Builder
	how := fmt.Sprintf("exited with status %d", e.Code)
	if e.Signal != "" {
		how = "was killed by " + e.Signal
	}
	if e.Lost {
		fmt.Fprintf(&b, "mproc: fn returned in process %d, but its result was lost: the process %s before sending it", e.Pid, how)
	} else {
		fmt.Fprintf(&b, "mproc: process %d %s before fn returned", e.Pid, how)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Stderr != "" {
		b.WriteString("; its stderr ends with:\n" + e.Stderr)
	}
	return b.String()
}

// Unwrap returns the cancellation (Err), if the process was killed for
// it, and the pool's *WorkerExitError.
func (e *ExitError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.worker != nil {
		errs = append(errs, e.worker)
	}
	return errs
}
