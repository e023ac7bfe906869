package mproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func double(_ context.Context, x int) (int, error) { return 2 * x, nil }

// hookStart sets testHookStart for the test.
func hookStart(t *testing.T, h func(id int) error) {
	testHookStart = h
	t.Cleanup(func() { testHookStart = nil })
}

// newPoolWithin runs NewPool, failing the test if it has not returned in
// 30 s: the pool must not wait for what the test holds back.
func newPoolWithin(t *testing.T, opts ...Option) (*Pool, error) {
	t.Helper()
	type result struct {
		p   *Pool
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := NewPool(opts...)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("NewPool did not return in 30 s")
		return nil, nil
	}
}

// poolHoldingBackWorker2 starts a pool of 2 whose worker 2 does not start
// until release is closed, and then fails with err if it is not nil.
func poolHoldingBackWorker2(t *testing.T, err error) (p *Pool, release chan struct{}) {
	t.Helper()
	release = make(chan struct{})
	hookStart(t, func(id int) error {
		if id != 2 {
			return nil
		}
		<-release
		return err
	})
	p, perr := newPoolWithin(t, Workers(2))
	if perr != nil {
		close(release)
		t.Fatal(perr)
	}
	return p, release
}

// waitLive waits until p has n live workers, for 30 s at most.
func waitLive(t *testing.T, p *Pool, n int) {
	t.Helper()
	waitFor(t, p, fmt.Sprintf("%d live workers", n), func() bool { return p.live >= n })
}

// startingAndLive returns how many workers NewPool started are not ready
// yet, and how many are live.
func startingAndLive(p *Pool) (initial, live int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.initial, p.live
}

// Without an initializer, NewPool returns once one worker is ready, a call
// runs on it at once, and Pids waits for the worker still starting.
func TestNewPoolReturnsAtTheFirstReadyWorker(t *testing.T) {
	p, release := poolHoldingBackWorker2(t, nil)
	defer p.Close()
	initial, live := startingAndLive(p)
	if initial != 1 || live != 1 {
		t.Errorf("NewPool returned with %d workers still starting and %d live; want 1 and 1", initial, live)
	}
	ctx := context.Background()
	if out, err := Submit(ctx, p, double, 21).Wait(ctx); err != nil || out != 42 {
		t.Errorf("Submit on the first worker = %d, %v; want 42", out, err)
	}
	close(release)
	if pids := p.Pids(); len(pids) != 2 {
		t.Errorf("Pids after the second worker was let start = %v; want 2 pids", pids)
	}
	out, err := Map(ctx, p, double, []int{1, 2, 3, 4, 5, 6, 7, 8}, ChunkSize(1))
	if err != nil || len(out) != 8 || out[7] != 16 {
		t.Errorf("Map on both workers = %v, %v", out, err)
	}
}

// With an initializer, NewPool returns only once every worker ran it.
func TestNewPoolWithInitializerWaitsForEveryWorker(t *testing.T) {
	p, err := newPoolWithin(t, Workers(3), Initializer(func(context.Context, int) error { return nil }, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	initial, live := startingAndLive(p)
	if initial != 0 || live != 3 {
		t.Errorf("NewPool with an initializer returned with %d workers still starting and %d live; want 0 and 3", initial, live)
	}
}

// A worker that fails to start after NewPool returned is replaced.
func TestNewPoolReplacesAWorkerThatFailsToStart(t *testing.T) {
	p, release := poolHoldingBackWorker2(t, errors.New("no room for worker 2"))
	defer p.Close()
	close(release)
	waitLive(t, p, 2)
	if pids := p.Pids(); len(pids) != 2 {
		t.Errorf("Pids after the replacement = %v; want 2 pids", pids)
	}
}

// When no worker starts, NewPool fails with the reason and leaves nothing
// behind.
func TestNewPoolFailsWhenNoWorkerStarts(t *testing.T) {
	hookStart(t, func(id int) error { return errors.New("cannot fork here") })
	p, err := newPoolWithin(t, Workers(2))
	if err == nil {
		p.Terminate()
		t.Fatal("NewPool succeeded with no worker started")
	}
	if !strings.Contains(err.Error(), "cannot fork here") {
		t.Errorf("NewPool error %q does not give the reason", err)
	}
}

// A worker that failed to start before another was ready is replaced too.
func TestNewPoolReplacesAWorkerThatFailedFirst(t *testing.T) {
	failed := make(chan struct{})
	hookStart(t, func(id int) error {
		switch id {
		case 1:
			<-failed // start only once worker 2 has failed
		case 2:
			defer close(failed)
			return errors.New("no room for worker 2")
		}
		return nil
	})
	p, err := newPoolWithin(t, Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitLive(t, p, 2)
}

// waitFor waits until ok holds, with p.mu held, for 30 s at most.
func waitFor(t *testing.T, p *Pool, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond) // a cond has no deadline: look again now and then
	defer tick.Stop()
	for {
		p.mu.Lock()
		done := ok()
		p.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s, still not %s", what)
		}
		<-tick.C
	}
}

func untilCancelled(ctx context.Context, x int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// stop stops process pid, a child of this one, and waits until it is
// stopped: a signal is delivered when the kernel gets to it, and a worker
// could meanwhile answer what it was sent.
//
// If the test fails before the pool has killed it, the cleanup does, so
// that no stopped process outlives the test; it checks first that pid is
// still this process's stopped child, not a process that took its number.
func stop(t *testing.T, pid int) {
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Errorf("SIGSTOP %d: %v", pid, err)
		return
	}
	t.Cleanup(func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // gone
		}
		// pid (comm) state ppid ...; comm may hold spaces, not ')'.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) >= 2 && (f[0] == "T" || f[0] == "t") && f[1] == strconv.Itoa(os.Getpid()) {
			unix.Kill(pid, unix.SIGKILL)
		}
	})
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			if err != nil {
				t.Errorf("waiting for %d to stop: %v", pid, err)
			}
			return
		}
	}
}

