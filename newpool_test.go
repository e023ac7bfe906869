package mproc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
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
	deadline := time.Now().Add(30 * time.Second)
	wake := time.AfterFunc(30*time.Second, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer wake.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.live < n {
		if time.Now().After(deadline) {
			t.Fatalf("the pool has %d live workers after 30 s; want %d", p.live, n)
		}
		p.cond.Wait()
	}
}

// Without an initializer, NewPool returns once one worker is ready, a call
// runs on it at once, and Pids waits for the worker still starting.
func TestNewPoolReturnsAtTheFirstReadyWorker(t *testing.T) {
	p, release := poolHoldingBackWorker2(t, nil)
	defer p.Close()
	p.mu.Lock()
	initial, live := p.initial, p.live
	p.mu.Unlock()
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
	p.mu.Lock()
	initial, live := p.initial, p.live
	p.mu.Unlock()
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
