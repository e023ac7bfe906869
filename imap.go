package mproc

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
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
// early, seq is asked to stop at its next yield, which may come after the
// loop has ended: what seq shares with the code after the loop needs
// synchronising, as between any two goroutines. The inputs in flight are
// cancelled as if ctx were (see CancelGrace).
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

// imapSlot holds the outcome of an input until it is yielded: in an
// ordered Imap until the inputs before it have been, in an unordered one
// until the outcomes that arrived before it have been.
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

	base     int             // index of the next outcome to yield
	slots    []imapSlot[Out] // a ring of outcomes from base on, by index: the input's if ordered, else the arrival's
	arrivals int             // unordered: outcomes that arrived
	taken    int             // inputs the feeder read and passed on
	settled  int             // inputs yielded or skipped
	notRun   int             // inputs skipped because of an interruption
	ended    bool            // the feeder is done: taken is final
	left     bool            // the iterating goroutine has stopped
	err      error           // why the feeder stopped early, yielded once
	waiting  bool            // the feeder waits for room
	perItem  *atomic.Int64   // the call's measured cost per input, for the window
	limit    func() int      // the window now
}

func (st *imapState[Out]) wake() {
	select {
	case st.signal <- struct{}{}:
	default:
	}
}

// reserve makes room in the ring for the outcomes of n inputs from input
// index on and returns the ring index of the first; st.mu is held. In an
// unordered Imap outcomes take the ring's next places instead.
func (st *imapState[Out]) reserve(index, n int) int {
	if !st.ordered {
		index = st.arrivals
		st.arrivals += n
	}
	if k := index + n - st.base; k > len(st.slots) {
		st.grow(k)
	}
	return index
}

// grow makes the ring hold at least n outcomes from st.base on.
func (st *imapState[Out]) grow(n int) {
	size := max(64, len(st.slots))
	for size < n {
		size *= 2
	}
	ring := make([]imapSlot[Out], size)
	for i := range st.slots {
		idx := st.base + i
		ring[idx&(size-1)] = st.slots[idx&(len(st.slots)-1)]
	}
	st.slots = ring
}

// imapBatch bounds the outcomes the iterating goroutine moves out of the
// ring at a time: enough that the lock is taken rarely, few enough that
// the batch stays in cache and never grows.
const imapBatch = 256

