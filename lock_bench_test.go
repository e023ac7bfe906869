package mproc_test

import (
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

// BenchmarkLockUncontended: Lock and Unlock by one goroutine.
func BenchmarkLockUncontended(b *testing.B) {
	l, err := mproc.NewLock()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for range b.N {
		l.Lock()
		l.Unlock()
	}
}

// BenchmarkLockTwoProcesses: two processes increment a shared counter
// under one Lock, b.N times in all.
func BenchmarkLockTwoProcesses(b *testing.B) {
	ctx := context.Background()
	l, err := mproc.NewLock()
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	v, err := mproc.NewSharedValue[int64](0)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	b.ResetTimer()
	a, err := mproc.Start(ctx, addUnderLock, locked{l, v, b.N / 2})
	if err != nil {
		b.Fatal(err)
	}
	c, err := mproc.Start(ctx, addUnderLock, locked{l, v, b.N - b.N/2})
	if err != nil {
		b.Fatal(err)
	}
	a.Wait()
	c.Wait()
	b.StopTimer()
	if *v.Ptr() != int64(b.N) {
		b.Fatalf("counter %d, want %d", *v.Ptr(), b.N)
	}
}

// BenchmarkSharedSliceToWorker: a 64 MiB shared slice to a worker and
// back (the worker reads one element).
func BenchmarkSharedSliceToWorker(b *testing.B) {
	pool, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	s, err := mproc.NewSharedSlice[byte](64 << 20)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := mproc.Submit(ctx, pool, firstByte, s).Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func firstByte(_ context.Context, s *mproc.SharedSlice[byte]) (byte, error) { return s.Slice()[0], nil }

type eventPair struct {
	Ping, Pong *mproc.Event
	N          int
}

// pongEvents answers every Ping with a Pong.
func pongEvents(ctx context.Context, e eventPair) (int, error) {
	for range e.N {
		if err := e.Ping.Wait(ctx); err != nil {
			return 0, err
		}
		e.Ping.Clear()
		e.Pong.Set()
	}
	return e.N, nil
}

// BenchmarkEventRoundTrip: Set an Event another process waits on, and
// wait for its answer on a second: two set→wake hops.
func BenchmarkEventRoundTrip(b *testing.B) {
	ctx := context.Background()
	ping, _ := mproc.NewEvent()
	pong, _ := mproc.NewEvent()
	defer ping.Close()
	defer pong.Close()
	pr, err := mproc.Start(ctx, pongEvents, eventPair{ping, pong, b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		ping.Set()
		if err := pong.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		pong.Clear()
	}
	b.StopTimer()
	pr.Wait()
}

// BenchmarkSharedMemoryCreate: make 64 MiB of shared memory and close it.
func BenchmarkSharedMemoryCreate(b *testing.B) {
	for range b.N {
		m, err := mproc.NewSharedMemory(64 << 20)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}
