package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Handles: values that own operating-system descriptors.
//
// An open file or socket cannot be turned into bytes, but a Unix socket can
// pass it to another process of the same machine (SCM_RIGHTS): the kernel
// installs a duplicate of the descriptor in the receiver. An Encoder whose
// Writer is a FileWriter sends every *os.File in a value that way: the
// message lists its files ("handle #k"), and their descriptors travel beside
// the message's bytes. mproc's control sockets, queues and pipes are such
// writers. Everywhere else — Marshal, an Encoder on a plain io.Writer — a
// value holding a file is refused with an *UnsupportedError, since bytes
// saved or sent further cannot carry a descriptor.
//
// A type that owns descriptors and more (a queue's connection, a pipe's end)
// implements HandleMarshaler and HandleUnmarshaler: its state is sent like
// a Marshaler's, with its files passed as handles, and only when the value
// is really sent through a FileWriter — never by Check or Sendable, so
// MarshalHandle may make what it hands out (a fresh connection).

// MaxFiles is the most files one message may carry: the kernel passes at
// most 253 descriptors with one write (SCM_MAX_FD), and a message's files
// go with one.
const MaxFiles = 250

// A FileWriter is a Writer that can pass open files beside its bytes, as a
// Unix socket does. An Encoder writing to one sends *os.File values as
// handles.
type FileWriter interface {
	io.Writer
	// AttachFiles hands over descriptors to send with the bytes written
	// next (or with bytes already buffered and not yet sent): they must
	// reach the reader no later than those bytes. The FileWriter owns
	// them from the call on, and closes them once sent, or on failure.
	// It returns an error, having closed them, if it cannot pass
	// descriptors at all.
	AttachFiles(fds []int) error
}

// A FileReader is a Reader that receives the descriptors passed beside the
// bytes it reads, in order.
type FileReader interface {
	io.Reader
	// TakeFiles returns the next n descriptors received, which the
	// caller then owns. The descriptors of a message arrive no later than
	// its bytes, so a Decoder asks for them after reading the message's
	// file table; fewer than n is an error.
	TakeFiles(n int) ([]int, error)
}

// HandleMarshaler is implemented by types that own operating-system
// descriptors: a queue's or a pipe's connection, a shared object's. It is
// Marshaler's counterpart for values that are passed rather than copied,
// and it is called only when the value is sent through a FileWriter (to a
// process of this machine); Check, Sendable and the mproc calls' checks
// accept such a type without calling it, and Marshal refuses it.
//
// MarshalHandle returns the state to send (encoded like any value; its
// *os.File values travel as handles) and the files of that state whose
// ownership moves to the receiver: the encoder closes them once their
// descriptors are on their way, or when the message fails. So a
// MarshalHandle may make a fresh connection for each send: if the message
// never reaches a live process, its descriptors are closed, and the other
// end of the connection sees it close.
type HandleMarshaler interface {
	MarshalHandle() (state any, moved []*os.File, err error)
}

// HandleUnmarshaler is the receiving side of HandleMarshaler: UnmarshalHandle
// is called on a zero value with the decoded state, whose files the value
// then owns.
type HandleUnmarshaler interface {
	UnmarshalHandle(state any) error
}

// A HandleCloser is a handle that can let go of what it holds in this
// process (a mapping, a connection) without affecting other processes.
// Decoder.Handles lists those a message made, so that whoever decoded it —
// mproc's worker, when the task whose input brought them returns — can
// let go of them.
type HandleCloser interface {
	CloseHandle() error
}

var (
	fileType              = reflect.TypeFor[*os.File]()
	handleMarshalerType   = reflect.TypeFor[HandleMarshaler]()
	handleUnmarshalerType = reflect.TypeFor[HandleUnmarshaler]()
)

// Fix texts of the refusals of handles (see HandleRefused).
const (
	reasonFileBytes = "an open file travels as a duplicated descriptor, which only a connection between processes of " +
		"this machine can pass (mproc's calls, queues and pipes); bytes cannot carry it"
	fixFileBytes = "pass it to a worker through mproc (Map, Submit, Start, Initializer, Queue.Put, Pipe.Send), which " +
		"sends it as a handle; to save or send it further, send the path and open it in the receiver"
	reasonHandleBytes = "it owns operating-system descriptors (it is a handle), which only a connection between " +
		"processes of this machine can pass; bytes cannot carry them"
	fixHandleBytes = "pass it to a worker through mproc (Map, Submit, Start, Initializer, Queue.Put, Pipe.Send), which sends it as a handle"
)

