package mproc

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mproc-go/mproc/internal/futex"
)

// A WaitGroup is a sync.WaitGroup shared by processes of this machine: Add
// and Done in any process holding it, Wait until the count is zero. It
// lives in shared memory and travels as a handle. Like a Semaphore it does
// not know who will call Done: bound Wait with ctx where a process may die
// before it does.
type WaitGroup struct {
	mem *SharedMemory
	n   *int32
}

// NewWaitGroup returns a WaitGroup with a count of zero.
func NewWaitGroup() (*WaitGroup, error) {
	m, err := NewSharedMemory(os.Getpagesize())
	if err != nil {
		return nil, err
	}
	return &WaitGroup{mem: m, n: (*int32)(unsafe.Pointer(wordOf(m)))}, nil
}

// Add adds delta, which may be negative, to the count; it panics if the
// count goes negative, as sync.WaitGroup does.
func (wg *WaitGroup) Add(delta int) {
	v := atomic.AddInt32(wg.n, int32(delta))
	if v < 0 {
		panic(fmt.Sprintf("mproc: WaitGroup count %d: Done called more times than Add added", v))
	}
	if v == 0 {
		futex.Wake((*uint32)(wordOf(wg.mem)), 1<<30)
	}
}

// Done subtracts one from the count.
func (wg *WaitGroup) Done() { wg.Add(-1) }

// Wait waits until the count is zero, or returns ctx's error.
func (wg *WaitGroup) Wait(ctx context.Context) error {
	w := (*uint32)(wordOf(wg.mem))
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futex.Wake(w, 1<<30) })
		defer stop()
	}
	for {
		v := atomic.LoadUint32(w)
		if v == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		futex.Wait(w, v, time.Second)
	}
}

// Close unmaps the WaitGroup in this process.
func (wg *WaitGroup) Close() error { return wg.mem.Close() }

// CloseHandle unmaps the WaitGroup in this process (codec.HandleCloser).
func (wg *WaitGroup) CloseHandle() error { return wg.Close() }

type waitGroupHandle struct{ Mem *SharedMemory }

// MarshalHandle passes the WaitGroup's memory (codec.HandleMarshaler).
func (wg *WaitGroup) MarshalHandle() (any, []*os.File, error) {
	return waitGroupHandle{Mem: wg.mem}, nil, nil
}

// UnmarshalHandle maps the WaitGroup received (codec.HandleUnmarshaler).
func (wg *WaitGroup) UnmarshalHandle(state any) error {
	h, ok := state.(waitGroupHandle)
	if !ok || h.Mem == nil || h.Mem.Len() < 4 {
		return fmt.Errorf("mproc: a WaitGroup's handle is a %T", state)
	}
	wg.mem, wg.n = h.Mem, (*int32)(unsafe.Pointer(wordOf(h.Mem)))
	return nil
}
