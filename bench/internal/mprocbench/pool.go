package mprocbench

// Start measures NewPool with workers processes to the first Submit+Wait
// result, runs times, in seconds.
func Start(runs, workers int) ([]float64, error) { return nil, ErrNotBuilt }

// RoundTrip measures Submit+Wait of the trivial task, averaged over rounds,
// in seconds per round trip.
func RoundTrip(runs, rounds int) ([]float64, error) { return nil, ErrNotBuilt }

// Map measures Map of the trivial task over n inputs at chunk size chunk
// (0: automatic), in tasks per second.
func Map(runs, n, workers, chunk int) ([]float64, error) { return nil, ErrNotBuilt }

// Bulk measures a size-byte []byte argument round trip, in bytes per second.
func Bulk(runs, size int) ([]float64, error) { return nil, ErrNotBuilt }

// Speedup measures a CPU-bound Map on workers processes against serial.
func Speedup(runs, tasks, workers int) ([]float64, error) { return nil, ErrNotBuilt }

// InProcessRoundTrip is RoundTrip on the in-process (goroutine) backend.
func InProcessRoundTrip(runs, rounds int) ([]float64, error) { return nil, ErrNotBuilt }

// InProcessMap is Map at chunk size 1 on the in-process backend.
func InProcessMap(runs, n, workers int) ([]float64, error) { return nil, ErrNotBuilt }
