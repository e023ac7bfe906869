package mproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/mproc-go/mproc/internal/remote"
	"github.com/mproc-go/mproc/internal/wire"
)

// An Option configures a pool (NewPool) or a process (Start).
type Option func(*config)

type config struct {
	workers      int
	initRun      wire.Initializer
	initFn       any
	initArg      any
	maxTasks     int
	env          []string
	dir          string
	startTimeout time.Duration
	initTimeout  time.Duration
	inProcess    bool
	roundTrip    bool
	remote       remote.Executor // Remote: tasks run through it, on other machines
	logger       *slog.Logger
	stdout       io.Writer
	stderr       io.Writer
	prefix       bool
	respawn      bool
	timeout      time.Duration
	heartbeat    time.Duration
	memoryLimit  int64
	signals      bool
	cancelGrace  time.Duration // how long a cancelled task may take to return before its worker is killed
	err          error         // the first option given a value it cannot take
}

func newConfig(opts []Option) (config, error) {
	c := config{workers: runtime.NumCPU(), respawn: true, heartbeat: DefaultHeartbeat, cancelGrace: DefaultCancelGrace}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, c.err
}

// invalid records in err, unless it holds an error already, that option
// was given a value it cannot take: the first such option fails NewPool,
// Start or the call before anything starts.
func invalid(err *error, option string, value any, why string) {
	if *err == nil {
		*err = fmt.Errorf("mproc: %s(%v): %s", option, value, why)
	}
}

// nonNegative stores v in dst, or records in err that option cannot take
// a negative v; zero says what 0 means.
func nonNegative[T ~int | ~int64](err *error, dst *T, option string, v T, zero string) {
	if v < 0 {
		invalid(err, option, v, "cannot be negative; "+zero)
		return
	}
	*dst = v
}

// Workers sets the number of workers, at least 1; the default is
// runtime.NumCPU().
func Workers(n int) Option {
	return func(c *config) {
		if n < 1 {
			invalid(&c.err, "Workers", n, "a pool needs at least one worker")
			return
		}
		c.workers = n
	}
}

// Initializer runs fn(ctx, arg) once in each worker before its first task,
// like the initializer and initargs of Python's Pool: it may set package
// variables of the worker, open files, warm caches. fn travels by
// reference and arg by value, as a task's function and input do. An error,
// a panic or a call to runtime.Goexit in fn fails NewPool with an
// *InitError carrying the worker's message.
//
// NewPool waits for every worker's initializer, with no time limit unless
// InitTimeout sets one (StartTimeout bounds only the start of the
// process), and fn's ctx is never cancelled: an fn that may block needs
// InitTimeout or must bound itself. A worker whose initializer is still
// running exits as soon as its parent process dies.
func Initializer[A any](fn func(ctx context.Context, arg A) error, arg A) Option {
	return func(c *config) { c.initRun, c.initFn, c.initArg = runInit[A]{}, fn, arg }
}

// MaxTasksPerWorker retires a worker after it ran n tasks (a chunk counts
// as one) and starts a fresh one, to bound what a leaky library can
// accumulate. Zero, the default, keeps workers for the pool's lifetime.
// The retiring worker finishes the tasks it holds while its replacement
// starts, so recycling never stalls a call. InProcess pools ignore it.
func MaxTasksPerWorker(n int) Option {
	return func(c *config) {
		nonNegative(&c.err, &c.maxTasks, "MaxTasksPerWorker", n, "0 keeps workers for the pool's lifetime")
	}
}

// Env sets the workers' environment, in the form of os.Environ; the default
// is the parent's.
func Env(env []string) Option { return func(c *config) { c.env = env } }

// Dir sets the workers' working directory; the default is the parent's.
func Dir(dir string) Option { return func(c *config) { c.dir = dir } }

// StartTimeout bounds how long a new worker may take to reach mproc.Main
// and say hello; the default is 10 seconds.
func StartTimeout(d time.Duration) Option {
	return func(c *config) { nonNegative(&c.err, &c.startTimeout, "StartTimeout", d, "0 means the default") }
}

