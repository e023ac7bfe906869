package mproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mproc-go/mproc/internal/futex"
)

// A Barrier makes n parties — goroutines of any processes of this machine
// holding it — wait for each other, Python's multiprocessing.Barrier: each
// Wait returns once n Waits have been called, and the barrier is ready for
// the next round. It lives in shared memory and travels as a handle.
//
// A party that dies while waiting breaks the barrier: every waiter, and
// every later Wait until Reset, fails with a *BarrierError naming it
// (errors.Is ErrBarrierBroken), instead of waiting for a round that can
// never complete. Waiters look every 20 ms. A party that dies before it
// reaches the barrier cannot be told apart from a slow one: bound the
// wait with ctx.
type Barrier struct {
	mem *SharedMemory
	st  *barrierState
}

// barrierState is the layout in shared memory, guarded by lock but for
// gen, which waiters read.
type barrierState struct {
	lock    uint32 // a futex lock word
	gen     uint32 // the round; a futex waiters sleep on
	parties uint32
	count   uint32 // arrived in this round
	broken  uint32 // the pid of the dead party that broke it, or 1 after Abort
	pids    [maxParties]uint32
}

const maxParties = 1000

// ErrBarrierBroken is what a broken barrier's waits wrap.
var ErrBarrierBroken = errors.New("the barrier is broken")

// A BarrierError reports a broken barrier, and which party broke it.
type BarrierError struct {
	Pid int // the party that died waiting; 0 when Abort broke it
}

func (e *BarrierError) Error() string {
	if e.Pid == 0 {
		return "mproc: the barrier is broken (Abort); Reset it to use it again"
	}
	return fmt.Sprintf("mproc: the barrier is broken: party process %d died waiting at it; Reset it to use it again", e.Pid)
}

func (e *BarrierError) Unwrap() error { return ErrBarrierBroken }

// NewBarrier returns a barrier for n parties (1 to 1000).
func NewBarrier(n int) (*Barrier, error) {
	if n < 1 || n > maxParties {
		return nil, fmt.Errorf("mproc: NewBarrier(%d): want 1 to %d parties", n, maxParties)
	}
	m, err := NewSharedMemory(int(unsafe.Sizeof(barrierState{})))
	if err != nil {
		return nil, err
	}
	b := &Barrier{mem: m, st: (*barrierState)(unsafe.Pointer(&m.Bytes()[0]))}
	b.st.parties = uint32(n)
	return b, nil
}

// Parties returns the number of parties.
func (b *Barrier) Parties() int { return int(atomic.LoadUint32(&b.st.parties)) }

func (b *Barrier) lock() {
	// The lock is held for a few instructions; an owner that died in
	// them leaves the state as consistent as the field it was writing.
	futex.Lock(context.Background(), &b.st.lock)
}

func (b *Barrier) unlock() { futex.Unlock(&b.st.lock) }

func (b *Barrier) brokenErr() error {
	if p := atomic.LoadUint32(&b.st.broken); p != 0 {
		if p == 1 {
			p = 0
		}
		return &BarrierError{Pid: int(p)}
	}
	return nil
}

// Wait waits until all parties have called Wait, and returns this party's
// arrival index (0 for the first, Parties()-1 for the last, which released
// the others). It fails with a *BarrierError if the barrier is or becomes
// broken, and with ctx's error if ctx ends first (which breaks it for the
// others, as in Python: their round can no longer complete).
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	st := b.st
	b.lock()
	if err := b.brokenErr(); err != nil {
		b.unlock()
		return 0, err
	}
	gen := atomic.LoadUint32(&st.gen)
	idx := int(st.count)
	st.pids[idx] = uint32(os.Getpid())
	st.count++
	if st.count == st.parties {
		st.count = 0
		atomic.AddUint32(&st.gen, 1)
		b.unlock()
		futex.Wake(&st.gen, 1<<30)
		return idx, nil
	}
	b.unlock()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futex.Wake(&st.gen, 1<<30) })
		defer stop()
	}
	for atomic.LoadUint32(&st.gen) == gen {
		if err := b.brokenErr(); err != nil {
			return 0, err
		}
		if ctx.Err() != nil {
			b.breakWith(1)
			return 0, ctx.Err()
		}
		futex.Wait(&st.gen, gen, 20*time.Millisecond)
		if atomic.LoadUint32(&st.gen) == gen {
			b.checkParties(gen)
		}
	}
	return idx, nil
}

// checkParties breaks the barrier if a party that arrived in round gen
// has died.
func (b *Barrier) checkParties(gen uint32) {
	st := b.st
	b.lock()
	defer b.unlock()
	if atomic.LoadUint32(&st.gen) != gen || st.broken != 0 {
		return
	}
	for _, pid := range st.pids[:st.count] {
		if !futex.Alive(int(pid)) {
			b.breakLocked(pid)
			return
		}
	}
}

func (b *Barrier) breakWith(pid uint32) {
	b.lock()
	defer b.unlock()
	b.breakLocked(pid)
}

func (b *Barrier) breakLocked(pid uint32) {
	if b.st.broken == 0 {
		atomic.StoreUint32(&b.st.broken, pid)
	}
	futex.Wake(&b.st.gen, 1<<30)
}

// Waiting returns the number of parties waiting in the current round.
func (b *Barrier) Waiting() int {
	b.lock()
	defer b.unlock()
	return int(b.st.count)
}

// Abort breaks the barrier: waiting and later Waits fail until Reset.
func (b *Barrier) Abort() { b.breakWith(1) }

// Reset makes a broken barrier usable again, for a new round.
func (b *Barrier) Reset() {
	b.lock()
	defer b.unlock()
	b.st.count = 0
	atomic.StoreUint32(&b.st.broken, 0)
	atomic.AddUint32(&b.st.gen, 1)
	futex.Wake(&b.st.gen, 1<<30)
}

// Close unmaps the barrier in this process.
func (b *Barrier) Close() error { return b.mem.Close() }

// CloseHandle unmaps the barrier in this process (codec.HandleCloser).
func (b *Barrier) CloseHandle() error { return b.Close() }

type barrierHandle struct{ Mem *SharedMemory }

// MarshalHandle passes the barrier's memory (codec.HandleMarshaler).
func (b *Barrier) MarshalHandle() (any, []*os.File, error) {
	return barrierHandle{Mem: b.mem}, nil, nil
}

// UnmarshalHandle maps the barrier received (codec.HandleUnmarshaler).
func (b *Barrier) UnmarshalHandle(state any) error {
	h, ok := state.(barrierHandle)
	if !ok || h.Mem == nil || h.Mem.Len() < int(unsafe.Sizeof(barrierState{})) {
		return fmt.Errorf("mproc: a Barrier's handle is a %T", state)
	}
	b.mem, b.st = h.Mem, (*barrierState)(unsafe.Pointer(&h.Mem.Bytes()[0]))
	return nil
}
