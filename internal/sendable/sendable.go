// Package sendable is the one table of what can never be sent to another
// process, whatever it holds: the codec refuses it at run time
// (codec.Check, the encoder) and mprocvet at compile time, from the same
// entries, so the two cannot drift apart.
package sendable

import "strings"

// A Leaf is a kind or a named type that cannot travel, why, and what to do
// instead.
type Leaf struct {
	Reason, Fix string
}

// Fix texts shared by several entries.
const (
	FixSocket = "send its *os.File instead (a net.TCPConn's, UnixConn's or listener's File method gives one): " +
		"mproc's calls pass an *os.File to processes of this machine as a handle, a duplicated descriptor; or send the path or address and open it in the receiver"
	FixSync = "send the data the lock guards, not the lock: leave it out of what you send, or give the type " +
		"MarshalCodec/UnmarshalCodec methods (codec.Marshaler) that return the state without it"
)

// Chan and UnsafePointer are the kinds that cannot travel.
var (
	Chan = Leaf{"a channel connects goroutines of one process and means nothing in another",
		"send the values instead of the channel; between processes use an mproc.Queue or mproc.NewPipe, which travel as handles"}
	UnsafePointer = Leaf{"an unsafe.Pointer is an address in this process's memory", "send the typed value it points to"}
)

// Named reports whether the named type pkg.name can never travel. An
// *os.File can, as a handle, and is not listed; os.File itself (not a
// pointer) cannot.
func Named(pkg, name string) (Leaf, bool) {
	switch pkg {
	case "reflect":
		if name == "Value" {
			return Leaf{"a reflect.Value holds a pointer into this process's memory", "send v.Interface() instead"}, true
		}
	case "internal/abi":
		if name == "ITab" || strings.HasSuffix(name, "Type") {
			return Leaf{"it is a runtime type descriptor of this process, not data", "send a value of the type (interface values carry their type), or its name"}, true
		}
	case "runtime":
		if name == "Func" {
			return Leaf{"a *runtime.Func points into this process's function tables", "send the function itself: func values travel by reference"}, true
		}
	case "sync":
		switch name {
		case "Mutex", "RWMutex", "WaitGroup", "Once", "Cond", "Map", "Pool":
			return Leaf{"a sync." + name + " coordinates goroutines of one process; a copy in another process would guard nothing", FixSync}, true
		}
	case "unique":
		if strings.HasPrefix(name, "Handle[") {
			return Leaf{"a unique.Handle points into this process's table of canonical values; a copy would not be equal to unique.Make of the same value in the worker",
				"send h.Value() and call unique.Make in the worker"}, true
		}
	case "sync/atomic":
		if name == "Value" || strings.HasPrefix(name, "Pointer[") {
			return Leaf{"an atomic." + name + " is shared memory between goroutines of one process", FixSync}, true
		}
	case "os":
		if name == "File" {
			return Leaf{"an open file is an operating-system descriptor of this process, not data", "send a *os.File: mproc passes it as a handle"}, true
		}
	case "internal/poll":
		if name == "FD" {
			return Leaf{"it holds an open file descriptor of this process, not data", FixSocket}, true
		}
	case "net":
		switch name {
		case "Conn", "PacketConn", "Listener", "TCPConn", "UDPConn", "UnixConn", "IPConn", "TCPListener", "UnixListener":
			return Leaf{"a network connection is an operating-system socket of this process, not data", FixSocket}, true
		}
	}
	return Leaf{}, false
}
