package mproc

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"
)

// Imap runs fn on the inputs of seq in the pool's workers and yields the
// outputs in input order, like Python's Pool.imap but lazy: seq is read
// ahead of the results only as far as the window allows (Window), so an
// endless or huge sequence streams in bounded memory (CPython's imap reads
// its whole input first).
//
// seq is called on a goroutine of Imap's own, not the iterating one, so
// that results come while seq waits for its next input, and a loop body
// may feed seq (a work list fed by the results, as a crawler's is). Each
// input goes out as soon as a worker can take it, and each result is
// yielded as soon as the results before it have been. When the loop ends
// early, seq is asked to stop at its next yield, and the inputs in flight
// are cancelled as if ctx were (see CancelGrace).
//
// An input that fails yields its error (see Map for the error types) and
// the sequence goes on. Cancelling ctx yields ctx.Err() once and stops.
// Under ShutdownOnSignal a signal stops reading seq, the outputs of the
// inputs that started are yielded, then an *InterruptedError.
func Imap[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return imap(ctx, p, fn, seq, true, opts)
}

// ImapUnordered is Imap yielding outputs as they complete, in any order:
// one slow input does not hold back the others.
func ImapUnordered[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], opts ...CallOption) iter.Seq2[Out, error] {
	return imap(ctx, p, fn, seq, false, opts)
}

// The default window: about imapWindowWork of the workers' work, between
// imapMinWindow inputs per worker and imapMaxWindow.
const (
	imapWindowWork = int64(10 * time.Millisecond)
	imapMinWindow  = 16
	imapMaxWindow  = 1 << 16
)

// An imapItem is the outcome of one input.
type imapItem[Out any] struct {
	out Out
	err error
}

// imapSlot holds the outcome of an input of an ordered Imap until the
// inputs before it have been yielded.
type imapSlot[Out any] struct {
	imapItem[Out]
	state uint8 // slotEmpty, slotReady or slotSkipped
}

const (
	slotEmpty uint8 = iota
	slotReady
	slotSkipped // the input did not run (an interruption)
)

// imapState is what the feeder, the pool and the iterating goroutine of
// one Imap share.
type imapState[Out any] struct {
	mu      sync.Mutex
	room    sync.Cond     // the feeder waits here for the window
	signal  chan struct{} // tells the iterating goroutine something came
	ordered bool

	base    int             // ordered: index of slots[0], the next to yield
	slots   []imapSlot[Out] // ordered: outcomes by index - base
	arrived []imapItem[Out] // unordered: outcomes in arrival order
	taken   int             // inputs the feeder read and passed on
	settled int             // inputs yielded or skipped
	notRun  int             // inputs skipped because of an interruption
	ended   bool            // the feeder is done: taken is final
	left    bool            // the iterating goroutine has stopped
	err     error           // why the feeder stopped early, yielded once
	waiting bool            // the feeder waits for room
	perItem *atomic.Int64   // the call's measured cost per input, for the window
	limit   func() int      // the window now
}

func (st *imapState[Out]) wake() {
	select {
	case st.signal <- struct{}{}:
	default:
	}
}

// put stores the outcome of input index; st.mu is held.
func (st *imapState[Out]) put(index int, it imapItem[Out], state uint8) {
	if !st.ordered {
		if state == slotReady {
			st.arrived = append(st.arrived, it)
		} else {
			st.settled++
		}
		return
	}
	k := index - st.base
	for len(st.slots) <= k {
		st.slots = append(st.slots, imapSlot[Out]{})
	}
	st.slots[k] = imapSlot[Out]{imapItem: it, state: state}
}

// ready moves the outcomes that may be yielded now into batch; st.mu is
// held.
func (st *imapState[Out]) ready(batch []imapItem[Out]) []imapItem[Out] {
	if !st.ordered {
		batch = append(batch, st.arrived...)
		clear(st.arrived)
		st.arrived = st.arrived[:0]
		return batch
	}
	n := 0
	for n < len(st.slots) && st.slots[n].state != slotEmpty {
		if st.slots[n].state == slotReady {
			batch = append(batch, st.slots[n].imapItem)
		} else {
			st.settled++
		}
		n++
	}
	clear(st.slots[:n])
	st.slots = st.slots[n:]
	st.base += n
	return batch
}

