package mproc

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/internal/futex"
)

// A Condition is a condition variable shared by processes of this
// machine, Python's multiprocessing.Condition: processes holding its Lock
// Wait for a change another process Notifies. It lives in shared memory
// with its Lock and travels as a handle.
//
// As with sync.Cond, Wait may return without a Notify (and after the
// owner of the lock died, with the lock's *OwnerDiedError): call it in a
// loop that checks the condition.
type Condition struct {
	L   *Lock // held around Wait and the check of the condition
	mem *SharedMemory
	seq *uint32 // bumped by every Notify; the futex waiters sleep on
}

// NewCondition returns a Condition with a new Lock.
func NewCondition() (*Condition, error) {
	l, err := NewLock()
	if err != nil {
		return nil, err
	}
	m, err := NewSharedMemory(os.Getpagesize())
	if err != nil {
		l.Close()
		return nil, err
	}
	return &Condition{L: l, mem: m, seq: wordOf(m)}, nil
}

// Wait unlocks c.L, waits for a Notify (or ctx's end), and locks c.L
// again before it returns, whatever the outcome: ctx's error, or an
// *OwnerDiedError if the lock's holder died meanwhile.
func (c *Condition) Wait(ctx context.Context) error {
	seq := atomic.LoadUint32(c.seq)
	c.L.Unlock()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futex.Wake(c.seq, 1<<30) })
		defer stop()
	}
	for atomic.LoadUint32(c.seq) == seq && ctx.Err() == nil {
		futex.Wait(c.seq, seq, time.Second)
	}
	err := c.L.Acquire(context.Background())
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// Notify wakes one waiting process, if any.
func (c *Condition) Notify() {
	atomic.AddUint32(c.seq, 1)
	futex.Wake(c.seq, 1)
}

// NotifyAll wakes every waiting process.
func (c *Condition) NotifyAll() {
	atomic.AddUint32(c.seq, 1)
	futex.Wake(c.seq, 1<<30)
}

// Close unmaps the condition and its lock in this process.
func (c *Condition) Close() error {
	err := c.mem.Close()
	if lerr := c.L.Close(); err == nil {
		err = lerr
	}
	return err
}

// CloseHandle unmaps the condition in this process (codec.HandleCloser).
func (c *Condition) CloseHandle() error { return c.Close() }

type conditionHandle struct {
	L   *Lock
	Mem *SharedMemory
}

// MarshalHandle passes the condition's memory and lock
// (codec.HandleMarshaler).
func (c *Condition) MarshalHandle() (any, []*os.File, error) {
	return conditionHandle{L: c.L, Mem: c.mem}, nil, nil
}

// UnmarshalHandle maps the condition received (codec.HandleUnmarshaler).
func (c *Condition) UnmarshalHandle(state any) error {
	h, ok := state.(conditionHandle)
	if !ok || h.L == nil || h.Mem == nil || h.Mem.Len() < 4 {
		return fmt.Errorf("mproc: a Condition's handle is a %T", state)
	}
	c.L, c.mem, c.seq = h.L, h.Mem, wordOf(h.Mem)
	return nil
}
