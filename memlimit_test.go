package mproc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mproc-go/mproc/internal/cgroup"
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

// joinAndTouchShared puts the worker in its memory cgroup as the worker's
// setup does (serve.joinCgroup), then runs touchShared.
func joinAndTouchShared(ctx context.Context, mib int) (int, error) {
	if g, err := cgroup.New(os.Getppid(), os.Getpid(), testLimit); err == nil {
		if err := g.Add(os.Getpid()); err != nil {
			return 0, err
		}
	}
	return touchShared(ctx, mib)
}

// TestMemoryCgroupOOMKill: a task that makes shared memory resident past
// the limit is killed by the kernel in the worker's cgroup — RLIMIT_DATA
// alone would let it run — and exceededMemory says so; releaseLimits
// removes the group.
func TestMemoryCgroupOOMKill(t *testing.T) {
	usable := groupUsable(t)
	skipIfSwapEscapes(t)
	pr, err := Start(t.Context(), joinAndTouchShared, 4*testLimit>>20, MemoryLimit(testLimit))
	if err != nil {
		t.Fatal(err)
	}
	pid := pr.Pid()
	n, err := pr.Wait()
	defer groupGone(t, pid)
	defer releaseLimits(pid)
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
	// Once died() asks exceededMemory, the message says it and the group
	// is gone by now; until then, ask it here.
	const want = "worker exceeded its memory limit of 64 MiB"
	if !strings.Contains(err.Error(), want) && !exceededMemory(pr.w.proc, testLimit) {
		t.Errorf("err = %v and exceededMemory = false; want %q", err, want)
	}
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
		releaseLimits(pr.Pid())
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
		releaseLimits(pr.Pid())
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
