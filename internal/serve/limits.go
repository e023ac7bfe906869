package serve

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
	"golang.org/x/sys/unix"
)

// setup applies what the parent asked for in Init: heartbeats and a
// memory limit.
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
		return limitMemory(s.MemoryLimit)
	}
	return nil
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
