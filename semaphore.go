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

// A Semaphore is a counter shared by processes of this machine, Python's
// multiprocessing.Semaphore and BoundedSemaphore: Acquire takes a unit,
// waiting while there is none, Release gives one back. It lives in a page
// of shared memory and travels as a handle; a waiter holds an OS thread.
//
// A semaphore does not know who holds its units: a process that dies
// holding some does not give them back. Where that matters, use a Lock,
// whose owner is known.
type Semaphore struct {
	mem   *SharedMemory
	count *uint32
	bound *uint32 // the most units; 0 for no bound
}

// ErrSemaphoreBound is what Release of a bounded semaphore returns when
// every unit is already there.
var ErrSemaphoreBound = errors.New("mproc: Release of a bounded semaphore that holds all its units: released more often than acquired")

// NewSemaphore returns a semaphore holding n units, without a bound.
func NewSemaphore(n int) (*Semaphore, error) { return newSemaphore(n, 0) }

// NewBoundedSemaphore returns a semaphore holding n units, which Release
// never raises above n.
func NewBoundedSemaphore(n int) (*Semaphore, error) { return newSemaphore(n, n) }

func newSemaphore(n, bound int) (*Semaphore, error) {
	if n < 0 || n > 1<<31 {
		return nil, fmt.Errorf("mproc: a semaphore of %d units", n)
	}
	m, err := NewSharedMemory(os.Getpagesize())
	if err != nil {
		return nil, err
	}
	s := semaphoreOn(m)
	*s.count, *s.bound = uint32(n), uint32(bound)
	return s, nil
}

func semaphoreOn(m *SharedMemory) *Semaphore {
	b := m.Bytes()
	return &Semaphore{mem: m, count: (*uint32)(unsafe.Pointer(&b[0])), bound: (*uint32)(unsafe.Pointer(&b[4]))}
}

// TryAcquire takes a unit if there is one, and reports whether it did.
func (s *Semaphore) TryAcquire() bool {
	for {
		v := atomic.LoadUint32(s.count)
		if v == 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(s.count, v, v-1) {
			return true
		}
	}
}

// Acquire takes a unit, waiting while there is none, or returns ctx's
// error.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if s.TryAcquire() {
		return nil
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futex.Wake(s.count, 1<<30) })
		defer stop()
	}
	for !s.TryAcquire() {
		if err := ctx.Err(); err != nil {
			return err
		}
		futex.Wait(s.count, 0, time.Second)
	}
	return nil
}

// Release gives a unit back and wakes a waiter.
func (s *Semaphore) Release() error {
	for {
		v := atomic.LoadUint32(s.count)
		if b := atomic.LoadUint32(s.bound); b != 0 && v >= b {
			return ErrSemaphoreBound
		}
		if atomic.CompareAndSwapUint32(s.count, v, v+1) {
			futex.Wake(s.count, 1)
			return nil
		}
	}
}

// Value returns the units held now.
func (s *Semaphore) Value() int { return int(atomic.LoadUint32(s.count)) }

// Close unmaps the semaphore in this process.
func (s *Semaphore) Close() error { return s.mem.Close() }

// CloseHandle unmaps the semaphore in this process (codec.HandleCloser).
func (s *Semaphore) CloseHandle() error { return s.Close() }

type semaphoreHandle struct{ Mem *SharedMemory }

// MarshalHandle passes the semaphore's memory (codec.HandleMarshaler).
func (s *Semaphore) MarshalHandle() (any, []*os.File, error) {
	return semaphoreHandle{Mem: s.mem}, nil, nil
}

// UnmarshalHandle maps the semaphore received (codec.HandleUnmarshaler).
func (s *Semaphore) UnmarshalHandle(state any) error {
	h, ok := state.(semaphoreHandle)
	if !ok || h.Mem == nil || h.Mem.Len() < 8 {
		return fmt.Errorf("mproc: a Semaphore's handle is a %T", state)
	}
	*s = *semaphoreOn(h.Mem)
	return nil
}
