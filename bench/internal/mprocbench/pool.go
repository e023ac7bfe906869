package mprocbench

import (
	"context"
	"fmt"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

// The pool trials run in a program whose main calls mproc.Main first, as
// every mproc program must: the workers are that program re-executed.

// callTimeout bounds every measured call, so that a pool that hangs turns
// into a failed figure naming the call instead of a harness that never
// ends. It is far above any figure measured here.
const callTimeout = time.Minute

// bounded returns a context for one run's calls, cancelled by its second
// result, and expired returns err explained when the deadline caused it.
func bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

func expired(ctx context.Context, what string, err error) error {
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("%s: no result within %v, the pool hung: %w", what, callTimeout, err)
	}
	return err
}

// Start measures NewPool with workers processes to the first Submit+Wait
// result, in seconds. Closing the pool is not counted.
func Start(workers int) (stats.Trial, error) {
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		t0 := time.Now()
		p, err := mproc.NewPool(mproc.Workers(workers))
		if err != nil {
			return 0, err
		}
		out, err := mproc.Submit(ctx, p, workload.Trivial, 1).Wait(ctx)
		elapsed := time.Since(t0)
		err = expired(ctx, "mproc start: first Submit+Wait", err)
		if cerr := p.Close(); err == nil {
			err = cerr
		}
		if err == nil && out != 2 {
			err = fmt.Errorf("mproc start: trivial task returned %d, want 2", out)
		}
		return elapsed.Seconds(), err
	}}, nil
}

// pooled runs once against a pool built from opts that lives as long as the
// trial.
func pooled(opts []mproc.Option, once func(p *mproc.Pool) (float64, error)) (stats.Trial, error) {
	p, err := mproc.NewPool(opts...)
	if err != nil {
		return stats.Trial{}, err
	}
	return stats.Trial{Once: func() (float64, error) { return once(p) }, Close: p.Close}, nil
}

// RoundTrip measures Submit+Wait of the trivial task on a pool of one
// worker, like the one process of the peer and the floor, averaged over
// rounds, in seconds per round trip.
func RoundTrip(rounds int) (stats.Trial, error) {
	return roundTrip(rounds, mproc.Workers(1))
}

// InProcessRoundTrip is RoundTrip on the in-process (goroutine) backend:
// the same API with no IPC and no encoding.
func InProcessRoundTrip(rounds int) (stats.Trial, error) {
	return roundTrip(rounds, mproc.InProcess(), mproc.Workers(1))
}

func roundTrip(rounds int, opts ...mproc.Option) (stats.Trial, error) {
	var ctx context.Context
	call := func(p *mproc.Pool) error {
		out, err := mproc.Submit(ctx, p, workload.Trivial, 1).Wait(ctx)
		if err == nil && out != 2 {
			err = fmt.Errorf("mproc round trip: trivial task returned %d, want 2", out)
		}
		return expired(ctx, "mproc Submit+Wait", err)
	}
	warm := true
	return pooled(opts, func(p *mproc.Pool) (float64, error) {
		var cancel context.CancelFunc
		ctx, cancel = bounded()
		defer cancel()
		if warm { // the first calls pay for type descriptions and page faults
			warm = false
			for range rounds / 10 {
				if err := call(p); err != nil {
					return 0, err
				}
			}
		}
		t0 := time.Now()
		for range rounds {
			if err := call(p); err != nil {
				return 0, err
			}
		}
		return time.Since(t0).Seconds() / float64(rounds), nil
	})
}

// Map measures Map of the trivial task over n inputs on workers processes
// at chunk size chunk (0: the automatic default), in tasks per second.
func Map(n, workers, chunk int) (stats.Trial, error) {
	return mapTrial(n, chunk, mproc.Workers(workers))
}

// InProcessMap is Map at chunk size 1 on the in-process backend.
func InProcessMap(n, workers int) (stats.Trial, error) {
	return mapTrial(n, 1, mproc.InProcess(), mproc.Workers(workers))
}

func mapTrial(n, chunk int, opts ...mproc.Option) (stats.Trial, error) {
	inputs := make([]int, n)
	for i := range inputs {
		inputs[i] = i
	}
	var call []mproc.CallOption
	if chunk > 0 {
		call = append(call, mproc.ChunkSize(chunk))
	}
	return pooled(opts, func(p *mproc.Pool) (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		t0 := time.Now()
		out, err := mproc.Map(ctx, p, workload.Trivial, inputs, call...)
		elapsed := time.Since(t0)
		if err != nil {
			return 0, expired(ctx, fmt.Sprintf("mproc Map of %d trivial tasks", n), err)
		}
		for i, o := range out {
			if o != inputs[i]+1 {
				return 0, fmt.Errorf("mproc map: result %d is %d, want %d", i, o, inputs[i]+1)
			}
		}
		return float64(n) / elapsed.Seconds(), nil
	})
}

// Bulk measures a size-byte []byte argument sent to a worker and returned,
// in bytes per second counting size once.
func Bulk(size int) (stats.Trial, error) {
	arg := make([]byte, size)
	warm := workload.BulkWarm
	return pooled([]mproc.Option{mproc.Workers(1)}, func(p *mproc.Pool) (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		for ; warm > 0; warm-- {
			if _, err := mproc.Submit(ctx, p, workload.Echo, arg).Wait(ctx); err != nil {
				return 0, expired(ctx, fmt.Sprintf("mproc Submit+Wait of %d bytes (warming up)", size), err)
			}
		}
		return bulkTrip(ctx, p, arg)
	})
}

// BulkCold measures the first round trip of size bytes on a fresh pool of
// one worker (started and warmed with a trivial task, untimed): memory new
// to both processes, as a program that sends one large value meets it.
func BulkCold(size int) (stats.Trial, error) {
	arg := make([]byte, size)
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		p, err := mproc.NewPool(mproc.Workers(1))
		if err != nil {
			return 0, err
		}
		defer p.Close()
		if _, err := mproc.Submit(ctx, p, workload.Trivial, 1).Wait(ctx); err != nil {
			return 0, expired(ctx, "mproc Submit+Wait (warming up)", err)
		}
		return bulkTrip(ctx, p, arg)
	}}, nil
}

// bulkTrip times one round trip of arg on p, in bytes per second.
func bulkTrip(ctx context.Context, p *mproc.Pool, arg []byte) (float64, error) {
	t0 := time.Now()
	out, err := mproc.Submit(ctx, p, workload.Echo, arg).Wait(ctx)
	elapsed := time.Since(t0)
	if err != nil {
		return 0, expired(ctx, fmt.Sprintf("mproc Submit+Wait of %d bytes", len(arg)), err)
	}
	if len(out) != len(arg) {
		return 0, fmt.Errorf("mproc bulk: %d bytes came back, want %d", len(out), len(arg))
	}
	return float64(len(arg)) / elapsed.Seconds(), nil
}

// Speedup measures a CPU-bound Map at chunk size 1 on workers processes
// against the same tasks run serially in this process.
func Speedup(tasks, workers int) (stats.Trial, error) {
	iters := make([]int, tasks)
	for i := range iters {
		iters[i] = workload.SpinIters
	}
	return pooled([]mproc.Option{mproc.Workers(workers)}, func(p *mproc.Pool) (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		return workload.Speedup(tasks, func() error {
			_, err := mproc.Map(ctx, p, workload.Spin, iters, mproc.ChunkSize(1))
			return expired(ctx, fmt.Sprintf("mproc Map of %d CPU-bound tasks", tasks), err)
		})
	})
}
