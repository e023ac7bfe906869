package mproc_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/mproc-go/mproc"
)

func setEvent(_ context.Context, e *mproc.Event) (int, error) {
	e.Set()
	return 0, nil
}

func TestEventSetInAProcessWakesTheWaiter(t *testing.T) {
	ctx := deadline(t)
	e, err := mproc.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	waited := make(chan error, 1)
	go func() { waited <- e.Wait(ctx) }()
	pr, err := mproc.Start(ctx, setEvent, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil || !e.IsSet() {
		t.Fatalf("Wait = %v, IsSet %v", err, e.IsSet())
	}
	pr.Wait()
	e.Clear()
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.Wait(short); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a clear event with a done context = %v", err)
	}
}

type guarded struct {
	S      *mproc.Semaphore
	Inside *mproc.SharedValue[int32]
	Worst  *mproc.SharedValue[int32]
	N      int
}

// enterMany enters the section the semaphore guards N times, recording the
// most processes it ever found inside.
func enterMany(ctx context.Context, g guarded) (int, error) {
	inside, worst := g.Inside.Ptr(), g.Worst.Ptr()
	for range g.N {
		if err := g.S.Acquire(ctx); err != nil {
			return 0, err
		}
		n := atomic.AddInt32(inside, 1)
		for {
			w := atomic.LoadInt32(worst)
			if n <= w || atomic.CompareAndSwapInt32(worst, w, n) {
				break
			}
		}
		atomic.AddInt32(inside, -1)
		if err := g.S.Release(); err != nil {
			return 0, err
		}
	}
	return g.N, nil
}

func TestSemaphoreBoundsProcessesInside(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	s, err := mproc.NewBoundedSemaphore(1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inside, _ := mproc.NewSharedValue[int32](0)
	worst, _ := mproc.NewSharedValue[int32](0)
	defer inside.Close()
	defer worst.Close()
	g := guarded{s, inside, worst, 5000}
	if _, err := mproc.Map(ctx, pool, enterMany, []guarded{g, g}, mproc.ChunkSize(1)); err != nil {
		t.Fatal(err)
	}
	if w := *worst.Ptr(); w != 1 {
		t.Fatalf("at most %d processes inside a section a semaphore of 1 guards", w)
	}
	if err := s.Release(); !errors.Is(err, mproc.ErrSemaphoreBound) {
		t.Fatalf("Release of a full bounded semaphore = %v", err)
	}
	if s.Value() != 1 {
		t.Fatalf("Value = %d", s.Value())
	}
}
