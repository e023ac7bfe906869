package mproc

import (
	"sync/atomic"

	"github.com/mproc-go/mproc/internal/queue"
)

// callsInFlight counts this process's Map, Imap and Submit calls that have
// not finished. While one runs, a value it sends may still hold a queue
// that has not reached its worker yet (inputs are encoded when they are
// dispatched, not when the call is made), so a Get in the process that made
// the queue must not conclude that no other process will ever hold it.
var callsInFlight atomic.Int64

func init() {
	queue.Busy = func() bool { return callsInFlight.Load() > 0 }
}

// callBegins counts a call in; the function it returns counts it out.
func callBegins() (ends func()) {
	callsInFlight.Add(1)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) && callsInFlight.Add(-1) == 0 {
			queue.Resettle() // Gets waiting on the call's queues may fail now
		}
	}
}
