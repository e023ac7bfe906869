package mproc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"golang.org/x/sys/unix"
)

// fifo makes a named pipe through which a task tells the test what it does.
func fifo(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lines reads the lines a task writes to the fifo at path, each within ten
// seconds.
func lines(t *testing.T, path string) func() string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY, 0) // blocks until the task opens it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := bufio.NewReader(f)
	return func() string {
		t.Helper()
		f.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading from the task: %v", err)
		}
		return strings.TrimSpace(line)
	}
}

func TestCancelMap(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	path := fifo(t)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := mproc.Map(ctx, p, waitCancel, []string{path})
		errc <- err
	}()
	next := lines(t, path)
	if got := next(); got != "started" {
		t.Fatalf("task said %q", got)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Map returned %v, want context.Canceled", err)
	}
	if got := next(); got != "cancelled: context canceled" {
		t.Errorf("task in the worker said %q, want that its context was cancelled", got)
	}
	if v, err := mproc.Submit(t.Context(), p, square, 3).Wait(t.Context()); err != nil || v != 9 {
		t.Errorf("after a cancel: %v, %v", v, err)
	}
}

func TestCancelSubmit(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	path := fifo(t)
	ctx, cancel := context.WithCancel(t.Context())
	f := mproc.Submit(ctx, p, waitCancel, path)
	next := lines(t, path)
	if got := next(); got != "started" {
		t.Fatalf("task said %q", got)
	}
	cancel()
	if _, err := f.Wait(t.Context()); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
	if got := next(); got != "cancelled: context canceled" {
		t.Errorf("task in the worker said %q", got)
	}
}

func TestMapCancelledBefore(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := mproc.Map(ctx, p, square, []int{1}); !errors.Is(err, context.Canceled) {
		t.Errorf("Map = %v, want context.Canceled", err)
	}
}

// counting yields 0, 1, 2, ... for ever, counting what was read. Imap
// calls it on a goroutine of its own, which may reach its next yield after
// the loop ended: the count is atomic.
func counting(read *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			read.Store(int64(i + 1))
			if !yield(i) {
				return
			}
		}
	}
}

func TestImapIsLazyAndOrdered(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	var read atomic.Int64
	got := []int{}
	for v, err := range mproc.Imap(t.Context(), p, square, counting(&read), mproc.Window(4)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
		if len(got) == 20 {
			break
		}
	}
	for i, v := range got {
		if v != i*i {
			t.Fatalf("result %d = %d, want %d (input order)", i, v, i*i)
		}
	}
	// The feeder may read one more input before it sees the loop ended.
	if n := read.Load(); n > 20+4+1 {
		t.Errorf("Imap read %d inputs to yield 20 with a window of 4", n)
	}
}

func TestImapErrorsInPlace(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	var vals []int
	var failed []int
	for v, err := range mproc.Imap(t.Context(), p, failOdd, slices.Values(inputs(10)), mproc.ChunkSize(3)) {
		var te *mproc.TaskError
		switch {
		case errors.As(err, &te):
			failed = append(failed, te.Index)
		case err != nil:
			t.Fatal(err)
		default:
			vals = append(vals, v)
		}
	}
	if !slices.Equal(failed, []int{1, 3, 5, 7, 9}) || !slices.Equal(vals, []int{0, 2, 4, 6, 8}) {
		t.Errorf("failed %v, values %v", failed, vals)
	}
}

func TestImapUnordered(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	var got []int
	for v, err := range mproc.ImapUnordered(t.Context(), p, square, slices.Values(inputs(50))) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i*i {
			t.Fatalf("sorted result %d = %d", i, v)
		}
	}
	if len(got) != 50 {
		t.Errorf("%d results, want 50", len(got))
	}
}

