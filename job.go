package mproc

import (
	"context"
	"time"

	"github.com/mproc-go/mproc/internal/wire"
)

// A call is one Map, Imap, ImapUnordered or Submit: the function and how
// its results go back to the caller. Its inputs travel as jobs.
type call struct {
	ctx    context.Context // done when the caller no longer wants results
	cancel context.CancelFunc
	run    wire.Runner
	fn     any
	slice  func(args any, lo, hi int) any // args[lo:hi] for a []In
	// deliver receives the outputs of a job (nil when it failed as a whole)
	// and the errors of its inputs that failed. It is called from a pool
	// goroutine and must not block.
	deliver func(j *job, out any, errs []indexedError)

	// readsItself says the caller reads its result from the worker's
	// connection itself (Future.Wait) rather than wait for the worker's
	// receiver; see Pool.readFor.
	readsItself bool

	timeout time.Duration // per input, 0 for none
	retries int           // runs again after a worker's death
}

// An indexedError is the error of the input at index in its call.
type indexedError struct {
	index int
	err   error
}

// A job is a chunk of a call's inputs, sent to a worker as one task.
type job struct {
	c     *call
	id    uint64  // task ID, set when sent
	w     *worker // the worker it was sent to last; guarded by Pool.mu
	start int     // index in the call of the first input
	n     int
	args  any // []In of length n

	dropped  bool // failed by drain before it started, its result unwanted; guarded by Pool.mu
	requeues int  // times sent back to the queue by a worker's death
	attempts int  // times run again after its worker died running it
}

// sub returns the job for inputs lo to hi of j.
func (j *job) sub(lo, hi int) *job {
	return &job{c: j.c, start: j.start + lo, n: hi - lo, args: j.c.slice(j.args, lo, hi), attempts: j.attempts}
}

func sliceArgs[In any](args any, lo, hi int) any { return args.([]In)[lo:hi] }

// failAll delivers err for every input of j. An error from sending j is
// told in the caller's terms (see sendError).
func (j *job) failAll(err error) {
	err = j.sendError(err)
	errs := make([]indexedError, j.n)
	for i := range errs {
		errs[i] = indexedError{j.start + i, err}
	}
	j.c.deliver(j, nil, errs)
}

// failEach delivers errOf(index) for every input of j.
func (j *job) failEach(errOf func(index int) error) {
	errs := make([]indexedError, j.n)
	for i := range errs {
		errs[i] = indexedError{j.start + i, errOf(j.start + i)}
	}
	j.c.deliver(j, nil, errs)
}

// taskErrors turns a worker's failures for job j into errors of the call.
func taskErrors(j *job, fails []wire.Failure, workerID, pid int) []indexedError {
	var errs []indexedError
	for _, f := range fails {
		lo, hi := f.Item, f.Item+1
		if f.Item < 0 {
			lo, hi = 0, j.n
		}
		for i := lo; i < hi; i++ {
			te := &TaskError{Index: j.start + i, Worker: workerID, Pid: pid, Type: f.Type, Msg: f.Msg,
				Err: f.Err, Panic: f.Stack != "", Stack: f.Stack}
			var err error = te
			if f.Err != nil && f.Stack == "" && isContextErr(f.Err) {
				err = f.Err // a cancelled task reports the cancellation, not a failure
			}
			errs = append(errs, indexedError{j.start + i, err})
		}
	}
	return errs
}

func isContextErr(err error) bool {
	return err == context.Canceled || err == context.DeadlineExceeded
}
