package mprocbench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

// The real-workload trials: what a pool does with uneven task times, a
// trickling input and tasks that ignore their cancelled context, at the
// settings a user gets by default unless the trial says otherwise.

// warm starts every worker of p and has it run one task, so that a trial
// times the pool at work, not the processes starting.
func warm(ctx context.Context, p *mproc.Pool, workers int) error {
	in := make([]int, workers)
	_, err := mproc.Map(ctx, p, workload.Trivial, in, mproc.ChunkSize(1))
	return expired(ctx, "mproc warm-up", err)
}

// warmPooled runs once against a pool of workers processes that lives as
// long as the trial and was warmed before its first run, each run bounded
// by callTimeout.
func warmPooled(workers int, once func(ctx context.Context, p *mproc.Pool) (float64, error)) (stats.Trial, error) {
	p, err := mproc.NewPool(mproc.Workers(workers))
	if err != nil {
		return stats.Trial{}, err
	}
	warmed := false
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		if !warmed {
			if err := warm(ctx, p, workers); err != nil {
				return 0, err
			}
			warmed = true
		}
		return once(ctx, p)
	}, Close: p.Close}, nil
}

// Makespan measures Map of workload.Take over tasks on workers processes,
// in seconds from the call to its return, with opts as the call's options
// (none: the defaults).
func Makespan(tasks []time.Duration, workers int, opts ...mproc.CallOption) (stats.Trial, error) {
	return warmPooled(workers, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		t0 := time.Now()
		out, err := mproc.Map(ctx, p, workload.Take, tasks, opts...)
		elapsed := time.Since(t0)
		if err != nil {
			return 0, expired(ctx, fmt.Sprintf("mproc Map of %d tasks", len(tasks)), err)
		}
		if !slices.Equal(out, tasks) {
			return 0, errors.New("mproc makespan: the results differ from the inputs")
		}
		return elapsed.Seconds(), nil
	})
}

// Trickle measures Imap over a source that yields n inputs, waiting
// interval before each, on workers processes at default settings: the
// latency from the moment an input is yielded to the moment its result
// reaches the loop. The trial's samples are each run's median latency in
// seconds; p99 receives each run's 99th percentile (nearest rank).
func Trickle(n int, interval time.Duration, workers int) (trial stats.Trial, p99 *[]float64, err error) {
	p99 = new([]float64)
	trial, err = warmPooled(workers, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		med, tail, err := TrickleOn(ctx, p, n, interval)
		if err != nil {
			return 0, err
		}
		*p99 = append(*p99, tail)
		return med, nil
	})
	return trial, p99, err
}

// TrickleOn is one run of Trickle's shape on p: the median and the 99th
// percentile of the latencies, in seconds.
func TrickleOn(ctx context.Context, p *mproc.Pool, n int, interval time.Duration) (median, p99 float64, err error) {
	yielded := make([]time.Time, n)
	source := func(yield func(int) bool) {
		for i := range n {
			time.Sleep(interval)
			yielded[i] = time.Now()
			if !yield(i) {
				return
			}
		}
	}
	latency := make([]float64, 0, n)
	next := 0
	for out, err := range mproc.Imap(ctx, p, workload.Trivial, iter.Seq[int](source)) {
		seen := time.Now()
		if err != nil {
			return 0, 0, expired(ctx, "mproc Imap over a trickling source", err)
		}
		if out != next+1 {
			return 0, 0, fmt.Errorf("mproc trickle: result %d is %d, want %d", next, out, next+1)
		}
		latency = append(latency, seen.Sub(yielded[next]).Seconds())
		next++
	}
	if next != n {
		return 0, 0, fmt.Errorf("mproc trickle: %d results, want %d", next, n)
	}
	median, p99 = Latencies(latency)
	return median, p99, nil
}

// Latencies returns the median and the 99th percentile (nearest rank) of
// samples, the same definitions as workloads.py's.
func Latencies(samples []float64) (median, p99 float64) {
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (99*n + 99) / 100 // ceil(0.99 n)
	return median, s[rank-1]
}

// AfterStuck measures how soon a pool serves a call after an earlier call
// was cancelled while stuck tasks ignored its context: per run, a new pool
// of workers processes built with opts (warmed), a Map of stuck tasks of
// workload.Stuck given up after 100 ms, then the seconds until a Map of 4
// trivial tasks returns. With restart nil that Map runs on the same pool,
// which is left to deal with its stuck workers (CancelGrace); else restart
// is timed first and the Map runs on the pool it returns.
func AfterStuck(workers, stuck int, restart func(*mproc.Pool, []mproc.Option) (*mproc.Pool, error), opts ...mproc.Option) (stats.Trial, error) {
	opts = append([]mproc.Option{mproc.Workers(workers)}, opts...)
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		p, err := mproc.NewPool(opts...)
		if err != nil {
			return 0, err
		}
		defer func() { p.Terminate() }()
		if err := warm(ctx, p, workers); err != nil {
			return 0, err
		}
		var next func() (*mproc.Pool, error)
		if restart != nil {
			next = func() (*mproc.Pool, error) {
				var err error
				p, err = restart(p, opts)
				return p, err
			}
		}
		return AfterStuckOn(ctx, p, stuck, next)
	}}, nil
}

// AfterStuckOn is one run of AfterStuck's shape on p, warm: stuck tasks
// given up after 100 ms, then the seconds until a Map of 4 trivial tasks
// returns, on p or, when restart is not nil, on the pool it returns
// (timed).
func AfterStuckOn(ctx context.Context, p *mproc.Pool, stuck int, restart func() (*mproc.Pool, error)) (float64, error) {
	given, giveUp := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err := mproc.Map(given, p, workload.Stuck, make([]int, stuck), mproc.ChunkSize(1))
	giveUp()
	if !errors.Is(err, context.DeadlineExceeded) {
		return 0, fmt.Errorf("mproc stuck tasks: the cancelled call returned %v, want a deadline error", err)
	}
	t0 := time.Now()
	if restart != nil {
		if p, err = restart(); err != nil {
			return 0, err
		}
	}
	out, err := mproc.Map(ctx, p, workload.Trivial, []int{0, 1, 2, 3})
	elapsed := time.Since(t0)
	if err != nil {
		return 0, expired(ctx, "mproc Map after stuck tasks", err)
	}
	if !slices.Equal(out, []int{1, 2, 3, 4}) {
		return 0, fmt.Errorf("mproc after stuck tasks: results %v, want [1 2 3 4]", out)
	}
	return elapsed.Seconds(), nil
}

// Replace is CPython's way out of stuck workers done with mproc, for
// AfterStuck: terminate the pool and start another.
func Replace(p *mproc.Pool, opts []mproc.Option) (*mproc.Pool, error) {
	if err := p.Terminate(); err != nil {
		return nil, err
	}
	return mproc.NewPool(opts...)
}
