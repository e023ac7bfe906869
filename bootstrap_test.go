package mproc_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"golang.org/x/sys/unix"
)

// buildNoMain builds testdata/nomain, a program that forgot mproc.Main.
func buildNoMain(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "nomain")
	out, err := exec.Command("go", "build", "-o", exe, "./testdata/nomain").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

func TestForgotMain(t *testing.T) {
	exe := buildNoMain(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		// The child runs main, whose NewPool refuses at once; it exits and
		// the parent reports it.
		{"exits", nil, []string{"this process was started as an mproc worker but did not call mproc.Main()"}},
		// The child keeps running main; the parent gives up after its
		// start timeout and kills it.
		{"busy", []string{"busy", "300ms"}, []string{"no hello within 300ms", "killed by SIGKILL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(exe, tc.args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("run: %v, want exit status 1\n%s", err, out)
			}
			for _, want := range append(tc.want, "worker did not start: call mproc.Main() first in main() and in TestMain") {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// When the parent dies, by SIGKILL or by the default action of SIGINT or
// SIGTERM, its workers exit within a second (they watch their control
// socket for EOF) and print nothing.
func TestParentDeath(t *testing.T) {
	for _, sig := range []unix.Signal{unix.SIGKILL, unix.SIGINT, unix.SIGTERM} {
		t.Run(unix.SignalName(sig), func(t *testing.T) { testParentDeath(t, sig) })
	}
}

func testParentDeath(t *testing.T, sig unix.Signal) {
	cmd, out, r, pidfds := startParent(t, "1", 2)
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pidfds)
	// Nothing came after "ready".
	if rest := readRest(t, out, r); rest != "" {
		t.Errorf("after the signal the processes printed %q", rest)
	}
}

// With ShutdownOnSignal, a first SIGINT fails the queued task and lets the
// running one go on; a second kills the workers at once and ends the
// program by SIGINT.
func TestShutdownOnSignal(t *testing.T) {
	cmd, out, r, pidfds := startParent(t, "signals", 1)
	if err := cmd.Process.Signal(unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := r.ReadString('\n')
	want := "queued task: " + (&mproc.InterruptedError{Signal: unix.SIGINT, NotRun: 1}).Error() + "\n"
	if err != nil || line != want {
		t.Fatalf("after one SIGINT the parent said %q (%v), want %q: the queued task did not run", line, err, want)
	}
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil || info.Signo != 0 {
		t.Fatalf("the parent ended after one SIGINT (%v)", err)
	}
	if err := cmd.Process.Signal(unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pidfds)
	if rest := readRest(t, out, r); rest != "" {
		t.Errorf("after the signals the processes printed %q", rest)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("parent ended with %v, want killed by SIGINT", err)
	}
}

// startParent runs this test binary as a parent process in the given mode
// and reads the pids of its workers, as pidfds.
func startParent(t *testing.T, mode string, workers int) (cmd *exec.Cmd, out *os.File, r *bufio.Reader, pidfds []int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), parentModeEnv+"="+mode)
	stdin, err := cmd.StdinPipe() // held open: the parent waits on it
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		for _, fd := range pidfds {
			unix.Close(fd)
		}
	})
	out = stdout.(*os.File)
	r = bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the parent: %v", err)
		}
		line = strings.TrimSpace(line)
		if line == "ready" {
			break
		}
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("parent said %q", line)
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			t.Fatalf("pidfd_open(%d): %v", pid, err)
		}
		pidfds = append(pidfds, fd)
	}
	if len(pidfds) != workers {
		t.Fatalf("parent reported %d workers, want %d", len(pidfds), workers)
	}
	return cmd, out, r, pidfds
}

// waitGone waits until every process behind pidfds has exited, at most a
// second: a pidfd becomes readable when its process exits.
func waitGone(t *testing.T, pidfds []int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for _, fd := range pidfds {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, int(max(time.Until(deadline).Milliseconds(), 0)))
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("a worker outlived its parent by more than 1s")
			}
			break
		}
	}
}

// readRest reads what is left on the parent's stdout, which the workers
// shared: it ends once all of them are gone.
func readRest(t *testing.T, out *os.File, r *bufio.Reader) string {
	t.Helper()
	out.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the rest of the parent's output: %v", err)
	}
	return string(rest)
}
