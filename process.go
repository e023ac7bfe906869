package mproc

import (
	"context"
	"os"
)

// A Process is one function running in a new process of this executable,
// like Python's multiprocessing.Process.
type Process[Out any] struct {
	pool *Pool
	w    *worker
	fut  *Future[Out]
}

// Start runs fn(ctx, arg) in a new worker process and returns once the
// process is running it. fn and arg travel as with Map; Pool options such
// as Env, Dir, Initializer and Output apply. Cancelling ctx cancels the
// context fn sees. Start encodes fn and arg once before it starts the
// process, so that a value the codec refuses fails Start at no process's
// cost, and again to send them.
func Start[In, Out any](ctx context.Context, fn func(context.Context, In) (Out, error), arg In, opts ...Option) (*Process[Out], error) {
	_, f := runnerFor(fn)
	if err := checkSendable(f, arg); err != nil {
		return nil, err
	}
	opts = append(opts[:len(opts):len(opts)], Workers(1), func(c *config) { c.respawn, c.inProcess = false, false })
	pool, err := NewPool(opts...)
	if err != nil {
		return nil, err
	}
	pr := &Process[Out]{pool: pool}
	pool.mu.Lock()
	for w := range pool.workers {
		pr.w = w // the only one, never replaced; taken before fn can end it
	}
	pool.mu.Unlock()
	pr.fut = Submit(ctx, pool, fn, arg)
	return pr, nil
}

// Pid returns the process ID.
func (pr *Process[Out]) Pid() int { return pr.w.proc.Pid }

// Wait waits for fn to return and the process to exit, and returns fn's
// output or error: a *TaskError when fn failed or panicked, a
// *WorkerExitError with the exit status or signal when the process died.
func (pr *Process[Out]) Wait() (Out, error) {
	out, err := pr.fut.Wait(context.Background())
	pr.pool.Close()
	return out, err
}

// Kill kills the process with SIGKILL; Wait then reports it.
func (pr *Process[Out]) Kill() error {
	pr.pool.mu.Lock()
	pr.w.callerKilled = true
	pr.pool.mu.Unlock()
	return pr.w.proc.Kill()
}

// Signal sends sig to the process.
func (pr *Process[Out]) Signal(sig os.Signal) error { return pr.w.proc.Signal(sig) }
