package spawn

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A Conn is one end of a control socket. It is a net.UnixConn whose Read
// polls the socket for a moment before it parks in the runtime's network
// poller.
//
// Why: waking a parked reader is what a round trip between two processes
// mostly costs on the small VMs mproc is measured on. An idle virtual CPU
// halts at once (no halt polling), and the next wake-up waits for the
// host to run it again: 40–50 µs in traces of a trivial task's round
// trip, against a few microseconds of work. A reader that polls while the
// other side computes a quick answer keeps its CPU awake and sees the
// answer at once; with both ends polling, a Submit+Wait round trip went
// from 65–70 µs to 14 µs on average (7.5 µs median), on 2 cores.
//
// Polling costs CPU, so it is short (spinFor), yields to any goroutine
// that wants the thread, and stops on a Conn whose polls keep missing: a
// worker running long tasks, a result far off, an idle pool. It starts
// again once bytes arrive soon after a Read began. Long waits park in the
// poller, which holds no thread: blocking system calls instead would keep
// the runtime's monitor thread waking every 20 µs, which cost CPU-bound
// pools 15% of their speed in a measurement.
type Conn struct {
	*net.UnixConn
	rc     syscall.RawConn
	misses atomic.Int32 // Reads in a row whose poll found nothing
}

// A Read polls for up to spinFor. Polling turns off after spinMisses Reads
// in a row polled in vain and then waited longer than 2*spinFor; it turns
// on again when a Read that had to wait got its bytes within 2*spinFor. A
// Read that finds bytes at once says nothing either way.
const (
	spinFor    = 50 * time.Microsecond
	spinMisses = 4
)

func newConn(c *net.UnixConn) (*Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &Conn{UnixConn: c, rc: rc}, nil
}

// Read reads up to len(p) bytes, waiting until some have arrived; it
// returns io.EOF at the end of the stream, and honours the read deadline
// and Close as net.UnixConn does.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	start := time.Now()
	polling := c.misses.Load() < spinMisses
	limit := time.Duration(0) // one poll only
	if polling {
		limit = spinFor
	}
	if n, polls, err := c.poll(p, start, limit); polls > 0 {
		if polls > 1 {
			c.misses.Store(0) // polling caught bytes that were not there yet
		}
		return n, err
	}
	n, err := c.UnixConn.Read(p)
	switch {
	case time.Since(start) < 2*spinFor:
		c.misses.Store(0) // a poll would have caught them
	case polling:
		c.misses.Add(1)
	}
	return n, err
}

// poll polls for bytes at least once and until limit after start. It
// returns how many polls it took to get bytes, the end of the stream or
// an error, or 0 polls if it got none of them.
func (c *Conn) poll(p []byte, start time.Time, limit time.Duration) (n, polls int, err error) {
	for polls = 1; ; polls++ {
		var rerr error
		// A callback that returns true never waits: RawConn.Read only
		// checks the deadline and that the socket is open.
		err = c.rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), p)
			return true
		})
		if err == nil {
			err = rerr
		}
		switch {
		case err == nil && n == 0:
			return 0, polls, io.EOF
		case err == nil:
			return n, polls, nil
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
			return 0, polls, &net.OpError{Op: "read", Net: "unix", Addr: c.LocalAddr(), Err: err}
		default:
			return 0, polls, &net.OpError{Op: "read", Net: "unix", Addr: c.LocalAddr(), Err: os.NewSyscallError("read", err)}
		}
		if time.Since(start) >= limit {
			return 0, 0, nil
		}
		runtime.Gosched() // any goroutine that wants this thread goes first
	}
}
