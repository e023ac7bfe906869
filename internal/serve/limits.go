package serve

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mproc-go/mproc/internal/cgroup"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
	"golang.org/x/sys/unix"
)

// setup applies what the parent asked for in Init: heartbeats and a
// memory limit. It runs before the initializer and any task.
func setup(s *wire.Setup, slot *spawn.Slot) error {
	if s == nil {
		return nil
	}
	if s.Heartbeat > 0 {
		slot.Beat()
		go func() {
			t := time.NewTicker(time.Duration(s.Heartbeat))
			for range t.C {
				slot.Beat()
			}
		}()
	}
	if s.MemoryLimit > 0 {
		if err := limitMemory(s.MemoryLimit); err != nil {
			return err
		}
		joinCgroup(s.MemoryLimit)
	}
	return nil
}

// joinCgroup moves this worker into a memory cgroup of its own,
// mproc-PARENT-PID under the one it is in (its parent's), with a hard
// limit of n bytes on what it makes resident from now on: unlike
// RLIMIT_DATA it counts shared mappings, page cache and the processes the
// task starts, and the kernel's OOM killer enforces it. The parent finds
// the group by its own pid and the worker's, tells from it that the worker
// was OOM-killed, and removes it; no other process touches it while the
// parent lives. Where no memory cgroup can be made (a read-only cgroup
// file system, cgroup v2 without "memory" delegated to children, v1 with
// use_hierarchy 0) the worker does without: RLIMIT_DATA and the soft
// limit still apply. It logs why at debug level, which nobody sees in a
// worker; the parent says so through the pool's Logger instead
// (noteMissingCgroup in the mproc package).
func joinCgroup(n int64) {
	// The parent may be pid 1 (a pool as a container's first process).
	// If instead the parent died before this line and init adopted this
	// worker, the group is named after init and nobody sweeps it: one
	// empty group, left by a worker that exits at once anyway.
	pid, owner := os.Getpid(), os.Getppid()
	g, err := cgroup.New(owner, pid, n)
	if err == nil {
		if err = g.Add(pid); err != nil {
			g.Remove()
		}
	}
	if err != nil {
		slog.Debug("mproc: no memory cgroup for the worker; its memory limit is RLIMIT_DATA only", "pid", pid, "err", err)
	}
}

// limitMemory sets Go's soft memory limit to n bytes and a hard limit on
// the data segment n bytes above what is mapped now, so that the runtime's
// own start-up mappings do not count against the task.
func limitMemory(n int64) error {
	debug.SetMemoryLimit(n)
	base, err := vmData()
	if err != nil {
		return err
	}
	lim := uint64(base + n)
	return unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: lim, Max: lim})
}

// vmData returns the size of this process's data segment, from
// /proc/self/status.
func vmData() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmData:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmData %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmData in /proc/self/status")
}
