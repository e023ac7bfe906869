package mproc_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/internal/spawn"
)

// TestMain makes the test binary a worker too, and proves that no test
// leaves a worker process behind.
func TestMain(m *testing.M) {
	mproc.Main()
	if os.Getenv(parentModeEnv) != "" {
		parentMode() // the parent-death test's parent process
		return
	}
	if os.Getenv(wlParentEnv) != "" {
		wlParentMode() // the interrupt test's parent program (workload_test.go); it exits
	}
	// Under the race detector a process sleeps a second at exit unless told
	// otherwise; workers inherit this and stop at once.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	if pids := spawn.Unwaited(); len(pids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests left worker processes behind: %v\n", pids)
		code = 1
	}
	if kids := children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests left child processes behind: %v\n", kids)
		code = 1
	}
	os.Exit(code)
}

// children lists the live processes whose parent is this one.
func children() []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if ppid, ok := strings.CutPrefix(sc.Text(), "PPid:"); ok && strings.TrimSpace(ppid) == self {
				kids = append(kids, pid)
			}
		}
		f.Close()
	}
	return kids
}

const parentModeEnv = "MPROC_TEST_PARENT"

// parentMode starts a pool, prints its workers' pids and waits to be killed.
//
// In mode "signals" the pool has one worker and handles signals: it runs a
// task that never ends with another queued behind it, and reports when the
// queued one fails.
func parentMode() {
	signals := os.Getenv(parentModeEnv) == "signals"
	opts := []mproc.Option{mproc.Workers(2)}
	if signals {
		opts = []mproc.Option{mproc.Workers(1), mproc.ShutdownOnSignal()}
	}
	pool, err := mproc.NewPool(opts...)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for _, pid := range pool.Pids() {
		fmt.Println(pid)
	}
	// Keep one worker busy with a task that never ends.
	ctx := context.Background()
	mproc.Submit(ctx, pool, hang, 2)
	queued := mproc.Submit(ctx, pool, square, 3)
	fmt.Println("ready")
	if signals {
		_, err := queued.Wait(ctx)
		fmt.Println("queued task:", err)
	}
	os.Stdin.Read(make([]byte, 1)) // the test holds stdin open and kills this process
	os.Exit(2)
}
