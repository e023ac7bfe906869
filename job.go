package mproc

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/wire"
)

// A call is one Map, Imap, ImapUnordered or Submit: the function and how
// its results go back to the caller. Its inputs travel as jobs.
type call struct {
	id     uint64          // unique in the pool, set by Pool.submit
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

	// notRun is told of inputs that will never run because a signal
	// interrupted the pool (ShutdownOnSignal); like deliver it is called
	// once per input at most, from a pool goroutine, and must not block.
	notRun func(j *job)

	// What the dispatcher needs (dispatch.go); guarded by Pool.mu.
	chunk   int         // fixed chunk size (ChunkSize), 0 to adapt it
	fine    bool        // chunks of at most 1% of total (OnProgress)
	total   int         // inputs of the call, -1 when unknown (Imap)
	source  inputSource // inputs not yet cut into jobs; nil for Submit
	pending []*job      // jobs cut and waiting, sent before any new cut
	queued  bool        // in Pool.calls
	perItem int64       // how long an input runs, in ns, as measured; 0 before the first result

	ran         int64        // ns its inputs ran in workers, in all (a remote task reports it)
	tookSum     float64      // ns measured, decayed (see observe)
	itemSum     float64      // inputs measured, decayed alike
	perItemSeen atomic.Int64 // perItem, for readers without Pool.mu (Imap's window)
}

// An inputSource holds the inputs of a call that were not cut into jobs
// yet: a Map's slice, or what an Imap's feeder read from its sequence.
// Its methods are called with Pool.mu held.
type inputSource interface {
	// available returns how many inputs can be cut now.
	available() int
	// remaining returns how many inputs are left to cut in all, -1 when
	// unknown (the sequence may yield more).
	remaining() int
	// cut returns the next n inputs, as a []In, and the index of the
	// first in the call.
	cut(n int) (args any, start int)
	// drop forgets the inputs left and returns the index of the first
	// and how many there were.
	drop() (start, n int)
}

// sliceSource is the inputSource of a Map: a slice and how far it was cut.
type sliceSource[In any] struct {
	in   []In
	next int
}

func (s *sliceSource[In]) available() int { return len(s.in) - s.next }
func (s *sliceSource[In]) remaining() int { return len(s.in) - s.next }

func (s *sliceSource[In]) cut(n int) (any, int) {
	lo := s.next
	s.next += n
	return s.in[lo:s.next:s.next], lo
}

func (s *sliceSource[In]) drop() (start, n int) {
	start, n = s.next, len(s.in)-s.next
	s.in, s.next = nil, 0 // the pool keeps no reference to the caller's inputs
	return start, n
}

// observe notes that a job of n inputs ran in took ns; Pool.mu is held.
// A job of many inputs measures them well on its own, and its time per
// input is the estimate: the first inputs of a call run slower (code and
// data cold) and a call's inputs may change speed, so the past is best
// forgotten. Single inputs and small jobs vary more: they are averaged,
// each weighing by its inputs, the past halving at each new job.
func (c *call) observe(n int, took int64) {
	if n <= 0 {
		return
	}
	took = max(took, 1)
	c.ran += took
	c.tookSum = c.tookSum/2 + float64(took)
	c.itemSum = c.itemSum/2 + float64(n)
	if n >= wholeJob {
		c.perItem = max(took/int64(n), 1)
	} else {
		c.perItem = max(int64(c.tookSum/c.itemSum), 1)
	}
	c.perItemSeen.Store(c.perItem)
}

// wholeJob is the size from which a job's own measurement is the estimate.
const wholeJob = 16

// estimate returns how long n inputs of c should run, in ns, or -1 when
// nothing is known yet.
func (c *call) estimate(n int) int64 {
	if c.perItem == 0 {
		return -1
	}
	return c.perItem * int64(n)
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

	requeues int   // times sent back to the queue by a worker's death
	attempts int   // times run again after its worker died running it
	est      int64 // how long it should run, in ns, when sent; -1 when unknown
	stealing bool  // asked back from its worker (dispatch.go); guarded by Pool.mu
	skip     int   // inputs of the chunk as sent that partial results answered already
	closed   bool  // answered by Terminate while a goroutine ran it (InProcess); guarded by Pool.mu
}

// answered splits off the first n inputs of j, which a partial result
// answered: j goes on with the rest. Pool.mu is held.
func (j *job) answered(n int) *job {
	piece := &job{c: j.c, start: j.start, n: n}
	j.args = j.c.slice(j.args, n, j.n)
	j.start += n
	j.n -= n
	j.skip += n
	return piece
}

// sub returns the job for inputs lo to hi of j.
func (j *job) sub(lo, hi int) *job {
	return &job{c: j.c, start: j.start + lo, n: hi - lo, args: j.c.slice(j.args, lo, hi), attempts: j.attempts}
}

// encodeError returns the codec's refusal of j's task message, if any.
func (j *job) encodeError() error {
	err := codec.Sendable(&wire.Msg{Kind: wire.KindTask, Run: j.c.run, Fn: j.c.fn, Args: j.args})
	var ue *codec.UnsupportedError
	if errors.As(err, &ue) {
		return err
	}
	return nil
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
