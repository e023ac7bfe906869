package mproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mproc-go/mproc/internal/queue"
	"github.com/mproc-go/mproc/internal/sock"
)

// NewPipe returns the two ends of a duplex connection carrying values of
// type T, like Python's multiprocessing.Pipe(): what one end sends, the
// other receives, in order. Either end can be handed to any process of
// this machine — in a task's input or result, a Start or Initializer
// argument, a Queue item, or through the other pipe end — as a handle: its
// socket is passed as a descriptor. The process that sends an end keeps
// its own copy, as in Python: close it if it should not read or write.
//
// A message is an encode and one write; its open files travel as handles.
// Recv reports ErrPipeClosed once every process holding the other end has
// closed it or exited.
func NewPipe[T any]() (*PipeEnd[T], *PipeEnd[T], error) {
	a, b, err := sock.Pair("mproc-pipe")
	if err != nil {
		return nil, nil, fmt.Errorf("mproc: NewPipe: %w", err)
	}
	return newPipeEnd[T](a), newPipeEnd[T](b), nil
}

// A PipeEnd is one end of a pipe made by NewPipe. It is safe for
// concurrent use: Sends go one at a time, whole, and so do Recvs.
type PipeEnd[T any] struct {
	c *sock.Conn
	w *sock.RecordWriter

	rmu sync.Mutex
	r   *sock.RecordReader

	smu    sync.Mutex
	broken error // a Send cut short: the stream is torn
}

func newPipeEnd[T any](c *sock.Conn) *PipeEnd[T] {
	return &PipeEnd[T]{c: c, w: sock.NewRecordWriter(c), r: sock.NewRecordReader(c)}
}

// ErrPipeClosed is what Recv reports once the other end is closed in every
// process that held it, and Send once nobody can read.
var ErrPipeClosed = errors.New("the other end of the pipe is closed")

// A PipeError reports a Send or a Recv that failed, in which process and
// why (Err: ErrPipeClosed, a *codec.UnsupportedError, a context's error).
type PipeError struct {
	Op  string // "Send" or "Recv"
	Pid int
	Err error
}

func (e *PipeError) Error() string {
	return fmt.Sprintf("mproc: pipe %s in process %d: %v", e.Op, e.Pid, e.Err)
}

func (e *PipeError) Unwrap() error { return e.Err }

func pipeFail(op string, err error) error {
	if err == nil {
		return nil
	}
	return &PipeError{Op: op, Pid: os.Getpid(), Err: err}
}

// Send sends v to the other end. It returns once the whole message is in
// the kernel, so the process may exit right after; it waits while the
// other end's buffer is full. A Send that ctx ends in the middle of a
// large message leaves the pipe torn: later Sends fail.
func (p *PipeEnd[T]) Send(ctx context.Context, v T) error {
	it, err := queue.Encode(box[T]{V: v})
	if err != nil {
		return pipeFail("Send", userPath(err, func(path string) (string, bool) {
			rest, ok := strings.CutPrefix(path, ".V")
			return "message" + rest, ok
		}))
	}
	defer sock.CloseFiles(it.Files)
	p.smu.Lock()
	defer p.smu.Unlock()
	if p.broken != nil {
		return pipeFail("Send", p.broken)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { p.c.SetWriteDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				p.c.SetWriteDeadline(time.Time{})
			}
		}()
	}
	err = p.w.Write(sock.Record{Kind: 'M', Data: it.Data, Files: it.Files})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		p.broken = fmt.Errorf("a Send was cancelled in the middle of a message: %w", ctx.Err())
		return pipeFail("Send", ctx.Err())
	case errors.Is(err, os.ErrClosed):
		return pipeFail("Send", err)
	}
	return pipeFail("Send", fmt.Errorf("%w (%v)", ErrPipeClosed, err))
}

// Recv waits for the next message from the other end. A Recv that ctx
// ends loses nothing: what had arrived of a message waits for the next.
func (p *PipeEnd[T]) Recv(ctx context.Context) (T, error) {
	var zero T
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { p.c.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				p.c.SetReadDeadline(time.Time{})
			}
		}()
	}
	rec, err := p.r.Read()
	if err != nil {
		switch {
		case ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
			return zero, pipeFail("Recv", ctx.Err())
		case errors.Is(err, io.EOF):
			return zero, pipeFail("Recv", ErrPipeClosed)
		}
		return zero, pipeFail("Recv", err)
	}
	var b box[T]
	if err := queue.Decode(queue.Item{Data: rec.Data, Files: rec.Files}, &b); err != nil {
		return zero, pipeFail("Recv", err)
	}
	return b.V, nil
}

// Close closes this process's copy of the end.
func (p *PipeEnd[T]) Close() error { return p.c.Close() }

// pipeHandle is what a PipeEnd sends of itself.
type pipeHandle struct{ Conn *os.File }

// MarshalHandle passes the end's socket (codec.HandleMarshaler); this
// process keeps its copy.
func (p *PipeEnd[T]) MarshalHandle() (any, []*os.File, error) {
	return pipeHandle{Conn: p.c.File()}, nil, nil
}

// UnmarshalHandle makes the end received usable here
// (codec.HandleUnmarshaler).
func (p *PipeEnd[T]) UnmarshalHandle(state any) error {
	h, ok := state.(pipeHandle)
	if !ok || h.Conn == nil {
		return fmt.Errorf("mproc: a PipeEnd's handle is a %T", state)
	}
	c, err := sock.FileConn(h.Conn)
	if err != nil {
		return fmt.Errorf("mproc: pipe end: %w", err)
	}
	p.c, p.w, p.r = c, sock.NewRecordWriter(c), sock.NewRecordReader(c)
	return nil
}

// CloseHandle closes this process's copy of the end (codec.HandleCloser).
func (p *PipeEnd[T]) CloseHandle() error { return p.Close() }