func TestImapCancel(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var read atomic.Int64
	var last error
	n := 0
	for _, err := range mproc.Imap(ctx, p, square, counting(&read)) {
		n++
		if n == 5 {
			cancel()
		}
		if err != nil {
			last = err
			break
		}
		if n > 10000 {
			t.Fatal("Imap goes on after its context was cancelled")
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("last error %v, want context.Canceled", last)
	}
}

func TestProgress(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	var calls [][2]int
	_, err := mproc.Map(t.Context(), p, square, inputs(40), mproc.ChunkSize(4),
		mproc.OnProgress(func(pr mproc.Progress) { calls = append(calls, [2]int{pr.Done, pr.Total}) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int{40, 40} {
		t.Fatalf("progress calls %v, want the last to be 40/40", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] || calls[i][1] != 40 {
			t.Fatalf("progress went backwards or changed total: %v", calls)
		}
	}
}

func TestStartProcess(t *testing.T) {
	pr, err := mproc.Start(t.Context(), square, 7)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Pid() <= 0 || pr.Pid() == os.Getpid() {
		t.Errorf("Pid = %d", pr.Pid())
	}
	if v, err := pr.Wait(); v != 49 || err != nil {
		t.Errorf("Wait = %d, %v", v, err)
	}
}

func TestStartProcessExit(t *testing.T) {
	pr, err := mproc.Start(t.Context(), exitCode, 4)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pr.Wait()
	var ee *mproc.ExitError
	var we *mproc.WorkerExitError
	if !errors.As(err, &ee) || ee.Code != 4 || ee.Pid != pr.Pid() || !strings.Contains(err.Error(), "exited with status 4 before fn returned") {
		t.Errorf("Wait = %v, want an ExitError: exited with status 4 before fn returned", err)
	}
	if !errors.As(err, &we) || we.Code != 4 {
		t.Errorf("Wait = %v, want it to unwrap to the pool's WorkerExitError too", err)
	}
}

func TestStartProcessKillAndSignal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stop   func(*mproc.Process[int]) error
		signal string
	}{
		{"kill", (*mproc.Process[int]).Kill, "SIGKILL"},
		{"sigterm", func(p *mproc.Process[int]) error { return p.Signal(syscall.SIGTERM) }, "SIGTERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := mproc.Start(t.Context(), exitCode, -1) // blocks for ever
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.stop(pr); err != nil {
				t.Fatal(err)
			}
			_, err = pr.Wait()
			var we *mproc.WorkerExitError
			if !errors.As(err, &we) || we.Signal != tc.signal || !strings.Contains(err.Error(), "killed by "+tc.signal) {
				t.Errorf("Wait = %v, want killed by %s", err, tc.signal)
			}
		})
	}
}

func TestStartUnsendable(t *testing.T) {
	k := 2
	_, err := mproc.Start(t.Context(), func(_ context.Context, x int) (int, error) { return x * k, nil }, 1)
	if err == nil || !strings.Contains(err.Error(), "captures variables") {
		t.Errorf("Start = %v, want the codec's refusal", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the pool's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestOutputPrefixed(t *testing.T) {
	var stdout, stderr syncBuffer
	p, err := mproc.NewPool(mproc.Workers(1), mproc.Output(&stdout, &stderr), mproc.PrefixOutput())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mproc.Map(t.Context(), p, echoLine, []string{"hello", "world"}); err != nil {
		t.Fatal(err)
	}
	p.Close() // waits for the workers and their output
	if got := stdout.String(); got != "[worker 1] hello\n[worker 1] world\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := stderr.String(); got != "[worker 1] hello on stderr\n[worker 1] world on stderr\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestLogger(t *testing.T) {
	var log syncBuffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := mproc.NewPool(mproc.Workers(1), mproc.Logger(logger), mproc.Initializer(dieInit, "exit"))
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pids()[0]
	mproc.Map(t.Context(), p, die, []int{3})
	p.Close()
	for _, want := range []string{"worker started", "worker=1", "pid=" + strconv.Itoa(pid), "worker died", "exit=\"exit status 7\""} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

func TestTerminateInterruptsMap(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	path := fifo(t)
	errc := make(chan error, 1)
	go func() {
		_, err := mproc.Map(t.Context(), p, waitCancel, []string{path, path})
		errc <- err
	}()
	next := lines(t, path)
	if got := next(); got != "started" {
		t.Fatalf("task said %q", got)
	}
	pid := p.Pids()[0]
	p.Terminate()
	if err := <-errc; !errors.Is(err, mproc.ErrClosed) {
		t.Errorf("Map = %v, want ErrClosed", err)
	}
	if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("worker %d still exists after Terminate: %v", pid, err)
	}
	p.Terminate()
	p.Close()
}
