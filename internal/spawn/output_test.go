package spawn

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// failingWriter fails every write, like a closed pipe or a full disk, and
// counts the writes it was asked for.
type failingWriter struct {
	mu    sync.Mutex
	calls int
}

var errDiskFull = errors.New("no space left on device (test)")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	return 0, errDiskFull
}

func (w *failingWriter) Calls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// reported collects OutputError's calls.
type reported struct {
	mu    sync.Mutex
	calls []string
}

func (r *reported) add(pid int, stream string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !errors.Is(err, errDiskFull) {
		stream += " with " + err.Error()
	}
	r.calls = append(r.calls, stream)
}

func (r *reported) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, ",")
}

// spewThen starts an echo worker whose output goes to writers that always
// fail, has it write 1 MiB to each stream, and then sends it last.
func spewThen(t *testing.T, last string) (*Proc, *failingWriter, *failingWriter, *reported) {
	t.Helper()
	stdout, stderr, rep := &failingWriter{}, &failingWriter{}, &reported{}
	p, err := Start(t.Context(), Config{
		Env:         append(os.Environ(), testMode+"=echo"),
		Stdout:      stdout,
		Stderr:      stderr,
		OutputError: rep.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(p.Conn)
	p.Conn.Write([]byte("spew\n"))
	if line, err := r.ReadString('\n'); line != "echo spew\n" {
		p.Kill()
		exit := p.Wait()
		p.Release()
		t.Fatalf("after spewing the worker answered %q, %v, and ended with %s; want echo spew", line, err, exit)
	}
	if last == "" {
		p.Conn.Close()
	} else {
		p.Conn.Write([]byte(last + "\n"))
	}
	return p, stdout, stderr, rep
}

// TestOutputOutlivesFailingWriter: writers that fail every write do not
// kill the worker nor stop its stderr's tail from being kept; each is
// asked once, and OutputError told once per stream.
func TestOutputOutlivesFailingWriter(t *testing.T) {
	p, stdout, stderr, rep := spewThen(t, "")
	exit := p.Wait()
	p.Release()
	if exit.Code != 0 || exit.Signal != "" {
		t.Errorf("exit = %s, want exit status 0: the worker must not see its parent's writer fail", exit)
	}
	if !strings.HasSuffix(p.Stderr(), "spewed it all") {
		t.Errorf("stderr tail ends with %q, want the worker's last line", p.Stderr()[max(0, len(p.Stderr())-80):])
	}
	if stdout.Calls() != 1 || stderr.Calls() != 1 {
		t.Errorf("the failing writers were called %d and %d times, want once each", stdout.Calls(), stderr.Calls())
	}
	if got := rep.String(); got != "stderr,stdout" && got != "stdout,stderr" {
		t.Errorf("OutputError calls = %q, want stdout and stderr once each", got)
	}
	if st := p.ProcessState(); st == nil || st.ExitCode() != 0 {
		t.Errorf("ProcessState() = %v after Wait, want exit status 0", st)
	}
}

// TestOutputTailAfterFailingWriterCrash: a worker that crashes after its
// writer failed still has the tail of its stderr kept.
func TestOutputTailAfterFailingWriterCrash(t *testing.T) {
	p, _, _, _ := spewThen(t, "crash")
	exit := p.Wait()
	p.Release()
	if exit.Code != 9 {
		t.Errorf("exit = %s, want exit status 9", exit)
	}
	if tail := p.Stderr(); !strings.HasSuffix(tail, "spewed it all\nabout to die") {
		t.Errorf("stderr tail ends with %q, want the worker's last words", tail[max(0, len(tail)-80):])
	}
}

// TestOutputFileStdoutIsDirect: an *os.File stdout is the worker's own
// fd 1, not copied here, and gets everything.
func TestOutputFileStdoutIsDirect(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Start(t.Context(), Config{Env: append(os.Environ(), testMode+"=echo"), Stdout: f, Stderr: &failingWriter{}})
	if err != nil {
		t.Fatal(err)
	}
	var ours, theirs syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &ours)
	if err := syscall.Stat("/proc/"+strconv.Itoa(p.Pid)+"/fd/1", &theirs); err != nil || ours.Ino != theirs.Ino || ours.Dev != theirs.Dev {
		t.Errorf("the worker's fd 1 is not the file given as Stdout (%v)", err)
	}
	r := bufio.NewReader(p.Conn)
	p.Conn.Write([]byte("spew\n"))
	r.ReadString('\n')
	p.Conn.Close()
	if exit := p.Wait(); exit.Code != 0 {
		t.Errorf("exit = %s, want exit status 0", exit)
	}
	p.Release()
	if st, err := f.Stat(); err != nil {
		t.Error(err)
	} else if st.Size() != spewSize {
		t.Errorf("stdout file has %d bytes, want %d", st.Size(), spewSize)
	}
}
