package mproc_test

// Regression tests for dispatch on real workloads: uneven tasks, cancelled
// tasks that ignore their context, inputs that depend on results, crashes,
// unsendable inputs, progress, Ctrl-C, memory kept after a call, bad
// settings. Tasks that must block wait on named pipes (FIFOs) that the test
// opens to release them, and say that they started by writing to another
// FIFO that the test reads: the tests synchronise on these events, never on
// sleeps, and every wait is bounded by wlPatience so that a regression fails
// with a message instead of hanging.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"weak"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
	"golang.org/x/sys/unix"
)

// wlPatience bounds every wait of these tests. It is not a performance
// threshold: a healthy run waits milliseconds; only a stall reaches it.
const wlPatience = 30 * time.Second

// wlDeadline returns a context that ends after wlPatience.
func wlDeadline(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wlPatience)
	t.Cleanup(cancel)
	return ctx
}

// wlPool starts a pool that is terminated when the test ends: Close would
// wait for a task stuck by a regression. Terminate itself is bounded.
func wlPool(t *testing.T, opts ...mproc.Option) *mproc.Pool {
	t.Helper()
	p, err := mproc.NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wlTerminate(t, p) })
	return p
}

// wlTerminate terminates p, failing the test if Terminate does not return.
func wlTerminate(t *testing.T, p *mproc.Pool) {
	t.Helper()
	wlReturns(t, "Terminate", p.Terminate, t.Errorf)
}

// wlReturns calls f, failing the test with fail if f does not return
// within wlPatience.
func wlReturns(t *testing.T, what string, f func() error, fail func(format string, args ...any)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wlPatience):
		fail("%s did not return within %v", what, wlPatience)
	}
}