// ready moves the outcomes that may be yielded now, up to imapBatch, into
// batch; st.mu is held.
func (st *imapState[Out]) ready(batch []imapItem[Out]) []imapItem[Out] {
	mask := len(st.slots) - 1
	for len(st.slots) > 0 && len(batch) < imapBatch {
		slot := &st.slots[st.base&mask]
		if slot.state == slotEmpty {
			break
		}
		if slot.state == slotReady {
			batch = append(batch, slot.imapItem)
		} else {
			st.settled++
		}
		*slot = imapSlot[Out]{}
		st.base++
	}
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
		defer callBegins()()
		run, f := runnerFor(fn)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()

		src := &feedSource[In]{}
		src.waiting.Store(true) // the first input must tell the pool
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
			failed := make(map[int]error, len(errs))
			for _, e := range errs {
				failed[e.index] = e.err
			}
			st.mu.Lock()
			first, mask := st.reserve(j.start, j.n), len(st.slots)-1
			for i := range j.n {
				slot := &st.slots[(first+i)&mask]
				if outs != nil {
					slot.out = outs[i]
				}
				if len(failed) > 0 {
					slot.err = failed[j.start+i]
				}
				slot.state = slotReady
			}
			st.mu.Unlock()
			st.wake()
		}
		c.notRun = func(j *job) {
			st.mu.Lock()
			st.notRun += j.n
			first, mask := st.reserve(j.start, j.n), len(st.slots)-1
			for i := range j.n {
				st.slots[(first+i)&mask].state = slotSkipped
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
		batch := make([]imapItem[Out], 0, imapBatch)
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
				if cfg.progress != nil {
					report.note(Progress{Done: yielded - failed, Failed: failed, Total: -1})
					report.flush()
				}
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
	taken, room := 0, 0 // room: inputs the window lets in before it is looked at again
	seq(func(v In) bool {
		if room <= 0 {
			st.mu.Lock()
			for !st.left && taken-st.settled >= st.limit() {
				st.waiting = true
				st.room.Wait()
				st.waiting = false
			}
			left := st.left
			room = st.limit() - (taken - st.settled)
			st.taken = taken
			st.mu.Unlock()
			if left {
				return false
			}
		}
		if !checked {
			checked = true
			if err := p.check(f, []In{v}); err != nil {
				stopErr = err
				return false
			}
		}
		taken++
		room--
		if src.push(v) && !p.kick(c) {
			// The pool closed: what it did not take never runs.
			_, n := src.drop()
			taken -= n
			st.mu.Lock()
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
	st.taken = taken
	st.ended = true
	if st.err == nil {
		st.err = stopErr
	}
	st.mu.Unlock()
	st.wake()
}

// feedSource is the inputSource of an Imap: the inputs its feeder read
// that were not cut into jobs yet. The feeder writes them into blocks and
// publishes their count with one atomic add, no lock: the pool reads
// what was published and cuts it (with Pool.mu held, so one cutter at a
// time). A block is never written again once published, so a job can hold
// a piece of it as its inputs.
type feedSource[In any] struct {
	// The feeder's own.
	block []In // the block being filled
	fill  int  // inputs written to it

	// On a cache line of their own, apart from what the cutter writes: the
	// feeder writes published per input and reads the two flags beside it.
	published atomic.Int64 // inputs written in all
	waiting   atomic.Bool  // the pool found nothing to take: the next push must tell it
	dropped   atomic.Bool
	_         [64]byte

	mu     sync.Mutex
	blocks [][]In // blocks not cut to the end, oldest first

	// The cutter's own (Pool.mu).
	cursor int // inputs cut in all
	first  int // index of blocks[0][0]
}

// feedBlock is the size of a feedSource's blocks, in bytes.
const feedBlock = 256 << 10

// push adds an input and reports whether the pool must be told (kick).
func (s *feedSource[In]) push(v In) bool {
	if s.dropped.Load() {
		return true // kick reports the pool closed
	}
	if s.fill == len(s.block) {
		size := max(64, feedBlock/max(int(unsafe.Sizeof(v)), 1))
		s.block, s.fill = make([]In, size), 0
		s.mu.Lock()
		s.blocks = append(s.blocks, s.block)
		s.mu.Unlock()
	}
	s.block[s.fill] = v
	s.fill++
	s.published.Add(1)
	return s.waiting.Load() && s.waiting.CompareAndSwap(true, false)
}

// available returns the inputs that can be cut in one piece: those
// published, up to the end of the oldest block.
func (s *feedSource[In]) available() int {
	n := int(s.published.Load()) - s.cursor
	if n == 0 {
		// Ask to be told, then look again: a push in between may not
		// have seen the request (telling too often costs a lock).
		s.waiting.Store(true)
		if n = int(s.published.Load()) - s.cursor; n == 0 {
			return 0
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.blocks) == 0 {
		return 0
	}
	return min(n, len(s.blocks[0])-(s.cursor-s.first))
}

func (s *feedSource[In]) remaining() int { return -1 }

func (s *feedSource[In]) cut(n int) (any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.blocks[0]
	off := s.cursor - s.first
	args := b[off : off+n : off+n]
	start := s.cursor
	s.cursor += n
	if off+n == len(b) {
		s.blocks[0] = nil
		s.blocks = s.blocks[1:]
		s.first += len(b)
	}
	return args, start
}

func (s *feedSource[In]) drop() (start, n int) {
	s.dropped.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	start = s.cursor
	n = int(s.published.Load()) - s.cursor
	s.cursor += n
	clear(s.blocks)
	s.blocks = nil
	return start, n
}
