package mproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc/internal/cgroup"
	"github.com/mproc-go/mproc/internal/spawn"
	"golang.org/x/sys/unix"
)

const testLimit = 64 << 20

// touchShared maps mib MiB of shared anonymous memory and writes to every
// page: resident memory that RLIMIT_DATA does not count (it counts private
// writable mappings) but a memory cgroup does.
func touchShared(_ context.Context, mib int) (int, error) {
	b, err := unix.Mmap(-1, 0, mib<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(b)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return mib, nil
}

// exitSeven ends the worker with status 7.
func exitSeven(context.Context, int) (int, error) {
	os.Exit(7)
	return 0, nil
}

// groupUsable reports whether workers here get a memory cgroup, by
// making and removing one for a pid that cannot exist.
func groupUsable(t *testing.T) bool {
	t.Helper()
	g, err := cgroup.New(os.Getpid(), 1<<30, testLimit)
	if err != nil {
		if !errors.Is(err, cgroup.ErrUnavailable) {
			t.Fatalf("cgroup.New = %v, want ErrUnavailable as its only failure", err)
		}
		t.Logf("no writable memory cgroup here (%v): workers fall back to RLIMIT_DATA and the soft limit", err)
		return false
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	return true
}

// skipIfSwapEscapes skips a test that needs the kernel to OOM-kill a
// process at the limit where swap escapes the limit instead: cgroup v1
// without swap accounting on a machine with swap on.
func skipIfSwapEscapes(t *testing.T) {
	t.Helper()
	if p, ok := parentCgroup(); ok && p.SwapEscapes() {
		t.Skipf("cgroup v1 without swap accounting (no memory.memsw.limit_in_bytes in %s) and swap in /proc/swaps: "+
			"a worker would swap past its limit instead of being OOM-killed", p.Dir)
	}
}

// groupGone fails the test if the worker pid's cgroup is still there.
func groupGone(t *testing.T, pid int) {
	t.Helper()
	if g, err := cgroup.Lookup(os.Getpid(), pid); err == nil {
		t.Errorf("the memory cgroup %s of worker %d is left behind", g.Dir(), pid)
	} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, cgroup.ErrUnavailable) {
		t.Errorf("cgroup.Lookup(%d) = %v", pid, err)
	}
}

// TestMemoryCgroupOOMKill: a task that makes shared memory resident past
// the limit is killed by the kernel in the worker's cgroup — RLIMIT_DATA
// alone would let it run — and the error says the worker exceeded its
// memory limit; the group is gone.
func TestMemoryCgroupOOMKill(t *testing.T) {
	usable := groupUsable(t)
	skipIfSwapEscapes(t)
	pr, err := Start(t.Context(), touchShared, 4*testLimit>>20, MemoryLimit(testLimit))
	if err != nil {
		t.Fatal(err)
	}
	pid := pr.Pid()
	n, err := pr.Wait()
	if !usable {
		// The gap the cgroup closes: shared memory is not data segment.
		if err != nil || n != 4*testLimit>>20 {
			t.Errorf("without a memory cgroup: %v, %v; want the task to complete", n, err)
		}
		return
	}
	var we *WorkerExitError
	if !errors.As(err, &we) || we.Pid != pid || we.Signal != "SIGKILL" || we.Index != 0 {
		t.Fatalf("err = %v, want a WorkerExitError for task 0: the kernel's SIGKILL", err)
	}
	if !strings.Contains(err.Error(), "worker exceeded its memory limit of 64 MiB") {
		t.Errorf("err = %v, want it to say the worker exceeded its memory limit of 64 MiB", err)
	}
	groupGone(t, pid) // died() removed it before Wait returned
}

// TestExceededMemoryOtherDeaths: a worker under a memory limit that dies
// of something else is not said to have exceeded it.
func TestExceededMemoryOtherDeaths(t *testing.T) {
	t.Run("exit", func(t *testing.T) {
		pr, err := Start(t.Context(), exitSeven, 0, MemoryLimit(testLimit))
		if err != nil {
			t.Fatal(err)
		}
		_, err = pr.Wait()
		var we *WorkerExitError
		if !errors.As(err, &we) || we.Code != 7 || strings.Contains(err.Error(), "memory") {
			t.Fatalf("err = %v, want exit status 7 and no word of memory", err)
		}
		if exceededMemory(pr.w.proc, testLimit) {
			t.Error("exceededMemory = true for a worker that exited")
		}
		groupGone(t, pr.Pid())
	})
	t.Run("SIGKILL", func(t *testing.T) {
		pr, err := Start(context.Background(), blockForever, 0, MemoryLimit(testLimit))
		if err != nil {
			t.Fatal(err)
		}
		if err := pr.Kill(); err != nil {
			t.Fatal(err)
		}
		_, err = pr.Wait()
		var we *WorkerExitError
		if !errors.As(err, &we) || we.Signal != "SIGKILL" || strings.Contains(err.Error(), "memory") {
			t.Fatalf("err = %v, want SIGKILL and no word of memory", err)
		}
		if exceededMemory(pr.w.proc, testLimit) {
			t.Error("exceededMemory = true for a worker killed by someone else")
		}
		groupGone(t, pr.Pid())
	})
}

// blockForever waits for its context to end.
func blockForever(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestReleaseLimitsAgain: a worker's group that still holds a process (one
// the task started) is not removed by releaseLimits, nor by anyone else
// while this process lives; a later releaseLimits removes it once it is
// empty.
func TestReleaseLimitsAgain(t *testing.T) {
	if !groupUsable(t) {
		return
	}
	parent, ok := parentCgroup()
	if !ok {
		t.Fatal("no parent cgroup, though a group could be made")
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	worker := gone.Process.Pid // a worker that has died
	g, err := parent.Create(os.Getpid(), worker, testLimit)
	if err != nil {
		t.Fatal(err)
	}
	// What the task left behind: a process still in the worker's group.
	stray := exec.Command("cat")
	in, err := stray.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	defer stray.Wait()
	defer in.Close()
	if err := g.Add(stray.Process.Pid); err != nil {
		t.Fatal(err)
	}
	releaseLimits(worker)
	parent.Sweep() // as another pool starting a worker does
	if _, err := os.Stat(g.Dir()); err != nil {
		t.Fatalf("the group of a live process went: %v", err)
	}
	in.Close()
	stray.Wait()
	releaseLimits(1 << 30) // the next worker's death
	groupGone(t, worker)
}

// TestNoteMissingCgroup: the parent tells the pool's logger, once, that a
// worker has no memory cgroup.
func TestNoteMissingCgroup(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, nil))
	noteMissingCgroup(log, 1<<30) // a pid with no group
	noteMissingCgroup(log, 1<<30)
	discard := slog.New(slog.DiscardHandler) // each pool's default
	noteMissingCgroup(discard, 1<<30)
	if _, ok := warned.Load(discard); ok {
		t.Error("a discarding logger is remembered: one more for each pool")
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 || !strings.Contains(buf.String(), "the worker has no memory cgroup") ||
		!strings.Contains(buf.String(), "pid=1073741824") {
		t.Errorf("logged %q; want one warning that the worker has no memory cgroup", buf.String())
	}
}

// memoryCgroupOf returns the memory cgroup of the calling process as
// /proc/self/cgroup shows it: the v1 memory controller's path, or the v2
// path.
func memoryCgroupOf(context.Context, int) (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var v1, v2 string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 3)
		switch {
		case len(fields) != 3:
		case fields[0] == "0" && fields[1] == "":
			v2 = fields[2]
		case strings.Contains(","+fields[1]+",", ",memory,"):
			v1 = fields[2]
		}
	}
	if v1 != "" {
		return v1, nil
	}
	return v2, nil
}

