package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
)

// The tasks of these tests run in the Process.

// procIgnoreCtx blocks for ever, whatever its context says.
func procIgnoreCtx(_ context.Context, _ int) (int, error) { select {} }

// procDouble waits for its context to end and returns 2n and no error:
// what a Process returns when fn outlives its cancellation.
func procDouble(ctx context.Context, n int) (int, error) {
	<-ctx.Done()
	return 2 * n, nil
}

// procHonourCtx waits for its context to end and returns its error.
func procHonourCtx(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func procSquare(_ context.Context, n int) (int, error) { return n * n, nil }

// procExit says so on stderr and exits with status code before returning.
func procExit(_ context.Context, code int) (int, error) {
	fmt.Fprintf(os.Stderr, "exiting with %d now\n", code)
	os.Exit(code)
	return 0, nil
}

// procSpewSize is what procSpew writes to each of stdout and stderr: many
// times a pipe's buffer.
const procSpewSize = 1 << 20

// procSpew writes procSpewSize bytes to stdout and to stderr, then exits
// with status code if it is not 0, after saying so on stderr, or returns n.
func procSpew(_ context.Context, code int) (int, error) {
	line := []byte(strings.Repeat("y", 1023) + "\n")
	for range procSpewSize / len(line) {
		if _, err := os.Stdout.Write(line); err != nil {
			return 0, err
		}
		if _, err := os.Stderr.Write(line); err != nil {
			return 0, err
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "spewed, exiting with %d\n", code)
		os.Exit(code)
	}
	return 42, nil
}

// procWait waits for pr to end, at most 30 seconds: a failure guard, not a
// measure.
func procWait(t *testing.T, pr *mproc.Process[int]) (int, error) {
	t.Helper()
	select {
	case <-pr.Done():
	case <-time.After(30 * time.Second):
		pr.Kill()
		t.Fatalf("process %d has not ended after 30s", pr.Pid())
	}
	return pr.Wait()
}

// procGone checks that pid has been reaped: no process is left behind.
func procGone(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after Wait, want ESRCH", pid, err)
	}
}

// procSignal returns the signal that killed a process, 0 if none.
func procSignal(st *os.ProcessState) syscall.Signal {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return 0
}

// procMessage checks that err's message contains every one of want and
// none of the pool's words.
func procMessage(t *testing.T, err error, want ...string) {
	t.Helper()
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q\ndoes not say %q", msg, w)
		}
	}
	for _, w := range []string{"worker", "task"} {
		if strings.Contains(msg, w) {
			t.Errorf("error %q\nspeaks of a %s, not of the process", msg, w)
		}
	}
}

