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
// it, each run lasting about budget: the floor of any in-memory transfer,
// and the yardstick the codec's bulk path is held to. Samples are bytes per
// second.
func MemCopy(size int, budget time.Duration) stats.Trial {
	src := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	return stats.Trial{
		Once: func() (float64, error) {
			op, err := stats.Time(budget, func(n int) error {
				for range n {
					dst := make([]byte, size)
					copy(dst, src)
					sink = dst
				}
				return nil
			})
			return float64(size) / op.Seconds, err
		},
		Close: func() error { sink = nil; return nil },
	}
}

// Speedup runs tasks CPU-bound tasks on workers goroutines of this process
// and returns the speed-up over running them serially: the ceiling any pool
// of workers processes can reach on this machine.
func Speedup(tasks, workers int) stats.Trial {
	return stats.Trial{Once: func() (float64, error) {
		return workload.Speedup(tasks, func() error {
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
	}}
}
