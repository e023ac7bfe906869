package mproc

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/internal/futex"
)

// An Event is a flag shared by processes of this machine, Python's
// multiprocessing.Event: Wait blocks until some process Sets it. It lives
// in a page of shared memory and travels as a handle. Set wakes every
// waiter through the kernel (a futex); a waiter holds an OS thread.
type Event struct {
	mem *SharedMemory
	w   *uint32 // 0 clear, 1 set
}

// NewEvent returns a clear Event.
func NewEvent() (*Event, error) {
	m, err := NewSharedMemory(os.Getpagesize())
	if err != nil {
		return nil, err
	}
	return &Event{mem: m, w: wordOf(m)}, nil
}

// Set sets the flag and wakes every process waiting for it.
func (e *Event) Set() {
	if atomic.SwapUint32(e.w, 1) == 0 {
		futex.Wake(e.w, 1<<30)
	}
}

// Clear clears the flag.
func (e *Event) Clear() { atomic.StoreUint32(e.w, 0) }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return atomic.LoadUint32(e.w) == 1 }

// Wait waits until the flag is set, or ctx ends (its error).
func (e *Event) Wait(ctx context.Context) error {
	if atomic.LoadUint32(e.w) == 1 {
		return nil
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futex.Wake(e.w, 1<<30) })
		defer stop()
	}
	for atomic.LoadUint32(e.w) == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		futex.Wait(e.w, 0, time.Second)
	}
	return nil
}

// Close unmaps the event in this process.
func (e *Event) Close() error { return e.mem.Close() }

// CloseHandle unmaps the event in this process (codec.HandleCloser).
func (e *Event) CloseHandle() error { return e.Close() }

type eventHandle struct{ Mem *SharedMemory }

// MarshalHandle passes the event's memory (codec.HandleMarshaler).
func (e *Event) MarshalHandle() (any, []*os.File, error) { return eventHandle{Mem: e.mem}, nil, nil }

// UnmarshalHandle maps the event received (codec.HandleUnmarshaler).
func (e *Event) UnmarshalHandle(state any) error {
	h, ok := state.(eventHandle)
	if !ok || h.Mem == nil || h.Mem.Len() < 4 {
		return fmt.Errorf("mproc: an Event's handle is a %T", state)
	}
	e.mem, e.w = h.Mem, wordOf(h.Mem)
	return nil
}
