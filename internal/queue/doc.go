// Package queue is the machinery of mproc.Queue: a broker in the process
// that made the queue, holding its items, and clients in the processes the
// queue was handed to, each on a socket of its own to the broker.
//
// Why a broker: every rule a demanding user expects needs one place that
// knows the queue's state. A Put is one write of a whole record into the
// kernel, so it returns only once the item is in the queue, and a process
// killed in the middle of one leaves a truncated record that the broker
// drops with the connection — nothing shared is left half-written, and no
// lock is held by the dead. An item delivered to a consumer stays the
// broker's until the consumer's Get returns it (the client acknowledges
// it then), so a consumer killed mid-Get loses nothing: the broker puts
// the item back at the front. The broker sees every connection close, so
// a Get that can never be satisfied fails instead of waiting for ever.
//
// Each connection is a codec stream each way (envelope: a kind, a number,
// an item, a connection), so an item's types are described once per
// connection; the broker holds values, not bytes, and a Put or a Get in its
// own process costs no encoding for items without pointers.
//
//	client -> broker              broker -> client
//	P put an item                 I an item [its delivery number]
//	W want [n] more items         S state [closed and empty, closed to puts]
//	A took [n] items              R room for [n] puts (bounded queues)
//	R ask room for [n] puts       L length [n]
//	L ask the length              J joined
//	C close the queue
//	D task done [n]
//	J join
//	N serve the connection passed with the message
package queue

import "os"

// Record kinds.
const (
	kPut   = 'P'
	kWant  = 'W'
	kAck   = 'A'
	kRoom  = 'R'
	kLen   = 'L'
	kClose = 'C'
	kDone  = 'D'
	kJoin  = 'J'
	kDial  = 'N'
	kItem  = 'I'
	kState = 'S'
)

// An envelope is one message on a queue's connection: a record kind, a
// number, an item for P and I, a connection for N.
type envelope[T any] struct {
	Kind byte
	Arg  uint64
	V    T
	F    *os.File
}

// States a broker tells a client.
const (
	stClosed    = 1 // closed and empty: Gets fail, Puts fail
	stPutClosed = 3 // closed: Puts fail; Gets drain what is left
)
