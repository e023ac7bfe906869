// Package stats summarises repeated measurements and times operations the
// way testing.B does, without needing a test binary.
package stats

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// Summary is the median of a set of samples with its spread.
type Summary struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// Summarize returns the median, minimum and maximum of samples. The median of
// an even count is the mean of the two middle samples. An empty input gives
// the zero Summary.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// Op is the cost of one operation measured by Time.
type Op struct {
	Seconds float64 // wall time per operation
	Allocs  float64 // heap allocations per operation, all goroutines included
	N       int     // operations in the measured run
}

// Time runs op(n) with growing n until one run lasts at least budget, and
// reports the per-operation cost of that last run. op must perform its
// operation exactly n times; an error stops the measurement.
//
// Allocations are counted with runtime.ReadMemStats around the run, so they
// include every goroutine of the process: keep other work quiet while timing.
func Time(budget time.Duration, op func(n int) error) (Op, error) {
	if budget <= 0 {
		return Op{}, fmt.Errorf("stats.Time: budget must be positive, got %v", budget)
	}
	n := 1
	for {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		if err := op(n); err != nil {
			return Op{}, err
		}
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if elapsed >= budget || n >= 1<<30 {
			return Op{
				Seconds: elapsed.Seconds() / float64(n),
				Allocs:  float64(after.Mallocs-before.Mallocs) / float64(n),
				N:       n,
			}, nil
		}
		n = nextN(n, elapsed, budget)
	}
}

// nextN predicts the count that fills budget, aiming 20% over it so that the
// next run usually ends the loop, and grows by at most 100x per step because
// the first runs are dominated by warm-up.
func nextN(n int, elapsed, budget time.Duration) int {
	next := 100 * n
	if elapsed > 0 {
		predicted := float64(n) * 1.2 * float64(budget) / float64(elapsed)
		next = int(math.Min(predicted, float64(next)))
	}
	return max(next, n+1)
}

// A Trial is one contender set up for one metric: each call of Once
// measures one run and returns its sample; Close releases what the set-up
// took (child processes, pools). A nil Close means nothing to release.
type Trial struct {
	Once  func() (float64, error)
	Close func() error
}

// Interleave runs every trial runs times, the trials taking turns within
// each run, so that a burst of load on a shared machine hits all of them
// alike instead of all the runs of one. A trial whose Once fails is dropped
// from later runs; its error is returned at its index. Every trial is
// closed at the end, and a Close error is reported the same way.
func Interleave(runs int, trials ...Trial) (samples [][]float64, errs []error) {
	samples, errs = make([][]float64, len(trials)), make([]error, len(trials))
	for range runs {
		for i, t := range trials {
			if errs[i] != nil {
				continue
			}
			s, err := t.Once()
			if err != nil {
				errs[i] = err
				continue
			}
			samples[i] = append(samples[i], s)
		}
	}
	for i, t := range trials {
		if t.Close != nil {
			if err := t.Close(); err != nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return samples, errs
}
