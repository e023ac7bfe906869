// Package child starts helper processes for the harness by re-executing the
// harness's own binary with a marker in the environment, like mproc does for
// its workers. Each child gets one end of a socketpair on fd 3 and serves it
// until it reads EOF, so no child outlives the harness: when the harness
// exits, even by SIGKILL, the kernel closes its end and the child's next
// read returns EOF.
package child

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// EnvRole is the environment variable that tells a re-executed harness which
// role to serve instead of running the comparison.
const EnvRole = "MPROC_BENCH_CHILD"

// Role serves the socket conn (blocking, fd 3) until EOF and returns. Its
// error is printed on stderr and turns into exit status 1.
type Role func(conn *os.File) error

var (
	rolesMu sync.Mutex
	roles   = map[string]Role{}
)

// Register makes role available under name to Start. Call it from init so
// that the child, which runs the same binary, knows it too.
func Register(name string, role Role) {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if _, dup := roles[name]; dup {
		panic("child: role registered twice: " + name)
	}
	roles[name] = role
}

// Serve runs the role named in EnvRole and exits when this process is a
// child; in the harness itself it returns at once. Call it at the top of
// main, after mproc.Main.
func Serve() {
	name, ok := os.LookupEnv(EnvRole)
	if !ok {
		return
	}
	os.Exit(serve(name, os.NewFile(3, "harness"), os.Stderr))
}

// serve runs role name on conn and returns the exit status, reporting
// problems on stderr.
func serve(name string, conn *os.File, stderr io.Writer) int {
	rolesMu.Lock()
	role := roles[name]
	rolesMu.Unlock()
	if role == nil {
		fmt.Fprintf(stderr, "bench child: unknown role %q (known: %s)\n", name, known())
		return 2
	}
	if conn == nil {
		fmt.Fprintf(stderr, "bench child %s: fd 3 is not open: start children with child.Start\n", name)
		return 2
	}
	if err := role(conn); err != nil {
		fmt.Fprintf(stderr, "bench child %s: %v\n", name, err)
		return 1
	}
	return 0
}

func known() string {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	var names []string
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Process is a running child.
type Process struct {
	// Conn is the harness's end of the socketpair: a blocking socket, so
	// reads and writes are plain system calls with no poller in between.
	Conn *os.File
	cmd  *exec.Cmd
	done chan struct{} // closed when the child has been reaped
	err  error         // the child's exit error, valid after done
	once sync.Once
}

var (
	liveMu sync.Mutex
	live   = map[*Process]struct{}{}
)

// Start re-executes the running binary as a child serving role name. The
// child's stderr goes to the harness's stderr so its failures are seen.
func Start(name string) (*Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("child: cannot find the harness executable to re-execute: %w", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("child: socketpair for role %s: %w", name, err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "child-"+name), os.NewFile(uintptr(fds[1]), "harness")
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvRole+"="+name)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("child: start role %s: %w", name, err)
	}
	p := &Process{Conn: mine, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	liveMu.Lock()
	live[p] = struct{}{}
	liveMu.Unlock()
	return p, nil
}

// Pid returns the child's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// closeGrace is how long Close lets a child finish after EOF before killing
// it: a child busy with a CPU-bound task reads EOF only when it is done.
const closeGrace = 5 * time.Second

// Close closes the harness's end of the socket, waits for the child to exit
// and reaps it; a child still running after closeGrace is killed. It
// returns the child's exit error, if any; closing twice is harmless.
func (p *Process) Close() error {
	var err error
	p.once.Do(func() {
		p.Conn.Close()
		t := time.NewTimer(closeGrace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.cmd.Process.Kill()
			<-p.done
		}
		liveMu.Lock()
		delete(live, p)
		liveMu.Unlock()
		if p.err != nil {
			err = fmt.Errorf("child pid %d: %w", p.cmd.Process.Pid, p.err)
		}
	})
	return err
}

// CloseAll closes every child still running, for the harness's exit path.
func CloseAll() error {
	liveMu.Lock()
	var ps []*Process
	for p := range live {
		ps = append(ps, p)
	}
	liveMu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Live returns how many children are running, for tests that prove none is
// left behind.
func Live() int {
	liveMu.Lock()
	defer liveMu.Unlock()
	return len(live)
}
