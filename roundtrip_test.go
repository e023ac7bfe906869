package mproc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
)

// A future whose caller never calls Wait, which reads a lone task's result
// itself, still completes: Done wakes the pool's receiver.
func TestFutureDoneWithoutWait(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	f := mproc.Submit(context.Background(), p, square, 7)
	select {
	case <-f.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done not closed 30 s after a trivial task was submitted")
	}
	if v, err := f.Wait(context.Background()); v != 49 || err != nil {
		t.Fatalf("Wait = %d, %v; want 49, nil", v, err)
	}
}

// A future nobody waits for does not hold Close up: its result is read
// without a caller.
func TestUnwaitedFutureDoesNotStallClose(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	f := mproc.Submit(context.Background(), p, square, 5)
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		p.Terminate()
		t.Fatal("Close did not return 30 s after a trivial task was submitted")
	}
	if v, err := f.Wait(context.Background()); v != 25 || err != nil {
		t.Fatalf("Wait after Close = %d, %v; want 25, nil", v, err)
	}
}

// Results keep their order and each reaches its own future when the
// callers that read them for themselves and the pool's receiver take
// turns on one worker's connection.
func TestManyFuturesOneWorker(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	ctx := context.Background()
	var fs []*mproc.Future[int]
	for i := range 200 {
		fs = append(fs, mproc.Submit(ctx, p, square, i))
		if i%3 == 0 {
			if v, err := fs[i].Wait(ctx); v != i*i || err != nil {
				t.Fatalf("future %d: Wait = %d, %v; want %d, nil", i, v, err, i*i)
			}
		}
	}
	for i := len(fs) - 1; i >= 0; i-- {
		if v, err := fs[i].Wait(ctx); v != i*i || err != nil {
			t.Fatalf("future %d: Wait = %d, %v; want %d, nil", i, v, err, i*i)
		}
	}
}

// A caller whose Wait can give up does not read the connection itself, so
// that it can give up: it returns its context's error while the task runs.
func TestWaitGivesUpOnALongTask(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	f := mproc.Submit(context.Background(), p, waitForCancel, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Wait on a task that never ends = %v; want context.DeadlineExceeded", err)
	}
	p.Terminate()
	if _, err := f.Wait(context.Background()); !errors.Is(err, mproc.ErrClosed) {
		t.Fatalf("Wait on a task killed by Terminate = %v; want ErrClosed", err)
	}
}
