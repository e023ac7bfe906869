package queue

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/sock"
	"github.com/mproc-go/mproc/internal/stream"
)

// A Client is a queue in a process it was handed to: a connection to the
// broker in the process that made it.
type Client[T any] struct {
	Name string
	Cap  int

	s *stream.Stream[envelope[T]]

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	buf      []T           // sent here, not yet taken
	asked    int           // items wanted and not yet here
	credits  int           // room for Puts (bounded queues)
	askedFor bool          // room asked for
	putErr   error
	getErr   error
	lens     []chan uint64
	joins    []chan struct{}
	gone     bool
}

// NewClient serves the client side of connection c.
func NewClient[T any](name string, capacity int, c *sock.Conn) *Client[T] {
	cl := &Client[T]{Name: name, Cap: capacity, s: stream.New[envelope[T]](c), changed: make(chan struct{})}
	go cl.read()
	return cl
}

// notify wakes every waiter. cl.mu is held.
func (cl *Client[T]) notify() {
	close(cl.changed)
	cl.changed = make(chan struct{})
}

// read takes the broker's messages until the connection ends.
func (cl *Client[T]) read() {
	for {
		m, files, err := cl.s.Recv()
		cl.mu.Lock()
		if err != nil {
			stream.CloseAll(files)
			cl.lost(err)
			cl.mu.Unlock()
			return
		}
		switch m.Kind {
		case kItem:
			cl.buf = append(cl.buf, m.V) // its files are the value's
			cl.asked--
		case kState:
			switch m.Arg {
			case stPutClosed:
				cl.putErr = ErrClosed
			case stClosed:
				cl.putErr, cl.getErr = ErrClosed, ErrClosed
				cl.asked = 0
			}
		case kRoom:
			cl.credits += int(m.Arg)
			cl.askedFor = false
		case kLen:
			if len(cl.lens) > 0 {
				cl.lens[0] <- m.Arg
				cl.lens = cl.lens[1:]
			}
		case kJoin:
			if len(cl.joins) > 0 {
				close(cl.joins[0])
				cl.joins = cl.joins[1:]
			}
		default:
			stream.CloseAll(files)
		}
		cl.notify()
		cl.mu.Unlock()
	}
}

// lost records the end of the connection. cl.mu is held.
func (cl *Client[T]) lost(err error) {
	if !cl.gone {
		cl.gone = true
		why := ErrOwnerGone
		if errors.Is(err, os.ErrClosed) {
			why = ErrReleased
		}
		if cl.putErr == nil || cl.putErr == ErrClosed {
			cl.putErr = why
		}
		if cl.getErr == nil || why == ErrReleased {
			cl.getErr = why
		}
		if !errors.Is(err, io.EOF) {
			cl.s.Conn().Close()
		}
	}
	clear(cl.buf) // the broker takes them back
	cl.buf = nil
	for _, ch := range cl.lens {
		close(ch)
	}
	cl.lens = nil
	cl.notify()
}

// Put sends v to the broker; it returns once the whole item is in the
// kernel, on its way to the broker. An *codec.UnsupportedError means
// nothing was sent.
func (cl *Client[T]) Put(ctx context.Context, v T) error {
	cl.mu.Lock()
	for {
		if cl.putErr != nil {
			err := cl.putErr
			cl.mu.Unlock()
			return err
		}
		if cl.Cap == 0 || cl.credits > 0 {
			break
		}
		if !cl.askedFor {
			cl.askedFor = true
			if _, err := cl.s.Send(envelope[T]{Kind: kRoom, Arg: 1}); err != nil {
				cl.mu.Unlock()
				return cl.writeErr()
			}
		}
		ch := cl.changed
		cl.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err() // the room asked for comes, and serves the next Put
		}
		cl.mu.Lock()
	}
	if cl.Cap > 0 {
		cl.credits--
	}
	cl.mu.Unlock()
	if _, err := cl.s.Send(envelope[T]{Kind: kPut, V: v}); err != nil {
		if stream.IsRefusal(err) {
			if cl.Cap > 0 {
				cl.mu.Lock()
				cl.credits++ // not used
				cl.mu.Unlock()
			}
			return err
		}
		return cl.writeErr()
	}
	return nil
}