// wlFifo makes a named pipe in dir.
func wlFifo(t *testing.T, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A wlGate is a FIFO that tasks block on (opening it for reading blocks
// until it has a writer) until the test opens it: from then on it stays
// open, and every task passes at once. A gate never opened holds its tasks
// until their worker is killed.
type wlGate struct {
	t    *testing.T
	path string
	once sync.Once
}

// wlNewGate makes a gate. Its cleanup opens it, so that no task stays
// blocked on it when the pool is terminated: make it after the pool.
func wlNewGate(t *testing.T, name string) *wlGate {
	t.Helper()
	g := &wlGate{t: t, path: wlFifo(t, t.TempDir(), name)}
	t.Cleanup(g.open)
	return g
}

// open lets every task waiting at the gate, and every later one, through.
// Opening a FIFO read-write never blocks on Linux; the descriptor is held
// until the test ends.
func (g *wlGate) open() {
	g.once.Do(func() {
		f, err := os.OpenFile(g.path, os.O_RDWR, 0)
		if err != nil {
			g.t.Errorf("opening the gate %s: %v", g.path, err)
			return
		}
		g.t.Cleanup(func() { f.Close() })
	})
}

// wlEvents reads the lines tasks write to a FIFO. The test holds the FIFO
// open read-write, so a task's open for writing never blocks and the test
// never sees end of file.
type wlEvents struct {
	path string
	ch   chan string
}

func wlNewEvents(t *testing.T, dir string) *wlEvents {
	t.Helper()
	e := &wlEvents{path: wlFifo(t, dir, "events"), ch: make(chan string, 1024)}
	f, err := os.OpenFile(e.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // ends the reader below
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			e.ch <- sc.Text()
		}
		close(e.ch)
	}()
	return e
}

// next waits for the next line, failing the test with what it waited for
// if ctx ends first.
func (e *wlEvents) next(t *testing.T, ctx context.Context, what string) string {
	t.Helper()
	select {
	case line, ok := <-e.ch:
		if !ok {
			t.Fatalf("waiting for %s: the events FIFO was closed", what)
		}
		return line
	case <-ctx.Done():
		t.Fatalf("stuck: waited %v for %s", wlPatience, what)
	}
	return ""
}

// started waits for a "started N PID" line and returns N and PID.
func (e *wlEvents) started(t *testing.T, ctx context.Context, what string) (n, pid int) {
	t.Helper()
	line := e.next(t, ctx, what)
	if _, err := fmt.Sscanf(line, "started %d %d", &n, &pid); err != nil {
		t.Fatalf("a task said %q, want \"started N PID\"", line)
	}
	return n, pid
}

// wlWaitExit waits until the process behind pidfd has exited or ctx ends,
// and reports whether it exited. A pidfd becomes readable when its process
// exits: this works for processes that are not our children.
func wlWaitExit(ctx context.Context, pidfd int) bool {
	for {
		ms := int(time.Until(deadlineOf(ctx)).Milliseconds())
		if ms <= 0 {
			ms = 0
		}
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR && ctx.Err() == nil {
			continue
		}
		return err == nil && n > 0
	}
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(wlPatience)
}

// wlPidfd opens a pidfd for pid, closed when the test ends; -1 if the
// process is already gone.
func wlPidfd(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// joined returns the errors err joins, or err alone.
func joined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Tasks. They are top-level functions: they run in the workers, which are
// this test binary re-executed.

// A wlTask is an input of wlRun.
type wlTask struct {
	N      int
	Events string // if set, the task writes "started N PID" there first
	Gate   string // if set, the task waits at this gate (see wlGate)
}

// wlRun says it started, waits at its gate, and returns N. It ignores its
// context: blocked opening a FIFO, it cannot see it.
func wlRun(_ context.Context, in wlTask) (int, error) {
	if in.Events != "" {
		f, err := os.OpenFile(in.Events, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		_, err = fmt.Fprintf(f, "started %d %d\n", in.N, os.Getpid())
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	if in.Gate != "" {
		f, err := os.OpenFile(in.Gate, os.O_RDONLY, 0) // blocks until the gate opens
		if err != nil {
			return 0, err
		}
		f.Close()
	}
	return in.N, nil
}

func wlIdent(_ context.Context, n int) (int, error) { return n, nil }

// Problem 1 — uneven tasks balance. On 2 workers, one long task and 40
// short ones: right is that all 40 short results arrive while the long
// task is still blocked, the other worker running them, instead of short
// tasks committed up front to the worker stuck in the long one.
func TestUnevenTasksBalance(t *testing.T) {
	const long, shorts = 1000, 40
	tasks := func(g *wlGate) []wlTask {
		in := []wlTask{{N: long, Gate: g.path}}
		for i := 1; i <= shorts; i++ {
			in = append(in, wlTask{N: i})
		}
		return in
	}
	for _, tc := range []struct {
		name string
		opts []mproc.CallOption
	}{
		{"default-chunks", nil},
		{"ChunkSize(1)", []mproc.CallOption{mproc.ChunkSize(1)}},
	} {
		t.Run("ImapUnordered/"+tc.name, func(t *testing.T) {
			p := wlPool(t, mproc.Workers(2))
			g := wlNewGate(t, "long")
			ctx := wlDeadline(t)
			got, sawLong := 0, false
			var stop error
			for v, err := range mproc.ImapUnordered(ctx, p, wlRun, slices.Values(tasks(g)), tc.opts...) {
				if err != nil {
					stop = err
					break
				}
				if v == long {
					sawLong = true
					continue
				}
				if got++; got == shorts {
					g.open() // all the short ones are in: let the long one end
				}
			}
			if got < shorts {
				t.Fatalf("only %d of %d short results arrived while the long task was blocked (%v): "+
					"short tasks wait behind the long one while the other worker idles", got, shorts, stop)
			}
			if stop != nil || !sawLong {
				t.Fatalf("after its release the long task did not yield its result: %v", stop)
			}
		})
		t.Run("Map+OnProgress/"+tc.name, func(t *testing.T) {
			// With OnProgress, default chunks stay under 1% of the inputs:
			// one input each here.
			p := wlPool(t, mproc.Workers(2))
			g := wlNewGate(t, "long")
			ctx := wlDeadline(t)
			maxDone := 0
			opts := append(slices.Clone(tc.opts), mproc.OnProgress(func(pr mproc.Progress) {
				maxDone = max(maxDone, pr.Done)
				if pr.Done >= shorts {
					g.open()
				}
			}))
			out, err := mproc.Map(ctx, p, wlRun, tasks(g), opts...)
			if err != nil {
				t.Fatalf("Map: %v; progress reported at most %d of the %d short tasks done while the long one was blocked: "+
					"short tasks wait behind the long one while the other worker idles", err, maxDone, shorts)
			}
			if out[0] != long || out[shorts] != shorts {
				t.Errorf("out = %v", out)
			}
		})
	}
}

// Problem 2 — a cancelled task that ignores its context does not block the
// pool. Right: the cancelled call returns ctx.Err(); the next call on the
// same 2-worker pool completes at once (the stuck worker gets no new work);
// the stuck worker is killed after CancelGrace and replaced, so that the
// pool again runs two blocking tasks at once. Both for a Map whose ctx is
// cancelled and for an ImapUnordered loop left early.
func TestCancelledTaskDoesNotBlockThePool(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []mproc.Option
		imap bool
	}{
		{"Map/default-grace", nil, false},
		{"Map/CancelGrace(0)", []mproc.Option{mproc.CancelGrace(0)}, false},
		{"ImapUnordered-break/default-grace", nil, true},
		{"ImapUnordered-break/CancelGrace(0)", []mproc.Option{mproc.CancelGrace(0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wlPool(t, append([]mproc.Option{mproc.Workers(2)}, tc.opts...)...)
			ev := wlNewEvents(t, t.TempDir())
			never := wlNewGate(t, "never") // opened only when the test ends
			ctx := wlDeadline(t)
			stuck := wlTask{N: 1, Events: ev.path, Gate: never.path}
			var stuckPid, pidfd int
			if tc.imap {
				var stop error
				for v, err := range mproc.ImapUnordered(ctx, p, wlRun, slices.Values([]wlTask{stuck, {N: 2}})) {
					if err != nil || v != 2 {
						stop = fmt.Errorf("got %v, %v", v, err)
						break
					}
					_, stuckPid = ev.started(t, ctx, "the stuck task to start")
					pidfd = wlPidfd(t, stuckPid)
					break // leave the loop while the stuck task runs
				}
				if stuckPid == 0 {
					t.Fatalf("ImapUnordered over [stuck, quick] on 2 workers yielded no result (%v): "+
						"the quick input waited behind the stuck one", stop)
				}
			} else {
				cctx, cancel := context.WithCancel(ctx)
				errc := make(chan error, 1)
				go func() {
					_, err := mproc.Map(cctx, p, wlRun, []wlTask{stuck})
					errc <- err
				}()
				_, stuckPid = ev.started(t, ctx, "the stuck task to start")
				pidfd = wlPidfd(t, stuckPid)
				cancel()
				select {
				case err := <-errc:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("the cancelled Map returned %v, want context.Canceled", err)
					}
				case <-ctx.Done():
					t.Fatal("stuck: the cancelled Map did not return")
				}
			}
			wlCheckRecovers(t, ctx, p, ev, stuckPid, pidfd)
		})
	}
}

// Problem 2, on a pool of one worker — the next call does not wait out the
// grace of a cancelled task that ignores its context. Right: with
// Workers(1) and a CancelGrace of an hour, the next call runs on a
// replacement started while the stuck worker still lives (both are in
// Pids meanwhile); the stuck worker is killed when the pool terminates.
func TestStuckWorkerIsReplacedBeforeItsGraceEnds(t *testing.T) {
	p := wlPool(t, mproc.Workers(1), mproc.CancelGrace(time.Hour))
	ev := wlNewEvents(t, t.TempDir())
	never := wlNewGate(t, "never")
	ctx := wlDeadline(t)
	cctx, cancel := context.WithCancel(ctx)
	f := mproc.Submit(cctx, p, wlRun, wlTask{N: 1, Events: ev.path, Gate: never.path})
	_, stuckPid := ev.started(t, ctx, "the stuck task to start")
	pidfd := wlPidfd(t, stuckPid)
	cancel()
	if _, err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled Submit returned %v, want context.Canceled", err)
	}
	g := wlNewGate(t, "next")
	next := mproc.Submit(ctx, p, wlRun, wlTask{N: 2, Events: ev.path, Gate: g.path})
	_, pid := ev.started(t, ctx, "the next task to start while the stuck worker waits out its hour of grace")
	if pid == stuckPid {
		t.Fatalf("the next task ran in the stuck worker %d", pid)
	}
	if pids := p.Pids(); !slices.Contains(pids, stuckPid) || !slices.Contains(pids, pid) {
		t.Errorf("Pids = %v while the stuck worker %d waits out its grace; want it and its replacement %d", pids, stuckPid, pid)
	}
	g.open()
	if v, err := next.Wait(ctx); err != nil || v != 2 {
		t.Fatalf("the next task: %v, %v", v, err)
	}
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if pidfd >= 0 && !wlWaitExit(ctx, pidfd) {
		t.Fatalf("Terminate left the stuck worker %d running", stuckPid)
	}
}

// wlCheckRecovers checks that pool p, whose worker stuckPid runs a
// cancelled task that never returns, serves the next call, then kills that
// worker and replaces it.
func wlCheckRecovers(t *testing.T, ctx context.Context, p *mproc.Pool, ev *wlEvents, stuckPid, pidfd int) {
	t.Helper()
	out, err := mproc.Map(ctx, p, square, inputs(4))
	if err != nil {
		t.Fatalf("the next Map of 4 trivial tasks did not complete (%v): it waited behind the cancelled task "+
			"that ignores its context on worker pid %d", err, stuckPid)
	}
	if !slices.Equal(out, []int{0, 1, 4, 9}) {
		t.Errorf("next Map = %v", out)
	}
	if pidfd >= 0 && !wlWaitExit(ctx, pidfd) {
		t.Fatalf("the worker (pid %d) running the cancelled task that ignores its context was not killed within %v",
			stuckPid, wlPatience)
	}
	// The pool has two workers again: two blocking tasks run at once.
	g := wlNewGate(t, "again")
	f1 := mproc.Submit(ctx, p, wlRun, wlTask{N: 1, Events: ev.path, Gate: g.path})
	f2 := mproc.Submit(ctx, p, wlRun, wlTask{N: 2, Events: ev.path, Gate: g.path})
	pids := map[int]bool{}
	for range 2 {
		_, pid := ev.started(t, ctx, "two blocking tasks to run at once: the killed worker must be replaced")
		pids[pid] = true
	}
	if len(pids) != 2 || pids[stuckPid] {
		t.Errorf("the two blocking tasks ran in workers %v; want two workers, neither the killed %d", pids, stuckPid)
	}
	g.open()
	for i, f := range []*mproc.Future[int]{f1, f2} {
		if v, err := f.Wait(ctx); err != nil || v != i+1 {
			t.Errorf("blocking task %d: %v, %v", i+1, v, err)
		}
	}
	if after := p.Pids(); len(after) != 2 || slices.Contains(after, stuckPid) {
		t.Errorf("Pids = %v, want 2 workers without the killed %d", after, stuckPid)
	}
}

// Problem 3 — Imap reads its input on a goroutine of its own, not the
// consumer's. Right: a crawler whose input sequence is fed from the loop
// body (each result may add inputs) completes; and a source that yields
// one item and then waits until the consumer has that item's result gets
// it, Imap not waiting for more input to fill its window first.
func TestImapInputDependsOnResults(t *testing.T) {
	type imapFunc func(context.Context, *mproc.Pool, func(context.Context, int) (int, error), iter.Seq[int], ...mproc.CallOption) iter.Seq2[int, error]
	for _, m := range []struct {
		name string
		imap imapFunc
	}{
		{"Imap", mproc.Imap[int, int]},
		{"ImapUnordered", mproc.ImapUnordered[int, int]},
	} {
		t.Run(m.name+"/crawler", func(t *testing.T) {
			p := wlPool(t, mproc.Workers(2))
			ctx := wlDeadline(t)
			work := make(chan int, 100)
			seq := func(yield func(int) bool) {
				for {
					select {
					case n, ok := <-work:
						if !ok || !yield(n) {
							return
						}
					case <-ctx.Done():
						return // the test is stuck: end the input
					}
				}
			}
			work <- 1 // the seed; each result n < 20 adds n+1
			outstanding := 1
			var got []int
			var stop error
			for v, err := range m.imap(ctx, p, wlIdent, seq) {
				if err != nil {
					stop = err
					break
				}
				got = append(got, v)
				outstanding--
				if v < 20 {
					work <- v + 1
					outstanding++
				}
				if outstanding == 0 {
					close(work)
				}
			}
			if stop != nil || ctx.Err() != nil || len(got) != 20 {
				t.Fatalf("the crawl got %d of 20 results (%v, %v): %s read its input on the consumer's goroutine, "+
					"waiting for an input that only the result it had not yielded could add", len(got), stop, ctx.Err(), m.name)
			}
			if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}) {
				t.Errorf("results %v", got)
			}
		})
		t.Run(m.name+"/handshake", func(t *testing.T) {
			p := wlPool(t, mproc.Workers(2))
			ctx := wlDeadline(t)
			received := make(chan struct{})
			seq := func(yield func(int) bool) {
				if !yield(0) {
					return
				}
				select {
				case <-received: // the consumer has the result of 0
				case <-ctx.Done():
					return
				}
				yield(1)
			}
			var got []int
			var stop error
			for v, err := range m.imap(ctx, p, wlIdent, seq) {
				if err != nil {
					stop = err
					break
				}
				got = append(got, v)
				if v == 0 {
					close(received)
				}
			}
			if stop != nil || ctx.Err() != nil || !slices.Equal(got, []int{0, 1}) {
				t.Fatalf("got %v (%v, %v), want [0 1]: %s waited for more input before yielding the result of input 0, "+
					"which the source waits for", got, stop, ctx.Err(), m.name)
			}
		})
	}
}

