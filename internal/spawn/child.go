package spawn

import (
	"errors"
	"fmt"
	"github.com/mproc-go/mproc/internal/sock"
	"os"
	"sync/atomic"
	"syscall"
)

var unattached atomic.Bool

func init() { unattached.Store(os.Getenv(Marker) == markerValue) }

// IsWorker reports whether this process was started as a worker and has not
// attached yet: true in a worker before Attach, and for good in a child
// whose main never called mproc.Main. A worker that attached may start
// workers of its own.
func IsWorker() bool { return unattached.Load() }

// A Child is the worker's side of its connection to the parent.
type Child struct {
	Conn *sock.Conn
	Slot *Slot
}

// Attach is called once by a worker at the start of mproc.Main: it removes
// the marker from the environment, takes fds 3 and 4, and sends its hello.
func Attach() (*Child, error) {
	if !unattached.CompareAndSwap(true, false) {
		return nil, errors.New("not a worker, or attached already")
	}
	os.Unsetenv(Marker)
	conn, err := sock.NewConn(3, "mproc-control")
	if err != nil {
		return nil, fmt.Errorf("control socket on fd 3: %w", err)
	}
	slot, err := mapSlot(4)
	if err != nil {
		return nil, fmt.Errorf("slot on fd 4: %w", err)
	}
	syscall.Close(4)
	h := hello{Version: protocolVersion, Pid: os.Getpid(), Fingerprint: fingerprint}
	if _, err := conn.Write(h.appendTo(nil)); err != nil {
		return nil, fmt.Errorf("hello: %w", err)
	}
	return &Child{Conn: conn, Slot: slot}, nil
}
