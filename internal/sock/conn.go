package sock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Conn is one end of a control socket: a Unix stream socket in
// non-blocking mode, read and written through the runtime's poller like a
// net.UnixConn, whose Read polls the socket for a moment before it parks.
//
// Why poll: waking a parked reader is what a round trip between two
// processes mostly costs on the small VMs mproc is measured on. An idle
// virtual CPU halts at once (no halt polling), and the next wake-up waits
// for the host to run it again: 40–50 µs in traces of a trivial task's
// round trip, against a few microseconds of work. A reader that polls while
// the other side computes a quick answer keeps its CPU awake and sees the
// answer at once; with both ends polling, a Submit+Wait round trip went
// from 65–70 µs to 14–18 µs on average (7.6 µs median), on 2 cores.
//
// Polling costs CPU, so it is short (spinFor), yields to any goroutine
// that wants the thread, and stops on a Conn whose polls keep missing: a
// worker running long tasks, a result far off, an idle pool. Long waits
// park in the poller, which holds no thread: blocking system calls instead
// would keep the runtime's monitor thread waking every 20 µs, which cost
// CPU-bound pools 15% of their speed in a measurement.
//
// Why not net.UnixConn: package net links a program against the C library
// when cgo is available, and the dynamic loader then adds 0.3–1 ms to the
// start of every worker. An *os.File on a non-blocking descriptor has the
// same poller, deadlines and interruptible Close.
type Conn struct {
	f      *os.File
	rc     syscall.RawConn
	misses atomic.Int32 // Reads in a row whose polling found nothing

	// Every read is a recvmsg, so that descriptors passed with the bytes
	// (SCM_RIGHTS) are kept, in order, until TakeFiles: a plain read
	// would make the kernel close them. msg, iov and oob serve the one
	// reader at a time a stream has.
	msg unix.Msghdr
	iov unix.Iovec
	oob []byte

	fmu      sync.Mutex
	received []int // descriptors received and not yet taken
	closed   bool
}

// maxRights is the most descriptors one recvmsg accepts: the kernel's
// SCM_MAX_FD.
const maxRights = 253

// A Read polls for up to spinFor. Polling turns off after spinMisses Reads
// in a row polled in vain and then waited longer than 2*spinFor; it turns
// on again when a Read that had to wait got its bytes within 2*spinFor. A
// Read that finds bytes at once says nothing either way.
const (
	spinFor    = 50 * time.Microsecond
	spinMisses = 4
)

// NewConn takes ownership of fd, which must be a Unix stream socket, and
// makes it non-blocking and close-on-exec, so that no program a worker
// starts inherits the control socket and keeps it open after the worker
// died. On an error it closes fd.
func NewConn(fd int, name string) (c *Conn, err error) {
	defer func() {
		if err != nil && fd >= 0 {
			unix.Close(fd)
		}
	}()
	if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		return nil, fmt.Errorf("fd %d is not a socket: %w", fd, err)
	} else if typ != unix.SOCK_STREAM {
		return nil, fmt.Errorf("fd %d is a socket of type %d, not a stream", fd, typ)
	}
	if sa, err := unix.Getsockname(fd); err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	} else if _, ok := sa.(*unix.SockaddrUnix); !ok {
		return nil, fmt.Errorf("fd %d is a %T socket, not a unix one", fd, sa)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("fd %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	// os.NewFile makes a non-blocking descriptor pollable; from here on f
	// owns fd.
	f := os.NewFile(uintptr(fd), name)
	rc, rerr := f.SyscallConn() // never fails for an open *os.File
	if rerr != nil {
		f.Close()
		fd = -1 // closed with f
		return nil, rerr
	}
	return &Conn{f: f, rc: rc, oob: make([]byte, unix.CmsgSpace(maxRights*4))}, nil
}

// FileConn makes a Conn of f, an open Unix stream socket (one received as
// a handle, say), which the Conn then owns: Close closes f.
func FileConn(f *os.File) (*Conn, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var typ int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		typ, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		if serr == nil {
			serr = unix.SetNonblock(int(fd), true)
		}
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("%s is not a socket: %w", f.Name(), serr)
	}
	if typ != unix.SOCK_STREAM {
		return nil, fmt.Errorf("%s is a socket of type %d, not a stream", f.Name(), typ)
	}
	// The sockets mproc passes are non-blocking, a flag their duplicates
	// share, so os.NewFile made f pollable; one that is not could not
	// honour deadlines.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("%s cannot wait in the poller (made blocking before it was passed?): %w", f.Name(), err)
	}
	return &Conn{f: f, rc: rc, oob: make([]byte, unix.CmsgSpace(maxRights*4))}, nil
}

