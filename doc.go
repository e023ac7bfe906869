// Package mproc runs ordinary Go functions in worker processes of the same
// binary: multiprocessing for Go.
//
// Goroutines share one heap, one crash domain and one memory limit, and
// cannot be killed. A worker process can: a task that crashes, leaks or
// runs away takes only its worker with it, and the pool says which task did
// it and how, starts a replacement and goes on.
//
// # Bootstrap
//
// Workers are this executable started again. Call Main first in main()
// (and in TestMain for tests): in the parent it returns at once, in a
// worker it serves tasks and never returns.
//
//	func main() {
//		mproc.Main()
//		pool, err := mproc.NewPool(mproc.Workers(4))
//		...
//		defer pool.Close()
//		out, err := mproc.Map(ctx, pool, mproc.Plain(strings.ToUpper), words)
//	}
//
// A worker costs a fork and exec of the executable, the Go runtime's
// start-up and the package initialisation of the program in the child, and
// one exchange with the parent before it is ready: a few milliseconds for
// a pool of two workers on a two-core machine, nearly all of it CPU time,
// so workers started together compete for the cores. Keep pools and reuse
// them rather than start one per call. mproc does not import package net:
// a program that imports neither net nor another user of cgo builds as a
// static binary, and its workers start 1 to 1.3 ms sooner than those of a
// binary linked against the C library, which the dynamic loader and cgo's
// start-up delay (3.5 ms instead of 4.8 ms for a pool of two to its first
// result, measured on a 2-core VM). A program that needs net but not cgo
// gets the same with CGO_ENABLED=0, or -tags netgo when net is its only
// user of cgo.
//
// # What travels
//
// Functions travel by reference: a name and a position in the binary,
// checked by the worker, never code. So a task function is a top-level
// function, a func literal that captures nothing, a method value (its
// receiver travels by value) or a function instantiated in generic code;
// the codec refuses a closure with captured variables, with a message that
// says what to write instead, before anything runs. Inputs, outputs and
// errors travel by value through package codec, which keeps unexported
// fields, pointers shared within a value, cycles, interface values and the
// identity of sentinel errors.
//
// A task function has the signature func(context.Context, In) (Out, error);
// Plain adapts a func(In) Out. The context is cancelled in the worker when
// the caller's context is.
//
// # Calls
//
// Map, Imap, ImapUnordered and Submit are Python's Pool.map, imap,
// imap_unordered and apply_async, typed. Inputs go to workers in chunks
// cut as workers free up, sized by what the call's inputs were measured to
// cost; a worker runs its tasks one at a time while the next ones are
// already on their way, and results come back in batches. Uneven work
// balances: a worker holds at most about a millisecond of work queued
// behind the task it runs, and an idle worker takes back what waits behind
// a task that runs long (see docs/reliability.md). Imap and ImapUnordered
// read their sequence on a goroutine of their own, so a loop body may feed
// it. OnProgress reports the inputs done and failed, apart.
//
// Cancelling a call's context cancels the context its tasks see in their
// workers; a worker whose cancelled task does not return within
// CancelGrace is killed and replaced, so a task that ignores its context
// never holds a pool.
//
// What a call costs, measured on a 2-core VM (docs/performance.md): a
// Submit+Wait of a trivial task 17.7 µs on average, a Map of trivial tasks
// 352,000 tasks/s at ChunkSize(1) and 19.4 million/s with automatic
// chunks; Imap, whose parent does more per input, runs at about 0.6 of
// Map's rate. An Imap result reaches the loop about 0.12 ms after its
// input was yielded (0.26 ms at the 99th percentile). To get there, a
// read on a control socket polls it for up to 50 µs before it sleeps,
// since waking a sleeping thread costs more than that on such machines; a
// socket whose polls keep missing, as with tasks that run for long, stops
// polling, so slow work pays nothing for it.
//
// # Failures
//
// A task that returns an error or panics fails with a *TaskError; its
// worker goes on. A worker that dies (os.Exit, a signal, a Go fatal error,
// a crash in C code) fails the task it was running with a
// *WorkerExitError naming the input, the exit status or signal and the end
// of the worker's stderr; the pool starts a replacement and sends the
// worker's other tasks elsewhere. A pool is never left broken: the next
// call works.
//
// Timeout bounds a task: past it the worker is killed and the task fails
// with a *TimeoutError (errors.Is(err, ErrTimeout)). Retries runs a task
// whose worker died again on a fresh one, for tasks that may run twice.
// Workers beat a heartbeat into memory shared with the parent; one that
// stops (SIGSTOP, a wedged runtime) is killed after Heartbeat; a task stuck
// inside C code is bounded by Timeout. MemoryLimit caps each worker's
// memory (RLIMIT_DATA, and a memory cgroup where one can be made); the one
// that exceeds it dies alone, and the error says so. MaxTasksPerWorker
// recycles workers. Each result reaches the caller once, also when workers
// die with results in flight; a result a worker had buffered when it died
// is not lost: each is copied to memory shared with the parent before the
// next task starts.
//
// Workers exit on their own when the parent dies, even by SIGKILL: each
// watches its control socket for the end of the stream. They run in a
// process group of their own, so the terminal's Ctrl-C reaches only the
// parent, which decides how they stop (see ShutdownOnSignal).
//
// # Processes
//
// Start runs one function in one new process, like Python's
// multiprocessing.Process or an *exec.Cmd: Wait returns fn's outcome, Done
// is closed when the process has ended, ExitCode and ProcessState say how,
// Kill and Signal stop it. Cancelling Start's ctx kills the process if fn
// has not returned within CancelGrace; a process that exits or is killed
// before fn returns fails with an *ExitError.
//
// # Sharing: handles
//
// An open *os.File, a Queue, a PipeEnd and a Shared value (SharedMap,
// SharedList) are handles: they travel inside any value sent to a process
// of this machine — a task's input or result, a Start or Initializer
// argument, a Queue item, a pipe message — as descriptors passed beside
// the bytes (SCM_RIGHTS), at any time. A queue or a shared value sends a
// connection of its own to the process that made it, which holds its items
// or its value, so that process knows who holds it: a Get that can never
// be satisfied fails with ErrNoWriters, a process killed in the middle of
// a Put or a Get corrupts nothing, and the owner's death fails the calls of
// every other process instead of leaving them waiting. A handle that came
// with a pool task's input lasts as long as the task. codec.Marshal, whose
// output is bytes, refuses handles. See docs/sharing.md.
package mproc
