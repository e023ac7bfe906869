package spawn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/mproc-go/mproc/internal/sock"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Marker is the environment variable that tells a re-executed binary it is a
// worker. Attach removes it, so that processes a worker starts are ordinary.
const Marker = "MPROC_WORKER"

// markerValue names the protocol, so a stray variable is not mistaken for it.
const markerValue = "fd3"

// DefaultStartTimeout bounds the wait for a new worker's hello.
const DefaultStartTimeout = 10 * time.Second

// MainHint is what a parent says when its worker never reached mproc.Main.
const MainHint = "call mproc.Main() first in main() and in TestMain"

// Config describes how to start a worker.
//
// The worker's stdout goes straight to Stdout when that is an *os.File (or
// nil: this process's stdout), so that the worker writes to the file
// itself at no cost here. Any other Stdout, and always Stderr, is fed by a
// goroutine of this process copying from a pipe, which reads the pipe to
// its end whatever the writer does: after the writer's first error it
// drops the rest. Were it to stop reading, the pipe would fill or break,
// and the worker would block or die of SIGPIPE at its next write for a
// fault of this process's writer; and the tail of its stderr would stop
// being kept just when it is wanted. A writer that blocks still blocks the
// worker once the pipe is full.
type Config struct {
	Path         string    // executable; empty means this one
	Args         []string  // arguments after the program name; nil means this process's
	Env          []string  // environment; nil means this process's
	Dir          string    // working directory; empty means this process's
	Stdout       io.Writer // nil means this process's stdout, inherited; see Config
	Stderr       io.Writer // nil means this process's stderr; its tail is kept either way
	StartTimeout time.Duration

	// OutputError, when set, is called once per stream ("stdout" or
	// "stderr") at the first error writing the worker's output to Stdout
	// or Stderr, from the goroutine copying it; it must not block.
	OutputError func(pid int, stream string, err error)
}

// A Proc is a started worker whose hello was checked.
type Proc struct {
	Pid  int
	Conn *sock.Conn // the control socket, positioned after the hello
	Slot *Slot

	cmd        *exec.Cmd
	tail       Tail
	stdoutDone chan struct{} // closed when the copy of its stdout ended; closed at once when not copied
	stderrDone chan struct{}
	waitOnce   sync.Once
	exit       Exit
	state      atomic.Pointer[os.ProcessState]
}

// A StartError reports a worker that did not get as far as its hello.
type StartError struct {
	Pid    int
	Reason string // what the parent saw
	Exit   *Exit  // how the child ended, when it did
	Stderr string // the tail of its stderr
}

func (e *StartError) Error() string {
	msg := fmt.Sprintf("worker did not start: %s (pid %d: %s", MainHint, e.Pid, e.Reason)
	if e.Exit != nil {
		msg += ", " + e.Exit.String()
	}
	msg += ")"
	if e.Stderr != "" {
		msg += "; its stderr ends with:\n" + e.Stderr
	}
	return msg
}

// ErrInsideWorker is returned by Start in a process that is itself a worker
// that never called mproc.Main: starting workers from there would start
// workers that do the same, without end.
var ErrInsideWorker = errors.New("this process was started as an mproc worker but did not call mproc.Main(): " + MainHint)