// wlCrash upper-cases s, and ends its worker with exit status 3 for "exit".
func wlCrash(_ context.Context, s string) (string, error) {
	if s == "exit" {
		os.Exit(3)
	}
	return strings.ToUpper(s), nil
}

// Problem 4 — a crash keeps the results that finished and blames the input
// that crashed. On one worker, inputs a b c d exit e: right is outputs for
// a–d (they ran before the crash), one *WorkerExitError for input 4 naming
// task 4 and "exit status 3", and e run on the replacement; without
// CollectErrors, Map returns that error, not a lost result of another input.
func TestCrashKeepsFinishedResults(t *testing.T) {
	in := []string{"a", "b", "c", "d", "exit", "e"}
	for _, chunk := range []struct {
		name string
		opts []mproc.CallOption
	}{
		{"default-chunks", nil},
		{"ChunkSize(1)", []mproc.CallOption{mproc.ChunkSize(1)}},
	} {
		t.Run(chunk.name+"/CollectErrors", func(t *testing.T) {
			p := wlPool(t, mproc.Workers(1))
			out, err := mproc.Map(wlDeadline(t), p, wlCrash, in, append(slices.Clone(chunk.opts), mproc.CollectErrors())...)
			errs := joined(err)
			for _, e := range errs {
				var we *mproc.WorkerExitError
				if errors.As(e, &we) && we.Lost {
					t.Errorf("input %d ran before the crash, but its result was lost: %v", we.Index, e)
				}
			}
			if len(errs) != 1 {
				t.Fatalf("%d errors, want one, for input 4; the last: %v", len(errs), errs[len(errs)-1])
			}
			wlCheckExit4(t, errs[0])
			if want := []string{"A", "B", "C", "D", "", "E"}; !slices.Equal(out, want) {
				t.Errorf("out = %q, want %q: a–d ran, e runs on the replacement", out, want)
			}
		})
		t.Run(chunk.name+"/first-error", func(t *testing.T) {
			p := wlPool(t, mproc.Workers(1))
			_, err := mproc.Map(wlDeadline(t), p, wlCrash, in, chunk.opts...)
			wlCheckExit4(t, err)
		})
	}
}

