package python

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
)

//go:embed cluster.py
var clusterScript []byte

// ClusterParams sizes cluster.py's run: dask.distributed's side of
// cmd/clusterbench.
type ClusterParams struct {
	Runs, Workers, RoundTrips, Tasks int
	Uneven                           bool
	Crash                            bool // the crash and nodekill shapes
}

// ClusterResult is what cluster.py measured, one sample per run.
type ClusterResult struct {
	Version   string    `json:"version"`
	RoundTrip []float64 `json:"roundtrip"` // seconds per submit().result()
	Map       []float64 `json:"map"`       // trivial tasks per second
	Uneven    []float64 `json:"uneven"`    // makespan in seconds
	Crash     []float64 `json:"crash"`     // makespan in seconds, one worker crashing
	NodeKill  []float64 `json:"nodekill"`  // makespan in seconds, one worker SIGKILLed
}

// ErrNoDask says dask.distributed is not installed for any python3 here.
var ErrNoDask = errors.New("dask.distributed is not installed (Debian: apt-get install python3-distributed): its column is skipped")

// RunCluster runs cluster.py with the interpreter that has the most peers
// (see Interpreter).
func RunCluster(ctx context.Context, p ClusterParams) (*ClusterResult, error) {
	exe, err := Interpreter()
	if err != nil {
		return nil, err
	}
	if exec.Command(exe, "-c", "import distributed").Run() != nil {
		return nil, ErrNoDask
	}
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	out, err := runScript(ctx, exe, "cluster.py", clusterScript, []string{
		"--runs", strconv.Itoa(p.Runs), "--workers", strconv.Itoa(p.Workers),
		"--roundtrips", strconv.Itoa(p.RoundTrips), "--tasks", strconv.Itoa(p.Tasks), "--uneven", flag(p.Uneven), "--crash", flag(p.Crash)})
	if err != nil {
		return nil, err
	}
	var r ClusterResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("cluster.py printed %q: %w", out, err)
	}
	return &r, nil
}
