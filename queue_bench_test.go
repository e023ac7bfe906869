package mproc_test

import (
	"context"
	"testing"

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
