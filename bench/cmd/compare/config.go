package main

import "time"

// config sizes one run of the harness.
type config struct {
	Runs       int           // runs per figure
	Workers    int           // worker processes of every pool
	Rounds     int           // round trips per run of the round-trip rows
	MapChunk1  int           // tasks of the chunk-size-1 map
	MapAuto    int           // tasks of the automatic-chunk map
	BulkBytes  int           // the bulk argument
	Tasks      int           // CPU-bound tasks of the speed-up row
	GraphNodes int           // nodes of the graph shape
	Budget     time.Duration // minimum length of one run of a codec row
	Python     bool          // run bench.py and workloads.py

	// The real-workload table.
	Workloads       bool     // measure it
	PythonPeers     []string // the Python peers it runs (python.Peer.Key); none: every one installed
	Scale           float64  // task times of its shapes multiply by Scale
	LognormalN      int      // tasks of the lognormal shape
	TrickleN        int      // inputs of the trickling source
	TrickleInterval float64  // seconds between the source's inputs

	// The queues, pipes and shared objects table (its pipe row makes
	// Rounds round trips per run).
	Queues        bool // measure it
	QueueItems    int  // ints per run of the queue of small items
	LatencyRounds int  // items per run of the put→get latency
	MiBItems      int  // 1 MiB items per run
	MapSets       int  // shared-map sets per run
	HandleRounds  int  // pairs of Submit+Wait per run of the handle row
	LockOps       int  // Lock+Unlock pairs per run of the uncontended lock row
	LockIncs      int  // increments per run of the two-process lock row
	EventRounds   int  // round trips per run of the Event hop row
	ShmBytes      int  // bytes of the SharedMemory row's segment
	TableBytes    int  // bytes of the shared table the PSS row's workers read
}

func defaultConfig(quick bool) config {
	c := config{
		Runs:       5,
		Workers:    2,
		Rounds:     5000,
		MapChunk1:  100_000,
		MapAuto:    100_000,
		BulkBytes:  64 << 20,
		Tasks:      8,
		GraphNodes: 10_000,
		Budget:     200 * time.Millisecond,
		Python:     true,

		Workloads:       true,
		Scale:           1,
		LognormalN:      1000,
		TrickleN:        200,
		TrickleInterval: 0.005,

		Queues:        true,
		QueueItems:    200_000,
		LatencyRounds: 2000,
		MiBItems:      200,
		MapSets:       20_000,
		HandleRounds:  2000,
		LockOps:       1_000_000,
		LockIncs:      1_000_000,
		EventRounds:   5000,
		ShmBytes:      64 << 20,
		TableBytes:    256 << 20,
	}
	if quick {
		c.Runs = 3
		c.Rounds = 500
		c.MapChunk1 = 20_000
		c.Tasks = 4
		c.Budget = 40 * time.Millisecond
		c.Scale = 0.1
		c.LognormalN = 200
		c.TrickleN = 60
		c.QueueItems = 20_000
		c.LatencyRounds = 500
		c.MiBItems = 50
		c.MapSets = 2000
		c.HandleRounds = 500
		c.LockOps = 100_000
		c.LockIncs = 100_000
		c.EventRounds = 1000
		c.TableBytes = 64 << 20
	}
	return c
}
