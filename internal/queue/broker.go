package queue

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/sock"
	"github.com/mproc-go/mproc/internal/stream"
)

// Errors of queue operations; package mproc wraps them with the queue's
// name, the operation and the process.
var (
	ErrClosed    = errors.New("queue closed")
	ErrNoWriters = errors.New("the queue is empty and no other process holds it: no item can ever arrive")
	ErrOwnerGone = errors.New("the process that made the queue exited: its items went with it")
	ErrTooMany   = errors.New("TaskDone called more times than items were put")
	ErrReleased  = errors.New("this process let go of the queue: its handle was closed")
)

// Busy, when set, reports whether this process may still hand its queues
// to other processes: mproc sets it to report calls in flight, whose
// inputs are encoded only when dispatched. While it reports true, an
// empty queue that nobody else holds is not given up on.
var Busy func() bool

// waiting holds the brokers with Gets of this process waiting, which
// Resettle looks at.
var (
	waitingMu sync.Mutex
	waiting   = map[resettler]bool{}
)

type resettler interface{ resettle() }

// Resettle fails the waiting Gets that can no longer be satisfied; mproc
// calls it when its last call in flight ends.
func Resettle() {
	waitingMu.Lock()
	bs := make([]resettler, 0, len(waiting))
	for b := range waiting {
		bs = append(bs, b)
	}
	waitingMu.Unlock()
	for _, b := range bs {
		b.resettle()
	}
}

// An entry is a queued value and the files a remote Put passed with it,
// which the broker holds until the value is taken.
type entry[T any] struct {
	v     T
	files []*os.File
	seq   uint64 // numbers its delivery to a connection
}

// A Broker holds a queue's items in the process that made it and serves
// the connections of the processes it was handed to. The items are values,
// not bytes: a Put or a Get in this process costs no encoding, and each
// connection is a codec stream of its own.
type Broker[T any] struct {
	Name string
	Cap  int // most items held; 0 for no bound

	mu         sync.Mutex
	items      []entry[T] // items[head:] are queued
	head       int
	closed     bool
	unfinished int // puts not matched by TaskDone
	conns      map[*bconn[T]]bool
	shared     bool          // a connection was ever made
	demand     []*demand[T]  // Gets waiting for an item, oldest first
	room       []*roomReq[T] // Puts waiting for room (bounded queues)
	granted    int           // room given to Puts not yet arrived
	joins      []chan struct{}
	remoteJoin []*bconn[T]
	seq        uint64 // deliveries to connections
}

// A demand is one Get waiting: local (ch) or a connection's credit.
type demand[T any] struct {
	ch chan result[T]
	c  *bconn[T]
}

type result[T any] struct {
	e   entry[T]
	err error
}

type roomReq[T any] struct {
	ch chan struct{}
	c  *bconn[T]
}

// NewBroker returns a broker for a queue of at most capacity items (0:
// no bound).
func NewBroker[T any](name string, capacity int) *Broker[T] {
	return &Broker[T]{Name: name, Cap: capacity, conns: map[*bconn[T]]bool{}}
}

// Len returns the number of items queued (not those sent to a consumer
// and not yet taken).
func (b *Broker[T]) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) - b.head
}

// Put adds v, waiting for room in a bounded queue. The queue owns files,
// those v holds that it closes once a copy of v went to another process.
func (b *Broker[T]) Put(ctx context.Context, v T, files []*os.File) (err error) {
	defer func() {
		if err != nil {
			stream.CloseAll(files)
		}
	}()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.Cap > 0 && b.full() {
		r := &roomReq[T]{ch: make(chan struct{}, 1)}
		b.room = append(b.room, r)
		b.mu.Unlock()
		select {
		case <-r.ch:
		case <-ctx.Done():
			b.mu.Lock()
			if !b.dropRoom(r) {
				b.granted-- // granted meanwhile: give it to the next
				b.grantRoom()
			}
			b.mu.Unlock()
			return ctx.Err()
		}
		b.mu.Lock()
		b.granted--
		if b.closed {
			b.mu.Unlock()
			return ErrClosed
		}
	}
	b.add(entry[T]{v: v, files: files})
	b.mu.Unlock()
	return nil
}

func (b *Broker[T]) full() bool { return len(b.items)-b.head+b.granted >= b.Cap }

func (b *Broker[T]) dropRoom(r *roomReq[T]) bool {
	for i, x := range b.room {
		if x == r {
			b.room = append(b.room[:i], b.room[i+1:]...)
			return true
		}
	}
	return false
}

