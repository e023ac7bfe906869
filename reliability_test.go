package mproc_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"golang.org/x/sys/unix"
)

func TestTimeout(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	out, err := mproc.Map(t.Context(), p, hang, inputs(6), mproc.Timeout(200*time.Millisecond), mproc.CollectErrors())
	var te *mproc.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, mproc.ErrTimeout) {
		t.Fatalf("err = %v, want a *TimeoutError matching ErrTimeout", err)
	}
	if te.Index != 2 || te.Elapsed < 200*time.Millisecond || te.Limit != 200*time.Millisecond || te.Pid == 0 {
		t.Errorf("TimeoutError = %+v", te)
	}
	for _, want := range []string{"task 2 timed out after", "limit 200ms", "was killed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	for i, v := range out {
		if i != 2 && v != i {
			t.Errorf("out[%d] = %d: the other tasks must complete", i, v)
		}
	}
	if v, err := mproc.Submit(t.Context(), p, square, 5).Wait(t.Context()); err != nil || v != 25 {
		t.Errorf("after a timeout: %v, %v", v, err)
	}
}

func TestDefaultTimeoutAndSubmit(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.DefaultTimeout(100*time.Millisecond))
	_, err := mproc.Submit(t.Context(), p, hang, 2).Wait(t.Context())
	if !errors.Is(err, mproc.ErrTimeout) || !strings.Contains(err.Error(), "task 0 timed out") {
		t.Fatalf("err = %v, want ErrTimeout for task 0", err)
	}
	// A call's own timeout overrides the pool's.
	if v, err := mproc.Submit(t.Context(), p, hang, 1, mproc.Timeout(time.Hour)).Wait(t.Context()); err != nil || v != 1 {
		t.Errorf("Submit = %v, %v", v, err)
	}
}

func TestInProcessTimeout(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.InProcess())
	_, err := mproc.Submit(t.Context(), p, waitForCancel, 0, mproc.Timeout(50*time.Millisecond)).Wait(t.Context())
	var te *mproc.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, mproc.ErrTimeout) || !strings.Contains(err.Error(), "context was cancelled") {
		t.Fatalf("err = %v, want a TimeoutError saying the context was cancelled", err)
	}
}

func TestRetries(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	dir := t.TempDir()
	v, err := mproc.Submit(t.Context(), p, dieOnce, dir, mproc.Retries(1)).Wait(t.Context())
	if err != nil || v != "second run" {
		t.Fatalf("with Retries(1): %q, %v", v, err)
	}
	_, err = mproc.Submit(t.Context(), p, dieOnce, t.TempDir()).Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Signal != "SIGKILL" {
		t.Fatalf("without retries: %v, want a WorkerExitError", err)
	}
}

// Close waits for the tasks it was given, also when a worker dies during
// Close and the task must run again on a replacement.
func TestCloseWaitsThroughARetry(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	f := mproc.Submit(t.Context(), p, dieOnce, t.TempDir(), mproc.Retries(1))
	p.Close()
	if v, err := f.Wait(t.Context()); err != nil || v != "second run" {
		t.Errorf("Wait after Close = %q, %v; want the second run's result", v, err)
	}
}

func TestHeartbeat(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.Heartbeat(300*time.Millisecond))
	path := fifo(t)
	f := mproc.Submit(t.Context(), p, waitCancel, path)
	next := lines(t, path)
	if got := next(); got != "started" {
		t.Fatalf("task said %q", got)
	}
	pid := p.Pids()[0]
	if err := unix.Kill(pid, unix.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, err := f.Wait(t.Context())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Pid != pid || we.Signal != "SIGKILL" || !strings.Contains(err.Error(), "no heartbeat for") {
		t.Fatalf("err = %v, want a WorkerExitError for the stopped worker saying it missed its heartbeat", err)
	}
	if v, err := mproc.Submit(t.Context(), p, square, 6).Wait(t.Context()); err != nil || v != 36 {
		t.Errorf("after: %v, %v", v, err)
	}
}