// fileSink is how an encoder passes files: nil for bytes only (Marshal, a
// plain io.Writer), probeSink for Sendable, or the Encoder's FileWriter.
type fileSink int8

const (
	sinkNone fileSink = iota
	sinkProbe
	sinkWriter
)

// handleState is an encoder's files for the current message.
type handleState struct {
	sink  fileSink
	fds   []int // duplicated descriptors, owned until handed to the writer
	names []string
	index map[*os.File]int
	moved []*os.File // to close after the message, sent or not
}

// encodeFile writes a file as its handle number plus one (0 for nil).
func (e *encoder) encodeFile(f *os.File) error {
	if f == nil {
		e.buf = append(e.buf, 0)
		return nil
	}
	h := &e.handles
	switch h.sink {
	case sinkNone:
		return &UnsupportedError{Type: "*os.File", Reason: reasonFileBytes, Fix: fixFileBytes}
	case sinkProbe:
		e.buf = append(e.buf, 1)
		return nil
	}
	if k, ok := h.index[f]; ok {
		e.buf = binary.AppendUvarint(e.buf, uint64(k)+1)
		return nil
	}
	if len(h.fds) == MaxFiles {
		return &UnsupportedError{Type: "*os.File", Reason: fmt.Sprintf("a message passes at most %d open files (the kernel's limit per write is 253)", MaxFiles),
			Fix: "send the files in several messages"}
	}
	fd, err := dupFile(f)
	if err != nil {
		return err
	}
	if h.index == nil {
		h.index = map[*os.File]int{}
	}
	h.index[f] = len(h.fds)
	h.fds = append(h.fds, fd)
	h.names = append(h.names, f.Name())
	e.buf = binary.AppendUvarint(e.buf, uint64(len(h.fds)))
	return nil
}

// dupFile duplicates f's descriptor (close-on-exec), so that the caller may
// close f at once while the duplicate waits to be sent. A file that cannot
// be duplicated (closed already) is refused like any value that cannot
// travel: the message is not sent, the stream stays usable.
func dupFile(f *os.File) (int, error) {
	fd := -1
	var derr error
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) })
	}
	if err == nil {
		err = derr
	}
	if err != nil {
		return -1, fileProblem(f, err).err()
	}
	return fd, nil
}

// unusableFile reports a file that cannot be passed (closed already).
func unusableFile(f *os.File) (Problem, bool) {
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Control(func(uintptr) {})
	}
	if err != nil {
		return fileProblem(f, err), true
	}
	return Problem{}, false
}

func fileProblem(f *os.File, err error) Problem {
	return Problem{Type: "*os.File", Reason: fmt.Sprintf("file %s cannot be passed: %v", f.Name(), err),
		Fix: "keep the file open until the call that sends it returns (mproc encodes a task's input when it dispatches it)"}
}

// encodeHandle writes a HandleMarshaler's state: 0 for a nil pointer, else
// 1 and the state.
func (e *encoder) encodeHandle(ti *typeInfo, p unsafe.Pointer) error {
	if *(*unsafe.Pointer)(p) == nil {
		e.buf = append(e.buf, 0)
		return nil
	}
	switch e.handles.sink {
	case sinkNone:
		return &UnsupportedError{Type: ti.t.String(), Reason: reasonHandleBytes, Fix: fixHandleBytes}
	case sinkProbe:
		e.buf = append(e.buf, 0)
		return nil
	}
	m := reflect.NewAt(ti.t, p).Elem().Interface().(HandleMarshaler)
	state, moved, err := m.MarshalHandle()
	e.handles.moved = append(e.handles.moved, moved...)
	if err != nil {
		return fmt.Errorf("codec: (%s).MarshalHandle: %w", ti.t, err)
	}
	e.buf = append(e.buf, 1)
	return e.encodeAny(state)
}

// decodeHandle reads what encodeHandle wrote into a new value.
func (d *decoder) decodeHandle(ti *typeInfo, p unsafe.Pointer) error {
	b, err := d.r.byte1("handle")
	if err != nil || b == 0 {
		*(*unsafe.Pointer)(p) = nil
		return err
	}
	if b != 1 {
		return &DecodeError{Offset: d.r.offset() - 1, Msg: fmt.Sprintf("handle byte %d, expected 0 or 1", b)}
	}
	var state any
	if err := d.decodeDynamic(anyType, unsafe.Pointer(&state)); err != nil {
		return err
	}
	v := reflect.New(ti.t.Elem())
	u := v.Interface().(HandleUnmarshaler)
	if err := callUser(ti.t, "UnmarshalHandle", func() error { return u.UnmarshalHandle(state) }); err != nil {
		return err
	}
	*(*unsafe.Pointer)(p) = v.UnsafePointer()
	if hc, ok := v.Interface().(HandleCloser); ok {
		d.files.handles = append(d.files.handles, hc)
	}
	return nil
}

