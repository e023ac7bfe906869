package mproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// echo sends back every message it receives, plus one, until the other
// end closes.
func echo(ctx context.Context, p *mproc.PipeEnd[int]) (int, error) {
	n := 0
	for {
		v, err := p.Recv(ctx)
		if errors.Is(err, mproc.ErrPipeClosed) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := p.Send(ctx, v+1); err != nil {
			return n, err
		}
		n++
	}
}

func TestPipeRoundTripsWithAProcess(t *testing.T) {
	ctx := deadline(t)
	before := openFDs(t)
	mine, theirs, err := mproc.NewPipe[int]()
	if err != nil {
		t.Fatal(err)
	}
	pr, err := mproc.Start(ctx, echo, theirs)
	if err != nil {
		t.Fatal(err)
	}
	theirs.Close() // the process has its own copy now
	for i := range 100 {
		if err := mine.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
		v, err := mine.Recv(ctx)
		if err != nil || v != i+1 {
			t.Fatalf("Recv = %d, %v; want %d", v, err, i+1)
		}
	}
	mine.Close()
	n, err := pr.Wait()
	if err != nil || n != 100 {
		t.Fatalf("the process echoed %d messages, %v; want 100 and the end of the pipe", n, err)
	}
	checkNoFDLeak(t, before)
}

func TestPipeRecvCancelledLosesNothing(t *testing.T) {
	a, b, err := mproc.NewPipe[string]()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Recv(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv with nothing sent = %v, want the context's error", err)
	}
	ctx := deadline(t)
	if err := a.Send(ctx, "after the cancelled Recv"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Recv(ctx); err != nil || v != "after the cancelled Recv" {
		t.Fatalf("Recv = %q, %v", v, err)
	}
}

func TestPipeReportsTheOtherEndClosed(t *testing.T) {
	a, b, err := mproc.NewPipe[int]()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := deadline(t)
	a.Send(ctx, 7)
	a.Close()
	if v, err := b.Recv(ctx); err != nil || v != 7 {
		t.Fatalf("Recv = %d, %v: what was sent before Close is delivered", v, err)
	}
	_, err = b.Recv(ctx)
	var pe *mproc.PipeError
	if !errors.As(err, &pe) || !errors.Is(err, mproc.ErrPipeClosed) || pe.Op != "Recv" || pe.Pid != os.Getpid() {
		t.Fatalf("Recv after the other end closed = %v", err)
	}
	if err := b.Send(ctx, 1); !errors.Is(err, mproc.ErrPipeClosed) {
		t.Fatalf("Send with nobody to read = %v, want ErrPipeClosed", err)
	}
}

func TestPipeSendRefusesWhatCannotTravel(t *testing.T) {
	a, b, err := mproc.NewPipe[any]()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	args := os.Args
	err = a.Send(context.Background(), func() int { return len(args) }) // captures args

	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || !strings.HasPrefix(ue.Path, "message") {
		t.Fatalf("Send of a func literal = %v, want an *codec.UnsupportedError with a path from message", err)
	}
}

type endAndFile struct {
	End  *mproc.PipeEnd[string]
	File *os.File
}

// relay receives a pipe end and a file through a queue item, writes what
// the pipe brings into the file.
func relay(ctx context.Context, q *mproc.Queue[endAndFile]) (int, error) {
	v, err := q.Get(ctx)
	if err != nil {
		return 0, err
	}
	defer v.End.Close()
	defer v.File.Close()
	s, err := v.End.Recv(ctx)
	if err != nil {
		return 0, err
	}
	return v.File.WriteString(s)
}

func TestHandlesTravelInsideQueueItems(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	q := mproc.NewQueue[endAndFile]()
	a, b, err := mproc.NewPipe[string]()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := q.Put(ctx, endAndFile{End: b, File: w}); err != nil {
		t.Fatal(err)
	}
	b.Close() // the queue holds a copy of each
	w.Close()
	fut := mproc.Submit(ctx, pool, relay, q)
	if err := a.Send(ctx, "through a pipe end that went through a queue"); err != nil {
		t.Fatal(err)
	}
	if _, err := fut.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "through a pipe end that went through a queue" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}
