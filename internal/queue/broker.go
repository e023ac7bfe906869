package queue

import (
	"context"
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/internal/sock"
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
	waiting   = map[*Broker]bool{}
)

// Resettle fails the waiting Gets that can no longer be satisfied; mproc
// calls it when its last call in flight ends.
func Resettle() {
	waitingMu.Lock()
	bs := make([]*Broker, 0, len(waiting))
	for b := range waiting {
		bs = append(bs, b)
	}
	waitingMu.Unlock()
	for _, b := range bs {
		b.mu.Lock()
		b.settle()
		b.mu.Unlock()
	}
}

// An Item is an encoded value and the descriptors passed with it, which
// whoever holds the Item owns.
type Item struct {
	Data  []byte
	Files []int
}

func (it Item) close() { sock.CloseFiles(it.Files) }

// A Broker holds a queue's items in the process that made it and serves
// the connections of the processes it was handed to.
type Broker struct {
	Name string
	Cap  int // most items held; 0 for no bound

	mu         sync.Mutex
	items      []Item // items[head:] are queued
	head       int
	closed     bool
	unfinished int // puts not matched by TaskDone
	conns      map[*bconn]bool
	shared     bool       // a connection was ever made
	demand     []*demand  // Gets waiting for an item, oldest first
	room       []*roomReq // Puts waiting for room (bounded queues)
	granted    int        // room given to Puts not yet arrived
	joins      []chan struct{}
	remoteJoin []*bconn
}

// A demand is one Get waiting: local (ch) or a connection's credit.
type demand struct {
	ch chan result
	c  *bconn
}

type result struct {
	it  Item
	err error
}

type roomReq struct {
	ch chan struct{}
	c  *bconn
}

// NewBroker returns a broker for a queue of at most capacity items (0:
// no bound).
func NewBroker(name string, capacity int) *Broker {
	return &Broker{Name: name, Cap: capacity, conns: map[*bconn]bool{}}
}

// Len returns the number of items queued (not those delivered to a
// consumer and not yet taken).
func (b *Broker) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) - b.head
}

// Put adds an item, waiting for room in a bounded queue. The broker owns
// it from then (on an error too).
func (b *Broker) Put(ctx context.Context, it Item) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		it.close()
		return ErrClosed
	}
	if b.Cap > 0 && b.full() {
		r := &roomReq{ch: make(chan struct{}, 1)}
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
			it.close()
			return ctx.Err()
		}
		b.mu.Lock()
		b.granted--
		if b.closed {
			b.grantRoom()
			b.mu.Unlock()
			it.close()
			return ErrClosed
		}
	}
	b.add(it)
	b.mu.Unlock()
	return nil
}

func (b *Broker) full() bool { return len(b.items)-b.head+b.granted >= b.Cap }

func (b *Broker) dropRoom(r *roomReq) bool {
	for i, x := range b.room {
		if x == r {
			b.room = append(b.room[:i], b.room[i+1:]...)
			return true
		}
	}
	return false
}

// grantRoom gives room to waiting Puts while the bound allows.
func (b *Broker) grantRoom() {
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
		r.c.send(sock.Record{Kind: kRoom, Arg: 1})
	}
}

// add queues a new item, or hands it to the oldest waiting Get. b.mu is
// held.
func (b *Broker) add(it Item) {
	b.unfinished++
	b.route(it)
}

// route hands it to the oldest waiting Get, or queues it. b.mu is held.
func (b *Broker) route(it Item) {
	for len(b.demand) > 0 {
		d := b.demand[0]
		b.demand = b.demand[1:]
		if d.ch != nil {
			d.ch <- result{it: it}
			return
		}
		if d.c.dead {
			continue
		}
		d.c.deliver(it)
		return
	}
	b.items = append(b.items, it)
}

// pop takes the oldest item. b.mu is held.
func (b *Broker) pop() (Item, bool) {
	if b.head == len(b.items) {
		return Item{}, false
	}
	it := b.items[b.head]
	b.items[b.head] = Item{}
	b.head++
	if b.head == len(b.items) {
		b.items, b.head = b.items[:0], 0
	} else if b.head > 1024 && b.head*2 > len(b.items) {
		n := copy(b.items, b.items[b.head:])
		clear(b.items[n:])
		b.items, b.head = b.items[:n], 0
	}
	b.grantRoom()
	return it, true
}