// takeFiles returns the message's descriptors, which the caller then owns.
func (h *handleState) takeFiles() []int {
	fds := h.fds
	h.fds = nil
	return fds
}

// discard closes what the failed message holds.
func (h *handleState) discard() {
	for _, fd := range h.fds {
		unix.Close(fd)
	}
	h.fds = h.fds[:0]
	h.end()
}

// end closes the moved originals and forgets the message's files.
func (h *handleState) end() {
	if len(h.moved) == 0 && len(h.names) == 0 && len(h.index) == 0 {
		return // the usual message, with no files
	}
	for _, f := range h.moved {
		if f != nil {
			f.Close()
		}
	}
	clear(h.moved)
	h.moved = h.moved[:0]
	clear(h.names)
	h.names = h.names[:0]
	clear(h.index)
}

// tableLen is the size of the message's file table.
func (h *handleState) tableLen() int {
	if len(h.names) == 0 {
		return 0
	}
	n := 1 + uvarintLen(uint64(len(h.names)))
	for _, s := range h.names {
		n += uvarintLen(uint64(len(s))) + len(s)
	}
	return n
}

// appendTable appends the file table: the count, then each file's name.
func (h *handleState) appendTable(b []byte) []byte {
	if len(h.names) == 0 {
		return b
	}
	b = append(b, tagFiles)
	b = binary.AppendUvarint(b, uint64(len(h.names)))
	for _, s := range h.names {
		b = appendString(b, s)
	}
	return b
}

// readFileTable reads the names of a message's files.
func readFileTable(r *reader, names *[]string) error {
	// Each file is referred to from the value by at least 1 byte, and
	// named by at least 1.
	n, err := r.length("file count", 2)
	if err != nil {
		return err
	}
	if n == 0 || n > MaxFiles {
		return r.fail("file count %d, want 1 to %d", n, MaxFiles)
	}
	for range n {
		s, err := r.str("file name")
		if err != nil {
			return err
		}
		*names = append(*names, s)
	}
	return nil
}

// decoderFiles is a decoder's files for the current message.
type decoderFiles struct {
	names   []string
	fds     []int          // received, -1 once claimed by a *os.File
	files   []*os.File     // made so far, by handle number
	opened  []*os.File     // every file the last message made
	handles []HandleCloser // and every HandleCloser
}

// receive takes the message's descriptors from src.
func (df *decoderFiles) receive(src FileReader, at int) error {
	if len(df.names) == 0 {
		return nil
	}
	if src == nil {
		n := len(df.names)
		df.names = df.names[:0]
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("the message passes %d open files, and this decoder reads bytes that cannot carry them (Unmarshal, or a Decoder on a plain io.Reader)", n)}
	}
	fds, err := src.TakeFiles(len(df.names))
	if err != nil {
		n := len(df.names)
		df.names = df.names[:0]
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("the message passes %d open files: %v", n, err), Err: err}
	}
	df.fds = fds
	df.files = make([]*os.File, len(fds))
	return nil
}

// file returns handle k (numbered from 1) as an *os.File, the same one for
// every reference in the message.
func (df *decoderFiles) file(k uint64, at int) (*os.File, error) {
	if k == 0 || k > uint64(len(df.fds)) {
		return nil, &DecodeError{Offset: at, Msg: fmt.Sprintf("reference to file #%d, the message passes %d", k, len(df.fds))}
	}
	i := k - 1
	if f := df.files[i]; f != nil {
		return f, nil
	}
	f := os.NewFile(uintptr(df.fds[i]), df.names[i])
	if f == nil {
		return nil, &DecodeError{Offset: at, Msg: fmt.Sprintf("file #%d (%s) has an invalid descriptor", k, df.names[i])}
	}
	df.fds[i] = -1
	df.files[i] = f
	df.opened = append(df.opened, f)
	return f, nil
}

// end closes the descriptors the message passed and its value did not use.
func (df *decoderFiles) end() {
	for _, fd := range df.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	df.fds = nil
	df.files = nil
	clear(df.names)
	df.names = df.names[:0]
}

// Opened returns the files the last Decode made from descriptors passed
// with its message, in the order its value first refers to them (also
// those inside a HandleUnmarshaler's state). The caller may close them
// when it is done with the value: mproc's workers close the files of a
// task's input when the task returns.
func (dec *Decoder) Opened() []*os.File { return dec.d.files.opened }

