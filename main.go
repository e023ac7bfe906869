package mproc

import (
	"fmt"
	"os"

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
		return
	}
	c, err := spawn.Attach()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mproc worker:", err)
		os.Exit(2)
	}
	serve.Run(c)
}