func wlCheckExit4(t *testing.T, err error) {
	t.Helper()
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *WorkerExitError for input 4", err)
	}
	if we.Index != 4 || we.Lost || we.Code != 3 || we.Pid == 0 {
		t.Errorf("WorkerExitError{Index: %d, Lost: %v, Code: %d, Pid: %d}, want the crash of input 4 with exit status 3: %v",
			we.Index, we.Lost, we.Code, we.Pid, err)
	}
	for _, want := range []string{"died running task 4", "exit status 3", fmt.Sprintf("pid %d", we.Pid)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

// A wlHolder carries any value; the codec refuses some.
type wlHolder struct {
	N int
	V any
}

func wlHold(_ context.Context, h wlHolder) (int, error) { return 3 * h.N, nil }

// Problem 5 — one unsendable input fails alone. 100 inputs, input 50
// holding a value the codec refuses: right is exactly one error, a
// *codec.UnsupportedError whose Path names args[50], and the other 99
// outputs, whatever the chunking.
func TestOneUnsendableInputFailsAlone(t *testing.T) {
	k := 7
	for _, bad := range []struct {
		name string
		v    any
	}{
		{"chan", make(chan int)},
		{"closure", func() int { return k }},
	} {
		for _, chunk := range []struct {
			name string
			opts []mproc.CallOption
		}{
			{"default-chunks", nil},
			{"ChunkSize(10)", []mproc.CallOption{mproc.ChunkSize(10)}},
		} {
			t.Run(bad.name+"/"+chunk.name, func(t *testing.T) {
				p := wlPool(t, mproc.Workers(2))
				in := make([]wlHolder, 100)
				for i := range in {
					in[i] = wlHolder{N: i, V: i}
				}
				in[50].V = bad.v
				out, err := mproc.Map(wlDeadline(t), p, wlHold, in, append(slices.Clone(chunk.opts), mproc.CollectErrors())...)
				errs := joined(err)
				if len(errs) != 1 {
					t.Errorf("%d errors, want one, for input 50; the first: %v", len(errs), errs[0])
				}
				var ue *codec.UnsupportedError
				if !errors.As(err, &ue) || !strings.HasPrefix(ue.Path, "args[50]") || !strings.Contains(err.Error(), "args[50]") {
					t.Errorf("err = %v, want a *codec.UnsupportedError for args[50]", err)
				}
				var wrong []int
				for i := range 100 {
					if i != 50 && (i >= len(out) || out[i] != 3*i) {
						wrong = append(wrong, i)
					}
				}
				if len(wrong) > 0 {
					t.Errorf("%d outputs missing or wrong, inputs %v: only input 50 cannot be sent, the other 99 must run", len(wrong), wrong)
				}
			})
		}
	}
}

// A wlProgInput is an input of wlProg.
type wlProgInput struct {
	N         int
	Log       string // if set, the task appends a line to this file when it runs
	BlockFrom int    // if positive, inputs from this one wait for their ctx to end
}

// wlProg fails every 10th input and returns the others.
func wlProg(ctx context.Context, in wlProgInput) (int, error) {
	if in.Log != "" {
		f, err := os.OpenFile(in.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, err
		}
		_, err = fmt.Fprintln(f, in.N)
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	if in.BlockFrom > 0 && in.N >= in.BlockFrom {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if in.N%10 == 0 {
		return 0, fmt.Errorf("input %d fails on purpose", in.N)
	}
	return in.N, nil
}

// Problem 6 — progress is fine-grained and counts failures apart. 400
// inputs with default chunks, every 10th failing: right is a report at
// least every 1% of the inputs (chunks stay under 1% with OnProgress; we
// allow a gap of 2%, two chunks, for a report that lands inside a chunk),
// never going backwards, the last Done 360 and Failed 40. After a cancel
// from inside OnProgress, the reports — including a last one at the end of
// the call — count only inputs that ran.
func TestProgressCountsWhatRan(t *testing.T) {
	const n = 400
	t.Run("every-1%", func(t *testing.T) {
		p := wlPool(t, mproc.Workers(2))
		in := make([]wlProgInput, n)
		for i := range in {
			in[i] = wlProgInput{N: i}
		}
		var reports []mproc.Progress
		_, err := mproc.Map(wlDeadline(t), p, wlProg, in, mproc.CollectErrors(),
			mproc.OnProgress(func(pr mproc.Progress) { reports = append(reports, pr) }))
		if errs := joined(err); len(errs) != n/10 {
			t.Errorf("%d errors, want %d", len(errs), n/10)
		}
		if len(reports) == 0 {
			t.Fatal("no progress report")
		}
		prev := mproc.Progress{Total: n}
		for i, pr := range reports {
			if pr.Total != n || pr.Done < prev.Done || pr.Failed < prev.Failed {
				t.Fatalf("report %d = %+v after %+v: went backwards or changed Total", i, pr, prev)
			}
			if gap := pr.Done + pr.Failed - prev.Done - prev.Failed; gap > 2*n/100 {
				t.Errorf("report %d = %+v comes %d inputs after %+v: want a report at least every 1%% (%d inputs; %d allowed for chunks)",
					i, pr, gap, prev, n/100, 2*n/100)
			}
			prev = pr
		}
		if last := reports[len(reports)-1]; last.Done != n-n/10 || last.Failed != n/10 {
			t.Errorf("last report %+v, want Done %d and Failed %d: a failed input is not done", last, n-n/10, n/10)
		}
		if len(reports) < 50 {
			t.Errorf("%d reports for %d inputs, want at least 50", len(reports), n)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		p := wlPool(t, mproc.Workers(2))
		log := filepath.Join(t.TempDir(), "ran")
		in := make([]wlProgInput, n)
		for i := range in {
			// Inputs from 200 on hold their worker until the call is
			// cancelled: the call cannot end before the cancel.
			in[i] = wlProgInput{N: i, Log: log, BlockFrom: n / 2}
		}
		ctx, cancel := context.WithCancel(wlDeadline(t))
		defer cancel()
		var reports []mproc.Progress
		cancelledAt := -1
		_, err := mproc.Map(ctx, p, wlProg, in, mproc.CollectErrors(), mproc.OnProgress(func(pr mproc.Progress) {
			reports = append(reports, pr)
			if cancelledAt < 0 && pr.Done+pr.Failed >= n/10 {
				cancelledAt = len(reports) - 1
				cancel()
			}
		}))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Map = %v, want context.Canceled", err)
		}
		if cancelledAt < 0 {
			t.Fatalf("progress never reached %d inputs: %v", n/10, reports)
		}
		wlClose(t, p) // the tasks that ran are all in the log now
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		ran := strings.Count(string(b), "\n")
		for i, pr := range reports {
			if pr.Done+pr.Failed > ran {
				t.Errorf("report %d = %+v counts %d inputs, but only %d ran", i, pr, pr.Done+pr.Failed, ran)
			}
		}
		if len(reports) == cancelledAt+1 {
			t.Errorf("no progress report after the cancel (the last was %+v); want one at the end of the call", reports[cancelledAt])
		}
		if ran == n {
			t.Errorf("all %d inputs ran despite the cancel", n)
		}
	})
}

// wlClose closes p, failing the test if Close does not return.
func wlClose(t *testing.T, p *mproc.Pool) {
	t.Helper()
	wlReturns(t, "Close", p.Close, t.Fatalf)
}

// Problem 7 — Ctrl-C with ShutdownOnSignal keeps what finished. A child
// program (this test binary in wlParentMode) runs Map over 100 inputs with
// ChunkSize(1) on 2 workers; each task says it started and waits at its
// own gate. Once 2 run, the test sends SIGINT and lets every task that
// started finish. Right: Map returns the outputs of the inputs that ran and
// one error matching ErrInterrupted that names SIGINT and how many inputs
// did not run (NotRun = 100 - ran), with CollectErrors too; no task starts
// after Map returned. A second SIGINT while tasks run ends the child by
// SIGINT, never exit 0, and no worker survives it.
func TestInterruptKeepsFinishedResults(t *testing.T) {
	for _, mode := range []string{"first-error", "CollectErrors"} {
		t.Run(mode, func(t *testing.T) {
			ctx := wlDeadline(t)
			c := wlStartChild(t, ctx, mode)
			c.pump(t, ctx, "two tasks to start in the child", func() bool { return len(c.started) >= 2 })
			c.signal(t, ctx)
			// Let every task that started finish, those that start later
			// too (only what was dispatched before the pool saw the signal
			// may), and read what Map returned.
			c.releasing = true
			for n := range c.started {
				c.release(t, n)
			}
			c.pump(t, ctx, "the child's Map to return after SIGINT once its running tasks were released",
				func() bool { return c.has("end") })
			ranBefore := slices.Sorted(maps.Keys(c.started))
			c.pump(t, ctx, "the child to exit after its report", func() bool { return c.gone() })
			if c.err != nil {
				t.Errorf("the child ended with %v after its report; stderr:\n%s", c.err, c.stderr())
			}
			if late := len(c.started) - len(ranBefore); late > 0 {
				t.Errorf("%d tasks started after Map returned", late)
			}
			var ran []int
			for f := range strings.FieldsSeq(c.report["ran"]) {
				n, _ := strconv.Atoi(f)
				ran = append(ran, n)
			}
			if !slices.Equal(ran, ranBefore) {
				t.Errorf("Map returned outputs for the tasks %v, want those of the tasks that ran: %v", ran, ranBefore)
			}
			msg := c.report["msg"]
			if c.report["interrupted"] != "true" {
				t.Errorf("Map returned %q, want an error for which errors.Is(err, mproc.ErrInterrupted) holds", wlShort(msg))
			}
			if c.report["errors"] != "1" {
				t.Errorf("Map returned %s errors, want one *InterruptedError: %s", c.report["errors"], wlShort(msg))
			}
			notRun := 100 - len(ranBefore)
			if c.report["notrun"] != strconv.Itoa(notRun) || c.report["sigint"] != "true" {
				t.Errorf("InterruptedError NotRun %s, Signal is SIGINT: %s; want NotRun %d (%d inputs ran) and SIGINT",
					c.report["notrun"], c.report["sigint"], notRun, len(ranBefore))
			}
			for _, want := range []string{"SIGINT", strconv.Itoa(notRun) + " inputs did not run"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", wlShort(msg), want)
				}
			}
		})
	}
	t.Run("second-SIGINT", func(t *testing.T) {
		ctx := wlDeadline(t)
		c := wlStartChild(t, ctx, "first-error")
		c.pump(t, ctx, "two tasks to start in the child", func() bool { return len(c.started) >= 2 })
		c.signal(t, ctx)
		if err := unix.Kill(c.cmd.Process.Pid, unix.SIGINT); err != nil {
			t.Fatal(err)
		}
		c.pump(t, ctx, "the child to end after a second SIGINT", func() bool { return c.gone() })
		var ee *exec.ExitError
		if !errors.As(c.err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Errorf("after a second SIGINT the child ended with %v (Map had returned: %v, %q), want killed by SIGINT",
				c.err, c.has("end"), wlShort(c.report["msg"]))
		}
		for i, fd := range c.pidfds {
			if !wlWaitExit(ctx, fd) {
				t.Errorf("worker %d of the child survived it", c.pids[i])
			}
		}
	})
}

// wlShort cuts a long message (100 joined errors) for a test's output.
func wlShort(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

const (
	wlParentEnv = "MPROC_TEST_WORKLOAD_PARENT"
	wlDirEnv    = "MPROC_TEST_WORKLOAD_DIR"
)

// A wlChild is this test binary run as a parent program (wlParentMode).
type wlChild struct {
	cmd    *exec.Cmd
	dir    string
	events *wlEvents
	lines  chan string // its stdout
	errf   *os.File    // its stderr
	pids   []int       // its workers
	pidfds []int
	exited chan struct{}
	err    error // from Wait, once exited is closed

	// What pump saw: the tasks that started (by N), the child's report
	// lines by their first word. Once releasing is set, pump opens the
	// gate of every task that starts.
	started   map[int]bool
	report    map[string]string
	releasing bool
}

// wlStartChild starts the child program in mode, with 100 gates and an
// events FIFO in a directory of its own, and reads its workers' pids.
func wlStartChild(t *testing.T, ctx context.Context, mode string) *wlChild {
	t.Helper()
	c := &wlChild{dir: t.TempDir(), lines: make(chan string, 100), exited: make(chan struct{}),
		started: map[int]bool{}, report: map[string]string{}}
	c.events = wlNewEvents(t, c.dir)
	for n := 1; n <= 100; n++ {
		wlFifo(t, c.dir, fmt.Sprintf("gate-%d", n))
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd = exec.Command(self, "-test.run=^$")
	c.cmd.Env = append(os.Environ(), wlParentEnv+"="+mode, wlDirEnv+"="+c.dir)
	// Plain files, so that Wait copies nothing: the child's workers share
	// its stdout and may outlive it.
	stdinR, stdinW, err := os.Pipe() // held open: the child exits when it closes
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.errf, err = os.Create(filepath.Join(c.dir, "stderr")); err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdin, c.cmd.Stdout, c.cmd.Stderr = stdinR, outW, c.errf
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdinR.Close()
	outW.Close()
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		stdinW.Close()
		c.cmd.Process.Kill()
		<-c.exited
		for _, fd := range c.pidfds {
			unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0) // in case one survived
		}
		outR.Close()
		c.errf.Close()
	})
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	c.pump(t, ctx, "the child to start its pool", func() bool { return c.has("ready") })
	for f := range strings.FieldsSeq(c.report["pids"]) {
		pid, _ := strconv.Atoi(f)
		c.pids = append(c.pids, pid)
		c.pidfds = append(c.pidfds, wlPidfd(t, pid))
	}
	if len(c.pids) != 2 {
		t.Fatalf("the child has workers %v, want 2; stderr:\n%s", c.pids, c.stderr())
	}
	return c
}

// pump handles what the child and its tasks say until done reports true,
// failing the test with what it waited for if ctx ends first.
func (c *wlChild) pump(t *testing.T, ctx context.Context, what string, done func() bool) {
	t.Helper()
	lines := c.lines
	for !done() {
		select {
		case line := <-c.events.ch:
			var n, pid int
			if _, err := fmt.Sscanf(line, "started %d %d", &n, &pid); err != nil {
				t.Fatalf("a task said %q", line)
			}
			c.started[n] = true
			if c.releasing {
				c.release(t, n)
			}
		case line, ok := <-lines:
			if !ok {
				lines = nil // its output ended: wait for it to exit
				continue
			}
			key, val, _ := strings.Cut(line, " ")
			c.report[key] = val
		case <-c.exited:
			if lines == nil && !done() {
				t.Fatalf("waiting for %s: the child ended (%v); it said %v; stderr:\n%s", what, c.err, c.report, c.stderr())
			}
			if lines != nil {
				// Read what it printed before it ended, then look again.
				for line := range lines {
					key, val, _ := strings.Cut(line, " ")
					c.report[key] = val
				}
				lines = nil
			}
		case <-ctx.Done():
			t.Fatalf("stuck: waited %v for %s; the child said %v; stderr:\n%s", wlPatience, what, c.report, c.stderr())
		}
	}
}

// has reports whether the child printed a line starting with key.
func (c *wlChild) has(key string) bool {
	_, ok := c.report[key]
	return ok
}

// gone reports whether the child exited.
func (c *wlChild) gone() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// signal sends the child SIGINT and waits until its Go runtime has it (the
// child prints "signal"), so that a second signal is not merged with it.
func (c *wlChild) signal(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := unix.Kill(c.cmd.Process.Pid, unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	c.pump(t, ctx, "the child to receive SIGINT", func() bool { return c.has("signal") })
}

// release opens the gate of the task with N n (input n-1).
func (c *wlChild) release(t *testing.T, n int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(c.dir, fmt.Sprintf("gate-%d", n)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

func (c *wlChild) stderr() string {
	b, _ := os.ReadFile(c.errf.Name())
	return string(b)
}

// wlParentMode is the child program of TestInterruptKeepsFinishedResults:
// a pool with ShutdownOnSignal, a Map of 100 gated inputs, and a report of
// what Map returned on stdout. It prints "signal" when SIGINT reaches it,
// and exits when its stdin closes (the test ended).
func wlParentMode() {
	dir := os.Getenv(wlDirEnv)
	go func() {
		os.Stdin.Read(make([]byte, 1))
		os.Exit(5)
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		<-sigs
		fmt.Println("signal")
	}()
	pool, err := mproc.NewPool(mproc.Workers(2), mproc.ShutdownOnSignal())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	pids := fmt.Sprint(pool.Pids())
	fmt.Println("pids", strings.Trim(pids, "[]"))
	fmt.Println("ready")
	in := make([]wlTask, 100)
	for i := range in {
		n := i + 1 // an output of 0 is an input that did not run
		in[i] = wlTask{N: n, Events: filepath.Join(dir, "events"), Gate: filepath.Join(dir, fmt.Sprintf("gate-%d", n))}
	}
	opts := []mproc.CallOption{mproc.ChunkSize(1)}
	if os.Getenv(wlParentEnv) == "CollectErrors" {
		opts = append(opts, mproc.CollectErrors())
	}
	out, err := mproc.Map(context.Background(), pool, wlRun, in, opts...)
	var ran []string // the N of each input with an output
	for _, v := range out {
		if v != 0 {
			ran = append(ran, strconv.Itoa(v))
		}
	}
	var ie *mproc.InterruptedError
	notRun, sigint := -1, false
	if errors.As(err, &ie) {
		notRun, sigint = ie.NotRun, ie.Signal == syscall.SIGINT
	}
	fmt.Println("ran", strings.Join(ran, " "))
	fmt.Println("errors", len(joined(err)))
	fmt.Println("interrupted", errors.Is(err, mproc.ErrInterrupted))
	fmt.Println("notrun", notRun)
	fmt.Println("sigint", sigint)
	fmt.Println("msg", strings.ReplaceAll(fmt.Sprint(err), "\n", " | "))
	fmt.Println("end")
	pool.Close()
	os.Exit(0)
}

// A wlObj is a heap object whose collection the test watches.
type wlObj struct {
	N    int
	Name string
	Next *wlObj
}

func wlBump(_ context.Context, o *wlObj) (*wlObj, error) {
	return &wlObj{N: o.N + 1, Name: "out " + o.Name}, nil
}

// Problem 9 — a pool keeps no reference to a call's inputs or outputs once
// the call returned (CPython's test_release_task_refs, bpo-29861). Right:
// after Map of 10 pointers returns and the caller drops them, every input
// and output is collected, on a process pool and on an InProcess pool.
func TestPoolReleasesCallValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []mproc.Option
	}{
		{"process", []mproc.Option{mproc.Workers(2)}},
		{"InProcess", []mproc.Option{mproc.Workers(2), mproc.InProcess()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wlPool(t, tc.opts...)
			ins, outs, control := wlMapWeak(t, p)
			alive := func(ws []weak.Pointer[wlObj]) (n int) {
				for _, w := range ws {
					if w.Value() != nil {
						n++
					}
				}
				return n
			}
			const gcs = 10
			for range gcs {
				runtime.GC()
				if alive(ins)+alive(outs) == 0 {
					return
				}
			}
			if control.Value() != nil {
				t.Fatalf("an object the pool never saw survived %d collections: this test holds a reference itself", gcs)
			}
			t.Errorf("after Map returned and %d collections, %d of 10 inputs and %d of 10 outputs are still reachable: "+
				"the pool keeps references to a finished call's values", gcs, alive(ins), alive(outs))
		})
	}
}

// wlMapWeak runs a Map of 10 objects on p and returns weak pointers to its
// inputs and outputs, and to a control object that the pool never sees
// but that lives alongside the inputs; it keeps no strong reference to any.
func wlMapWeak(t *testing.T, p *mproc.Pool) (ins, outs []weak.Pointer[wlObj], control weak.Pointer[wlObj]) {
	t.Helper()
	c := &wlObj{N: -1, Name: "control"}
	control = weak.Make(c)
	in := make([]*wlObj, 10)
	for i := range in {
		in[i] = &wlObj{N: i, Name: fmt.Sprint("in ", i)}
		ins = append(ins, weak.Make(in[i]))
	}
	out, err := mproc.Map(wlDeadline(t), p, wlBump, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o == nil || o.N != i+1 {
			t.Fatalf("out[%d] = %+v", i, o)
		}
		outs = append(outs, weak.Make(o))
	}
	if c.N != -1 {
		t.Fatal("control changed")
	}
	return ins, outs, control
}

// Problem 11 — bad settings are refused, and Retries says how often a task
// ran. Right: NewPool with a non-positive Workers, a negative
// MaxTasksPerWorker or CancelGrace fails naming the option and its value;
// Map, Submit, Imap and ImapUnordered with a nil fn fail before anything
// runs, naming fn; Retries(2) on a task that always kills its worker fails
// with a *WorkerExitError with Attempts 3 that says it ran 3 times.
func TestBadSettingsAreRefused(t *testing.T) {
	t.Run("NewPool", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opt  mproc.Option
			want []string
		}{
			{"Workers(0)", mproc.Workers(0), []string{"Workers", "0"}},
			{"Workers(-1)", mproc.Workers(-1), []string{"Workers", "-1"}},
			{"MaxTasksPerWorker(-1)", mproc.MaxTasksPerWorker(-1), []string{"MaxTasksPerWorker", "-1"}},
			{"CancelGrace(-1s)", mproc.CancelGrace(-time.Second), []string{"CancelGrace", "-1s"}},
		} {
			p, err := mproc.NewPool(tc.opt)
			if err == nil {
				wlTerminate(t, p)
				t.Errorf("NewPool(%s) succeeded; want an error naming the option and its value", tc.name)
				continue
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("NewPool(%s) = %q, lacks %q", tc.name, err, want)
				}
			}
		}
	})
	t.Run("nil-fn", func(t *testing.T) {
		p := wlPool(t, mproc.Workers(1))
		before := p.Pids()
		ctx := wlDeadline(t)
		var nilFn func(context.Context, int) (int, error)
		first := func(seq iter.Seq2[int, error]) (err error) {
			for _, err = range seq {
				break
			}
			return err
		}
		for _, call := range []struct {
			name string
			run  func() error
		}{
			{"Map", func() error { _, err := mproc.Map(ctx, p, nilFn, inputs(3)); return err }},
			{"Submit", func() error { _, err := mproc.Submit(ctx, p, nilFn, 1).Wait(ctx); return err }},
			{"Imap", func() error { return first(mproc.Imap(ctx, p, nilFn, slices.Values(inputs(3)))) }},
			{"ImapUnordered", func() error { return first(mproc.ImapUnordered(ctx, p, nilFn, slices.Values(inputs(3)))) }},
		} {
			err := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panicked in the caller: %v", r)
					}
				}()
				return call.run()
			}()
			var te *mproc.TaskError
			var we *mproc.WorkerExitError
			switch {
			case err == nil:
				t.Errorf("%s with a nil fn succeeded; want an error naming fn", call.name)
			case errors.As(err, &te) || errors.As(err, &we) || strings.Contains(err.Error(), "panicked"):
				t.Errorf("%s with a nil fn: %v; want an error before anything runs, not a failure of a task", call.name, err)
			case !strings.Contains(err.Error(), "fn") || !strings.Contains(err.Error(), "nil"):
				t.Errorf("%s with a nil fn: %q; want it to say that fn is nil", call.name, err)
			}
		}
		if after := p.Pids(); !slices.Equal(before, after) {
			t.Errorf("workers changed from %v to %v: a nil fn reached a worker", before, after)
		}
	})
	t.Run("Retries-Attempts", func(t *testing.T) {
		p := wlPool(t, mproc.Workers(1))
		ctx := wlDeadline(t)
		_, err := mproc.Submit(ctx, p, exitCode, 3, mproc.Retries(2)).Wait(ctx)
		var we *mproc.WorkerExitError
		if !errors.As(err, &we) {
			t.Fatalf("err = %v, want a *WorkerExitError", err)
		}
		if we.Attempts != 3 || we.Code != 3 || !strings.Contains(err.Error(), "it was run 3 times") {
			t.Errorf("WorkerExitError{Attempts: %d, Code: %d}: %v; want Attempts 3 and a message saying it was run 3 times",
				we.Attempts, we.Code, err)
		}
	})
}

