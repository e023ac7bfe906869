// Package shared is the machinery of mproc.Shared: a server in the process
// that owns a value, running the calls that proxies in other processes
// send it, one at a time, and the proxies' side, which multiplexes
// concurrent calls on one connection.
//
// Records (sock.Record): the proxy sends Q [call id] with the encoded call,
// N with a descriptor (a connection for another process, to serve); the
// owner answers A [call id] with the encoded outcome. The server never
// blocks a connection's reader on a call: calls run on their own
// goroutine, serialized by the owner's lock.
package shared

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/queue"
	"github.com/mproc-go/mproc/internal/sock"
)

const (
	kCall   = 'Q'
	kAnswer = 'A'
	kDial   = 'N'
)

// ErrOwnerGone is what a proxy's calls report once the owner's process
// exited, or its connection broke.
var ErrOwnerGone = errors.New("the process that owns the shared value exited")

// ErrReleased is what a proxy's calls report once this process let go of
// it.
var ErrReleased = errors.New("this process let go of the shared value: its handle was closed")

// A Handler runs one encoded call and returns its encoded outcome.
type Handler func(call queue.Item) queue.Item

// A Server serves a shared value's connections.
type Server struct {
	Name   string
	handle Handler
}

// NewServer returns a server running calls with h.
func NewServer(name string, h Handler) *Server { return &Server{Name: name, handle: h} }

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
	defer c.Close()
	r := sock.NewRecordReader(c)
	w := sock.NewRecordWriter(c)
	var calls sync.WaitGroup
	defer calls.Wait()
	for {
		rec, err := r.Read()
		if err != nil {
			return
		}
		switch rec.Kind {
		case kCall:
			calls.Add(1)
			go func() {
				defer calls.Done()
				out := s.handle(queue.Item{Data: rec.Data, Files: rec.Files})
				w.Write(sock.Record{Kind: kAnswer, Arg: rec.Arg, Data: out.Data, Files: out.Files})
				sock.CloseFiles(out.Files)
			}()
		case kDial:
			if len(rec.Files) != 1 {
				sock.CloseFiles(rec.Files)
				return
			}
			nc, err := sock.FileConn(os.NewFile(uintptr(rec.Files[0]), "mproc-shared "+s.Name))
			if err != nil {
				return
			}
			go s.serve(nc)
		default:
			sock.CloseFiles(rec.Files)
			return // not a proxy of ours
		}
	}
}

// A Proxy is a shared value in a process other than its owner.
type Proxy struct {
	Name string
	c    *sock.Conn
	w    *sock.RecordWriter

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan queue.Item
	err     error // the connection ended
}

// NewProxy serves the proxy side of connection c.
func NewProxy(name string, c *sock.Conn) *Proxy {
	p := &Proxy{Name: name, c: c, w: sock.NewRecordWriter(c), waiting: map[uint64]chan queue.Item{}}
	go p.read()
	return p
}

func (p *Proxy) read() {
	r := sock.NewRecordReader(p.c)
	for {
		rec, err := r.Read()
		if err != nil {
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
		ch := p.waiting[rec.Arg]
		delete(p.waiting, rec.Arg)
		p.mu.Unlock()
		if rec.Kind != kAnswer || ch == nil {
			sock.CloseFiles(rec.Files)
			continue
		}
		ch <- queue.Item{Data: rec.Data, Files: rec.Files}
	}
}

// Call sends an encoded call to the owner and waits for its outcome. A
// call that ctx ends still runs in the owner; its outcome is dropped.
func (p *Proxy) Call(ctx context.Context, call queue.Item) (queue.Item, error) {
	ch := make(chan queue.Item, 1)
	p.mu.Lock()
	if p.err != nil {
		err := p.err
		p.mu.Unlock()
		return queue.Item{}, err
	}
	p.next++
	id := p.next
	p.waiting[id] = ch
	p.mu.Unlock()
	if err := p.w.Write(sock.Record{Kind: kCall, Arg: id, Data: call.Data, Files: call.Files}); err != nil {
		p.mu.Lock()
		delete(p.waiting, id)
		err := p.err
		p.mu.Unlock()
		if err == nil {
			err = ErrOwnerGone
		}
		return queue.Item{}, err
	}
	select {
	case out, ok := <-ch:
		if !ok {
			p.mu.Lock()
			err := p.err
			p.mu.Unlock()
			return queue.Item{}, err
		}
		return out, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.waiting, id)
		p.mu.Unlock()
		return queue.Item{}, ctx.Err()
	}
}

// Dial makes a new connection to the owner, through this one, and returns
// the end to hand to another process.
func (p *Proxy) Dial() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-shared " + p.Name)
	if err != nil {
		return nil, err
	}
	err = p.w.Write(sock.Record{Kind: kDial, Files: []int{mine.Fd()}})
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, ErrOwnerGone
	}
	return theirs, nil
}

// Release closes the proxy's connection.
func (p *Proxy) Release() error { return p.c.Close() }
