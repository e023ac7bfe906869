package mproc

import (
	"context"
	"testing"
)

// remoteBench returns a pool of one worker, closed with b, and the
// payload of a remote task of one trivial input, with its job.
func remoteBench(b *testing.B) (*Pool, *job, []byte) {
	p, err := NewPool(Workers(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	j := remoteJob()
	j.args, j.n = []int{1}, 1
	payload, err := encodeTask(j, false)
	if err != nil {
		b.Fatal(err)
	}
	return p, j, payload
}

// BenchmarkRemoteRun is what a node does with a task of one trivial
// input, network aside: decode it, run it in a worker process, encode the
// result.
func BenchmarkRemoteRun(b *testing.B) {
	p, j, payload := remoteBench(b)
	ctx := context.Background()
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := decodeTask(payload, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := encodeTask(j, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run", func(b *testing.B) {
		for b.Loop() {
			runRemoteTask(ctx, p, payload, "bench", false)
		}
	})
	b.Run("submit", func(b *testing.B) {
		for b.Loop() {
			if _, err := Submit(ctx, p, double, 1).Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRemoteRunConcurrent runs remote tasks of one trivial input
// eight at a time on a pool of one worker, as a busy node does.
func BenchmarkRemoteRunConcurrent(b *testing.B) {
	p, _, payload := remoteBench(b)
	ctx := context.Background()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			runRemoteTask(ctx, p, payload, "bench", false)
		}
	})
}