// InitTimeout bounds how long a worker's initializer may run (see
// Initializer), from the moment the worker is started and said hello. A
// worker whose initializer has not returned by then is killed, and NewPool
// fails with an *InitError naming the worker, its pid and the limit, for
// which errors.Is(err, ErrTimeout) holds; a replacement worker that times
// out is retried as any that fails to start. Zero, the default, waits
// without limit. InProcess pools ignore it: a goroutine cannot be killed.
func InitTimeout(d time.Duration) Option {
	return func(c *config) { nonNegative(&c.err, &c.initTimeout, "InitTimeout", d, "0 waits without limit") }
}

// InProcess runs tasks on goroutines of this process instead of worker
// processes, with the same API (Python's multiprocessing.dummy). It starts
// in microseconds and shares memory; it isolates nothing.
func InProcess() Option { return func(c *config) { c.inProcess = true } }

// RoundTrip makes an InProcess pool encode and decode every function,
// input, output and error with the codec, as a process pool would, so that
// values that cannot be sent show up in development; open files and
// handles (queues, pipe ends, shared values) are duplicated as a worker's
// connection would pass them.
func RoundTrip() Option { return func(c *config) { c.inProcess, c.roundTrip = true, true } }

// Logger sets where the pool logs worker starts, exits and replacements;
// records carry the worker's id and pid. The default discards them.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Output sends the workers' stdout and stderr to the given writers instead
// of this process's. A nil writer keeps the default for that stream. The
// last few KiB of each worker's stderr are kept either way, for
// WorkerExitError. A writer is not called again after its first error: the
// rest of that stream is dropped (Logger is told once), and the worker
// never notices — it is never stopped by a broken pipe.
func Output(stdout, stderr io.Writer) Option {
	return func(c *config) { c.stdout, c.stderr = stdout, stderr }
}

// PrefixOutput starts every line a worker writes to stdout or stderr with
// "[worker N pid P] ".
func PrefixOutput() Option { return func(c *config) { c.prefix = true } }

// DefaultTimeout sets the timeout of every task of the pool's calls that
// do not set their own with Timeout. Zero, the default, means none.
func DefaultTimeout(d time.Duration) Option {
	return func(c *config) { nonNegative(&c.err, &c.timeout, "DefaultTimeout", d, "0 means none") }
}

// DefaultHeartbeat is how long a worker may go without a heartbeat before
// the pool kills it as stopped or hung.
const DefaultHeartbeat = 10 * time.Second