// TestWorkerJoinsMemoryCgroup: with MemoryLimit, a worker is in a memory
// cgroup of its own, mproc-PARENT-WORKER under the parent's, before its
// first task runs, and the group is gone once the worker is; starting it
// removed the leftover group of a dead parent. Without MemoryLimit the
// worker stays in the parent's; where there is no writable memory cgroup
// too, and the pool's Logger is told.
func TestWorkerJoinsMemoryCgroup(t *testing.T) {
	self, err := memoryCgroupOf(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	usable := groupUsable(t)
	var leftover string
	if usable {
		// What a parent killed by SIGKILL leaves: the group of one of its
		// workers.
		dead := exec.Command("true")
		if err := dead.Run(); err != nil {
			t.Fatal(err)
		}
		parent, err := cgroup.Self()
		if err != nil {
			t.Fatal(err)
		}
		leftover = parent.Group(dead.Process.Pid, 1).Dir()
		if err := os.Mkdir(leftover, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(leftover) })
	}
	for _, limit := range []int64{0, testLimit} {
		var logged strings.Builder
		pr, err := Start(t.Context(), memoryCgroupOf, 0, MemoryLimit(limit), Logger(slog.New(slog.NewTextHandler(&logged, nil))))
		if err != nil {
			t.Fatal(err)
		}
		pid := pr.Pid()
		got, err := pr.Wait()
		if err != nil {
			t.Fatal(err)
		}
		want := self
		if limit > 0 && usable {
			want = filepath.Join(self, "mproc-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(pid))
		}
		if got != want {
			t.Errorf("MemoryLimit(%d): the worker's memory cgroup is %q, want %q", limit, got, want)
		}
		warned := strings.Contains(logged.String(), "the worker has no memory cgroup")
		if warned != (limit > 0 && !usable) {
			t.Errorf("MemoryLimit(%d), cgroup usable %v: the pool logged %q", limit, usable, logged.String())
		}
		groupGone(t, pid)
	}
	if _, err := os.Stat(leftover); usable && !os.IsNotExist(err) {
		t.Errorf("the leftover group %s of a dead parent is still there: %v", leftover, err)
	}
}

// pidOf returns the pid of the worker that runs it.
func pidOf(context.Context, int) (int, error) { return os.Getpid(), nil }

// TestMemoryLimitCgroup: in a pool with MemoryLimit, a task whose shared
// memory passes the limit (which RLIMIT_DATA does not see) fails with the
// memory-limit message and kills its worker only; the other tasks
// complete, the next Map works, and no worker leaves its group behind.
func TestMemoryLimitCgroup(t *testing.T) {
	usable := groupUsable(t)
	skipIfSwapEscapes(t)
	p, err := NewPool(Workers(2), MemoryLimit(testLimit))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := 4 * testLimit >> 20
	out, err := Map(t.Context(), p, touchShared, []int{1, big, 2}, ChunkSize(1), CollectErrors())
	if !usable {
		if err != nil || out[1] != big {
			t.Errorf("without a memory cgroup: %v, %v; want every task to complete", out, err)
		}
		return
	}
	var we *WorkerExitError
	if !errors.As(err, &we) || we.Index != 1 || we.Signal != "SIGKILL" ||
		!strings.Contains(err.Error(), "worker exceeded its memory limit of 64 MiB") {
		t.Fatalf("err = %v, want a WorkerExitError for task 1, SIGKILL, saying it exceeded 64 MiB", err)
	}
	if out[0] != 1 || out[2] != 2 {
		t.Errorf("out = %v: the other tasks must complete", out)
	}
	groupGone(t, we.Pid)
	pids, err := Map(t.Context(), p, pidOf, []int{0, 1, 2, 3}, ChunkSize(1))
	if err != nil {
		t.Fatalf("the next Map: %v", err)
	}
	p.Close()
	for _, pid := range pids {
		groupGone(t, pid)
	}
}

// oomChild starts a process in the worker's memory cgroup that the kernel
// OOM-kills — the worker of a pool of its own, with no limit of its own,
// making shared memory resident past the limit — and once it is dead
// writes its error to the FIFO fifo and waits for its context to end: the
// worker itself survives the OOM kill.
func oomChild(ctx context.Context, fifo string) (int, error) {
	pr, err := Start(ctx, touchShared, 4*testLimit>>20)
	if err != nil {
		return 0, err
	}
	_, childErr := pr.Wait()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	fmt.Fprintln(f, childErr)
	f.Close()
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestMemoryNotBlamedForKills: once the OOM killer has killed a process a
// task started in the worker's cgroup, a kill the pool made afterwards
// (Process.Kill, a missed heartbeat) is reported as that kill, not as the
// worker exceeding its memory limit.
func TestMemoryNotBlamedForKills(t *testing.T) {
	if !groupUsable(t) {
		return
	}
	skipIfSwapEscapes(t)
	for _, c := range []struct {
		name string
		opts []Option
		kill func(pr *Process[int]) error
		want string
	}{
		{"Kill", nil, (*Process[int]).Kill, "killed by SIGKILL"},
		{"heartbeat", []Option{Heartbeat(time.Second)}, func(pr *Process[int]) error {
			return unix.Kill(pr.Pid(), unix.SIGSTOP)
		}, "no heartbeat for"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			// Unblocks a reader still waiting when the worker ended early.
			defer func() {
				if f, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
					f.Close()
				}
			}()
			pr, err := Start(t.Context(), oomChild, fifo, append(c.opts, MemoryLimit(testLimit))...)
			if err != nil {
				t.Fatal(err)
			}
			pid := pr.Pid()
			done := make(chan error, 1)
			go func() { _, err := pr.Wait(); done <- err }()
			said := make(chan string, 1)
			go func() {
				b, _ := os.ReadFile(fifo)
				said <- string(b)
			}()
			select {
			case child := <-said:
				if !strings.Contains(child, "killed by SIGKILL") {
					t.Fatalf("the task's child process ended with %q, want the OOM killer's SIGKILL", child)
				}
			case err := <-done:
				t.Fatalf("the worker ended before its child was OOM-killed: %v", err)
			}
			if g, err := cgroup.Lookup(os.Getpid(), pid); err != nil || !g.OOMKilled() {
				t.Fatalf("the worker's group shows no OOM kill: %v", err)
			}
			if err := c.kill(pr); err != nil {
				t.Fatal(err)
			}
			err = <-done
			var we *WorkerExitError
			if !errors.As(err, &we) || we.Signal != "SIGKILL" || !strings.Contains(err.Error(), c.want) ||
				strings.Contains(err.Error(), "memory") {
				t.Errorf("err = %v, want a WorkerExitError for SIGKILL that says %q and no word of memory", err, c.want)
			}
			groupGone(t, pid)
		})
	}
}

