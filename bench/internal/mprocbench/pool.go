package mprocbench

import "github.com/mproc-go/mproc/bench/internal/stats"

// Start measures NewPool with workers processes to the first Submit+Wait
// result, in seconds.
func Start(workers int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// RoundTrip measures Submit+Wait of the trivial task, averaged over rounds,
// in seconds per round trip.
func RoundTrip(rounds int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// Map measures Map of the trivial task over n inputs at chunk size chunk
// (0: automatic), in tasks per second.
func Map(n, workers, chunk int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// Bulk measures a size-byte []byte argument round trip, in bytes per second.
func Bulk(size int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// Speedup measures a CPU-bound Map on workers processes against serial.
func Speedup(tasks, workers int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// InProcessRoundTrip is RoundTrip on the in-process (goroutine) backend.
func InProcessRoundTrip(rounds int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }

// InProcessMap is Map at chunk size 1 on the in-process backend.
func InProcessMap(n, workers int) (stats.Trial, error) { return stats.Trial{}, ErrNotBuilt }