// Terminate returns while a task ignores its context, running or
// cancelled, and leaves no worker behind. Right: Terminate returns (within
// the guard), the task's Future fails, and the worker is gone.
func TestTerminateWhileTaskIgnoresContext(t *testing.T) {
	for _, cancelFirst := range []bool{false, true} {
		name := "running"
		if cancelFirst {
			name = "cancelled"
		}
		t.Run(name, func(t *testing.T) {
			p := wlPool(t, mproc.Workers(1), mproc.CancelGrace(time.Hour))
			ev := wlNewEvents(t, t.TempDir())
			never := wlNewGate(t, "never")
			ctx := wlDeadline(t)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			f := mproc.Submit(cctx, p, wlRun, wlTask{N: 1, Events: ev.path, Gate: never.path})
			_, pid := ev.started(t, ctx, "the task to start")
			pidfd := wlPidfd(t, pid)
			if cancelFirst {
				cancel()
			}
			done := make(chan struct{})
			go func() {
				p.Terminate()
				close(done)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatalf("stuck: Terminate did not return while a task ignored its context (worker pid %d)", pid)
			}
			if _, err := f.Wait(ctx); !errors.Is(err, mproc.ErrClosed) && !errors.Is(err, context.Canceled) {
				t.Errorf("the task's Wait = %v, want ErrClosed (or context.Canceled)", err)
			}
			if pidfd >= 0 && !wlWaitExit(ctx, pidfd) {
				t.Errorf("worker %d survived Terminate", pid)
			}
		})
	}
}
