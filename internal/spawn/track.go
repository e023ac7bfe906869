package spawn

import (
	"slices"
	"sync"
)

var live struct {
	sync.Mutex
	pids map[int]struct{}
}

func track(pid int) {
	live.Lock()
	defer live.Unlock()
	if live.pids == nil {
		live.pids = make(map[int]struct{})
	}
	live.pids[pid] = struct{}{}
}

func untrack(pid int) {
	live.Lock()
	defer live.Unlock()
	delete(live.pids, pid)
}

// Unwaited returns the pids of workers started by this process that nobody
// has waited for yet, sorted: a test's TestMain checks it is empty after the
// tests ran, to prove none left a process behind.
func Unwaited() []int {
	live.Lock()
	defer live.Unlock()
	var pids []int
	for pid := range live.pids {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}
