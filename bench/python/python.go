// Package python runs the CPython side of the comparison, bench.py, which is
// embedded so the harness finds it from any working directory.
package python

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

//go:embed bench.py
var script []byte

// Params sizes the CPython run; Args turns them into bench.py's flags.
type Params struct {
	Runs, Workers, Rounds int
	MapChunk1, MapAuto    int
	BulkBytes, Tasks      int
	Floats, GraphNodes    int
	BudgetSeconds         float64
}

// Args returns the command-line flags of bench.py for p.
func (p Params) Args() []string {
	return []string{
		"--runs", strconv.Itoa(p.Runs), "--workers", strconv.Itoa(p.Workers),
		"--rounds", strconv.Itoa(p.Rounds), "--map-chunk1", strconv.Itoa(p.MapChunk1),
		"--map-auto", strconv.Itoa(p.MapAuto), "--bulk", strconv.Itoa(p.BulkBytes),
		"--tasks", strconv.Itoa(p.Tasks), "--floats", strconv.Itoa(p.Floats),
		"--graph", strconv.Itoa(p.GraphNodes), "--budget", strconv.FormatFloat(p.BudgetSeconds, 'g', -1, 64),
	}
}

// Metric is one measurement of bench.py: samples, or why there are none.
type Metric struct {
	Samples     []float64 `json:"samples"`
	Variant     string    `json:"variant"`
	Error       string    `json:"error"`       // the measurement raised
	Unsupported string    `json:"unsupported"` // the platform lacks the feature
}

// Result is bench.py's output.
type Result struct {
	Python             string            `json:"python"`
	Implementation     string            `json:"implementation"`
	DefaultStartMethod string            `json:"default_start_method"`
	Metrics            map[string]Metric `json:"metrics"`
}

// ErrNoPython means python3 is not on PATH.
var ErrNoPython = errors.New("python3 not found on PATH: the CPython column is skipped (install python3 to fill it)")

// Run writes bench.py to a temporary directory and runs it with python3,
// progress going to stderr. It returns ErrNoPython when there is no python3.
func Run(ctx context.Context, p Params) (*Result, error) {
	exe, err := exec.LookPath("python3")
	if err != nil {
		return nil, ErrNoPython
	}
	out, err := runScript(ctx, exe, "bench.py", script, p.Args())
	if err != nil {
		return nil, err
	}
	return Parse(out)
}

// runScript writes script to a temporary directory as name and runs it
// with the interpreter exe, progress going to stderr, and returns what it
// printed on stdout. The script and every process it starts share a
// process group of their own, killed when the script ends, when ctx is
// done and by KillRunning, so that no pool worker outlives a run.
func runScript(ctx context.Context, exe, name string, script []byte, args []string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "mproc-bench-py")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, script, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{path}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) }
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", exe, name, err)
	}
	running.Store(int64(cmd.Process.Pid))
	err = cmd.Wait()
	running.Store(0)
	killGroup(cmd.Process.Pid) // a pool worker that outlived the script
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w", exe, name, strings.Join(args, " "), err)
	}
	return stdout.Bytes(), nil
}

// running is the process group of the bench.py being run, or 0.
var running atomic.Int64

// KillRunning kills bench.py and every process it started, if it is
// running: for the harness's exit paths (a signal, its watchdog).
func KillRunning() {
	if pgid := running.Load(); pgid != 0 {
		killGroup(int(pgid))
	}
}

func killGroup(pgid int) error {
	err := syscall.Kill(-pgid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// Parse decodes bench.py's JSON output.
func Parse(data []byte) (*Result, error) {
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench.py printed something other than its JSON result: %w", err)
	}
	if r.Python == "" || len(r.Metrics) == 0 {
		return nil, fmt.Errorf("bench.py result has no python version or no metrics: %.200q", data)
	}
	return &r, nil
}
