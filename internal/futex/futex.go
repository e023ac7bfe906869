// Package futex is a lock in shared memory whose owner is a process: the
// lock word holds the owner's pid, so a process that finds the owner dead
// takes the lock over and says so, as a robust mutex's EOWNERDEAD does.
// Kernel robust futexes track threads, which goroutines are not; a pid in
// the word is what mproc can check.
//
// Waiting is FUTEX_WAIT (shared, not private: the word is in memory other
// processes map) with a timeout, after which the waiter checks that the
// owner is alive: a dead owner is noticed within checkEvery, and nothing
// waits for ever on a process that is gone. A wait holds an OS thread.
package futex

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The lock word: the owner's pid, and a bit saying others may wait.
const (
	pidMask = 1<<30 - 1
	waiters = 1 << 30
)

// futex(2) operations; x/sys/unix has no wrapper.
const (
	futexWait = 0
	futexWake = 1
)

// checkEvery is how long a waiter sleeps before it looks whether the
// owner is still alive.
const checkEvery = 20 * time.Millisecond

var self = uint32(os.Getpid())

// Wait sleeps while *w == val, until woken, the timeout passes or a signal
// interrupts it.
func Wait(w *uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWait, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// Wake wakes up to n waiters on w.
func Wake(w *uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, uintptr(n), 0, 0, 0)
}

// An OwnerDiedError says the lock was taken over from a process that died
// holding it: what it guarded may be half-updated.
type OwnerDiedError struct{ Pid int }

func (e *OwnerDiedError) Error() string {
	return fmt.Sprintf("the lock's owner, process %d, died holding it: it is yours now, and what it guards may be half-updated", e.Pid)
}

// TryLock takes the lock if it is free.
func TryLock(w *uint32) bool { return atomic.CompareAndSwapUint32(w, 0, self) }

// Lock takes the lock, waiting while a live process holds it. It returns
// an *OwnerDiedError, holding the lock, if its owner died; ctx's error,
// not holding it, if ctx ended first.
func Lock(ctx context.Context, w *uint32) error {
	if atomic.CompareAndSwapUint32(w, 0, self) {
		return nil
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { Wake(w, 1<<30) })
		defer stop()
	}
	for {
		v := atomic.LoadUint32(w)
		if v == 0 {
			// Taken after a wait: others may still wait, so the word
			// says so, and Unlock wakes one.
			if atomic.CompareAndSwapUint32(w, 0, self|waiters) {
				return nil
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if v&waiters == 0 && !atomic.CompareAndSwapUint32(w, v, v|waiters) {
			continue
		}
		Wait(w, v|waiters, checkEvery)
		if now := atomic.LoadUint32(w); now == v|waiters && !Alive(int(v&pidMask)) {
			if atomic.CompareAndSwapUint32(w, now, self|waiters) {
				return &OwnerDiedError{Pid: int(v & pidMask)}
			}
		}
	}
}

// Unlock releases the lock and wakes a waiter if there may be one.
func Unlock(w *uint32) {
	if atomic.SwapUint32(w, 0)&waiters != 0 {
		Wake(w, 1)
	}
}

// Owner returns the pid of the process holding the lock, 0 if none.
func Owner(w *uint32) int { return int(atomic.LoadUint32(w) & pidMask) }

// Alive reports whether process pid exists and has not exited (a zombie,
// not yet reaped, has exited).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := unix.Kill(pid, 0); err == unix.ESRCH {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the command name, which is in parentheses and may
	// hold anything.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}
