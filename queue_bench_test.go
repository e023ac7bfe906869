package mproc_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mproc-go/mproc"
)

type produceN struct {
	Q *mproc.Queue[int]
	N int
}

func putN(ctx context.Context, a produceN) (int, error) {
	for i := range a.N {
		if err := a.Q.Put(ctx, i); err != nil {
			return i, err
		}
	}
	return a.N, nil
}

func getN(ctx context.Context, a produceN) (int, error) {
	n := 0
	for _, err := range a.Q.All(ctx) {
		if err != nil {
			return n, err
		}
		if n++; n == a.N {
			break
		}
	}
	return n, nil
}

// BenchmarkQueueIntoParent: a producer process puts b.N ints, the process
// that made the queue gets them.
func BenchmarkQueueIntoParent(b *testing.B) {
	ctx := context.Background()
	q := mproc.NewQueue[int]()
	pr, err := mproc.Start(ctx, putN, produceN{q, b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := q.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	pr.Wait()
}

// BenchmarkQueueBetweenProcesses: a producer process puts b.N ints, a
// consumer process gets them with All; the queue's owner only relays.
func BenchmarkQueueBetweenProcesses(b *testing.B) {
	ctx := context.Background()
	q := mproc.NewQueue[int]()
	cons, err := mproc.Start(ctx, getN, produceN{q, b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	prod, err := mproc.Start(ctx, putN, produceN{q, b.N})
	if err != nil {
		b.Fatal(err)
	}
	if n, err := cons.Wait(); err != nil || n != b.N {
		b.Fatal(n, err)
	}
	b.StopTimer()
	prod.Wait()
}

// BenchmarkQueueLocal: Put and Get in the process that made the queue.
func BenchmarkQueueLocal(b *testing.B) {
	ctx := context.Background()
	q := mproc.NewQueue[int]()
	for i := range b.N {
		q.Put(ctx, i)
		q.Get(ctx)
	}
}

func putManyN(ctx context.Context, a produceN) (int, error) {
	batch := make([]int, 256)
	for i := 0; i < a.N; i += len(batch) {
		n := min(len(batch), a.N-i)
		for k := range n {
			batch[k] = i + k
		}
		if err := a.Q.PutMany(ctx, batch[:n]...); err != nil {
			return i, err
		}
	}
	return a.N, nil
}

// BenchmarkQueuePutManyIntoParent: as BenchmarkQueueIntoParent, the
// producer putting 256 items per PutMany.
func BenchmarkQueuePutManyIntoParent(b *testing.B) {
	ctx := context.Background()
	q := mproc.NewQueue[int]()
	pr, err := mproc.Start(ctx, putManyN, produceN{q, b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := q.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	pr.Wait()
}

func monotonicNs() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

type pingArgs struct {
	Q, Back *mproc.Queue[int64]
	N       int
}

// putStamped puts the monotonic clock (system-wide on Linux) N times,
// each after the previous item's answer came back on Back.
func putStamped(ctx context.Context, a pingArgs) (int, error) {
	for range a.N {
		if err := a.Q.Put(ctx, monotonicNs()); err != nil {
			return 0, err
		}
		if _, err := a.Back.Get(ctx); err != nil {
			return 0, err
		}
	}
	return a.N, nil
}

// BenchmarkQueueLatency: one item at a time from a producer process to
// the process that made the queue; reports the median and p99 of the time
// from before Put to after Get, on the system-wide monotonic clock.
func BenchmarkQueueLatency(b *testing.B) {
	ctx := context.Background()
	q, back := mproc.NewQueue[int64](), mproc.NewQueue[int64]()
	pr, err := mproc.Start(ctx, putStamped, pingArgs{q, back, b.N})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]int64, 0, b.N)
	b.ResetTimer()
	for range b.N {
		sent, err := q.Get(ctx)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, monotonicNs()-sent)
		back.Put(ctx, 0)
	}
	b.StopTimer()
	pr.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}

type bigArgs struct {
	Q *mproc.Queue[[]byte]
	N int
}

func putMiB(ctx context.Context, a bigArgs) (int, error) {
	data := make([]byte, 1<<20)
	for i := range a.N {
		data[0] = byte(i)
		if err := a.Q.Put(ctx, data); err != nil {
			return i, err
		}
	}
	return a.N, nil
}

// BenchmarkQueueMiBItems: 1 MiB items from a producer process to the
// process that made the queue.
func BenchmarkQueueMiBItems(b *testing.B) {
	ctx := context.Background()
	q := mproc.NewQueue[[]byte](mproc.QueueCapacity(8))
	pr, err := mproc.Start(ctx, putMiB, bigArgs{q, b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for range b.N {
		if _, err := q.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	pr.Wait()
}

func withFile(_ context.Context, f *os.File) (int, error) { return 0, nil }

func withoutFile(_ context.Context, _ int) (int, error) { return 0, nil }

// BenchmarkHandleWithTask: Submit+Wait of a task whose input is an open
// file, against BenchmarkHandleWithTask/none, one without.
func BenchmarkHandleWithTask(b *testing.B) {
	pool, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	f, err := os.Open(os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.Run("file", func(b *testing.B) {
		for range b.N {
			mproc.Submit(ctx, pool, withFile, f).Wait(ctx)
		}
	})
	b.Run("none", func(b *testing.B) {
		for range b.N {
			mproc.Submit(ctx, pool, withoutFile, 0).Wait(ctx)
		}
	})
}
