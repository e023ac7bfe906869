package codec

import (
	"reflect"
	"strings"
)

// Fix texts shared by several refusals.
const (
	fixInherit = "send its *os.File instead (a net.TCPConn's, UnixConn's or listener's File method gives one): " +
		"mproc's calls pass an *os.File to processes of this machine as a handle, a duplicated descriptor; or send the path or address and open it in the receiver"
	fixSync = "send the data the lock guards, not the lock: leave it out of what you send, or give the type " +
		"MarshalCodec/UnmarshalCodec methods (codec.Marshaler) that return the state without it"
)

// leafProblem reports whether values of t can never be sent, whatever they
// hold, and why. It is the single source of truth behind Check and the
// encoder; containers of such types are refused through their elements.
func leafProblem(t reflect.Type) (reason, fix string, bad bool) {
	switch t.Kind() {
	case reflect.Chan:
		return "a channel connects goroutines of one process and means nothing in another",
			"send the values instead of the channel; between processes use an mproc.Queue or mproc.NewPipe, which travel as handles", true
	case reflect.UnsafePointer:
		return "an unsafe.Pointer is an address in this process's memory",
			"send the typed value it points to", true
	case reflect.Pointer:
		if e := t.Elem(); e.PkgPath() == "os" && e.Name() == "File" {
			return "an open file is an operating-system descriptor of this process, not data", fixInherit, true
		}
	}
	pkg, name := t.PkgPath(), t.Name()
	switch pkg {
	case "reflect":
		switch name {
		case "Value":
			return "a reflect.Value holds a pointer into this process's memory", "send v.Interface() instead", true
		}
	case "internal/abi":
		if name == "ITab" || strings.HasSuffix(name, "Type") {
			return "it is a runtime type descriptor of this process, not data", "send a value of the type (interface values carry their type), or its name", true
		}
	case "runtime":
		if name == "Func" {
			return "a *runtime.Func points into this process's function tables", "send the function itself: func values travel by reference", true
		}
	case "sync":
		switch name {
		case "Mutex", "RWMutex", "WaitGroup", "Once", "Cond", "Map", "Pool":
			return "a sync." + name + " coordinates goroutines of one process; a copy in another process would guard nothing", fixSync, true
		}
	case "unique":
		if strings.HasPrefix(name, "Handle[") {
			return "a unique.Handle points into this process's table of canonical values; a copy would not be equal to unique.Make of the same value in the worker",
				"send h.Value() and call unique.Make in the worker", true
		}
	case "sync/atomic":
		if name == "Value" || strings.HasPrefix(name, "Pointer[") {
			return "an atomic." + name + " is shared memory between goroutines of one process", fixSync, true
		}
	case "os":
		if name == "File" {
			return "an open file is an operating-system descriptor of this process, not data", fixInherit, true
		}
	case "internal/poll":
		if name == "FD" {
			return "it holds an open file descriptor of this process, not data", fixInherit, true
		}
	case "net":
		switch name {
		case "Conn", "PacketConn", "Listener", "TCPConn", "UDPConn", "UnixConn", "IPConn", "TCPListener", "UnixListener":
			return "a network connection is an operating-system socket of this process, not data", fixInherit, true
		}
	}
	return "", "", false
}