// The first call on a new pool does not go all to its first worker: the
// workers still starting get their share.
func TestFirstCallIsSharedWithWorkersStillStarting(t *testing.T) {
	p, release := poolHoldingBackWorker2(t, nil)
	defer p.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Map(ctx, p, untilCancelled, make([]int, 8), ChunkSize(1))
		done <- err
	}()
	var sent, queued int
	waitFor(t, p, "8 tasks queued or sent", func() bool {
		sent, queued = 0, 0
		for _, c := range p.calls {
			queued += len(c.pending) + c.source.remaining()
		}
		for w := range p.workers {
			sent += len(w.inflight)
		}
		return sent+queued == 8
	})
	if sent > 4 {
		t.Errorf("the first worker took %d of 8 tasks while another was starting; want at most 4", sent)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Map = %v; want context.Canceled", err)
	}
}

// Terminate does not wait for a worker stuck between its hello and its
// settings, however long StartTimeout is.
func TestTerminateEndsAWorkerStuckStarting(t *testing.T) {
	stopped := make(chan int, 1)
	testHookSpawned = func(id, pid int) {
		if id == 2 {
			stop(t, pid)
			stopped <- pid
		}
	}
	t.Cleanup(func() { testHookSpawned = nil })
	p, err := newPoolWithin(t, Workers(2), StartTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pid := <-stopped
	done := make(chan struct{})
	go func() {
		p.Terminate()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatal("Terminate waited 30 s for a stopped worker that was starting")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after Terminate; want ESRCH, the stuck worker killed and reaped", pid, err)
	}
}

// Without an initializer, a worker that says hello but never answers its
// settings counts as one that did not start, within StartTimeout.
func TestWorkerSilentAfterHelloDidNotStart(t *testing.T) {
	testHookSpawned = func(id, pid int) { stop(t, pid) }
	t.Cleanup(func() { testHookSpawned = nil })
	p, err := newPoolWithin(t, Workers(1), StartTimeout(300*time.Millisecond))
	if err == nil {
		p.Terminate()
		t.Fatal("NewPool succeeded with its only worker stopped")
	}
	var we *WorkerExitError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "did not answer its settings within 300ms (StartTimeout)") || we.Signal != "SIGKILL" {
		t.Errorf("NewPool = %v (%T); want a *WorkerExitError saying it did not answer within 300ms, killed by SIGKILL", err, err)
	}
}

// Workers that retire after every task, one at a time, never leave a call
// without a worker: each replacement that retires before it is counted
// live is replaced in turn.
func TestOneWorkerRecycledAfterEveryTask(t *testing.T) {
	p, err := newPoolWithin(t, Workers(1), MaxTasksPerWorker(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	for round := range 10 {
		out, err := Map(ctx, p, double, make([]int, 30), ChunkSize(1))
		if err != nil || len(out) != 30 {
			t.Fatalf("round %d: Map = %d results, %v; want 30, nil", round, len(out), err)
		}
	}
}
