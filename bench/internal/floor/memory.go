package floor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

// sink keeps copies alive so the compiler cannot drop them.
var sink []byte

// MemCopy measures allocating a fresh buffer of size bytes and copying into
// it, runs times, each run lasting about budget: the floor of any in-memory
// transfer, and the yardstick the codec's bulk path is held to. Samples are
// bytes per second.
func MemCopy(runs, size int, budget time.Duration) ([]float64, error) {
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	var samples []float64
	for range runs {
		op, err := stats.Time(budget, func(n int) error {
			for range n {
				dst := make([]byte, size)
				copy(dst, src)
				sink = dst
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		samples = append(samples, float64(size)/op.Seconds)
	}
	sink = nil
	return samples, nil
}

// Speedup runs tasks CPU-bound tasks on workers goroutines of this process
// and returns the speed-up over running them serially, runs times: the
// ceiling any pool of workers processes can reach on this machine.
func Speedup(runs, tasks, workers int) ([]float64, error) {
	return workload.Speedup(runs, tasks, func() error {
		var next atomic.Int64
		var wg sync.WaitGroup
		sums := make([]uint64, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(tasks) {
					x, _ := workload.Spin(context.Background(), workload.SpinIters)
					sums[i] += x
				}
			}()
		}
		wg.Wait()
		return nil
	})
}
