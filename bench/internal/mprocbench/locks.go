package mprocbench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

// The lock rows of the queues, pipes and shared objects table: mproc's
// Lock, a futex word in shared memory, alone and between two processes
// started with mproc.Start.

// LockUncontended measures one Lock and Unlock by one goroutine, in
// seconds: per run a new Lock, ops pairs timed together.
func LockUncontended(ops int) (stats.Trial, error) {
	if ops < 1 {
		return stats.Trial{}, errors.New("LockUncontended: no operation to time")
	}
	return stats.Trial{Once: func() (float64, error) {
		l, err := mproc.NewLock()
		if err != nil {
			return 0, fmt.Errorf("mproc NewLock: %w", err)
		}
		defer l.Close()
		t0 := time.Now()
		for range ops {
			l.Lock()
			l.Unlock()
		}
		return time.Since(t0).Seconds() / float64(ops), nil
	}}, nil
}

// CountArgs is what each of the two counting processes gets: the lock,
// the counter it guards, a barrier that starts both at once with the
// parent, and how many increments to make.
type CountArgs struct {
	L     *mproc.Lock
	V     *mproc.SharedValue[int64]
	Start *mproc.Barrier
	N     int
}

// CountUnderLock waits at the barrier, then increments the shared
// counter a.N times, taking the lock for each.
func CountUnderLock(ctx context.Context, a CountArgs) (int, error) {
	if _, err := a.Start.Wait(ctx); err != nil {
		return 0, err
	}
	p := a.V.Ptr()
	for range a.N {
		a.L.Lock()
		*p++
		a.L.Unlock()
	}
	return a.N, nil
}

// LockTwoProcesses measures increments/s of one shared counter by two
// processes, each taking the Lock for every increment: per run a new
// lock, counter and pair of processes, timed by the parent from the
// barrier that starts them to the end of both; their start is not timed.
// The parent checks the counter holds every increment.
func LockTwoProcesses(n int) (stats.Trial, error) {
	if n < 2 {
		return stats.Trial{}, errors.New("LockTwoProcesses: fewer than 2 increments")
	}
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		l, err := mproc.NewLock()
		if err != nil {
			return 0, err
		}
		defer l.Close()
		v, err := mproc.NewSharedValue[int64](0)
		if err != nil {
			return 0, err
		}
		defer v.Close()
		start, err := mproc.NewBarrier(3)
		if err != nil {
			return 0, err
		}
		defer start.Close()
		var procs []*mproc.Process[int]
		defer func() {
			for _, p := range procs {
				p.Kill()
				p.Wait()
			}
		}()
		for _, k := range []int{n / 2, n - n/2} {
			p, err := mproc.Start(ctx, CountUnderLock, CountArgs{L: l, V: v, Start: start, N: k})
			if err != nil {
				return 0, err
			}
			procs = append(procs, p)
		}
		if _, err := start.Wait(ctx); err != nil {
			return 0, expired(ctx, "mproc lock: the barrier", err)
		}
		t0 := time.Now()
		var errs []error
		for _, p := range procs {
			_, err := p.Wait()
			errs = append(errs, err)
		}
		secs := time.Since(t0).Seconds()
		procs = nil
		if err := errors.Join(errs...); err != nil {
			return 0, expired(ctx, "mproc two processes under a lock", err)
		}
		if got := *v.Ptr(); got != int64(n) {
			return 0, fmt.Errorf("mproc two processes under a lock: the counter holds %d, want %d: the lock let increments race", got, n)
		}
		return float64(n) / secs, nil
	}}, nil
}
