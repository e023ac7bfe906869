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
	"testing"
	"time"

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
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), parentModeEnv+"=1")
	stdin, err := cmd.StdinPipe() // held open: the parent waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	var pidfds []int
	r := bufio.NewReader(stdout)
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
		defer unix.Close(fd)
		pidfds = append(pidfds, fd)
	}
	if len(pidfds) != 2 {
		t.Fatalf("parent reported %d workers, want 2", len(pidfds))
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for _, fd := range pidfds {
		// A pidfd becomes readable when its process exits.
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
	// The workers shared the parent's stdout; all of them are gone, so the
	// pipe ends here, and nothing came after "ready".
	stdout.(*os.File).SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) > 0 {
		t.Errorf("after the signal the processes printed %q (%v)", rest, err)
	}
}