// Start starts a worker and waits for its hello, at most cfg.StartTimeout
// (DefaultStartTimeout when zero) or until ctx is done. The cost is one
// fork+exec and the child's runtime initialisation, about 1–2 ms.
func Start(ctx context.Context, cfg Config) (p *Proc, err error) {
	if IsWorker() {
		return nil, ErrInsideWorker
	}
	path := cfg.Path
	if path == "" {
		path = "/proc/self/exe"
	}
	args := cfg.Args
	if args == nil {
		args = os.Args[1:]
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	childEnd := os.NewFile(uintptr(fds[1]), "mproc-control")
	defer childEnd.Close() // closed early after a successful start
	conn, err := sock.NewConn(fds[0], "mproc-control")
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer func() {
		if p == nil {
			conn.Close()
		}
	}()

	slot, slotFile, err := newSlot()
	if err != nil {
		return nil, err
	}
	defer slotFile.Close()
	defer func() {
		if err != nil {
			slot.close()
		}
	}()

	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	defer stderrW.Close() // closed early after a successful start

	p = &Proc{Slot: slot, stdoutDone: make(chan struct{}), stderrDone: make(chan struct{})}
	// exec.Cmd would copy a Stdout that is not a file itself, and stop at
	// the writer's first error (see Config); such a writer gets a pipe of
	// ours instead.
	stdoutFile, direct := cfg.Stdout.(*os.File)
	if cfg.Stdout == nil {
		stdoutFile, direct = os.Stdout, true
	}
	var stdoutR *os.File
	if !direct {
		r, w, err := os.Pipe()
		if err != nil {
			stderrR.Close()
			return nil, fmt.Errorf("stdout pipe: %w", err)
		}
		defer w.Close() // closed early after a successful start
		stdoutR, stdoutFile = r, w
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(env[:len(env):len(env)], Marker+"="+markerValue)
	cmd.Dir = cfg.Dir
	cmd.Stdout = stdoutFile
	cmd.Stderr = stderrW
	cmd.ExtraFiles = []*os.File{childEnd, slotFile} // fds 3 and 4
	// A process group of its own keeps the terminal's Ctrl-C for the parent,
	// which decides how its workers stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	// The child has its copies; the parent's must go so that the child's
	// exit shows as EOF on both.
	childEnd.Close()
	stderrW.Close()
	if !direct {
		stdoutFile.Close()
	}
	if err != nil {
		stderrR.Close()
		if stdoutR != nil {
			stdoutR.Close()
		}
		return nil, fmt.Errorf("start worker %s: %w", path, err)
	}
	p.cmd, p.Pid = cmd, cmd.Process.Pid
	track(p.Pid)
	stderr := cfg.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	if stdoutR != nil {
		go p.copyOutput(stdoutR, &sink{w: cfg.Stdout, pid: p.Pid, stream: "stdout", report: cfg.OutputError}, p.stdoutDone)
	} else {
		close(p.stdoutDone)
	}
	// The tail first: it must see what the worker wrote even while the
	// writer is slow.
	go p.copyOutput(stderrR, io.MultiWriter(&p.tail, &sink{w: stderr, pid: p.Pid, stream: "stderr", report: cfg.OutputError}), p.stderrDone)

	fail := func(reason string) (*Proc, error) {
		p.Kill()
		exit := p.Wait()
		slot.close()
		return nil, &StartError{Pid: p.Pid, Reason: reason, Exit: &exit, Stderr: p.tail.String()}
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetReadDeadline(deadline)
	moved := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetReadDeadline(time.Unix(1, 0))
		close(moved)
	})
	h, err := readHello(conn)
	if !stop() {
		<-moved // before the deadline is cleared, not after
	}
	conn.SetReadDeadline(time.Time{})
	switch {
	case ctx.Err() != nil:
		fail(ctx.Err().Error())
		return nil, ctx.Err()
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fail(fmt.Sprintf("no hello within %v", timeout))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The child closed its end: it exited, so waiting is short.
		exit := p.Wait()
		slot.close()
		return nil, &StartError{Pid: p.Pid, Reason: "it closed its control socket without a hello", Exit: &exit, Stderr: p.tail.String()}
	default:
		return fail("reading its hello: " + err.Error())
	}
	if h.Version != protocolVersion || h.Fingerprint != fingerprint || h.Pid != p.Pid {
		return fail(fmt.Sprintf("it is not this build of this program (version %d, pid %d, fingerprint %x; want %d, %d, %x)",
			h.Version, h.Pid, h.Fingerprint, protocolVersion, p.Pid, fingerprint))
	}
	p.Conn = conn
	return p, nil
}

// copyOutput copies the worker's output from r to w, which never fails
// (see sink), until the worker and whatever inherited the pipe from it have
// closed it; r is closed then, never before.
func (p *Proc) copyOutput(r *os.File, w io.Writer, done chan struct{}) {
	defer close(done)
	defer r.Close()
	io.Copy(w, r)
}

// A sink passes a worker's output on to a writer until that writer fails
// once, and from then on drops it: a writer that failed (a closed pipe, a
// full disk, a user's writer that returns errors) is not asked again, and
// the copy goes on reading so that the worker never notices. Its Write
// never fails. Only the copying goroutine uses it.
type sink struct {
	w      io.Writer
	pid    int
	stream string
	report func(pid int, stream string, err error)
	failed bool
}

func (s *sink) Write(b []byte) (int, error) {
	if s.failed {
		return len(b), nil
	}
	n, err := s.w.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.failed = true
		if s.report != nil {
			s.report(s.pid, s.stream, err)
		}
	}
	return len(b), nil
}

// Kill kills the worker with SIGKILL. Killing an exited worker is not an error.
func (p *Proc) Kill() error { return p.Signal(unix.SIGKILL) }

// Signal sends sig to the worker. Signalling an exited worker is not an error.
func (p *Proc) Signal(sig os.Signal) error {
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Wait waits for the worker to exit and for its output to drain (at most a
// second after exit, in case a process it started holds a pipe open), and
// describes how it ended. It may be called more than once.
func (p *Proc) Wait() Exit {
	p.waitOnce.Do(func() {
		err := p.cmd.Wait()
		untrack(p.Pid)
		drained := time.NewTimer(time.Second)
	wait:
		for _, done := range []chan struct{}{p.stdoutDone, p.stderrDone} {
			select {
			case <-done:
			case <-drained.C:
				break wait
			}
		}
		drained.Stop()
		p.state.Store(p.cmd.ProcessState)
		p.exit = exitOf(p.cmd.ProcessState, err)
		if p.Conn != nil {
			p.Conn.Close()
		}
	})
	return p.exit
}

// ProcessState returns how the worker ended, as os/exec reports it (exit
// status, signal, resource usage), once Wait has returned; nil before.
func (p *Proc) ProcessState() *os.ProcessState { return p.state.Load() }

// Exited reports whether the worker has exited, without reaping it.
func (p *Proc) Exited() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	return err != nil || info.Signo != 0
}

// WaitExited blocks until the worker has exited, without reaping it, so
// that Wait still reports how it ended. It returns at once if the worker
// was reaped already. It holds a thread while it waits.
func (p *Proc) WaitExited() {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// Stderr returns the end of what the worker wrote to its stderr, a few
// KiB, with the first lines of a crash report if one began earlier.
func (p *Proc) Stderr() string { return p.tail.String() }

// StderrContains reports whether the last 64 KiB the worker wrote to its
// stderr contain s.
func (p *Proc) StderrContains(s string) bool {
	p.tail.mu.Lock()
	defer p.tail.mu.Unlock()
	return bytes.Contains(p.tail.buf, []byte(s))
}

// Release unmaps the worker's slot. Call it after Wait, once nothing reads
// the slot any more.
func (p *Proc) Release() { p.Slot.close() }
