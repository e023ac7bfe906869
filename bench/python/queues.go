package python

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

//go:embed queues.py
var queuesScript []byte

// QueueShapes are the shapes of queues.py, in the order of the table.
var QueueShapes = []string{"queue_items", "queue_latency", "queue_mib", "pipe", "map_set", "lock_uncontended", "lock_two_procs", "handle_task",
	"event_hop", "shm_share", "shared_slice"}

// QueueParams sizes queues.py's run.
type QueueParams struct {
	Shapes        []string // which shapes to measure (QueueShapes)
	Runs          int
	Items         int // ints per run of queue_items
	LatencyRounds int // items per run of queue_latency
	MiBItems      int // 1 MiB items per run of queue_mib
	Rounds        int // round trips per run of pipe
	Sets          int // sets per run of map_set
	LockOps       int // acquire+release pairs per run of lock_uncontended
	LockIncs      int // increments per run of lock_two_procs
	EventRounds   int // round trips per run of event_hop
	ShmBytes      int // bytes of the segment of shm_share
}

// Args returns queues.py's flags for p.
func (p QueueParams) Args() []string {
	return []string{
		"--shapes", strings.Join(p.Shapes, ","), "--runs", strconv.Itoa(p.Runs),
		"--items", strconv.Itoa(p.Items), "--latency-rounds", strconv.Itoa(p.LatencyRounds),
		"--mib-items", strconv.Itoa(p.MiBItems), "--rounds", strconv.Itoa(p.Rounds),
		"--sets", strconv.Itoa(p.Sets),
		"--lock-ops", strconv.Itoa(max(p.LockOps, 1)), "--lock-incs", strconv.Itoa(max(p.LockIncs, 2)),
		"--event-rounds", strconv.Itoa(max(p.EventRounds, 10)), "--shm-bytes", strconv.Itoa(max(p.ShmBytes, 1)),
	}
}

// QueueResult is queues.py's output. Metric keys are the shape, or
// "<shape>/<kind>" where it measures multiprocessing.Queue and
// SimpleQueue ("queue", "simplequeue"); queue_latency_p99/<kind> holds
// the latency runs' tails.
type QueueResult struct {
	Python      string            `json:"python"`
	StartMethod string            `json:"start_method"`
	Metrics     map[string]Metric `json:"metrics"`
}

// RunQueues runs queues.py with python3 (CPython's multiprocessing only,
// like bench.py). It returns ErrNoPython when there is no python3.
func RunQueues(ctx context.Context, p QueueParams) (*QueueResult, error) {
	exe, err := exec.LookPath("python3")
	if err != nil {
		return nil, ErrNoPython
	}
	out, err := runScript(ctx, exe, "queues.py", queuesScript, p.Args())
	if err != nil {
		return nil, err
	}
	var r QueueResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("queues.py printed something other than its JSON result: %w", err)
	}
	if r.Python == "" || r.Metrics == nil {
		return nil, fmt.Errorf("queues.py result has no python version or no metrics: %.200q", out)
	}
	return &r, nil
}