// Handles returns the values implementing HandleCloser that the last
// Decode made, in the order they were decoded.
func (dec *Decoder) Handles() []HandleCloser { return dec.d.files.handles }

// Sendable reports the error that sending v to a process of this machine
// through mproc would meet, without sending it: Marshal's refusals, with
// their paths, except that open files and handles (HandleMarshaler) are
// accepted, not duplicated and not marshaled. It runs the encoder, so it
// also reports what a MarshalCodec or MarshalBinary method returns; its
// cost is that of Marshal.
func Sendable(v any) error {
	e := encoderPool.Get().(*encoder)
	defer func() {
		e.handles.sink = sinkNone
		e.reset()
		encoderPool.Put(e)
	}()
	e.init(buildOptions(nil))
	e.begin(1 << 14)
	e.handles.sink = sinkProbe
	err := e.encodeMessage(v)
	e.handles.discard()
	if err != nil {
		return explain(err, v, true)
	}
	return nil
}

// SendableType reports what the type t alone says of whether its values
// can be sent: err is the refusal every value of t meets (a channel field,
// say); static reports that every value of t can be sent, whatever it
// holds, so that a caller sending many values of t may skip Sendable for
// each (a MarshalBinary method may still fail). Neither (nil, false)
// means it depends on the value: t holds interfaces, functions, files,
// handles or Marshalers. The answer is computed once per type.
func SendableType(t reflect.Type) (static bool, err error) {
	ti := infoOf(t)
	if len(ti.problems) > 0 {
		return false, ti.problems[0].err()
	}
	return !ti.dynamic, nil
}

// HandleRefused reports whether err is the codec's refusal of an open file
// or a handle (HandleMarshaler) on a destination that carries only bytes:
// Marshal, an Encoder on a plain Writer. Such a value does travel over a
// connection between processes of this machine (see Sendable); a caller
// whose bytes go further (mproc's cluster pool) uses it to say so.
func HandleRefused(err error) bool {
	var ue *UnsupportedError
	return errors.As(err, &ue) && (strings.HasPrefix(ue.Reason, reasonFileBytes) || ue.Reason == reasonHandleBytes)
}

// MarshalFiles is Marshal for a destination that passes descriptors, as a
// Unix socket does: it returns the encoding of v, whose open files and
// handles are listed in its file table, and the duplicated descriptors of
// those files, in order, which the caller then owns and passes with the
// bytes. Each call is a self-contained stream, like Marshal's, at about
// Marshal's cost; a long-lived Encoder on a FileWriter is cheaper per
// message.
func MarshalFiles(v any) (data []byte, fds []int, err error) {
	e := encoderPool.Get().(*encoder)
	defer func() {
		e.handles.sink = sinkNone
		e.reset()
		encoderPool.Put(e)
	}()
	e.init(buildOptions(nil))
	e.begin(1 << 14)
	e.handles.sink = sinkWriter
	if err := e.encodeMessage(v); err != nil {
		e.handles.discard()
		return nil, nil, explain(err, v, true)
	}
	n := e.messageLen()
	data = make([]byte, 0, len(magic)+2+len(fingerprint())+binary.MaxVarintLen64+n+e.outsideLen())
	data = appendHeader(data)
	data = binary.AppendUvarint(data, uint64(n))
	data = e.appendMessage(data)
	for _, b := range e.outside {
		data = append(data, b...)
	}
	fds = e.handles.takeFiles()
	e.handles.end()
	return data, fds, nil
}

// UnmarshalFiles is Unmarshal for data that MarshalFiles made, with the
// descriptors passed with it. The value owns the files it refers to, which
// UnmarshalFiles returns; it closes the descriptors the value does not use.
func UnmarshalFiles(data []byte, fds []int, ptr any) ([]*os.File, error) {
	src := &fdList{fds: fds}
	var d decoder
	d.fileSrc = src
	err := d.unmarshal(data, ptr)
	for _, fd := range src.fds {
		unix.Close(fd)
	}
	return d.files.opened, err
}

// fdList serves descriptors from a slice.
type fdList struct{ fds []int }

func (l *fdList) Read([]byte) (int, error) { return 0, io.EOF }

func (l *fdList) TakeFiles(n int) ([]int, error) {
	if n > len(l.fds) {
		return nil, fmt.Errorf("%d descriptors expected, %d were passed", n, len(l.fds))
	}
	fds := l.fds[:n:n]
	l.fds = l.fds[n:]
	return fds, nil
}