// grantRoom gives room to waiting Puts while the bound allows (all of
// them once the queue is closed: they fail). b.mu is held.
func (b *Broker[T]) grantRoom() {
	for len(b.room) > 0 && (b.Cap == 0 || !b.full() || b.closed) {
		r := b.room[0]
		b.room = b.room[1:]
		b.granted++
		if r.ch != nil {
			r.ch <- struct{}{}
			continue
		}
		if r.c.dead {
			b.granted--
			continue
		}
		r.c.credits++
		r.c.send(envelope[T]{Kind: kRoom, Arg: 1})
	}
}

// add queues a new item, or hands it to the oldest waiting Get. b.mu is
// held.
func (b *Broker[T]) add(e entry[T]) {
	b.unfinished++
	b.route(e)
}

// route hands e to the oldest waiting Get, or queues it. b.mu is held.
func (b *Broker[T]) route(e entry[T]) {
	for len(b.demand) > 0 {
		d := b.demand[0]
		b.demand[0] = nil
		b.demand = b.demand[1:]
		if d.ch != nil {
			d.ch <- result[T]{e: e}
			return
		}
		if d.c.dead {
			continue
		}
		d.c.deliver(e)
		return
	}
	b.items = append(b.items, e)
}

// pop takes the oldest item. b.mu is held.
func (b *Broker[T]) pop() (entry[T], bool) {
	if b.head == len(b.items) {
		return entry[T]{}, false
	}
	e := b.items[b.head]
	b.items[b.head] = entry[T]{}
	b.head++
	if b.head == len(b.items) {
		b.items, b.head = b.items[:0], 0
	} else if b.head > 1024 && b.head*2 > len(b.items) {
		n := copy(b.items, b.items[b.head:])
		clear(b.items[n:])
		b.items, b.head = b.items[:n], 0
	}
	b.grantRoom()
	return e, true
}

// pushFront puts items back at the front, in order (a dead consumer's),
// or hands them to waiting Gets. b.mu is held.
func (b *Broker[T]) pushFront(es []entry[T]) {
	i := 0
	for ; i < len(es) && b.head == len(b.items) && len(b.demand) > 0; i++ {
		b.route(es[i])
	}
	es = es[i:]
	if len(es) == 0 {
		return
	}
	rest := b.items[b.head:]
	b.items = append(append(make([]entry[T], 0, len(es)+len(rest)), es...), rest...)
	b.head = 0
}

// Get takes the oldest item, waiting for one. The files a remote Put
// passed with it are the caller's. In the process that made the queue, a
// Get fails with ErrNoWriters when the queue is empty, it was handed to
// other processes, every one of them has let go of it and Busy reports
// false; with ErrClosed when it is closed and empty.
func (b *Broker[T]) Get(ctx context.Context) (T, error) {
	var zero T
	b.mu.Lock()
	if e, ok := b.pop(); ok {
		b.mu.Unlock()
		return e.v, nil
	}
	if err := b.emptyErr(); err != nil {
		b.mu.Unlock()
		return zero, err
	}
	d := &demand[T]{ch: make(chan result[T], 1)}
	b.demand = append(b.demand, d)
	b.mu.Unlock()
	waitingMu.Lock()
	waiting[b] = true
	waitingMu.Unlock()
	defer b.unwait()
	select {
	case r := <-d.ch:
		return r.e.v, r.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if b.dropDemand(d) {
		b.mu.Unlock()
		return zero, ctx.Err()
	}
	b.mu.Unlock()
	r := <-d.ch // answered meanwhile: the item is the caller's
	return r.e.v, r.err
}

func (b *Broker[T]) resettle() {
	b.mu.Lock()
	b.settle()
	b.mu.Unlock()
}

// unwait forgets b in waiting once no Get of this process waits on it.
func (b *Broker[T]) unwait() {
	b.mu.Lock()
	local := false
	for _, d := range b.demand {
		if d.ch != nil {
			local = true
			break
		}
	}
	b.mu.Unlock()
	if !local {
		waitingMu.Lock()
		delete(waiting, b)
		waitingMu.Unlock()
	}
}

func (b *Broker[T]) dropDemand(d *demand[T]) bool {
	for i, x := range b.demand {
		if x == d {
			b.demand = append(b.demand[:i], b.demand[i+1:]...)
			return true
		}
	}
	return false
}

// emptyErr says why a Get in this process on the empty queue can never be
// satisfied, or nil if it may be. b.mu is held.
func (b *Broker[T]) emptyErr() error {
	switch {
	case b.closed:
		return ErrClosed
	case b.shared && len(b.conns) == 0 && (Busy == nil || !Busy()):
		return ErrNoWriters
	}
	return nil
}

// settle fails the waiting Gets that can no longer be satisfied. b.mu is
// held.
func (b *Broker[T]) settle() {
	if b.head < len(b.items) {
		return
	}
	err := b.emptyErr()
	if err == nil {
		return
	}
	keep := b.demand[:0]
	for _, d := range b.demand {
		switch {
		case d.ch != nil:
			d.ch <- result[T]{err: err}
		case b.closed:
			if !d.c.dead && !d.c.told {
				d.c.told = true
				d.c.send(envelope[T]{Kind: kState, Arg: stClosed})
			}
		default:
			keep = append(keep, d)
		}
	}
	clear(b.demand[len(keep):])
	b.demand = keep
}

// Close closes the queue: Puts fail from now on (a Put racing with Close
// may still land, and is delivered), Gets take what is left, then fail
// with ErrClosed.
func (b *Broker[T]) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for c := range b.conns {
		c.send(envelope[T]{Kind: kState, Arg: stPutClosed})
	}
	b.grantRoom() // waiting Puts fail
	b.settle()
}

