package mproc_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// cgoReport is testdata/cgo's Report.
type cgoReport struct {
	Err    string
	Faults []struct {
		Msg        string
		WorkerExit bool
		Timeout    bool
		Index      int
		Lost       bool
		Signal     string
		Code       int
		Stderr     string
	}
	Out     []int
	Next    []int
	NextErr string
}

// TestCgoFaults builds testdata/cgo, whose tasks fault inside C code, and
// runs its cases: a SIGSEGV in C, and a thread deadlocked in C.
func TestCgoFaults(t *testing.T) {
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	// The C compiler cgo would use: $CC, else the toolchain's default,
	// which may be a command with flags ("gcc -m64").
	env, err := exec.Command(gotool, "env", "CC").Output()
	if err != nil {
		t.Fatalf("%s env CC: %v", gotool, err)
	}
	cc := strings.Fields(string(env))
	if len(cc) == 0 {
		t.Skip("go env CC is empty: cgo cannot be built here")
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Skipf("no C compiler (%v): cgo cannot be built here", err)
	}
	exe := filepath.Join(t.TempDir(), "cgo")
	build := exec.Command(gotool, "build", "-o", exe, "./testdata/cgo")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/cgo: %v\n%s", err, out)
	}
	run := func(t *testing.T, name string) cgoReport {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(t.Context(), exe, name)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		// The crash output the cases expect is the default one's; the
		// workers inherit this.
		cmd.Env = append(os.Environ(), "GOTRACEBACK=single")
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\nstderr:\n%s", exe, name, err, stderr.Bytes())
		}
		var r cgoReport
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("%s %s printed %q: %v", exe, name, stdout.Bytes(), err)
		}
		t.Logf("the call's error: %.400s", r.Err)
		return r
	}
	next := func(t *testing.T, r cgoReport) {
		t.Helper()
		if r.NextErr != "" || !slices.Equal(r.Next, []int{6, 8}) {
			t.Errorf("the next Map on the same pool = %v, %s; want [6 8]", r.Next, r.NextErr)
		}
	}

	// The Go runtime catches the SIGSEGV, prints where it came from, and
	// exits with status 2: the worker is not killed by the signal.
	t.Run("SIGSEGV", func(t *testing.T) {
		t.Parallel()
		r := run(t, "segv")
		found := false
		for _, f := range r.Faults {
			switch {
			case f.WorkerExit && f.Lost && f.Index == 0:
				// Input 0 ran, but its result was still in the worker's
				// buffer: it fails rather than run twice.
			case f.WorkerExit && !f.Lost && f.Index == 1:
				found = true
				if f.Code != 2 || f.Signal != "" || !strings.Contains(f.Msg, "died running task 1: exit status 2") {
					t.Errorf("task 1: code %d, signal %q, %q; want exit status 2", f.Code, f.Signal, f.Msg)
				}
				for _, want := range []string{"SIGSEGV: segmentation violation", "signal arrived during cgo execution", "main._Cfunc_segv"} {
					if !strings.Contains(f.Stderr, want) || !strings.Contains(f.Msg, want) {
						t.Errorf("task 1's stderr tail and message lack %q:\n%s", want, f.Stderr)
					}
				}
			default:
				t.Errorf("unexpected fault: %+v", f)
			}
		}
		if !found {
			t.Errorf("no WorkerExitError for task 1 in %q", r.Err)
		}
		if len(r.Out) != 3 || r.Out[2] != 4 {
			t.Errorf("out = %v: input 2 must run on the replacement worker", r.Out)
		}
		next(t, r)
	})

	// The heartbeat comes from a goroutine of the worker, which goes on
	// running while one thread is stuck in C: the timeout ends the task.
	t.Run("deadlock", func(t *testing.T) {
		t.Parallel()
		r := run(t, "deadlock")
		if len(r.Faults) != 1 {
			t.Fatalf("faults = %+v, want one: the timeout of task 1", r.Faults)
		}
		f := r.Faults[0]
		if !f.Timeout || f.WorkerExit || f.Index != 1 || !strings.Contains(f.Msg, "task 1 timed out after") ||
			!strings.Contains(f.Msg, "(limit 2s)") || strings.Contains(f.Msg, "heartbeat") {
			t.Errorf("fault = %+v, want ErrTimeout for task 1, not a missed heartbeat", f)
		}
		if !slices.Equal(r.Out, []int{0, 0, 4}) {
			t.Errorf("out = %v, want [0 0 4]", r.Out)
		}
		next(t, r)
	})
}