// hogInit makes mib MiB of shared memory resident in the initializer.
func hogInit(ctx context.Context, mib int) error {
	_, err := touchShared(ctx, mib)
	return err
}

// TestInitializerMemory: a worker the OOM killer ends during its
// initializer fails NewPool with an error that says it exceeded its memory
// limit.
func TestInitializerMemory(t *testing.T) {
	usable := groupUsable(t)
	skipIfSwapEscapes(t)
	p, err := NewPool(Workers(1), MemoryLimit(testLimit), Initializer(hogInit, 4*testLimit>>20))
	if !usable {
		if err != nil {
			t.Errorf("without a memory cgroup: NewPool = %v, want the initializer to complete", err)
		}
		p.Close()
		return
	}
	var we *WorkerExitError
	if !errors.As(err, &we) || we.Signal != "SIGKILL" || we.Index != -1 ||
		!strings.Contains(err.Error(), "worker exceeded its memory limit of 64 MiB before it was ready") {
		t.Fatalf("NewPool = %v, want a WorkerExitError: SIGKILL, exceeded its memory limit of 64 MiB before it was ready", err)
	}
	groupGone(t, we.Pid)
}

// TestRuntimeCrashNearLimit: a Go runtime crash counts as the memory
// limit at work only with most of the limit resident; the same crash in
// a small worker (a stack overflow, a fault in the task's own code) is
// reported as what it is.
func TestRuntimeCrashNearLimit(t *testing.T) {
	const limit = 64 << 20
	says := func(words ...string) func(string) bool {
		return func(s string) bool { return slices.Contains(words, s) }
	}
	for _, tc := range []struct {
		name   string
		exit   spawn.Exit
		stderr func(string) bool
		want   bool
	}{
		{"fault in the collector at the limit", spawn.Exit{Code: 2, PeakRSS: 63 << 20}, says("SIGSEGV: segmentation violation"), true},
		{"fatal error at three quarters", spawn.Exit{Code: 2, PeakRSS: limit / 4 * 3}, says("fatal error:"), true},
		{"stack overflow in a small worker", spawn.Exit{Code: 2, PeakRSS: 12 << 20}, says("fatal error:"), false},
		{"a plain exit status 2 at the limit", spawn.Exit{Code: 2, PeakRSS: limit}, says(), false},
		{"another exit status at the limit", spawn.Exit{Code: 7, PeakRSS: limit}, says("fatal error:"), false},
		{"killed at the limit", spawn.Exit{Code: -1, Signal: "SIGKILL", PeakRSS: limit}, says("fatal error:"), false},
	} {
		if got := runtimeCrashNearLimit(tc.exit, tc.stderr, limit); got != tc.want {
			t.Errorf("%s: runtimeCrashNearLimit = %v, want %v", tc.name, got, tc.want)
		}
	}
}
