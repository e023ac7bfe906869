// Package shared is the machinery of mproc.Shared: a server in the process
// that owns a value, running the calls that proxies in other processes
// send it, and the proxies' side, which multiplexes concurrent calls on
// one connection.
//
// Each proxy has a connection of its own (a value sent to another process
// sends a new one), a codec stream each way (stream.Stream), so the types
// of a call are described once per connection. A proxy sends Q [call id]
// with the call, or N with a connection for another process to serve; the
// owner answers A [call id] with the outcome. The calls of one connection
// run one after the other on its reading goroutine; those of different
// connections are serialized by the owner's lock.
package shared

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/sock"
	"github.com/mproc-go/mproc/internal/stream"
)

const (
	kCall   = 'Q'
	kAnswer = 'A'
	kDial   = 'N'
)

// A message is what a connection carries.
type message struct {
	Kind byte
	ID   uint64
	Body any
	F    *os.File
}

// ErrOwnerGone is what a proxy's calls report once the owner's process
// exited, or its connection broke.
var ErrOwnerGone = errors.New("the process that owns the shared value exited")

// ErrReleased is what a proxy's calls report once this process let go of
// it.
var ErrReleased = errors.New("this process let go of the shared value: its handle was closed")

// A Handler runs one call and returns its outcome; Unsendable returns the
// outcome to send instead of one the codec refused with err.
type Handler interface {
	Serve(call any) (outcome any)
	Unsendable(outcome any, err error) any
}

// A Server serves a shared value's connections.
type Server struct {
	Name string
	h    Handler
}

// NewServer returns a server running calls with h.
func NewServer(name string, h Handler) *Server { return &Server{Name: name, h: h} }

// Connect makes a new connection to the server and returns the end to
// hand to another process.
func (s *Server) Connect() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-shared " + s.Name)
	if err != nil {
		return nil, err
	}
	go s.serve(mine)
	return theirs, nil
}

func (s *Server) serve(c *sock.Conn) {
	st := stream.New[message](c)
	defer c.Close()
	for {
		m, files, err := st.Recv()
		if err != nil {
			stream.CloseAll(files)
			return
		}
		switch m.Kind {
		case kCall:
			out := s.h.Serve(m.Body) // the call's files are its own
			_, err := st.Send(message{Kind: kAnswer, ID: m.ID, Body: out})
			if stream.IsRefusal(err) {
				_, err = st.Send(message{Kind: kAnswer, ID: m.ID, Body: s.h.Unsendable(out, err)})
			}
			if err != nil {
				return
			}
		case kDial:
			if m.F == nil {
				return
			}
			nc, err := sock.FileConn(m.F)
			if err != nil {
				return
			}
			go s.serve(nc)
		default:
			stream.CloseAll(files)
			return // not a proxy of ours
		}
	}
}

// A Proxy is a shared value in a process other than its owner.
type Proxy struct {
	Name string
	st   *stream.Stream[message]

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan any
	err     error // the connection ended
}

// NewProxy serves the proxy side of connection c.
func NewProxy(name string, c *sock.Conn) *Proxy {
	p := &Proxy{Name: name, st: stream.New[message](c), waiting: map[uint64]chan any{}}
	go p.read()
	return p
}

func (p *Proxy) read() {
	for {
		m, files, err := p.st.Recv()
		if err != nil {
			stream.CloseAll(files)
			p.mu.Lock()
			p.err = ErrOwnerGone
			if errors.Is(err, os.ErrClosed) {
				p.err = ErrReleased
			}
			for id, ch := range p.waiting {
				close(ch)
				delete(p.waiting, id)
			}
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		ch := p.waiting[m.ID]
		delete(p.waiting, m.ID)
		p.mu.Unlock()
		if m.Kind != kAnswer || ch == nil {
			stream.CloseAll(files) // an answer nobody waits for any more
			continue
		}
		ch <- m.Body
	}
}

// Call sends a call to the owner and waits for its outcome. A call that
// ctx ends still runs in the owner; its outcome is dropped. An
// *codec.UnsupportedError means the call could not be sent.
func (p *Proxy) Call(ctx context.Context, call any) (any, error) {
	ch := make(chan any, 1)
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return nil, err
	}
	p.next++
	id := p.next
	p.waiting[id] = ch
	p.mu.Unlock()
	if _, err := p.st.Send(message{Kind: kCall, ID: id, Body: call}); err != nil {
		p.mu.Lock()
		delete(p.waiting, id)
		perr := p.err
		p.mu.Unlock()
		if stream.IsRefusal(err) {
			return nil, err
		}
		if perr == nil {
			perr = ErrOwnerGone
		}
		return nil, perr
	}
	select {
	case out, ok := <-ch:
		if !ok {
			p.mu.Lock()
			err := p.err
			p.mu.Unlock()
			return nil, err
		}
		return out, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Dial makes a new connection to the owner, through this one, and returns
// the end to hand to another process.
func (p *Proxy) Dial() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-shared " + p.Name)
	if err != nil {
		return nil, err
	}
	_, err = p.st.Send(message{Kind: kDial, F: mine.File()})
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, ErrOwnerGone
	}
	return theirs, nil
}

// Release closes the proxy's connection.
func (p *Proxy) Release() error { return p.st.Conn().Close() }