// pushFront puts items back at the front, in order (a dead consumer's),
// or hands them to waiting Gets. b.mu is held.
func (b *Broker) pushFront(its []Item) {
	i := 0
	for ; i < len(its) && b.head == len(b.items) && len(b.demand) > 0; i++ {
		b.route(its[i])
	}
	its = its[i:]
	if len(its) == 0 {
		return
	}
	rest := b.items[b.head:]
	b.items = append(append(make([]Item, 0, len(its)+len(rest)), its...), rest...)
	b.head = 0
}

// Get takes the oldest item, waiting for one. In the process that made the
// queue, a Get fails with ErrNoWriters when the queue is empty, it was
// handed to other processes, every one of them has let go of it and Busy
// reports false; with ErrClosed when it is closed and empty.
func (b *Broker) Get(ctx context.Context) (Item, error) {
	b.mu.Lock()
	if it, ok := b.pop(); ok {
		b.mu.Unlock()
		return it, nil
	}
	if err := b.emptyErr(); err != nil {
		b.mu.Unlock()
		return Item{}, err
	}
	d := &demand{ch: make(chan result, 1)}
	b.demand = append(b.demand, d)
	b.mu.Unlock()
	waitingMu.Lock()
	waiting[b] = true
	waitingMu.Unlock()
	defer b.unwait()
	select {
	case r := <-d.ch:
		return r.it, r.err
	case <-ctx.Done():
	}
	b.mu.Lock()
	if b.dropDemand(d) {
		b.mu.Unlock()
		return Item{}, ctx.Err()
	}
	b.mu.Unlock()
	r := <-d.ch // answered meanwhile: the item is the caller's
	return r.it, r.err
}

