package serve

import (
	"fmt"
	"github.com/mproc-go/mproc/internal/sock"
	"os"

	"golang.org/x/sys/unix"
)

// exitOnHangup exits the process as soon as the parent's end of the
// control socket closes or shuts down writing, which is what a dead parent
// or a parent that gives up on this worker does, until the returned
// function is called. It is for while the initializer runs: the worker
// reads nothing then, so a read could not see the EOF. The socket's bytes
// are left for the reader.
func exitOnHangup(c *sock.Conn) (stop func()) {
	rc, err := c.SyscallConn()
	if err != nil {
		return func() {}
	}
	var wake [2]int // a pipe: stop writes to wake[1] to end the poll
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC); err != nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}, {Fd: int32(wake[0]), Events: unix.POLLIN}}
			for {
				if _, err := unix.Poll(fds, -1); err != nil {
					if err == unix.EINTR {
						continue
					}
					fmt.Fprintln(os.Stderr, "mproc worker: watching the parent during init:", err)
					return
				}
				if fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0 {
					os.Exit(0) // as read does on EOF
				}
				if fds[1].Revents != 0 {
					return
				}
			}
		})
	}()
	return func() {
		unix.Write(wake[1], []byte{0})
		<-done
		unix.Close(wake[0])
		unix.Close(wake[1])
	}
}