// TaskDone marks n items as processed (JoinableQueue).
func (b *Broker[T]) TaskDone(n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.unfinished {
		b.unfinished = 0
		b.joined()
		return ErrTooMany
	}
	b.unfinished -= n
	if b.unfinished == 0 {
		b.joined()
	}
	return nil
}

func (b *Broker[T]) joined() {
	for _, ch := range b.joins {
		close(ch)
	}
	b.joins = nil
	for _, c := range b.remoteJoin {
		c.send(envelope[T]{Kind: kJoin})
	}
	b.remoteJoin = nil
}

// Join waits until every item put has been marked done with TaskDone.
func (b *Broker[T]) Join(ctx context.Context) error {
	b.mu.Lock()
	if b.unfinished == 0 {
		b.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	b.joins = append(b.joins, ch)
	b.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connect makes a new connection to the broker and returns the end to
// hand to another process (its file is the handle's).
func (b *Broker[T]) Connect() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-queue " + b.Name)
	if err != nil {
		return nil, err
	}
	b.serve(mine)
	return theirs, nil
}

// serve starts serving connection c.
func (b *Broker[T]) serve(c *sock.Conn) {
	bc := &bconn[T]{b: b, s: stream.New[envelope[T]](c)}
	bc.cond = sync.NewCond(&bc.mu)
	b.mu.Lock()
	b.conns[bc] = true
	b.shared = true
	if b.closed {
		bc.send(envelope[T]{Kind: kState, Arg: stPutClosed})
	}
	b.mu.Unlock()
	go bc.read()
	go bc.write()
}

// A bconn is the broker's side of one connection.
type bconn[T any] struct {
	b *Broker[T]
	s *stream.Stream[envelope[T]]

	// Guarded by b.mu.
	dead    bool
	told    bool       // told the queue is closed and empty
	unacked []entry[T] // sent, not yet taken by a Get, oldest first
	credits int        // room granted and not used

	mu   sync.Mutex // guards out and stop
	cond *sync.Cond
	out  []envelope[T]
	stop bool
}

// deliver sends an item to the connection's consumer. b.mu is held.
func (c *bconn[T]) deliver(e entry[T]) {
	c.b.seq++
	e.seq = c.b.seq
	c.unacked = append(c.unacked, e)
	c.send(envelope[T]{Kind: kItem, Arg: e.seq, V: e.v})
}

// undeliverable drops the item numbered seq, which the encoder refused: a
// value put in this process whose contents changed since, or holding a
// file closed since. The connection's Get waits for the next item.
func (c *bconn[T]) undeliverable(seq uint64) {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range c.unacked {
		if e.seq == seq {
			stream.CloseAll(e.files)
			c.unacked = append(c.unacked[:i], c.unacked[i+1:]...)
			b.unfinished--
			if e, ok := b.pop(); ok {
				c.deliver(e)
			} else {
				b.demand = append(b.demand, &demand[T]{c: c})
			}
			return
		}
	}
}

// send queues a message for the writer. It never blocks.
func (c *bconn[T]) send(m envelope[T]) {
	c.mu.Lock()
	c.out = append(c.out, m)
	c.mu.Unlock()
	c.cond.Signal()
}

// write sends the queued messages, in order, each batch with one write,
// until the connection ends.
func (c *bconn[T]) write() {
	var batch []envelope[T]
	for {
		c.mu.Lock()
		for len(c.out) == 0 && !c.stop {
			c.cond.Wait()
		}
		if c.stop {
			c.mu.Unlock()
			return
		}
		batch, c.out = c.out, batch[:0]
		c.mu.Unlock()
		for rest := batch; len(rest) > 0; {
			sent, err := c.s.Send(rest...)
			if err == nil {
				break
			}
			if !stream.IsRefusal(err) {
				c.s.Conn().Close() // the reader sees it and cleans up
				return
			}
			if rest[sent].Kind == kItem {
				c.undeliverable(rest[sent].Arg)
			}
			rest = rest[sent+1:]
		}
		clear(batch)
	}
}

// read serves the client's messages until the connection ends, then gives
// back what the client had been sent and had not taken.
func (c *bconn[T]) read() {
	defer c.end()
	for {
		m, files, err := c.s.Recv()
		if err != nil {
			stream.CloseAll(files)
			return
		}
		if !c.handle(m, files) {
			return
		}
	}
}

// handle serves one message; false ends the connection.
func (c *bconn[T]) handle(m envelope[T], files []*os.File) bool {
	b := c.b
	if m.Kind != kPut && m.Kind != kDial {
		stream.CloseAll(files)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch m.Kind {
	case kPut:
		if b.Cap > 0 && c.credits > 0 {
			c.credits--
			b.granted--
		}
		b.add(entry[T]{v: m.V, files: files})
	case kWant:
		if m.Arg > 1<<20 {
			return false
		}
		for range m.Arg {
			if e, ok := b.pop(); ok {
				c.deliver(e)
				continue
			}
			b.demand = append(b.demand, &demand[T]{c: c})
		}
		b.settle()
	case kAck:
		n := min(int(m.Arg), len(c.unacked))
		for _, e := range c.unacked[:n] {
			stream.CloseAll(e.files) // the consumer has its own duplicates
		}
		clear(c.unacked[:n])
		c.unacked = append(c.unacked[:0], c.unacked[n:]...)
	case kRoom:
		if m.Arg > 1<<20 {
			return false
		}
		for range m.Arg {
			b.room = append(b.room, &roomReq[T]{c: c})
		}
		b.grantRoom()
	case kLen:
		c.send(envelope[T]{Kind: kLen, Arg: uint64(len(b.items) - b.head)})
	case kClose:
		b.mu.Unlock()
		b.Close()
		b.mu.Lock()
	case kDone:
		n := int(min(m.Arg, 1<<30))
		if n >= b.unfinished {
			b.unfinished = 0
			b.joined()
		} else {
			b.unfinished -= n
		}
	case kJoin:
		if b.unfinished == 0 {
			c.send(envelope[T]{Kind: kJoin})
		} else {
			b.remoteJoin = append(b.remoteJoin, c)
		}
	case kDial:
		if m.F == nil {
			stream.CloseAll(files)
			return false
		}
		nc, err := sock.FileConn(m.F)
		if err != nil {
			stream.CloseAll(files)
			return false
		}
		b.mu.Unlock()
		b.serve(nc)
		b.mu.Lock()
	default:
		return false // not a client of ours
	}
	return true
}

// end forgets the connection: what it was sent and had not taken goes back
// to the front of the queue, its room goes to other Puts.
func (c *bconn[T]) end() {
	c.s.Conn().Close()
	c.mu.Lock()
	c.stop = true
	c.out = nil
	c.mu.Unlock()
	c.cond.Signal()
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	c.dead = true
	delete(b.conns, c)
	b.granted -= c.credits
	c.credits = 0
	back := c.unacked
	c.unacked = nil
	b.pushFront(back)
	keep := b.remoteJoin[:0]
	for _, x := range b.remoteJoin {
		if x != c {
			keep = append(keep, x)
		}
	}
	b.remoteJoin = keep
	b.grantRoom()
	b.settle()
}

// Shutdown closes every connection.
func (b *Broker[T]) Shutdown() {
	b.mu.Lock()
	conns := make([]*bconn[T], 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.s.Conn().Close()
	}
}
