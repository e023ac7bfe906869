package mproc

import (
	"sync"

	"github.com/mproc-go/mproc/internal/cgroup"
	"github.com/mproc-go/mproc/internal/spawn"
)

// A worker with MemoryLimit(n) is held to n bytes three ways: Go's soft
// limit (debug.SetMemoryLimit), which makes its collector work harder near
// n; RLIMIT_DATA n bytes above what it had mapped at start, which makes an
// allocation of the Go runtime or of C code fail; and, where the machine
// lets it, a memory cgroup of its own (internal/cgroup) with a hard limit
// of n bytes on what it makes resident from then on, enforced by the
// kernel's OOM killer. The worker sets all three itself before its
// initializer runs; the parent only reads and removes the cgroup.

// exceededMemory reports whether the worker proc, which has exited, died
// of its memory limit: its last words on stderr say an allocation failed
// (the Go runtime's "fatal error: out of memory", the race detector's or
// C code's ENOMEM, a thread that could not get its stack), or the kernel
// OOM-killed it in its cgroup. It reads a few small files; call it once
// per dead worker, before releaseLimits.
func exceededMemory(proc *spawn.Proc, limit int64) bool {
	if limit <= 0 {
		return false
	}
	for _, s := range []string{"out of memory", "failed to allocate", "cannot allocate memory", "pthread_create failed"} {
		if proc.StderrContains(s) {
			return true
		}
	}
	// The OOM killer may have picked a process the task started rather
	// than the worker; the worker died of the limit only if it was the one
	// killed.
	if proc.Wait().Signal != "SIGKILL" {
		return false
	}
	parent, err := parentCgroup()
	return err == nil && parent.Group(proc.Pid).OOMKilled()
}

// parentCgroup is the memory cgroup this process is in, under which its
// workers make theirs; it is looked up once.
var parentCgroup = sync.OnceValues(cgroup.Self)

// releaseLimits removes the memory cgroup of the worker pid, if it made
// one, once the worker has been waited for: one rmdir. If a process the
// worker started is still in it the kernel refuses, and the next worker to
// start removes it once it is empty.
func releaseLimits(pid int) {
	if parent, err := parentCgroup(); err == nil {
		parent.Group(pid).Remove()
	}
}
