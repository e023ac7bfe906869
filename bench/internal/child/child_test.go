package child

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	Register("test-echo", func(conn *os.File) error {
		_, err := io.Copy(conn, conn)
		return err
	})
	Register("test-fail", func(*os.File) error { return errors.New("deliberate failure") })
	// test-spawner starts a test-echo grandchild, reports its pid and waits
	// for EOF: killing it shows whether the grandchild outlives it.
	Register("test-spawner", func(conn *os.File) error {
		p, err := Start("test-echo")
		if err != nil {
			return err
		}
		if err := binary.Write(conn, binary.LittleEndian, int64(p.Pid())); err != nil {
			return err
		}
		io.Copy(io.Discard, conn)
		return p.Close()
	})
}

func TestMain(m *testing.M) {
	Serve()
	code := m.Run()
	if n := Live(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "child tests left %d process(es) running\n", n)
		CloseAll()
		code = 1
	}
	os.Exit(code)
}

func TestEcho(t *testing.T) {
	p, err := Start("test-echo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(p.Conn, got); err != nil || string(got) != "ping" {
		t.Fatalf("read %q, %v; want the echo", got, err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v, want a clean exit at EOF", err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Close returned before the child was reaped")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if Live() != 0 {
		t.Errorf("Live = %d after Close", Live())
	}
}

func TestRoleErrorIsExitStatusOne(t *testing.T) {
	p, err := Start("test-fail")
	if err != nil {
		t.Fatal(err)
	}
	err = p.Close()
	if err == nil || !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), fmt.Sprint(p.Pid())) {
		t.Errorf("Close = %v, want exit status 1 naming the pid", err)
	}
}

func TestServeUnknownRole(t *testing.T) {
	var stderr bytes.Buffer
	if code := serve("no-such-role", os.Stdin, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if msg := stderr.String(); !strings.Contains(msg, `unknown role "no-such-role"`) || !strings.Contains(msg, "test-echo") {
		t.Errorf("stderr %q should name the role and the known ones", msg)
	}
}

func TestServeWithoutSocket(t *testing.T) {
	var stderr bytes.Buffer
	if code := serve("test-echo", nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "fd 3 is not open") {
		t.Errorf("serve without fd 3 = %d, %q; want 2 and the reason", code, stderr.String())
	}
}

func TestServeRoleError(t *testing.T) {
	var stderr bytes.Buffer
	if code := serve("test-fail", os.Stdin, &stderr); code != 1 || !strings.Contains(stderr.String(), "test-fail: deliberate failure") {
		t.Errorf("serve = %d, %q; want 1 and the role's error", code, stderr.String())
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "test-echo") {
			t.Errorf("recover() = %v, want a panic naming the role", r)
		}
	}()
	Register("test-echo", nil)
}

// A grandchild must exit when its parent dies by SIGKILL: it reads EOF.
func TestChildDiesWithHarness(t *testing.T) {
	p, err := Start("test-spawner")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var pid int64
	if err := binary.Read(p.Conn, binary.LittleEndian, &pid); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(int(pid), 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// A pidfd becomes readable when the process exits.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			unix.Kill(int(pid), unix.SIGKILL)
			t.Fatalf("grandchild %d still running 10 s after its parent was killed", pid)
		}
		return
	}
}

func TestCloseAll(t *testing.T) {
	for range 2 {
		if _, err := Start("test-echo"); err != nil {
			t.Fatal(err)
		}
	}
	if Live() != 2 {
		t.Fatalf("Live = %d, want 2", Live())
	}
	if err := CloseAll(); err != nil {
		t.Fatal(err)
	}
	if Live() != 0 {
		t.Errorf("Live = %d after CloseAll", Live())
	}
}