// Heartbeat sets how long a worker may go without a heartbeat before the
// pool kills it and handles it like a dead one (a process stopped by
// SIGSTOP, a wedged Go runtime). Workers beat four times per
// interval from a goroutine of their own, through shared memory: a busy
// task does not stop them, and it costs no message. Nor does a task stuck
// inside C code, since the Go runtime goes on running other goroutines:
// Timeout bounds that. The default is
// DefaultHeartbeat; a negative d turns heartbeats off.
func Heartbeat(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// MemoryLimit caps each worker's memory at n bytes: a hard limit on its
// data segment (setrlimit RLIMIT_DATA, above what the runtime had mapped
// at start), Go's soft limit (debug.SetMemoryLimit), which makes the
// collector work harder as the worker nears it, and, where a memory cgroup
// can be made (cgroup v1; cgroup v2 only where the memory controller is
// already delegated to the children of the process's cgroup, in practice
// the root cgroup), a cgroup of the worker's own whose limit counts
// everything it and the processes it starts make resident, enforced by the
// kernel's OOM killer. Logger is told when a worker has to do without. A worker that exceeds it dies alone; the task fails with a
// WorkerExitError that says "worker exceeded its memory limit of N MiB".
// See docs/reliability.md.
func MemoryLimit(n int64) Option {
	return func(c *config) { nonNegative(&c.err, &c.memoryLimit, "MemoryLimit", n, "0 means none") }
}

// DefaultCancelGrace is how long a task whose call was cancelled may go on
// running before the pool kills its worker (see CancelGrace).
const DefaultCancelGrace = time.Second

// CancelGrace sets how long a task whose call was cancelled (its ctx done,
// an Imap loop left early, a Process's ctx done) may go on running before
// its worker is killed and replaced. A task sees the cancellation through
// its ctx at once; one that ignores it would otherwise hold its worker, and
// every task queued behind it, for as long as it runs. Meanwhile its
// worker gets no new tasks, and those it held that had not started move to
// other workers; if the task is still running 10 ms after the
// cancellation, a replacement worker starts at once, so that later calls
// do not wait the grace out (the pool then has one process more until the
// task returns or its worker is killed). The default is
// DefaultCancelGrace; zero kills at once.
// InProcess pools cannot kill a goroutine: there the task runs on and its
// worker takes no new task until it returns.
func CancelGrace(d time.Duration) Option {
	return func(c *config) { nonNegative(&c.err, &c.cancelGrace, "CancelGrace", d, "0 kills at once") }
}

// A CallOption configures one Map, Imap, ImapUnordered or Submit call.
type CallOption func(*callConfig)

type callConfig struct {
	chunk    int
	collect  bool
	progress func(Progress)
	window   int
	timeout  time.Duration
	retries  int
	err      error // the first option given a value it cannot take
}

func (p *Pool) callConfig(opts []CallOption) callConfig {
	c := callConfig{timeout: p.cfg.timeout}
	for _, o := range opts {
		o(&c)
	}
	if c.timeout > 0 {
		c.chunk = 1 // a timeout is per input
	}
	return c
}

// Timeout bounds each task of the call: a task that runs longer has its
// worker killed and replaced, and fails with a *TimeoutError, for which
// errors.Is(err, ErrTimeout) holds; the other tasks go on. It makes the
// chunk size 1. An InProcess pool cannot kill a goroutine: there the
// task's context is cancelled at the deadline and the task fails when it
// returns.
func Timeout(d time.Duration) CallOption {
	return func(c *callConfig) { nonNegative(&c.err, &c.timeout, "Timeout", d, "0 means none") }
}

// Retries runs a task again, up to n times, on a fresh worker when the
// worker running it died (a crash, a kill, a missed heartbeat; not a
// timeout, not an error the task returned), after a backoff of 10 ms,
// doubling to at most a second. Use it for tasks that may run twice: a
// task can die after doing its work. Each input's result still reaches
// the caller once.
func Retries(n int) CallOption {
	return func(c *callConfig) { nonNegative(&c.err, &c.retries, "Retries", n, "0 runs a task once") }
}

// ChunkSize sends inputs to workers n at a time. Larger chunks amortise the
// cost of a message, some microseconds, over more inputs; smaller ones
// balance uneven tasks and make progress finer. By default (0) chunks adapt
// to the call: its first input goes alone, to measure what an input costs,
// then each chunk runs about half a millisecond, no more than its share of
// what is left (a 2·Workers-th), so the tail of a call comes in small
// pieces that spread over every worker; inputs that take longer than that
// go one at a time. Imap and ImapUnordered chunk the same way among the
// inputs read so far, so a slow trickle of inputs goes out one by one.
func ChunkSize(n int) CallOption {
	return func(c *callConfig) { nonNegative(&c.err, &c.chunk, "ChunkSize", n, "0 sizes chunks automatically") }
}

// CollectErrors makes Map run every input even when some fail, and return
// all their errors joined with errors.Join, in input order, along with the
// outputs of the inputs that succeeded. By default the first error cancels
// the rest of the call.
func CollectErrors() CallOption { return func(c *callConfig) { c.collect = true } }

// Progress is how far a call has got, as OnProgress reports it. Done and
// Failed count the inputs whose outcome reached the caller, apart: an
// input that was not run (the call was cancelled or interrupted) is in
// neither. Total is the call's number of inputs, -1 for Imap and
// ImapUnordered, whose input's length is unknown.
type Progress struct {
	Done   int // inputs that ran and succeeded
	Failed int // inputs that failed: an error, a panic, a worker's death, a timeout
	Total  int
}

// OnProgress calls fn as results come in: at least every 1% of the inputs
// or every 50 ms, whichever comes first, and once at the end, from the
// calling goroutine (Map) or the iterating one (Imap, ImapUnordered). The
// inputs of one chunk report together: by default chunks stay under 1% of
// a Map's inputs when OnProgress is set. fn should return quickly.
func OnProgress(fn func(Progress)) CallOption { return func(c *callConfig) { c.progress = fn } }

// Window bounds how many inputs Imap and ImapUnordered have read from
// their sequence and not yet yielded: the sequence is read ahead only that
// far. The default adapts to the call: about 10 ms of the workers' work,
// between 16 inputs per worker and 65536 in all.
func Window(n int) CallOption {
	return func(c *callConfig) { nonNegative(&c.err, &c.window, "Window", n, "0 sizes it automatically") }
}
