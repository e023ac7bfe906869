package mproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/mproc-go/mproc/internal/futex"
)

// A Lock is a mutual-exclusion lock shared by processes of this machine:
// a word in shared memory holding the pid of the process that holds it. It
// travels as a handle, like SharedMemory. Taking a free lock is one atomic
// compare-and-swap; a contended one waits in the kernel (a futex), which
// holds an OS thread while it waits.
//
// Unlike Python's multiprocessing.Lock, which has no owner, a Lock held by
// a process that dies does not block everyone for ever: the next process
// to take it gets it, with an *OwnerDiedError (errors.Is ErrOwnerDied)
// naming the dead process, since what the lock guards may be
// half-updated. A waiter notices the death within 20 ms.
//
// The owner is the process, not a goroutine: as with sync.Mutex, any
// goroutine of the holding process may Unlock.
type Lock struct {
	mem *SharedMemory
	w   *uint32 // the lock word, in mem
}

// ErrOwnerDied is what Acquire wraps when it takes over a lock from a
// process that died holding it.
var ErrOwnerDied = errors.New("the lock's owner died holding it")

// An OwnerDiedError reports a lock taken over from a dead process: the
// caller holds the lock, and what it guards may be half-updated.
type OwnerDiedError struct {
	Pid int // the process that died holding the lock
}

func (e *OwnerDiedError) Error() string {
	return fmt.Sprintf("mproc: the lock's owner, process %d, died holding it; process %d holds it now, and what it guards may be half-updated: check it before going on", e.Pid, os.Getpid())
}

func (e *OwnerDiedError) Unwrap() error { return ErrOwnerDied }

// NewLock returns an unlocked Lock (it maps one page of shared memory).
func NewLock() (*Lock, error) {
	m, err := NewSharedMemory(os.Getpagesize())
	if err != nil {
		return nil, err
	}
	return &Lock{mem: m, w: wordOf(m)}, nil
}

func wordOf(m *SharedMemory) *uint32 { return (*uint32)(unsafe.Pointer(&m.Bytes()[0])) }

func (l *Lock) word() *uint32 { return l.w }

// Acquire takes the lock, waiting while a live process holds it. It
// returns nil or an *OwnerDiedError holding the lock, or ctx's error
// without it.
func (l *Lock) Acquire(ctx context.Context) error {
	if futex.TryLock(l.word()) {
		return nil // the uncontended case: one compare-and-swap, nothing allocated
	}
	return l.acquireSlow(ctx)
}

// acquireSlow waits for the lock; apart from Acquire so that the fast path
// inlines and errors.As's target does not escape on it.
func (l *Lock) acquireSlow(ctx context.Context) error {
	err := futex.Lock(ctx, l.word())
	var od *futex.OwnerDiedError
	if errors.As(err, &od) {
		return &OwnerDiedError{Pid: od.Pid}
	}
	return err
}

// TryLock takes the lock if it is free, and reports whether it did.
func (l *Lock) TryLock() bool { return futex.TryLock(l.word()) }

// Lock takes the lock (sync.Locker). A lock taken over from a dead owner
// is taken like any other; use Acquire to learn of it.
func (l *Lock) Lock() {
	if !futex.TryLock(l.word()) {
		l.acquireSlow(context.Background())
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() { futex.Unlock(l.word()) }

// Owner returns the pid of the process holding the lock, 0 when free.
func (l *Lock) Owner() int { return futex.Owner(l.word()) }

// Close unmaps the lock in this process.
func (l *Lock) Close() error { return l.mem.Close() }

// CloseHandle unmaps the lock in this process (codec.HandleCloser).
func (l *Lock) CloseHandle() error { return l.Close() }

type lockHandle struct{ Mem *SharedMemory }

// MarshalHandle passes the lock's memory (codec.HandleMarshaler).
func (l *Lock) MarshalHandle() (any, []*os.File, error) {
	return lockHandle{Mem: l.mem}, nil, nil
}

// UnmarshalHandle maps the lock received (codec.HandleUnmarshaler).
func (l *Lock) UnmarshalHandle(state any) error {
	h, ok := state.(lockHandle)
	if !ok || h.Mem == nil || h.Mem.Len() < 4 {
		return fmt.Errorf("mproc: a Lock's handle is a %T", state)
	}
	l.mem, l.w = h.Mem, wordOf(h.Mem)
	return nil
}