func imap[In, Out any](ctx context.Context, p *Pool, fn func(context.Context, In) (Out, error), seq iter.Seq[In], ordered bool, opts []CallOption) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		var zero Out
		cfg := p.callConfig(opts)
		if cfg.err != nil {
			yield(zero, cfg.err)
			return
		}
		if fn == nil {
			yield(zero, errNilFn)
			return
		}
		run, f := runnerFor(fn)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()

		src := &feedSource[In]{}
		c := &call{ctx: cctx, cancel: cancel, run: run, fn: f, slice: sliceArgs[In], timeout: cfg.timeout, retries: cfg.retries,
			chunk: cfg.chunk, total: -1, source: src}
		st := &imapState[Out]{signal: make(chan struct{}, 1), ordered: ordered, perItem: &c.perItemSeen}
		st.room.L = &st.mu
		st.limit = func() int {
			if cfg.window > 0 {
				return cfg.window
			}
			least := imapMinWindow * max(p.cfg.workers, 1)
			per := st.perItem.Load()
			if per <= 0 {
				return least
			}
			return int(min(max(int64(least), imapWindowWork*int64(p.cfg.workers)/per), imapMaxWindow))
		}
		c.deliver = func(j *job, o any, errs []indexedError) {
			outs, _ := o.([]Out)
			st.mu.Lock()
			for i := range j.n {
				var it imapItem[Out]
				if outs != nil {
					it.out = outs[i]
				}
				for _, e := range errs {
					if e.index == j.start+i {
						it.err = e.err
					}
				}
				st.put(j.start+i, it, slotReady)
			}
			st.mu.Unlock()
			st.wake()
		}
		c.notRun = func(j *job) {
			st.mu.Lock()
			st.notRun += j.n
			for i := range j.n {
				st.put(j.start+i, imapItem[Out]{}, slotSkipped)
			}
			st.mu.Unlock()
			st.wake()
		}
		defer func() {
			st.mu.Lock()
			st.left = true
			st.room.Broadcast()
			st.mu.Unlock()
			p.abandon(c)
		}()
		go feed(p, c, f, seq, src, st)

		report := newReporter(cfg.progress, -1)
		defer report.stop()
		yielded, failed := 0, 0
		var batch []imapItem[Out]
		for {
			st.mu.Lock()
			batch = st.ready(batch[:0])
			st.settled += len(batch)
			if len(batch) > 0 && st.waiting {
				st.room.Signal()
			}
			finished := st.ended && st.settled == st.taken && len(batch) == 0
			err, notRun := st.err, st.notRun
			st.mu.Unlock()
			for i := range batch {
				it := batch[i]
				batch[i] = imapItem[Out]{}
				yielded++
				if it.err != nil {
					failed++
				}
				report.note(Progress{Done: yielded - failed, Failed: failed, Total: -1})
				report.flush()
				if !yield(it.out, it.err) {
					return
				}
			}
			if finished {
				report.final()
				switch {
				case err != nil:
					yield(zero, err)
				case notRun > 0:
					yield(zero, &InterruptedError{Signal: p.interruptSignal(), NotRun: notRun})
				}
				return
			}
			if len(batch) > 0 {
				continue
			}
			select {
			case <-st.signal:
			case <-report.due():
				report.tick()
			case <-ctx.Done():
				yield(zero, ctx.Err())
				return
			}
		}
	}
}

// feed reads seq on a goroutine of its own and passes its inputs to the
// pool through src, while the window has room, until seq ends, the
// iterating goroutine stops, or the pool no longer takes inputs.
func feed[In, Out any](p *Pool, c *call, f any, seq iter.Seq[In], src *feedSource[In], st *imapState[Out]) {
	var stopErr error
	checked := false
	seq(func(v In) bool {
		st.mu.Lock()
		for !st.left && st.taken-st.settled >= st.limit() {
			st.waiting = true
			st.room.Wait()
			st.waiting = false
		}
		if st.left {
			st.mu.Unlock()
			return false
		}
		st.mu.Unlock()
		if !checked {
			checked = true
			if err := p.check(f, []In{v}); err != nil {
				stopErr = err
				return false
			}
		}
		st.mu.Lock()
		st.taken++
		st.mu.Unlock()
		if src.push(v) && !p.kick(c) {
			// The pool closed: what it did not take never runs.
			st.mu.Lock()
			_, n := src.drop()
			st.taken -= n
			st.notRun += n
			if p.interruptSignal() == nil {
				stopErr = p.closedError()
			}
			st.mu.Unlock()
			return false
		}
		return true
	})
	st.mu.Lock()
	st.ended = true
	if st.err == nil {
		st.err = stopErr
	}
	st.mu.Unlock()
	st.wake()
}

// feedSource is the inputSource of an Imap: the inputs its feeder read
// that were not cut into jobs yet.
type feedSource[In any] struct {
	mu      sync.Mutex
	buf     []In
	next    int  // index in the call of buf[0]
	waiting bool // the pool took all there was: the next push must tell it
	dropped bool
}

// push adds an input and reports whether the pool must be told (kick).
func (s *feedSource[In]) push(v In) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped {
		return true // kick reports the pool closed
	}
	s.buf = append(s.buf, v)
	tell := s.waiting || len(s.buf) == 1
	s.waiting = false
	return tell
}

func (s *feedSource[In]) available() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		s.waiting = true
	}
	return len(s.buf)
}

func (s *feedSource[In]) remaining() int { return -1 }

func (s *feedSource[In]) cut(n int) (any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	args := s.buf[:n:n]
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
		s.waiting = true
	}
	start := s.next
	s.next += n
	return args, start
}

func (s *feedSource[In]) drop() (start, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start, n = s.next, len(s.buf)
	s.next += n
	s.buf = nil
	s.dropped = true
	return start, n
}
