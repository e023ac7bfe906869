package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/mprocbench"
	"github.com/mproc-go/mproc/bench/internal/workload"
	"github.com/mproc-go/mproc/cluster"
)

// The real-workload rows on the cluster: the shapes of the compare
// harness's real-workload table that a cluster meets differently from a
// local pool (a stream of inputs, a task that ignores its cancellation,
// a crash), each run on the cluster's two nodes.
const (
	trickleInterval = 5 * time.Millisecond
	crashTasks      = 20
	crashTask       = 50 * time.Millisecond
	killTasks       = 40
	killAfter       = 200 * time.Millisecond
)

// crashIdeal is the makespan of the crash shape without the crash:
// crashTasks of crashTask on two workers.
var crashIdeal = workload.Ideal(slices.Repeat([]time.Duration{crashTask}, crashTasks), workers)

// killIdeal is the node-kill shape's makespan without the kill.
var killIdeal = workload.Ideal(slices.Repeat([]time.Duration{crashTask}, killTasks), workers)

// crashOn runs the crash shape on c: one of the tasks kills its worker
// process on its first run (Retries(1) runs it again); the makespan in
// seconds.
func crashOn(ctx context.Context, c *cluster.Cluster, dir string, run int) (float64, error) {
	marker := filepath.Join(dir, "crash-"+strconv.Itoa(run))
	tasks := workload.CrashTasks(crashTasks, crashTask, marker)
	t0 := time.Now()
	out, err := mproc.Map(ctx, c.Pool, workload.Crash, tasks, mproc.ChunkSize(1), mproc.Retries(1))
	elapsed := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("cluster crash shape: %w", err)
	}
	if len(out) != crashTasks || out[0] != crashTask {
		return 0, fmt.Errorf("cluster crash shape: results %v", out)
	}
	if _, err := os.Stat(marker); err != nil {
		return 0, fmt.Errorf("cluster crash shape: no task crashed: %w", err)
	}
	return elapsed.Seconds(), nil
}

// nodeKillOn runs the node-kill shape on c: killTasks of crashTask, one
// node SIGKILLed killAfter into the call (its tasks run again on the
// other: Retries(1)); the makespan in seconds. A new node replaces the
// dead one afterwards, untimed.
func nodeKillOn(ctx context.Context, c *cluster.Cluster) (float64, error) {
	nodes := c.Nodes()
	var victim *cluster.LocalNode
	for _, n := range nodes {
		select {
		case <-n.Exited():
		default:
			victim = n
		}
	}
	if victim == nil {
		return 0, fmt.Errorf("cluster node kill: no live node")
	}
	tasks := slices.Repeat([]time.Duration{crashTask}, killTasks)
	kill := time.AfterFunc(killAfter, func() { victim.Kill() })
	t0 := time.Now()
	out, err := mproc.Map(ctx, c.Pool, workload.Take, tasks, mproc.ChunkSize(1), mproc.Retries(1))
	elapsed := time.Since(t0)
	kill.Stop()
	if err != nil {
		return 0, fmt.Errorf("cluster node kill: %w", err)
	}
	if !slices.Equal(out, tasks) {
		return 0, fmt.Errorf("cluster node kill: the results differ from the inputs")
	}
	select {
	case <-victim.Exited():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n, err := c.StartNode()
	if err != nil {
		return 0, fmt.Errorf("cluster node kill: replacing the node: %w", err)
	}
	select {
	case <-n.Ready():
	case <-n.Exited():
		return 0, fmt.Errorf("cluster node kill: the new node exited: %v", n.Err())
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return elapsed.Seconds(), nil
}

// trickleOn is the trickle shape on c: median and p99 latency, seconds.
func trickleOn(ctx context.Context, c *cluster.Cluster, n int) (median, p99 float64, err error) {
	return mprocbench.TrickleOn(ctx, c.Pool, n, trickleInterval)
}

// afterStuckOn is the stuck shape on c: one task that ignores its context
// is given up after 100 ms; the seconds until a Map of 4 trivial tasks
// returns. The node running it cancels the task, and its worker process,
// stuck, is killed after the node's CancelGrace.
func afterStuckOn(ctx context.Context, c *cluster.Cluster) (float64, error) {
	return mprocbench.AfterStuckOn(ctx, c.Pool, 1, nil)
}
