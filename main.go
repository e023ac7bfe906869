package mproc

import (
	"fmt"
	"os"

	"github.com/mproc-go/mproc/internal/binref"
	"github.com/mproc-go/mproc/internal/remote"
	"github.com/mproc-go/mproc/internal/serve"
	"github.com/mproc-go/mproc/internal/spawn"
)

// Main must be the first statement of main() and of TestMain in every
// program that uses mproc. In the parent it returns at once: it reads one
// flag, set when the package was initialised. In a worker process it serves
// tasks until the parent closes the pool or dies, then exits the process:
// it never returns there, so the rest of main() runs only in the parent.
//
// Workers are this executable started again with a marker in their
// environment; package initialisation runs in them as in the parent, main
// does not. A program that forgot to call Main would run its main() in every
// worker: NewPool and Start detect that and refuse, and the parent reports
// "worker did not start: call mproc.Main() first in main() and in TestMain".
func Main() {
	if !spawn.IsWorker() {
		if node := remote.Node; node != nil && node() {
			os.Exit(0) // a cluster node served until it was told to stop
		}
		return
	}
	c, err := spawn.Attach()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mproc worker:", err)
		os.Exit(2)
	}
	// The first messages resolve functions and types by reference, whose
	// once-per-process set-up costs a few hundred microseconds, most of it
	// between the first task's arrival and its result. After its hello the
	// worker mostly waits for the parent (for Init, then for the first
	// task), so do the set-up meanwhile; not before the hello, which the
	// parent waits for and which would compete with it for the CPU.
	go binref.Prepare()
	serve.Run(c)
}