// PutMany sends vs with one write, for a queue without a bound. On a
// refusal of vs[i], vs[:i] were sent.
func (cl *Client[T]) PutMany(ctx context.Context, vs []T) (sent int, err error) {
	cl.mu.Lock()
	err = cl.putErr
	cl.mu.Unlock()
	if err != nil {
		return 0, err
	}
	ms := make([]envelope[T], len(vs))
	for i, v := range vs {
		ms[i] = envelope[T]{Kind: kPut, V: v}
	}
	sent, err = cl.s.Send(ms...)
	if err != nil && !stream.IsRefusal(err) {
		return 0, cl.writeErr()
	}
	return sent, err
}

// writeErr is what a failed write to the broker means.
func (cl *Client[T]) writeErr() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.gone {
		return cl.putErr
	}
	if _, err := cl.s.Conn().File().Stat(); errors.Is(err, os.ErrClosed) {
		return ErrReleased
	}
	return ErrOwnerGone
}

// Get takes the next item, asking the broker for up to window items ahead
// (1 asks for this one only).
func (cl *Client[T]) Get(ctx context.Context, window int) (T, error) {
	var zero T
	cl.mu.Lock()
	for {
		if len(cl.buf) > 0 {
			v := cl.buf[0]
			cl.buf[0] = zero
			cl.buf = cl.buf[1:]
			cl.mu.Unlock()
			// The broker forgets the item only now: a process killed
			// before this line gives it back.
			cl.s.Send(envelope[T]{Kind: kAck, Arg: 1})
			return v, nil
		}
		if cl.getErr != nil {
			err := cl.getErr
			cl.mu.Unlock()
			return zero, err
		}
		if want := window - cl.asked; want > 0 {
			cl.asked += want
			if _, err := cl.s.Send(envelope[T]{Kind: kWant, Arg: uint64(want)}); err != nil {
				cl.mu.Unlock()
				return zero, cl.writeErr()
			}
		}
		ch := cl.changed
		cl.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			// What was asked for still comes, for the next Get; the
			// broker takes it back if this process lets go.
			return zero, ctx.Err()
		}
		cl.mu.Lock()
	}
}

// Len asks the broker for the number of items queued.
func (cl *Client[T]) Len(ctx context.Context) (int, error) {
	ch := make(chan uint64, 1)
	cl.mu.Lock()
	if cl.gone {
		cl.mu.Unlock()
		return 0, ErrOwnerGone
	}
	cl.lens = append(cl.lens, ch)
	_, err := cl.s.Send(envelope[T]{Kind: kLen})
	cl.mu.Unlock()
	if err != nil {
		return 0, cl.writeErr()
	}
	select {
	case n, ok := <-ch:
		if !ok {
			return 0, ErrOwnerGone
		}
		return int(n), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close asks the broker to close the queue.
func (cl *Client[T]) Close() error {
	if _, err := cl.s.Send(envelope[T]{Kind: kClose}); err != nil {
		return cl.writeErr()
	}
	return nil
}

// TaskDone tells the broker n items were processed.
func (cl *Client[T]) TaskDone(n int) error {
	if _, err := cl.s.Send(envelope[T]{Kind: kDone, Arg: uint64(n)}); err != nil {
		return cl.writeErr()
	}
	return nil
}

// Join waits until every item put has been marked done.
func (cl *Client[T]) Join(ctx context.Context) error {
	ch := make(chan struct{})
	cl.mu.Lock()
	if cl.gone {
		cl.mu.Unlock()
		return ErrOwnerGone
	}
	cl.joins = append(cl.joins, ch)
	_, err := cl.s.Send(envelope[T]{Kind: kJoin})
	changed := cl.changed
	cl.mu.Unlock()
	if err != nil {
		return cl.writeErr()
	}
	for {
		select {
		case <-ch:
			return nil
		case <-changed:
			cl.mu.Lock()
			gone := cl.gone
			changed = cl.changed
			cl.mu.Unlock()
			if gone {
				return ErrOwnerGone
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Dial makes a new connection to the broker, through this one, and returns
// the end to hand to another process.
func (cl *Client[T]) Dial() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-queue " + cl.Name)
	if err != nil {
		return nil, err
	}
	// The broker serves the end it receives; this process keeps none.
	_, err = cl.s.Send(envelope[T]{Kind: kDial, F: mine.File()})
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, cl.writeErr()
	}
	return theirs, nil
}

// Release closes the connection: the broker takes back what was sent here
// and not taken.
func (cl *Client[T]) Release() error { return cl.s.Conn().Close() }