// TestProcessDeadlineKillsAfterGrace: a fn that ignores its context is
// killed CancelGrace after Start's ctx deadline, and Wait says so.
func TestProcessDeadlineKillsAfterGrace(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	pr, err := mproc.Start(ctx, procIgnoreCtx, 0, mproc.CancelGrace(30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	pid := pr.Pid()
	_, err = procWait(t, pr)
	var ee *mproc.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("Wait = %v (%T), want an *ExitError", err, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || ee.Err != context.DeadlineExceeded {
		t.Errorf("Wait = %v with Err %v, want errors.Is(err, context.DeadlineExceeded)", err, ee.Err)
	}
	if ee.Pid != pid || ee.Signal != "SIGKILL" || ee.Code != -1 || ee.Grace != 30*time.Millisecond || ee.Lost {
		t.Errorf("ExitError = %+v, want pid %d, SIGKILL, code -1, grace 30ms", ee, pid)
	}
	procMessage(t, err, "mproc: process "+strconv.Itoa(pid)+" was killed by SIGKILL before fn returned",
		"context deadline exceeded", "grace period of 30ms (CancelGrace)")
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Pid != pid {
		t.Errorf("errors.As(err, *WorkerExitError) = %v, want the pool's report under it", we)
	}
	if st := pr.ProcessState(); st == nil || procSignal(st) != syscall.SIGKILL || pr.ExitCode() != -1 {
		t.Errorf("ProcessState() = %v, ExitCode() = %d; want killed, -1", st, pr.ExitCode())
	}
	procGone(t, pid)
}

// TestProcessCancelNoGrace: with CancelGrace(0) a cancellation kills at
// once.
func TestProcessCancelNoGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, err := mproc.Start(ctx, procIgnoreCtx, 0, mproc.CancelGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = procWait(t, pr)
	var ee *mproc.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) || ee.Signal != "SIGKILL" || ee.Grace != 0 {
		t.Fatalf("Wait = %v, want an *ExitError: SIGKILL for context.Canceled", err)
	}
	procMessage(t, err, "process "+strconv.Itoa(pr.Pid())+" was killed by SIGKILL before fn returned",
		"context canceled", "CancelGrace(0) kills at once")
	procGone(t, pr.Pid())
}

// TestProcessReturnsWithinGrace: a fn that returns after its cancellation,
// within CancelGrace, has Wait return what it returned, and its process
// exits normally.
func TestProcessReturnsWithinGrace(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(context.Context, int) (int, error)
		out  int
		err  error
	}{
		{"value", procDouble, 14, nil},
		{"ctx.Err", procHonourCtx, 0, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			// A grace longer than any test: the kill must not be what
			// ends the process.
			pr, err := mproc.Start(ctx, tc.fn, 7, mproc.CancelGrace(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			out, err := procWait(t, pr)
			if out != tc.out || err != tc.err {
				t.Errorf("Wait = %d, %v (%T); want %d, %v", out, err, err, tc.out, tc.err)
			}
			if pr.ExitCode() != 0 {
				t.Errorf("ExitCode() = %d, want 0", pr.ExitCode())
			}
			procGone(t, pr.Pid())
		})
	}
}

// TestProcessStartCancelled: a ctx done before Start starts nothing.
func TestProcessStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	pr, err := mproc.Start(ctx, procSquare, 3)
	if pr != nil || err != context.Canceled {
		t.Fatalf("Start = %v, %v; want nil, context.Canceled", pr, err)
	}
}

// TestProcessDoneBeforeWait: Done closes and the exit status is known when
// fn returns, with nobody in Wait; Wait, called many times from several
// goroutines, returns the same each time.
func TestProcessDoneBeforeWait(t *testing.T) {
	pr, err := mproc.Start(t.Context(), procSquare, 7)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pr.Done():
	case <-time.After(30 * time.Second):
		pr.Kill()
		t.Fatal("Done not closed 30s after Start of a fn that returns at once")
	}
	if st := pr.ProcessState(); st == nil || !st.Success() || pr.ExitCode() != 0 {
		t.Errorf("after Done: ProcessState() = %v, ExitCode() = %d; want success, 0", st, pr.ExitCode())
	}
	procGone(t, pr.Pid()) // reaped without Wait
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2 {
				if v, err := pr.Wait(); v != 49 || err != nil {
					t.Errorf("Wait = %d, %v; want 49, nil", v, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestProcessWhileRunning: a running process has no exit status yet; Kill
// ends it, and Wait, twice, says Kill did.
func TestProcessWhileRunning(t *testing.T) {
	pr, err := mproc.Start(t.Context(), procIgnoreCtx, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pr.Done():
		t.Fatal("Done closed while fn runs")
	default:
	}
	if pr.ExitCode() != -1 || pr.ProcessState() != nil {
		t.Errorf("while running: ExitCode() = %d, ProcessState() = %v; want -1, nil", pr.ExitCode(), pr.ProcessState())
	}
	if err := pr.Kill(); err != nil {
		t.Fatal(err)
	}
	_, err = procWait(t, pr)
	var ee *mproc.ExitError
	if !errors.As(err, &ee) || ee.Signal != "SIGKILL" || ee.Code != -1 || ee.Err != nil {
		t.Fatalf("Wait = %v, want an *ExitError for SIGKILL", err)
	}
	procMessage(t, err, "mproc: process "+strconv.Itoa(pr.Pid())+" was killed by SIGKILL before fn returned: Process.Kill was called")
	if errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v: a Kill is not a cancellation", err)
	}
	if _, again := pr.Wait(); again != err {
		t.Errorf("second Wait = %v, want the same error %v", again, err)
	}
	if procSignal(pr.ProcessState()) != syscall.SIGKILL || pr.ExitCode() != -1 {
		t.Errorf("ProcessState() = %v, want killed by SIGKILL", pr.ProcessState())
	}
	if err := pr.Kill(); err != nil {
		t.Errorf("Kill after the end = %v, want nil", err)
	}
	procGone(t, pr.Pid())
}

// TestProcessOsExit: a fn that calls os.Exit is reported as the process
// exiting with that status before fn returned, with its stderr.
func TestProcessOsExit(t *testing.T) {
	for _, code := range []int{0, 3} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			pr, err := mproc.Start(t.Context(), procExit, code)
			if err != nil {
				t.Fatal(err)
			}
			_, err = procWait(t, pr)
			var ee *mproc.ExitError
			if !errors.As(err, &ee) || ee.Code != code || ee.Signal != "" || ee.Pid != pr.Pid() || ee.Err != nil {
				t.Fatalf("Wait = %v, want an *ExitError with status %d", err, code)
			}
			procMessage(t, err, fmt.Sprintf("mproc: process %d exited with status %d before fn returned", pr.Pid(), code),
				fmt.Sprintf("its stderr ends with:\nexiting with %d now", code))
			if pr.ExitCode() != code {
				t.Errorf("ExitCode() = %d, want %d", pr.ExitCode(), code)
			}
			procGone(t, pr.Pid())
		})
	}
}

