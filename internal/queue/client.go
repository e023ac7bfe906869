package queue

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/sock"
)

// A Client is a queue in a process it was handed to: a connection to the
// broker in the process that made it.
type Client struct {
	Name string
	Cap  int

	c *sock.Conn
	w *sock.RecordWriter

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	buf      []Item        // delivered, not yet taken
	asked    int           // items wanted and not delivered
	credits  int           // room for Puts (bounded queues)
	askedFor bool          // room asked for
	putErr   error
	getErr   error
	lens     []chan uint64
	joins    []chan struct{}
	gone     bool
}

// NewClient serves the client side of connection c.
func NewClient(name string, capacity int, c *sock.Conn) *Client {
	cl := &Client{Name: name, Cap: capacity, c: c, w: sock.NewRecordWriter(c), changed: make(chan struct{})}
	go cl.read()
	return cl
}

// Conn returns the client's connection.
func (cl *Client) Conn() *sock.Conn { return cl.c }

// notify wakes every waiter. cl.mu is held.
func (cl *Client) notify() {
	close(cl.changed)
	cl.changed = make(chan struct{})
}

// read takes the broker's records until the connection ends.
func (cl *Client) read() {
	r := sock.NewRecordReader(cl.c)
	for {
		rec, err := r.Read()
		cl.mu.Lock()
		if err != nil {
			if !cl.gone {
				cl.gone = true
				why := ErrOwnerGone
				if errors.Is(err, os.ErrClosed) {
					why = ErrReleased
				}
				if cl.putErr == nil || cl.putErr == ErrClosed {
					cl.putErr = why
				}
				if cl.getErr == nil || cl.getErr == ErrClosed && why == ErrReleased {
					cl.getErr = why
				}
				if err != io.EOF {
					cl.c.Close()
				}
			}
			for _, it := range cl.buf {
				it.close()
			}
			cl.buf = nil
			for _, ch := range cl.lens {
				close(ch)
			}
			cl.lens = nil
			cl.notify()
			cl.mu.Unlock()
			return
		}
		switch rec.Kind {
		case kItem:
			cl.buf = append(cl.buf, Item{Data: rec.Data, Files: rec.Files})
			cl.asked--
		case kState:
			switch rec.Arg {
			case stPutClosed:
				cl.putErr = ErrClosed
			case stClosed:
				cl.putErr, cl.getErr = ErrClosed, ErrClosed
				cl.asked = 0
			case stNoWriters:
				cl.getErr = ErrNoWriters
				cl.asked = 0
			}
		case kRoom:
			cl.credits += int(rec.Arg)
			cl.askedFor = false
		case kLen:
			if len(cl.lens) > 0 {
				cl.lens[0] <- rec.Arg
				cl.lens = cl.lens[1:]
			}
		case kJoin:
			if len(cl.joins) > 0 {
				close(cl.joins[0])
				cl.joins = cl.joins[1:]
			}
		default:
			sock.CloseFiles(rec.Files)
		}
		cl.notify()
		cl.mu.Unlock()
	}
}

// Put sends an item to the broker; it returns once the whole item is in
// the kernel, on its way to the broker. The caller keeps it.Files.
func (cl *Client) Put(ctx context.Context, it Item) error {
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
			if err := cl.w.Write(sock.Record{Kind: kRoom, Arg: 1}); err != nil {
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
	if err := cl.w.Write(sock.Record{Kind: kPut, Data: it.Data, Files: it.Files}); err != nil {
		return cl.writeErr()
	}
	return nil
}

// writeErr is what a failed write to the broker means.
func (cl *Client) writeErr() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.gone {
		return cl.putErr
	}
	if cl.c.File() != nil {
		if _, err := cl.c.File().Stat(); errors.Is(err, os.ErrClosed) {
			return ErrReleased
		}
	}
	return ErrOwnerGone
}

// Get takes the next item, asking the broker for up to window items ahead
// (1 asks for this one only). The item's files are the caller's.
func (cl *Client) Get(ctx context.Context, window int) (Item, error) {
	cl.mu.Lock()
	for {
		if len(cl.buf) > 0 {
			it := cl.buf[0]
			cl.buf[0] = Item{}
			cl.buf = cl.buf[1:]
			cl.mu.Unlock()
			// The broker forgets the item only now: a process killed
			// before this line gives it back.
			cl.w.Write(sock.Record{Kind: kAck, Arg: 1})
			return it, nil
		}
		if cl.getErr != nil {
			err := cl.getErr
			cl.mu.Unlock()
			return Item{}, err
		}
		if want := window - cl.asked; want > 0 {
			cl.asked += want
			if err := cl.w.Write(sock.Record{Kind: kWant, Arg: uint64(want)}); err != nil {
				cl.mu.Unlock()
				return Item{}, cl.writeErr()
			}
		}
		ch := cl.changed
		cl.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			// What was asked for still comes, for the next Get; the
			// broker takes it back if this process lets go.
			return Item{}, ctx.Err()
		}
		cl.mu.Lock()
	}
}

// Len asks the broker for the number of items queued.
func (cl *Client) Len(ctx context.Context) (int, error) {
	ch := make(chan uint64, 1)
	cl.mu.Lock()
	if cl.gone {
		cl.mu.Unlock()
		return 0, ErrOwnerGone
	}
	cl.lens = append(cl.lens, ch)
	err := cl.w.Write(sock.Record{Kind: kLen})
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
func (cl *Client) Close() error {
	if err := cl.w.Write(sock.Record{Kind: kClose}); err != nil {
		return cl.writeErr()
	}
	return nil
}

// TaskDone tells the broker n items were processed.
func (cl *Client) TaskDone(n int) error {
	if err := cl.w.Write(sock.Record{Kind: kDone, Arg: uint64(n)}); err != nil {
		return cl.writeErr()
	}
	return nil
}

// Join waits until every item put has been marked done.
func (cl *Client) Join(ctx context.Context) error {
	ch := make(chan struct{})
	cl.mu.Lock()
	if cl.gone {
		cl.mu.Unlock()
		return ErrOwnerGone
	}
	cl.joins = append(cl.joins, ch)
	err := cl.w.Write(sock.Record{Kind: kJoin})
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
func (cl *Client) Dial() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-queue " + cl.Name)
	if err != nil {
		return nil, err
	}
	// The broker serves the end it receives; this process keeps none.
	err = cl.w.Write(sock.Record{Kind: kDial, Files: []int{mine.Fd()}})
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, cl.writeErr()
	}
	return theirs, nil
}

// Release closes the connection: the broker takes back what was delivered
// and not taken.
func (cl *Client) Release() error { return cl.c.Close() }
