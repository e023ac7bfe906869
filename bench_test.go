package mproc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
)

func echoBytes(_ context.Context, b []byte) ([]byte, error) { return b, nil }

// cpuWork is a CPU-bound task of about a millisecond.
func cpuWork(_ context.Context, seed int) (uint64, error) {
	x := uint64(seed) + 1
	for range 500_000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x, nil
}

func benchPool(b *testing.B, opts ...mproc.Option) *mproc.Pool {
	b.Helper()
	p, err := mproc.NewPool(append([]mproc.Option{mproc.Workers(2)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

// BenchmarkStartToFirstResult measures NewPool with 2 workers up to the
// first result of a trivial task.
func BenchmarkStartToFirstResult(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, err := mproc.NewPool(mproc.Workers(2))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := mproc.Submit(ctx, p, square, 3).Wait(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.Close()
		b.StartTimer()
	}
}

// BenchmarkSubmitWait measures the round trip of one trivial task.
func BenchmarkSubmitWait(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := mproc.Submit(ctx, p, square, 3).Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMapTrivial maps 100k trivial tasks; tasks/s is the figure.
func BenchmarkMapTrivial(b *testing.B) {
	in := inputs(100_000)
	for _, bc := range []struct {
		name  string
		chunk int
	}{{"chunk1", 1}, {"auto", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			p := benchPool(b)
			ctx := context.Background()
			for b.Loop() {
				if _, err := mproc.Map(ctx, p, square, in, mproc.ChunkSize(bc.chunk)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(in))*float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkCPUBound maps 64 tasks of about a millisecond each, serially
// in this goroutine and on a pool of 2 workers; compare the two ns/op.
func BenchmarkCPUBound(b *testing.B) {
	in := inputs(64)
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			for _, x := range in {
				cpuWork(ctx, x)
			}
		}
	})
	b.Run("workers2", func(b *testing.B) {
		p := benchPool(b)
		for b.Loop() {
			if _, err := mproc.Map(ctx, p, cpuWork, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBytesRoundTrip sends a 64 MiB []byte to a worker and back;
// MB/s counts the argument once per round trip.
func BenchmarkBytesRoundTrip(b *testing.B) {
	p := benchPool(b, mproc.Workers(1))
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		out, err := mproc.Submit(ctx, p, echoBytes, data).Wait(ctx)
		if err != nil || len(out) != len(data) {
			b.Fatal(len(out), err)
		}
	}
}

// BenchmarkMainInParent measures mproc.Main where it returns: the parent.
func BenchmarkMainInParent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mproc.Main()
	}
}

// BenchmarkImapTrivial streams 100k trivial tasks through Imap and
// ImapUnordered with their default window and chunking; compare tasks/s
// with BenchmarkMapTrivial/auto.
func BenchmarkImapTrivial(b *testing.B) {
	for _, ordered := range []bool{true, false} {
		name := "ordered"
		imap := mproc.Imap[int, int]
		if !ordered {
			name, imap = "unordered", mproc.ImapUnordered[int, int]
		}
		b.Run(name, func(b *testing.B) {
			p := benchPool(b)
			ctx := context.Background()
			const n = 100_000
			in := inputs(n) // as BenchmarkMapTrivial: made once
			for b.Loop() {
				got := 0
				for _, err := range imap(ctx, p, square, slices.Values(in)) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("%d results, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

func sleepFor(_ context.Context, d time.Duration) (time.Duration, error) {
	time.Sleep(d)
	return d, nil
}

// BenchmarkUnevenMakespan maps one 2 s task and 60 tasks of 50 ms on 2
// workers, the uneven case: the ideal makespan is 2.5 s. It
// reports the makespan over the ideal (1 is perfect) at default chunking
// and at ChunkSize(1). Run it with -benchtime 1x.
func BenchmarkUnevenMakespan(b *testing.B) {
	in := []time.Duration{2 * time.Second}
	for range 60 {
		in = append(in, 50*time.Millisecond)
	}
	const ideal = 2500 * time.Millisecond
	for _, chunk := range []int{0, 1} {
		b.Run(fmt.Sprintf("chunk%d", chunk), func(b *testing.B) {
			p := benchPool(b)
			ctx := context.Background()
			for b.Loop() {
				if _, err := mproc.Map(ctx, p, sleepFor, in, mproc.ChunkSize(chunk)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/ideal.Seconds(), "x-ideal")
		})
	}
}