// procFailingWriter fails every write, like a closed pipe or a full disk.
type procFailingWriter struct{ calls atomic.Int64 }

func (w *procFailingWriter) Write([]byte) (int, error) {
	w.calls.Add(1)
	return 0, errors.New("no space left on device (test)")
}

// TestProcessOutputFailingWriters: output writers that fail every write
// neither kill the process nor lose its stderr's tail.
func TestProcessOutputFailingWriters(t *testing.T) {
	stdout, stderr := &procFailingWriter{}, &procFailingWriter{}
	pr, err := mproc.Start(t.Context(), procSpew, 0, mproc.Output(stdout, stderr))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := procWait(t, pr); v != 42 || err != nil {
		t.Fatalf("Wait = %d, %v; want 42, nil: a failing writer must not hurt the process", v, err)
	}
	if stdout.calls.Load() != 1 || stderr.calls.Load() != 1 {
		t.Errorf("the writers were asked %d and %d times, want once each", stdout.calls.Load(), stderr.calls.Load())
	}

	pr, err = mproc.Start(t.Context(), procSpew, 5, mproc.Output(stdout, stderr))
	if err != nil {
		t.Fatal(err)
	}
	_, err = procWait(t, pr)
	var ee *mproc.ExitError
	if !errors.As(err, &ee) || ee.Code != 5 || !strings.HasSuffix(ee.Stderr, "spewed, exiting with 5") {
		t.Errorf("Wait = %v, want an *ExitError with status 5 and the stderr's last line", err)
	}
}

// TestProcessPoolOutputFailingWriters: the same in a pool, whose worker's
// death after its writers failed is reported with its stderr's tail.
func TestProcessPoolOutputFailingWriters(t *testing.T) {
	stdout, stderr := &procFailingWriter{}, &procFailingWriter{}
	p, err := mproc.NewPool(mproc.Workers(1), mproc.Output(stdout, stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if v, err := mproc.Submit(t.Context(), p, procSpew, 0).Wait(t.Context()); v != 42 || err != nil {
		t.Fatalf("Submit = %d, %v; want 42, nil", v, err)
	}
	_, err = mproc.Submit(t.Context(), p, procSpew, 6).Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Code != 6 || !strings.HasSuffix(we.Stderr, "spewed, exiting with 6") {
		t.Errorf("Submit = %v, want a *WorkerExitError with status 6 and the stderr's last line", err)
	}
}
