package workload

import (
	"context"
	"math"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// The real-workload shapes: task times that are uneven, inputs that trickle
// in, tasks that ignore their context. A task takes its time mostly asleep
// (see Take): these shapes measure how a pool schedules, and sleeping
// tasks leave the cores to the pools' own machinery, whatever else runs on
// the machine. The Python script builds the same shapes and tasks
// (bench/python/workloads.py).

// Uneven returns the task times of the uneven shape: one long task of 2 s
// first, then 60 of 50 ms, each multiplied by scale. On 2 workers the ideal
// makespan is 2.5 s: one worker runs the long task while the other runs 40
// short ones, and the last 20 split between them.
func Uneven(scale float64) []time.Duration {
	d := []time.Duration{scaled(2*time.Second, scale)}
	for range 60 {
		d = append(d, scaled(50*time.Millisecond, scale))
	}
	return d
}

// Lognormal returns n task times from a lognormal distribution of median
// 2 ms and 99th percentile 50 ms (times scale), as a fixed sequence: task i
// takes the quantile ((i·7919 mod n) + ½)/n, so the long tasks are spread
// through the call and every contender gets the same times. 7919 is prime,
// so i·7919 mod n is a permutation for every n it does not divide.
func Lognormal(n int, scale float64) []time.Duration {
	sigma := math.Log(25) / normalQuantile(0.99)
	d := make([]time.Duration, n)
	for i := range d {
		q := (float64(i*7919%n) + 0.5) / float64(n)
		d[i] = scaled(time.Duration(2e6*math.Exp(sigma*normalQuantile(q))), scale)
	}
	return d
}

// Ideal is a lower bound of the makespan of tasks on workers: no schedule
// finishes before the longest task, nor before the total work divided
// among the workers. For the uneven shape it is the optimum.
func Ideal(tasks []time.Duration, workers int) time.Duration {
	return max(slices.Max(tasks), Sum(tasks)/time.Duration(workers))
}

// Sum returns the total of tasks, for checking that the Go and Python
// sides build the same shape.
func Sum(tasks []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range tasks {
		sum += d
	}
	return sum
}

// Take is the task of the makespan shapes: it returns d after d of wall
// time. It sleeps until takeSpin before the deadline and spins the rest:
// a plain time.Sleep overshoots by 0.5–1 ms on this project's Linux VMs,
// more than the shortest tasks of the shapes take.
func Take(_ context.Context, d time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(d)
	if d > takeSpin {
		time.Sleep(d - takeSpin)
	}
	for time.Now().Before(deadline) {
	}
	return d, nil
}

const takeSpin = 2 * time.Millisecond

// Stuck is a task that ignores its context and does not return for an
// hour: a call into a C library that hangs, a loop that never checks ctx.
func Stuck(_ context.Context, x int) (int, error) {
	time.Sleep(time.Hour)
	return x, nil
}

// A CrashTask is an input of the crash shape: Crash sleeps D, except
// when Marker names a file that does not exist yet; then it creates the
// file and kills its own process with SIGKILL, as a crashing C library or
// the kernel's OOM killer ends a worker. A retry finds the file and runs.
type CrashTask struct {
	Marker string
	D      time.Duration
}

// Crash is the task of the crash shape (see CrashTask).
func Crash(ctx context.Context, t CrashTask) (time.Duration, error) {
	if t.Marker != "" {
		if f, err := os.OpenFile(t.Marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
			unix.Kill(os.Getpid(), unix.SIGKILL)
		}
	}
	return Take(ctx, t.D)
}

// CrashTasks returns the crash shape: n tasks of d, the first of which
// kills its worker on its first run (marker: a path that does not exist).
func CrashTasks(n int, d time.Duration, marker string) []CrashTask {
	tasks := make([]CrashTask, n)
	for i := range tasks {
		tasks[i].D = d
	}
	tasks[0].Marker = marker
	return tasks
}

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale)
}

// normalQuantile is the inverse of the standard normal distribution
// function, the same function as Python's NormalDist().inv_cdf.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