// Fd returns the socket's descriptor, leaving it non-blocking (unlike
// os.File.Fd), for passing it with a record. It is valid until Close.
func (c *Conn) Fd() int {
	fd := -1
	c.rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}

// File returns the file under the Conn, to pass it as a handle; closing
// it closes the Conn.
func (c *Conn) File() *os.File { return c.f }

// Read reads up to len(p) bytes, waiting until some have arrived; it
// returns io.EOF at the end of the stream, os.ErrDeadlineExceeded once
// the read deadline has passed and os.ErrClosed after Close.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// Bytes there at once say nothing of whether polling pays.
	if n, ok, err := c.tryRead(p); ok {
		return n, err
	}
	start := time.Now()
	polling := c.misses.Load() < spinMisses
	if polling {
		for time.Since(start) < spinFor {
			runtime.Gosched() // any goroutine that wants this thread goes first
			if n, ok, err := c.tryRead(p); ok {
				c.misses.Store(0) // polling caught bytes that were not there yet
				return n, err
			}
		}
	}
	n, err := c.waitRead(p)
	switch {
	case time.Since(start) < 2*spinFor:
		c.misses.Store(0) // a poll would have caught them
	case polling:
		c.misses.Add(1)
	}
	return n, err
}

// tryRead reads what is there without waiting; ok says it got bytes, the
// end of the stream or an error, not that nothing was there yet.
func (c *Conn) tryRead(p []byte) (n int, ok bool, err error) {
	var rerr error
	// A callback that returns true never waits: RawConn.Read only checks
	// the deadline and that the file is open.
	err = c.rc.Read(func(fd uintptr) bool {
		n, rerr = c.recv(fd, p)
		return true
	})
	if err == nil {
		err = rerr
	} else {
		err = rawErr(err)
	}
	switch {
	case err == nil && n == 0:
		return 0, true, io.EOF
	case err == nil:
		return n, true, nil
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return 0, false, nil
	default: // os.ErrDeadlineExceeded, os.ErrClosed, or from read(2)
		return 0, true, &os.PathError{Op: "read", Path: c.f.Name(), Err: err}
	}
}

// waitRead reads what is there, waiting in the poller until something is.
func (c *Conn) waitRead(p []byte) (int, error) {
	var n int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = c.recv(fd, p)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = rerr
	} else {
		err = rawErr(err)
	}
	switch {
	case err == nil && n == 0:
		return 0, io.EOF
	case err != nil:
		return 0, &os.PathError{Op: "read", Path: c.f.Name(), Err: err}
	}
	return n, nil
}

// recv is one recvmsg into p, keeping the descriptors that came with the
// bytes. Descriptors arrive close-on-exec.
func (c *Conn) recv(fd uintptr, p []byte) (int, error) {
	c.iov.Base = &p[0]
	c.iov.SetLen(len(p))
	c.msg.Iov = &c.iov
	c.msg.SetIovlen(1)
	c.msg.Control = &c.oob[0]
	c.msg.SetControllen(len(c.oob))
	r, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), unix.MSG_CMSG_CLOEXEC)
	c.iov.Base = nil // p is the caller's
	if errno != 0 {
		return 0, errno
	}
	if c.msg.Controllen > 0 {
		if err := c.keepRights(c.oob[:c.msg.Controllen], c.msg.Flags&unix.MSG_CTRUNC != 0); err != nil {
			return 0, err
		}
	}
	return int(r), nil
}

