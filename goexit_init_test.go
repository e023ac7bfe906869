package mproc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/internal/spawn"
	"golang.org/x/sys/unix"
)

// zgoexit calls runtime.Goexit, as t.FailNow does, for odd inputs.
func zgoexit(_ context.Context, x int) (int, error) {
	if x%2 == 1 {
		runtime.Goexit()
	}
	return x + 100, nil
}

func zgoexitInit(context.Context, int) error {
	runtime.Goexit()
	return nil
}

// zblockInit tells its pid and never returns.
func zblockInit(context.Context, int) error {
	fmt.Printf("worker %d\n", os.Getpid())
	select {}
}

const blockedInitParentEnv = "MPROC_TEST_BLOCKED_INIT_PARENT"

// As a parent process for TestBlockedInitializerParentDeath, this test
// binary starts a pool whose initializer never returns; NewPool waits for it
// until the test kills this process.
func init() {
	if os.Getenv(blockedInitParentEnv) == "" || spawn.IsWorker() {
		return
	}
	_, err := mproc.NewPool(mproc.Workers(1), mproc.Initializer(zblockInit, 0))
	fmt.Println("NewPool returned:", err)
	os.Exit(2)
}

func goexitPools(t *testing.T, f func(t *testing.T, opts ...mproc.Option)) {
	t.Run("process", func(t *testing.T) { f(t) })
	t.Run("inprocess", func(t *testing.T) { f(t, mproc.InProcess()) })
}

// A task that calls runtime.Goexit fails with a TaskError that says so; the
// other inputs of its chunk keep their results, and the worker goes on.
func TestTaskGoexit(t *testing.T) {
	goexitPools(t, func(t *testing.T, opts ...mproc.Option) {
		p, err := mproc.NewPool(append(opts, mproc.Workers(1))...)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a guard against a hang
		defer cancel()

		// One chunk, two inputs of which call Goexit.
		out, err := mproc.Map(ctx, p, zgoexit, []int{0, 1, 2, 3, 4}, mproc.ChunkSize(5), mproc.CollectErrors())
		if want := []int{100, 0, 102, 0, 104}; fmt.Sprint(out) != fmt.Sprint(want) {
			t.Errorf("outputs %v, want %v", out, want)
		}
		j, ok := err.(interface{ Unwrap() []error })
		if !ok {
			t.Fatalf("Map returned %v, want the errors of inputs 1 and 3 joined", err)
		}
		errs := j.Unwrap()
		if len(errs) != 2 {
			t.Fatalf("Map returned %d errors, want 2: %v", len(errs), err)
		}
		for k, e := range errs {
			var te *mproc.TaskError
			if !errors.As(e, &te) {
				t.Fatalf("error %d is %T (%v), want a *TaskError", k, e, e)
			}
			if te.Index != 2*k+1 || te.Panic || te.Type != "runtime.Goexit" ||
				!strings.Contains(te.Error(), "called runtime.Goexit") || !strings.Contains(te.Error(), "return an error instead") {
				t.Errorf("error %d: %+v (%v), want input %d failed for calling runtime.Goexit", k, te, te, 2*k+1)
			}
		}

		// One input per chunk, as in the bug report: the call ends.
		_, err = mproc.Map(ctx, p, zgoexit, []int{0, 1, 2}, mproc.ChunkSize(1))
		var te *mproc.TaskError
		if !errors.As(err, &te) || te.Index != 1 || !strings.Contains(te.Msg, "runtime.Goexit") {
			t.Fatalf("Map returned %v, want a TaskError for input 1 calling runtime.Goexit", err)
		}

		// The pool goes on, with the same worker.
		before := p.Pids()
		out, err = mproc.Map(ctx, p, zgoexit, []int{0, 2, 4, 6}, mproc.ChunkSize(2))
		if err != nil || fmt.Sprint(out) != "[100 102 104 106]" {
			t.Fatalf("after the Goexits Map returned %v, %v", out, err)
		}
		if after := p.Pids(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("workers changed from %v to %v", before, after)
		}
	})
}

// An initializer that calls runtime.Goexit fails NewPool with an InitError
// that says so.
func TestInitializerGoexit(t *testing.T) {
	goexitPools(t, func(t *testing.T, opts ...mproc.Option) {
		p, err := mproc.NewPool(append(opts, mproc.Workers(1), mproc.Initializer(zgoexitInit, 0))...)
		var ie *mproc.InitError
		if !errors.As(err, &ie) {
			if p != nil {
				p.Close()
			}
			t.Fatalf("NewPool returned %v, want an *InitError", err)
		}
		var te *mproc.TaskError
		if !errors.As(err, &te) || te.Type != "runtime.Goexit" || !strings.Contains(err.Error(), "initializer called runtime.Goexit") {
			t.Errorf("NewPool returned %v, want it to say the initializer called runtime.Goexit", err)
		}
	})
}

// A worker whose initializer never returns still exits within a second of
// its parent's death.
func TestBlockedInitializerParentDeath(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), blockedInitParentEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd := -1
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if pidfd >= 0 {
			unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0) // in case the test failed
			unix.Close(pidfd)
		}
	})
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the parent: %v", err)
	}
	f := strings.Fields(line)
	pid, err := strconv.Atoi(f[len(f)-1])
	if len(f) != 2 || f[0] != "worker" || err != nil {
		t.Fatalf("parent said %q, want the worker's pid", line)
	}
	if pidfd, err = unix.PidfdOpen(pid, 0); err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	if err := cmd.Process.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, []int{pidfd})
}
