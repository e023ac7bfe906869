package spawn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The test binary is also the worker: in a child, TestMain runs the mode
// named by testMode instead of the tests.
const testMode = "SPAWN_TEST_MODE"

func TestMain(m *testing.M) {
	if IsWorker() {
		os.Exit(child(os.Getenv(testMode)))
	}
	code := m.Run()
	if pids := Unwaited(); len(pids) > 0 {
		fmt.Fprintf(os.Stderr, "tests left worker processes behind: %v\n", pids)
		code = 1
	}
	os.Exit(code)
}

func child(mode string) int {
	switch mode {
	case "silent": // like a binary that forgot mproc.Main: runs on, never says hello
		_, err := Start(context.Background(), Config{})
		fmt.Fprintln(os.Stderr, "nested start:", err)
		os.Stdin.Read(make([]byte, 1)) // stdin is /dev/null: returns at once
		for {
			// Not select{}: with nothing else to wake it, the runtime
			// would end a program without cgo as deadlocked.
			time.Sleep(time.Hour)
		}
	case "exit3":
		fmt.Fprintln(os.Stderr, "user main failed here")
		return 3
	case "echo":
		c, err := Attach()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if os.Getenv(Marker) != "" {
			fmt.Fprintln(os.Stderr, "marker still set")
			return 1
		}
		r := bufio.NewReader(c.Conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return 0 // parent closed: exit quietly
			}
			switch strings.TrimSpace(line) {
			case "beat":
				c.Slot.Beat()
			case "spew":
				spew()
			case "crash":
				c.Slot.Start(7)
				c.Slot.Item().Store(3)
				fmt.Fprintln(os.Stderr, "about to die")
				os.Exit(9)
			}
			c.Conn.Write([]byte("echo " + line))
		}
	}
	return 2
}

// spewSize is how much spew writes to each of stdout and stderr: many
// times a pipe's buffer, so that a parent that stopped reading would
// block or break the writes.
const spewSize = 1 << 20

// spew writes spewSize bytes to stdout and to stderr, then a last line to
// stderr.
func spew() {
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range spewSize / len(line) {
		os.Stdout.Write(line)
		os.Stderr.Write(line)
	}
	fmt.Fprintln(os.Stderr, "spewed it all")
}

func start(t *testing.T, mode string, timeout time.Duration) (*Proc, error) {
	t.Helper()
	return Start(t.Context(), Config{
		Env:          append(os.Environ(), testMode+"="+mode),
		StartTimeout: timeout,
	})
}