// unwait forgets b in waiting once no Get of this process waits on it.
func (b *Broker) unwait() {
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

func (b *Broker) dropDemand(d *demand) bool {
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
func (b *Broker) emptyErr() error {
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
func (b *Broker) settle() {
	if b.head < len(b.items) {
		return
	}
	err := b.emptyErr()
	if err == nil && !b.closed {
		return
	}
	keep := b.demand[:0]
	for _, d := range b.demand {
		switch {
		case d.ch != nil && err != nil:
			d.ch <- result{err: err}
		case d.c != nil && b.closed:
			if !d.c.dead && !d.c.told {
				d.c.told = true
				d.c.send(sock.Record{Kind: kState, Arg: stClosed})
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
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for c := range b.conns {
		c.send(sock.Record{Kind: kState, Arg: stPutClosed})
	}
	b.grantRoom() // waiting Puts fail
	b.settle()
}

// TaskDone marks n items as processed (JoinableQueue).
func (b *Broker) TaskDone(n int) error {
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

func (b *Broker) joined() {
	for _, ch := range b.joins {
		close(ch)
	}
	b.joins = nil
	for _, c := range b.remoteJoin {
		c.send(sock.Record{Kind: kJoin})
	}
	b.remoteJoin = nil
}

// Join waits until every item put has been marked done with TaskDone.
func (b *Broker) Join(ctx context.Context) error {
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
func (b *Broker) Connect() (*sock.Conn, error) {
	mine, theirs, err := sock.Pair("mproc-queue " + b.Name)
	if err != nil {
		return nil, err
	}
	b.serve(mine)
	return theirs, nil
}

// Shutdown closes every connection: the owner's queue is gone.
func (b *Broker) Shutdown() {
	b.mu.Lock()
	conns := make([]*bconn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

// serve starts serving connection c.
func (b *Broker) serve(c *sock.Conn) {
	bc := &bconn{b: b, c: c, w: sock.NewRecordWriter(c)}
	bc.cond = sync.NewCond(&bc.mu)
	b.mu.Lock()
	b.conns[bc] = true
	b.shared = true
	if b.closed {
		bc.send(sock.Record{Kind: kState, Arg: stPutClosed})
	}
	b.mu.Unlock()
	go bc.read()
	go bc.write()
}

// A bconn is the broker's side of one connection.
type bconn struct {
	b *Broker
	c *sock.Conn
	w *sock.RecordWriter

	// Guarded by b.mu.
	dead    bool
	told    bool   // told the queue is closed and empty
	unacked []Item // delivered, not yet taken by a Get, oldest first
	credits int    // room granted and not used

	mu   sync.Mutex // guards out and stop
	cond *sync.Cond
	out  []sock.Record
	stop bool
}

// deliver sends an item to the connection's consumer. b.mu is held.
func (c *bconn) deliver(it Item) {
	c.unacked = append(c.unacked, it)
	c.send(sock.Record{Kind: kItem, Data: it.Data, Files: it.Files})
}

// send queues a record for the writer. It never blocks.
func (c *bconn) send(r sock.Record) {
	c.mu.Lock()
	c.out = append(c.out, r)
	c.mu.Unlock()
	c.cond.Signal()
}

// write sends the queued records, in order, until the connection ends.
func (c *bconn) write() {
	var batch []sock.Record
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
		for _, r := range batch {
			if err := c.w.Write(r); err != nil {
				c.c.Close() // the reader sees it and cleans up
				c.mu.Lock()
				c.stop = true
				c.mu.Unlock()
				return
			}
		}
		clear(batch)
	}
}

// read serves the client's records until the connection ends, then gives
// back what the client had been delivered and not taken.
func (c *bconn) read() {
	r := sock.NewRecordReader(c.c)
	defer c.end()
	for {
		rec, err := r.Read()
		if err != nil {
			return
		}
		if !c.handle(rec) {
			return
		}
	}
}

// handle serves one record; false ends the connection.
func (c *bconn) handle(rec sock.Record) bool {
	b := c.b
	switch rec.Kind {
	case kPut:
		b.mu.Lock()
		if b.Cap > 0 && c.credits > 0 {
			c.credits--
			b.granted--
		}
		b.add(Item{Data: rec.Data, Files: rec.Files})
		b.mu.Unlock()
		return true
	}
	sock.CloseFiles(filesExceptDial(rec))
	b.mu.Lock()
	defer b.mu.Unlock()
	switch rec.Kind {
	case kWant:
		if rec.Arg > 1<<20 {
			return false
		}
		for range rec.Arg {
			if it, ok := b.pop(); ok {
				c.deliver(it)
				continue
			}
			b.demand = append(b.demand, &demand{c: c})
		}
		b.settle()
	case kAck:
		n := min(int(rec.Arg), len(c.unacked))
		for _, it := range c.unacked[:n] {
			it.close()
		}
		c.unacked = append(c.unacked[:0], c.unacked[n:]...)
	case kRoom:
		if rec.Arg > 1<<20 {
			return false
		}
		for range rec.Arg {
			b.room = append(b.room, &roomReq{c: c})
		}
		b.grantRoom()
	case kLen:
		c.send(sock.Record{Kind: kLen, Arg: uint64(len(b.items) - b.head)})
	case kClose:
		b.mu.Unlock()
		b.Close()
		b.mu.Lock()
	case kDone:
		n := int(min(rec.Arg, 1<<30))
		if n >= b.unfinished {
			b.unfinished = 0
			b.joined()
		} else {
			b.unfinished -= n
		}
	case kJoin:
		if b.unfinished == 0 {
			c.send(sock.Record{Kind: kJoin})
		} else {
			b.remoteJoin = append(b.remoteJoin, c)
		}
	case kDial:
		if len(rec.Files) != 1 {
			sock.CloseFiles(rec.Files)
			return false
		}
		nc, err := sock.FileConn(os.NewFile(uintptr(rec.Files[0]), "mproc-queue "+b.Name))
		if err != nil {
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

func filesExceptDial(rec sock.Record) []int {
	if rec.Kind == kDial {
		return nil
	}
	return rec.Files
}

// end forgets the connection: what it was delivered and had not taken goes
// back to the front of the queue, its room goes to other Puts.
func (c *bconn) end() {
	c.c.Close()
	c.mu.Lock()
	c.stop = true
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
