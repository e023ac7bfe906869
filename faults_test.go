package mproc_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

// A worker that dies running a task fails that task with a WorkerExitError
// naming it, the pool replaces the worker, the other tasks complete, and
// the next call works.
func TestWorkerDeath(t *testing.T) {
	for _, tc := range []struct {
		how    string
		code   int
		signal string
		stderr string // what the tail of the worker's stderr shows
	}{
		{"exit", 7, "", "about to die by exit"},
		{"sigkill", -1, "SIGKILL", "about to die by sigkill"},
		{"sigsegv", 2, "", "SIGSEGV"},
		{"fatal", 2, "", "fatal error: stack overflow"},
	} {
		for _, chunk := range []int{1, 8} {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.how, chunk), func(t *testing.T) {
				p := newPool(t, mproc.Workers(2), mproc.Initializer(dieInit, tc.how))
				out, err := mproc.Map(t.Context(), p, die, inputs(8), mproc.ChunkSize(chunk), mproc.CollectErrors())
				if err == nil {
					t.Fatal("Map succeeded, want a *WorkerExitError")
				}
				// Inputs that ran on the dying worker before input 3 and
				// whose results had not reached the pool fail too: they are
				// not run again without Retries.
				var we *mproc.WorkerExitError
				failed := map[int]bool{}
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ew *mproc.WorkerExitError
					switch {
					case !errors.As(e, &ew):
						t.Fatalf("err = %v, want *WorkerExitError", e)
					case ew.Lost:
						if ew.Running != 3 || ew.Index > 3 || !strings.Contains(e.Error(), "ran but its result was lost") {
							t.Errorf("lost result: %+v: %v", ew, e)
						}
					case we != nil:
						t.Errorf("two worker deaths: %v", err)
					default:
						we = ew
					}
					failed[ew.Index] = true
				}
				if we == nil {
					t.Fatalf("err = %v, want a *WorkerExitError for task 3", err)
				}
				if we.Index != 3 || we.Code != tc.code || we.Signal != tc.signal || we.Pid == 0 {
					t.Errorf("WorkerExitError = %+v, want index 3, code %d, signal %q", we, tc.code, tc.signal)
				}
				status := fmt.Sprintf("exit status %d", tc.code)
				if tc.signal != "" {
					status = "killed by " + tc.signal
				}
				for _, want := range []string{"died running task 3", status, tc.stderr, fmt.Sprintf("pid %d", we.Pid)} {
					if !strings.Contains(we.Error(), want) {
						t.Errorf("message does not contain %q:\n%v", want, err)
					}
				}
				for i, v := range out {
					if !failed[i] && v != i {
						t.Errorf("out[%d] = %d, want %d: the other tasks must complete", i, v, i)
					}
				}
				if slices.Contains(p.Pids(), we.Pid) {
					t.Errorf("dead worker %d still listed in %v", we.Pid, p.Pids())
				}
				again, err := mproc.Map(t.Context(), p, square, inputs(10))
				if err != nil || again[9] != 81 {
					t.Errorf("next Map on the same pool: %v, %v", again, err)
				}
			})
		}
	}
}

// A death with the first-error default returns at once with that error.
func TestWorkerDeathStopsMap(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.Initializer(dieInit, "exit"))
	_, err := mproc.Map(t.Context(), p, die, inputs(100), mproc.ChunkSize(1))
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || !(we.Index == 3 && !we.Lost || we.Lost && we.Running == 3) {
		t.Fatalf("err = %v, want *WorkerExitError for task 3, or for a result lost when task 3 killed the worker", err)
	}
	if v, err := mproc.Submit(t.Context(), p, square, 12).Wait(t.Context()); err != nil || v != 144 {
		t.Errorf("Submit after a death: %v, %v", v, err)
	}
}

func TestSubmitWorkerDeath(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.Initializer(dieInit, "sigkill"))
	_, err := mproc.Submit(t.Context(), p, die, 3).Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Signal != "SIGKILL" || we.Index != 0 {
		t.Fatalf("err = %v, want *WorkerExitError killed by SIGKILL at index 0", err)
	}
}

// A task the worker cannot load fails with an error that says so; the
// worker is replaced and the pool goes on.
func TestUnloadableTask(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	_, err := mproc.Submit(t.Context(), p, useUnloadable, unloadable{7}).Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Index != 0 || !strings.Contains(err.Error(), "reading a task") ||
		!strings.Contains(err.Error(), "unloadable 7 cannot be rebuilt here") {
		t.Fatalf("err = %v, want a WorkerExitError saying the task could not be read", err)
	}
	if v, err := mproc.Submit(t.Context(), p, square, 4).Wait(t.Context()); err != nil || v != 16 {
		t.Errorf("after: %v, %v", v, err)
	}
}