// keepRights queues the descriptors of the control messages in oob.
func (c *Conn) keepRights(oob []byte, truncated bool) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closed || truncated {
		for _, fd := range fds {
			unix.Close(fd)
		}
		if truncated {
			return errors.New("descriptors passed with the stream were cut off (MSG_CTRUNC): more than 253 in one write")
		}
		return nil
	}
	c.received = append(c.received, fds...)
	return nil
}

// TakeFiles returns the next n descriptors received with the stream, which
// the caller then owns (codec.FileReader).
func (c *Conn) TakeFiles(n int) ([]int, error) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if len(c.received) < n {
		return nil, fmt.Errorf("%s: %d descriptors expected, %d received", c.f.Name(), n, len(c.received))
	}
	fds := append([]int(nil), c.received[:n]...)
	c.received = append(c.received[:0], c.received[n:]...)
	return fds, nil
}

// WritevRights writes the buffers in order, as Writev does, and passes the
// descriptors fds with the first bytes (SCM_RIGHTS): the receiver gets
// duplicates of them. It does not close fds.
func (c *Conn) WritevRights(bufs [][]byte, fds []int) (int, error) {
	if len(fds) == 0 {
		return c.Writev(bufs)
	}
	oob := unix.UnixRights(fds...)
	var n int
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.SendmsgBuffers(int(fd), bufs, oob, nil, 0)
			if werr != unix.EINTR {
				return werr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = werr
	} else {
		err = rawErr(err)
	}
	if err != nil {
		return 0, &os.PathError{Op: "sendmsg", Path: c.f.Name(), Err: err}
	}
	// The descriptors went with the first byte; the rest is plain bytes.
	total := n
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
		m, err := c.Writev(bufs)
		total += m
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Write writes all of p, waiting in the poller while the socket's buffer
// is full.
func (c *Conn) Write(p []byte) (int, error) { return c.f.Write(p) }

// Writev writes the buffers in order, with as few writev calls as the
// socket's buffer allows, and returns how many bytes it wrote. It may
// change the slices in bufs.
func (c *Conn) Writev(bufs [][]byte) (int, error) {
	total := 0
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			n, err := unix.Writev(int(fd), bufs)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false // wait until the socket can take more
			}
			if err != nil {
				werr = err
				return true
			}
			total += n
			for len(bufs) > 0 && n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
			}
			if len(bufs) > 0 {
				bufs[0] = bufs[0][n:]
			}
		}
		return true
	})
	if err == nil {
		err = werr
	} else {
		err = rawErr(err)
	}
	if err != nil {
		return total, &os.PathError{Op: "writev", Path: c.f.Name(), Err: err}
	}
	return total, nil
}

// rawErr is what os.File's own methods report for an error of RawConn,
// which did not run the callback: the deadline passed, or the file is
// closed (an error of package poll that os.File reports as os.ErrClosed).
func rawErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return os.ErrClosed
}

// SetReadDeadline sets the deadline for Reads, also one already waiting;
// the zero time means none.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.f.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writes, also one already
// waiting; the zero time means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }

// CloseWrite shuts down the writing side: the peer reads end of file.
func (c *Conn) CloseWrite() error {
	var serr error
	if err := c.rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		serr = rawErr(err)
	}
	if serr != nil {
		return &os.PathError{Op: "shutdown", Path: c.f.Name(), Err: serr}
	}
	return nil
}

// Close closes the socket; a Read, Write, Writev or CloseWrite waiting on
// it or coming after returns an error for which errors.Is(err,
// os.ErrClosed) holds.
func (c *Conn) Close() error {
	c.fmu.Lock()
	c.closed = true
	for _, fd := range c.received {
		unix.Close(fd)
	}
	c.received = nil
	c.fmu.Unlock()
	return c.f.Close()
}

// SyscallConn gives access to the descriptor (syscall.Conn).
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }
