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

//go:embed workloads.py
var workloadsScript []byte

// Peers are the Python pools of the real-workload table, in its column
// order: CPython's multiprocessing.Pool first, then the optional peers a
// machine may lack (Debian packages python3-multiprocess, python3-joblib,
// python3-distributed).
var Peers = []Peer{
	{Key: "cpython", Name: "CPython Pool"},
	{Key: "multiprocess", Name: "multiprocess", Module: "multiprocess"},
	{Key: "joblib", Name: "joblib/loky", Module: "joblib"},
	{Key: "dask", Name: "dask.distributed", Module: "distributed"},
}

// Peer is one Python pool measured by workloads.py.
type Peer struct {
	Key    string // in workloads.py's metric keys, "<shape>/<key>"
	Name   string // column title
	Module string // the module it needs beyond the standard library; workloads.py names its Debian package when absent
}

// WorkloadParams sizes workloads.py's run.
type WorkloadParams struct {
	Shapes          []string // which shapes to measure
	Only            []string // which peers (Peer.Key); none: every peer
	Runs, Workers   int
	Scale           float64 // task times multiply by Scale
	LognormalN      int
	TrickleN        int
	TrickleInterval float64 // seconds
}

// Args returns workloads.py's flags for p.
func (p WorkloadParams) Args() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	args := []string{
		"--shapes", strings.Join(p.Shapes, ","),
		"--runs", strconv.Itoa(p.Runs), "--workers", strconv.Itoa(p.Workers),
		"--scale", f(p.Scale), "--lognormal-n", strconv.Itoa(p.LognormalN),
		"--trickle-n", strconv.Itoa(p.TrickleN), "--trickle-interval", f(p.TrickleInterval),
	}
	if len(p.Only) > 0 {
		args = append(args, "--peers", strings.Join(p.Only, ","))
	}
	return args
}

// PeerInfo says which version of a peer ran, or why it is absent.
type PeerInfo struct {
	Version string `json:"version"`
	Absent  string `json:"absent"`
}

// WorkloadResult is workloads.py's output: metrics keyed "<shape>/<peer>".
type WorkloadResult struct {
	Python  string              `json:"python"`
	Exe     string              `json:"-"` // the interpreter that ran it
	Peers   map[string]PeerInfo `json:"peers"`
	Metrics map[string]Metric   `json:"metrics"`
}

// RunWorkloads runs workloads.py with the interpreter that has the most
// peers installed (see Interpreter).
func RunWorkloads(ctx context.Context, p WorkloadParams) (*WorkloadResult, error) {
	exe, err := Interpreter()
	if err != nil {
		return nil, err
	}
	out, err := runScript(ctx, exe, "workloads.py", workloadsScript, p.Args())
	if err != nil {
		return nil, err
	}
	var r WorkloadResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("workloads.py printed something other than its JSON result: %w", err)
	}
	if r.Python == "" || r.Metrics == nil {
		return nil, fmt.Errorf("workloads.py result has no python version or no metrics: %.200q", out)
	}
	r.Exe = exe
	return &r, nil
}

// Interpreter chooses the python3 for workloads.py: of python3 on PATH and
// the system's /usr/bin/python3 (where Debian installs the peers' packages
// when PATH leads to another Python, such as pyenv's), the one that can
// import the most peers' modules, PATH's on a tie. It returns ErrNoPython
// when there is none.
func Interpreter() (string, error) {
	var candidates []string
	if exe, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, exe)
	}
	if exe, err := exec.LookPath("/usr/bin/python3"); err == nil {
		candidates = append(candidates, exe)
	}
	if len(candidates) == 0 {
		return "", ErrNoPython
	}
	best, most := candidates[0], -1
	for _, exe := range candidates {
		n := 0
		for _, peer := range Peers {
			if peer.Module != "" && exec.Command(exe, "-c", "import "+peer.Module).Run() == nil {
				n++
			}
		}
		if n > most {
			best, most = exe, n
		}
	}
	return best, nil
}
