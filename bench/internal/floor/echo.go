// Package floor measures the physical limits mproc works within on this
// machine: two Go processes talking over a socketpair with plain blocking
// system calls and no encoding at all (round trip, message rate, stream and
// bulk bandwidth, process start), memory copy bandwidth, and the parallel
// speed-up of goroutines. No IPC library can beat these figures; the table
// shows how close mproc comes.
package floor

import (
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/mproc-go/mproc/bench/internal/child"
)

// RoleEcho is the child that writes back every byte it reads.
const RoleEcho = "floor-echo"

func init() { child.Register(RoleEcho, echo) }

// echo returns each read's bytes with one write, so pipelined messages
// coalesce as far as the kernel lets them, the best any protocol can do.
func echo(conn *os.File) error {
	buf := make([]byte, 1<<20)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return quiet(werr)
			}
		}
		if err != nil {
			return quiet(err)
		}
	}
}

// quiet treats the ways a closed harness shows up as a normal end.
func quiet(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