func TestMemoryLimit(t *testing.T) {
	p := newPool(t, mproc.Workers(2), mproc.MemoryLimit(64<<20))
	out, err := mproc.Map(t.Context(), p, hoard, []int{1, 4096, 2}, mproc.ChunkSize(1), mproc.CollectErrors())
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || we.Index != 1 || !strings.Contains(err.Error(), "worker exceeded its memory limit of 64 MiB") {
		t.Fatalf("err = %v, want a WorkerExitError for task 1 saying it exceeded 64 MiB", err)
	}
	if out[0] != 1 || out[2] != 2 {
		t.Errorf("out = %v: the other tasks must complete", out)
	}
}

func TestMaxTasksPerWorkerNeverHangs(t *testing.T) {
	// 1 < n < tasks/workers: CPython's pool hangs here (cpython#115634).
	p := newPool(t, mproc.Workers(2), mproc.MaxTasksPerWorker(2))
	out, err := mproc.Map(t.Context(), p, square, inputs(50), mproc.ChunkSize(1))
	if err != nil || out[49] != 49*49 {
		t.Fatalf("Map = %v, %v", out[49], err)
	}
}

// TestChaosKills maps 10,000 tasks while workers are SIGKILLed every few
// milliseconds; with retries every result comes back, once.
func TestChaosKills(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	dup0, retried0 := mproc.Duplicates.Load(), mproc.Retried.Load()
	const tasks = 10_000
	var kills atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for kills.Load() < 100 {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if pids := p.Pids(); len(pids) > 0 {
				if unix.Kill(pids[rand.IntN(len(pids))], unix.SIGKILL) == nil {
					kills.Add(1)
				}
			}
		}
	}()
	out, err := mproc.Map(t.Context(), p, busySquare, inputs(tasks), mproc.ChunkSize(10), mproc.Retries(20))
	close(done)
	<-stopped
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i, v := range out {
		if v != i*i {
			lost++
		}
	}
	dups, retries := mproc.Duplicates.Load()-dup0, mproc.Retried.Load()-retried0
	t.Logf("chaos: %d tasks, %d kills, %d retries, %d duplicates, %d lost", tasks, kills.Load(), retries, dups, lost)
	if lost != 0 || dups != 0 {
		t.Errorf("%d results lost, %d delivered twice", lost, dups)
	}
	if out, err := mproc.Map(t.Context(), p, square, inputs(100)); err != nil || out[99] != 99*99 {
		t.Errorf("after the chaos: %v, %v", out[99], err)
	}
}

// TestChaosFaults maps 10,000 tasks of which some hang past their timeout
// and some panic, without retries: each failure has the right type, every
// other result is right.
func TestChaosFaults(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	dup0 := mproc.Duplicates.Load()
	const tasks = 10_000
	out, err := mproc.Map(t.Context(), p, chaos, inputs(tasks), mproc.Timeout(time.Second), mproc.CollectErrors())
	timeouts, panics := 0, 0
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var te *mproc.TaskError
		var to *mproc.TimeoutError
		switch {
		case errors.As(e, &to) && to.Index%997 == 1:
			timeouts++
		case errors.As(e, &te) && te.Panic && te.Index%89 == 3:
			panics++
		default:
			t.Errorf("unexpected error: %v", e)
		}
	}
	wrong := 0
	for i, v := range out {
		if i%997 != 1 && i%89 != 3 && v != 2*i {
			wrong++
		}
	}
	t.Logf("chaos: %d tasks, %d timeouts, %d panics, %d wrong, %d duplicates", tasks, timeouts, panics, wrong, mproc.Duplicates.Load()-dup0)
	if timeouts != 11 || panics != 112 || wrong != 0 || mproc.Duplicates.Load() != dup0 {
		t.Errorf("want 11 timeouts, 112 panics, 0 wrong, 0 duplicates")
	}
}
