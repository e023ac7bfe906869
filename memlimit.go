package mproc

import (
	"context"
	"log/slog"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/cgroup"
	"github.com/mproc-go/mproc/internal/spawn"
)

// A worker with MemoryLimit(n) is held to n bytes three ways: Go's soft
// limit (debug.SetMemoryLimit), which makes its collector work harder near
// n; RLIMIT_DATA n bytes above what it had mapped at start, which makes an
// allocation of the Go runtime or of C code fail; and, where the machine
// lets it, a memory cgroup of its own (internal/cgroup), named
// mproc-PARENT-WORKER after this process and the worker, with a hard limit
// of n bytes on what it makes resident from then on, enforced by the
// kernel's OOM killer. The worker sets all three itself before its
// initializer runs; the parent only reads and removes the cgroup. No other
// process removes the groups of a live parent, so the parent can read a
// dead worker's before it removes it.

// exceededMemory reports whether the worker proc, which has exited, died
// of its memory limit: its last words on stderr say an allocation failed
// (the Go runtime's "fatal error: out of memory", the race detector's or
// C code's ENOMEM, a thread that could not get its stack), or the Go
// runtime crashed with at least three quarters of the limit resident (an
// allocation refused by RLIMIT_DATA can take the runtime down another way
// than "out of memory": a fault inside its collector, seen on Go 1.26), or
// it died of SIGKILL and the kernel OOM-killed a process in its cgroup. It reads a
// few small files; call it once per dead worker, before releaseLimits.
//
// The caller must not ask it about a worker the pool killed itself (a
// timeout, a missed heartbeat, Process.Kill, Terminate): a SIGKILL says
// nothing of who sent it. Even so the cgroup's evidence is exact only on
// cgroup v2, where the group is created with memory.oom.group = 1 and an
// OOM kill takes every process in it, the worker too. On cgroup v1 (and
// v2 before Linux 4.19) the kernel counts OOM kills per group, not per
// process: if the OOM killer killed a process the task started and the
// worker went on, and the worker later died of a SIGKILL from outside the
// pool (kill -9, the machine's own OOM killer), it is reported as having
// exceeded its memory limit.
func exceededMemory(proc *spawn.Proc, limit int64) bool {
	if limit <= 0 {
		return false
	}
	for _, s := range []string{"out of memory", "failed to allocate", "cannot allocate memory", "pthread_create failed"} {
		if proc.StderrContains(s) {
			return true
		}
	}
	exit := proc.Wait()
	if runtimeCrashNearLimit(exit, proc.StderrContains, limit) {
		return true
	}
	if exit.Signal != "SIGKILL" {
		return false
	}
	parent, ok := parentCgroup()
	return ok && parent.Group(os.Getpid(), proc.Pid).OOMKilled()
}

// runtimeCrashNearLimit reports whether a worker's exit is the Go
// runtime's own crash (exit status 2, its report on stderr) while its peak
// resident memory was at least three quarters of limit: the memory limit
// at work, whatever the runtime's last words.
func runtimeCrashNearLimit(exit spawn.Exit, stderrContains func(string) bool, limit int64) bool {
	if exit.Code != 2 || exit.PeakRSS < limit/4*3 {
		return false
	}
	return stderrContains("fatal error:") || stderrContains("SIGSEGV: segmentation violation") || stderrContains("unexpected signal during runtime execution")
}

// parent is the memory cgroup this process is in, under which its workers
// make theirs. It is looked up until it is found, then kept: workers
// started while this process is in it make their groups there.
var parent struct {
	sync.Mutex
	p  cgroup.Parent
	ok bool
}

func parentCgroup() (cgroup.Parent, bool) {
	parent.Lock()
	defer parent.Unlock()
	if !parent.ok {
		if p, err := cgroup.Self(); err == nil {
			parent.p, parent.ok = p, true
		}
	}
	return parent.p, parent.ok
}

// unremoved holds the groups of this process's dead workers that the
// kernel would not remove yet (a process the task started was still in
// one). Nobody else removes them while this process lives: each
// releaseLimits tries them again.
var unremoved struct {
	sync.Mutex
	groups []*cgroup.Group
}

// releaseLimits removes the memory cgroup of the worker pid, if it made
// one, once the worker has been waited for, and tries again the groups
// earlier calls could not remove.
func releaseLimits(pid int) {
	parent, ok := parentCgroup()
	if !ok {
		return
	}
	unremoved.Lock()
	defer unremoved.Unlock()
	all := append(unremoved.groups, parent.Group(os.Getpid(), pid))
	left := all[:0]
	for _, g := range all {
		if g.Remove() != nil {
			left = append(left, g)
		}
	}
	clear(all[len(left):])
	unremoved.groups = left
}

// warned holds the loggers noteMissingCgroup has warned.
var warned sync.Map // *slog.Logger → struct{}

// noteMissingCgroup warns on log, once per logger, when the worker pid,
// started with a memory limit, has no memory cgroup (the machine lets
// none be made: see internal/cgroup) or swap escapes its cgroup's limit
// (cgroup v1 without swap accounting). The worker itself can only log
// where nobody looks. Call it once the worker is ready.
func noteMissingCgroup(log *slog.Logger, pid int) {
	if !log.Enabled(context.Background(), slog.LevelWarn) {
		return // the default Logger, one per pool: nothing to remember
	}
	if _, done := warned.Load(log); done {
		return
	}
	var msg string
	parent, ok := parentCgroup()
	if _, err := os.Stat(parent.Group(os.Getpid(), pid).Dir()); !ok || err != nil {
		msg = "mproc: the worker has no memory cgroup: MemoryLimit holds it by RLIMIT_DATA and Go's soft limit only, " +
			"which do not count shared memory or the processes a task starts (see docs/reliability.md)"
	} else if parent.SwapEscapes() {
		msg = "mproc: swap is on and cgroup v1 does not account it (no memory.memsw files): " +
			"the worker's memory cgroup does not stop it from swapping past MemoryLimit (see docs/reliability.md)"
	} else {
		return
	}
	if _, done := warned.LoadOrStore(log, struct{}{}); !done {
		log.Warn(msg, "pid", pid, "cgroup", parent.Dir)
	}
}
