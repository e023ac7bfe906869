package spawn

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit describes how a worker process ended.
type Exit struct {
	Code   int    // exit status, or -1 when killed by a signal
	Signal string // signal name such as "SIGKILL", when killed by one
	Err    error  // when waiting for it failed
	// PeakRSS is the most memory the process ever had resident, in
	// bytes (the kernel's ru_maxrss), 0 when unknown.
	PeakRSS int64
}

func exitOf(st *os.ProcessState, err error) Exit {
	if st == nil {
		return Exit{Code: -1, Err: err}
	}
	var peak int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss << 10 // kilobytes on Linux
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := unix.SignalName(ws.Signal())
		if name == "" {
			name = fmt.Sprintf("signal %d", int(ws.Signal()))
		}
		return Exit{Code: -1, Signal: name, PeakRSS: peak}
	}
	return Exit{Code: st.ExitCode(), PeakRSS: peak}
}

func (e Exit) String() string {
	switch {
	case e.Signal != "":
		return "killed by " + e.Signal
	case e.Err != nil && e.Code < 0:
		return "wait failed: " + e.Err.Error()
	default:
		return fmt.Sprintf("exit status %d", e.Code)
	}
}
