package mproc_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// openFDs lists this process's open descriptors.
func openFDs(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := map[string]string{}
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[e.Name()] = target
	}
	return fds
}

// checkNoFDLeak fails t if descriptors opened since before are still open
// 10 seconds on: the other end of a queue's or a shared value's connection
// closes in the goroutine that reads it, when the worker's end has closed.
func checkNoFDLeak(t *testing.T, before map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for fd, target := range openFDs(t) {
			if _, ok := before[fd]; !ok && !strings.HasPrefix(target, "/proc/") {
				left = append(left, fd+" ("+target+")")
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("descriptors left open: %v", left)
			return
		}
		time.Sleep(time.Millisecond) // polling /proc: no event says a descriptor closed
	}
}

type note struct {
	To  *os.File
	Msg string
}

// writeNote writes n.Msg to n.To, a file the parent passed.
func writeNote(_ context.Context, n note) (int, error) { return n.To.WriteString(n.Msg) }

// openForReading opens name in the worker and returns the open file.
func openForReading(_ context.Context, name string) (*os.File, error) { return os.Open(name) }

type twoRefs struct{ A, B *os.File }

// sameFile reports whether both fields arrived as one *os.File.
func sameFile(_ context.Context, v twoRefs) (bool, error) { return v.A == v.B, nil }

func TestFileTravelsWithATaskAndIsClosedAfterIt(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	before := openFDs(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	n, err := mproc.Submit(ctx, pool, writeNote, note{To: w, Msg: "written by the worker\n"}).Wait(ctx)
	if err != nil || n != 22 {
		t.Fatalf("Submit = %d, %v", n, err)
	}
	w.Close()
	// The worker closed its duplicate when the task returned: with the
	// parent's closed too, the pipe reads to its end.
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "written by the worker\n" {
		t.Fatalf("read %q, %v: the worker still holds the pipe, or wrote nothing", got, err)
	}
	r.Close()
	checkNoFDLeak(t, before)
}

func TestFileComesBackAsAResult(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	name := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(name, []byte("opened in the worker"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	ctx := context.Background()
	f, err := mproc.Submit(ctx, pool, openForReading, name).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != name {
		t.Errorf("the file came back named %q, want %q", f.Name(), name)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "opened in the worker" {
		t.Fatalf("read %q, %v", got, err)
	}
	f.Close()
	checkNoFDLeak(t, before)
}

func TestOneFileTwiceInAValueArrivesOnce(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	same, err := mproc.Map(ctx, pool, sameFile, []twoRefs{{f, f}, {f, nil}})
	if err != nil {
		t.Fatal(err)
	}
	if !same[0] || same[1] {
		t.Fatalf("sameFile = %v, want [true false]: a file referred to twice is one file in the worker", same)
	}
}

func TestFileRefusedWhereBytesAreTheDestination(t *testing.T) {
	_, err := codec.Marshal(note{To: os.Stdout})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("Marshal of a value holding a file = %v, want an *codec.UnsupportedError", err)
	}
	for _, want := range []string{".To", "*os.File", "duplicated descriptor", "processes of this machine", "Submit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Through mproc, the same value is fine.
	if err := codec.Sendable(note{To: os.Stdout}); err != nil {
		t.Errorf("Sendable = %v", err)
	}
}

func TestClosedFileFailsItsTaskAlone(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	pids := pool.Pids()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx := context.Background()
	_, err = mproc.Submit(ctx, pool, writeNote, note{To: f, Msg: "x"}).Wait(ctx)
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "keep the file open until the call that sends it returns") {
		t.Fatalf("Submit with a closed file = %v, want an *codec.UnsupportedError saying to keep it open", err)
	}
	if got := pool.Pids(); len(got) != 1 || got[0] != pids[0] {
		t.Fatalf("worker pids %v, then %v: a closed file in an input must not cost a worker", pids, got)
	}
	if n, err := mproc.Submit(ctx, pool, writeNote, note{To: os.Stderr, Msg: ""}).Wait(ctx); err != nil || n != 0 {
		t.Fatalf("the next task = %d, %v", n, err)
	}
}

func TestRoundTripBackendPassesHandles(t *testing.T) {
	pool := newPool(t, mproc.InProcess(), mproc.RoundTrip())
	ctx := deadline(t)
	q := mproc.NewQueue[int]()
	if _, err := mproc.Map(ctx, pool, putN, []produceN{{q, 3}}); err != nil {
		t.Fatalf("a queue through the RoundTrip backend: %v", err)
	}
	for want := range 3 {
		if v, err := q.Get(ctx); err != nil || v != want {
			t.Fatalf("Get = %d, %v", v, err)
		}
	}
}