func TestStartEchoAndKill(t *testing.T) {
	p, err := start(t, "echo", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(p.Conn).ReadString('\n')
	if err != nil || line != "echo ping\n" {
		t.Fatalf("got %q, %v; want echo ping", line, err)
	}
	if _, _, ok := p.Slot.Running(); ok {
		t.Error("slot says a task is running in an idle worker")
	}
	if _, _, ok := p.Slot.Started(); ok {
		t.Error("slot says a task started in an idle worker")
	}
	if p.Exited() {
		t.Error("Exited() = true for a running worker")
	}
	p.Conn.Write([]byte("beat\n"))
	if line, err := bufio.NewReader(p.Conn).ReadString('\n'); err != nil || p.Slot.Beats() != 1 {
		t.Errorf("after a beat: %q, %v, Beats() = %d; want 1", line, err, p.Slot.Beats())
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	exit := p.Wait()
	if exit.Signal != "SIGKILL" || exit.String() != "killed by SIGKILL" {
		t.Errorf("exit = %+v (%s), want killed by SIGKILL", exit, exit)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after exit: %v", err)
	}
	p.Release()
}

func TestParentCloseEndsWorker(t *testing.T) {
	p, err := start(t, "echo", 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Conn.Close()
	if exit := p.Wait(); exit.Code != 0 || exit.Signal != "" {
		t.Errorf("exit = %s, want exit status 0", exit)
	}
	p.Release()
}

func TestSlotNamesRunningTask(t *testing.T) {
	p, err := start(t, "echo", 0)
	if err != nil {
		t.Fatal(err)
	}
	p.Conn.Write([]byte("crash\n"))
	exit := p.Wait()
	if !p.Exited() {
		t.Error("Exited() = false after Wait")
	}
	if exit.Code != 9 {
		t.Errorf("exit = %s, want exit status 9", exit)
	}
	id, item, ok := p.Slot.Running()
	if !ok || id != 7 || item != 3 {
		t.Errorf("Running() = %d, %d, %v; want 7, 3, true", id, item, ok)
	}
	id, at, ok := p.Slot.Started()
	if now := Now(); !ok || id != 7 || at <= 0 || at > now {
		t.Errorf("Started() = %d, %d, %v; want 7 and a time before %d", id, at, ok, now)
	}
	if !p.StderrContains("about to die") || p.StderrContains("not written") {
		t.Error("StderrContains is wrong")
	}
	if !strings.Contains(p.Stderr(), "about to die") {
		t.Errorf("stderr tail %q lacks the worker's last words", p.Stderr())
	}
	p.Release()
}

func TestWorkerThatNeverSaysHello(t *testing.T) {
	_, err := start(t, "silent", 300*time.Millisecond)
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StartError", err)
	}
	for _, want := range []string{"worker did not start", MainHint, "no hello within 300ms", "killed by SIGKILL",
		"nested start: " + ErrInsideWorker.Error()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
}

func TestWorkerThatExitsBeforeHello(t *testing.T) {
	_, err := start(t, "exit3", 0)
	var se *StartError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StartError", err)
	}
	if se.Exit == nil || se.Exit.Code != 3 {
		t.Errorf("Exit = %v, want exit status 3", se.Exit)
	}
	for _, want := range []string{MainHint, "exit status 3", "user main failed here"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
}

func TestStartCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Start(ctx, Config{Env: append(os.Environ(), testMode+"=silent")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStartMissingExecutable(t *testing.T) {
	_, err := Start(t.Context(), Config{Path: "/nonexistent/mproc-worker"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/mproc-worker") {
		t.Fatalf("err = %v, want one naming the path", err)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tl Tail
	for i := range 10000 {
		fmt.Fprintf(&tl, "line %d\n", i)
	}
	s := tl.String()
	if !strings.HasSuffix(s, "line 9999") || strings.Contains(s, "line 0\n") || len(s) > tailShown {
		t.Errorf("tail = %q...%q (%d bytes)", s[:20], s[len(s)-20:], len(s))
	}
	if first := strings.SplitN(s, "\n", 2)[0]; !strings.HasPrefix(first, "line ") {
		t.Errorf("tail starts mid-line: %q", first)
	}
	tl.Write([]byte(strings.Repeat("x", 2*tailSize)))
	if got := tl.String(); len(got) > tailShown {
		t.Errorf("after a huge write, tail has %d bytes, more than %d", len(got), tailShown)
	}
}

func TestTailKeepsTheCrashReason(t *testing.T) {
	var tl Tail
	fmt.Fprintln(&tl, "some output")
	fmt.Fprintln(&tl, "fatal error: concurrent map writes")
	fmt.Fprintln(&tl, "")
	for i := range 500 {
		fmt.Fprintf(&tl, "goroutine %d [running]:\n\tmain.f()\n", i)
	}
	s := tl.String()
	if !strings.HasPrefix(s, "fatal error: concurrent map writes\n") || !strings.Contains(s, "\n[...]\n") ||
		!strings.HasSuffix(s, "goroutine 499 [running]:\n\tmain.f()") {
		t.Errorf("tail lost the crash reason or the end:\n%s", s)
	}
	if strings.Contains(s, "some output") {
		t.Errorf("tail kept output before the crash report:\n%s", s)
	}
}

func TestReadHelloRejectsGarbage(t *testing.T) {
	_, err := readHello(strings.NewReader("GET / HTTP/1.1\r\nHost: x\r\n"))
	if !errors.Is(err, errBadHello) || !strings.Contains(err.Error(), `"GET "`) {
		t.Errorf("err = %v, want bad hello naming the magic", err)
	}
	h := hello{Version: 1, Pid: 42, Fingerprint: 0xfeed}
	got, err := readHello(strings.NewReader(string(h.appendTo(nil))))
	if err != nil || got != h {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, h)
	}
}
