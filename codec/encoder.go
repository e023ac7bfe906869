package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unsafe"
)

// An Encoder writes values to a stream: the stream header once, then one
// length-prefixed message per Encode. Each type and function is described
// once per stream, in the first message that needs it, so a long-lived
// Encoder and Decoder pair stops paying for type information after the
// first message of each type.
//
// An Encoder is not safe for concurrent use.
type Encoder struct {
	w         io.Writer
	fw        FileWriter // w, if it passes descriptors
	e         encoder
	header    bool // the stream header has been written
	err       error
	frame     []byte
	bulkLimit int
}

// NewEncoder returns an Encoder writing to w. The stream header is written
// with the first message.
func NewEncoder(w io.Writer, opts ...Option) *Encoder {
	o := buildOptions(opts)
	enc := &Encoder{w: w, bulkLimit: 1 << 14}
	enc.e.init(o)
	if fw, ok := w.(FileWriter); ok {
		enc.fw = fw
		enc.e.handles.sink = sinkWriter
	}
	return enc
}

// Encode writes v as one message. It is atomic: if v cannot be sent,
// Encode writes nothing, leaves the stream as it was and returns the error
// (an *UnsupportedError naming the first part of v that cannot travel, with
// its path); the Encoder remains usable. An error from the underlying
// Writer, though, leaves the stream broken and is returned again by every
// later call.
//
// A message is usually one Write; one holding large strings, arrays or
// slices of numbers (16 KiB or more each) is written in several, the large
// parts straight from v's memory, so v must not change until Encode
// returns. Such slices travel after the message body, each in one Write,
// so that a Decoder reads them straight into the slices it returns.
func (enc *Encoder) Encode(v any) error {
	if enc.err != nil {
		return enc.err
	}
	e := &enc.e
	e.begin(enc.bulkLimit)
	if err := e.encodeMessage(v); err != nil {
		e.rollback()
		return explain(err, v, e.handles.sink != sinkNone)
	}
	n := e.messageLen()
	if len(e.handles.names) > 0 {
		// The descriptors go with the message's first bytes, or earlier.
		if err := enc.fw.AttachFiles(e.handles.takeFiles()); err != nil {
			e.rollback()
			return &UnsupportedError{Type: "*os.File", Reason: reasonFileBytes + ": " + err.Error(), Fix: fixFileBytes}
		}
	} else {
		e.handles.end()
	}
	if enc.header && len(e.defs) == 0 && len(e.spans) == 0 && len(e.outside) == 0 && len(e.handles.names) == 0 {
		// The common case on a long-lived stream: the length prefix goes
		// into the room left before the value, and one Write sends both.
		var lb [binary.MaxVarintLen64]byte
		k := binary.PutUvarint(lb[:], uint64(n))
		start := headroom - k
		copy(e.buf[start:], lb[:k])
		if _, err := enc.w.Write(e.buf[start:]); err != nil {
			return enc.fail(err)
		}
		e.release()
		return nil
	}
	frame := enc.frame[:0]
	if !enc.header {
		frame = appendHeader(frame)
	}
	frame = binary.AppendUvarint(frame, uint64(n))
	frame = e.appendDefs(frame)
	frame = e.appendTable(frame)
	frame = e.handles.appendTable(frame)
	e.handles.end()
	// Small messages go out in one Write; the bulk spans of a large one are
	// written straight from the caller's memory, without a copy.
	start := headroom
	for _, s := range e.spans {
		frame = append(frame, e.buf[start:s.at]...)
		start = s.at
		if len(frame) > 0 {
			if _, err := enc.w.Write(frame); err != nil {
				return enc.fail(err)
			}
			frame = frame[:0]
		}
		if _, err := enc.w.Write(s.data); err != nil {
			return enc.fail(err)
		}
	}
	frame = append(frame, e.buf[start:]...)
	if _, err := enc.w.Write(frame); err != nil {
		return enc.fail(err)
	}
	for _, b := range e.outside {
		if _, err := enc.w.Write(b); err != nil {
			return enc.fail(err)
		}
	}
	enc.header = true
	if cap(frame) <= 1<<16 {
		enc.frame = frame
	}
	clear(e.spans) // they point into v's memory
	e.spans = e.spans[:0]
	clear(e.outside)
	e.outside = e.outside[:0]
	e.release()
	return nil
}

func (enc *Encoder) fail(err error) error {
	enc.err = fmt.Errorf("codec: writing message: %w", err)
	return enc.err
}

func appendHeader(b []byte) []byte {
	b = append(b, magic...)
	b = binary.AppendUvarint(b, formatVersion)
	return appendString(b, fingerprint())
}

// explain turns an encoder's refusal into the first Problem Check finds, so
// the error names the path from the root.
// passing says the encoder passes files and handles, which Check then
// accepts unless they cannot be passed.
func explain(err error, v any, passing bool) error {
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		return err
	}
	if ps := check(v, passing); len(ps) > 0 {
		return ps[0].err()
	}
	return err
}

// encoder is the state of one stream's writing side.
type encoder struct {
	opts  options
	buf   []byte // the value part of the current message
	spans []span // bulk data left in the caller's memory, spliced in at buf offsets
	bulk  int    // spans start at this many bytes; 0 copies everything into buf
	// Slices of numbers of bulk bytes or more, in the caller's memory:
	// the out-of-band buffers, sent after the body.
	outside [][]byte

	defs     [][]byte // definitions introduced by the current message, in id order
	types    map[reflect.Type]uint64
	nextType uint64
	addTypes []reflect.Type
	funcs    map[funcDefKey]uint64
	nextFunc uint64
	addFuncs []funcDefKey
	// The last plain functions looked up and their ids: a stream's
	// messages usually carry the same few (a task's runner and function),
	// and comparing two words beats hashing a funcDefKey.
	funcFew  [4]funcMemo
	funcNext int

	// The last dynamic types seen and their ids: a stream usually carries
	// the same few over and over (a task's message, its function and its
	// inputs), and comparing two words beats infoOf and typeID's maps.
	typeFew  [4]typeMemo
	typeNext int

	memoFew [8]memoKey // the first objects of the message (see seen)
	memo    addrTable
	memoAlt map[memoKey]uint64
	nmemo   uint64
	depth   int
	words   []unsafe.Pointer // one scratch word per depth for pointer-shaped interface values
	nwords  int              // how many of words may be set

	// The objects the message has written (see interior.go): their
	// address ranges, with their memo keys when keyed, and, when it is
	// written again because some lie inside others, each inner object's
	// container. ranges and the scratch of overlap, which hold no
	// pointers, are kept from message to message.
	ranges     []objRange
	rangeTmp   []objRange
	cells      []uint64
	keyed      bool
	objs       []objRec
	interior   map[memoKey]objRec
	containers map[memoKey]bool

	handles handleState // the message's open files
}

type typeMemo struct {
	rt unsafe.Pointer // the type's descriptor, see rtypeOf
	ti *typeInfo
	id uint64
}

type funcMemo struct {
	fv unsafe.Pointer
	ti *typeInfo
	id uint64
}

type span struct {
	at   int
	data []byte
}

type memoVal struct {
	ti *typeInfo
	n  int
	id uint64
}

type memoKey struct {
	p  unsafe.Pointer
	ti *typeInfo
	n  int
}

func (e *encoder) init(o options) {
	e.opts = o
	if e.types == nil {
		e.types = map[reflect.Type]uint64{}
		e.funcs = map[funcDefKey]uint64{}
	}
	e.nextType = firstUserID
	e.nextFunc = 1
}

func (e *encoder) begin(bulk int) {
	e.buf = append(e.buf[:0], make([]byte, headroom)...)
	e.spans = e.spans[:0]
	e.outside = e.outside[:0]
	e.bulk = bulk
	e.defs = e.defs[:0]
	e.addTypes = e.addTypes[:0]
	e.addFuncs = e.addFuncs[:0]
	e.release()
	e.depth = 0
	e.keyed = false
}

// release drops the encoder's references to the value it encoded last, so
// that a long-lived stream keeps nothing of it alive.
func (e *encoder) release() {
	if e.nmemo > uint64(len(e.memoFew)) {
		e.memo.clear()
		clear(e.memoAlt)
	}
	// Element by element: a message uses a word or two and a few memo
	// slots, and clearing memory that holds pointers through the runtime
	// costs more than the stores.
	for i := range min(e.nmemo, uint64(len(e.memoFew))) {
		e.memoFew[i] = memoKey{}
	}
	e.nmemo = 0
	for i := range e.nwords {
		e.words[i] = nil
	}
	e.nwords = 0
	e.ranges = e.ranges[:0]
	if len(e.objs) > 0 {
		clear(e.objs)
		e.objs = e.objs[:0]
	}
}

// rollback forgets the definitions the failed message introduced, and
// closes the descriptors it duplicated.
func (e *encoder) rollback() {
	e.handles.discard()
	e.typeFew = [len(e.typeFew)]typeMemo{}
	e.funcFew = [len(e.funcFew)]funcMemo{}
	for _, t := range e.addTypes {
		delete(e.types, t)
	}
	for _, f := range e.addFuncs {
		delete(e.funcs, f)
	}
	e.nextType -= uint64(len(e.addTypes))
	e.nextFunc -= uint64(len(e.addFuncs))
	e.defs = e.defs[:0]
	clear(e.spans)
	e.spans = e.spans[:0]
	clear(e.outside)
	e.outside = e.outside[:0]
	e.buf = e.buf[:headroom]
	e.release()
}

// headroom is the space left at the start of buf for a length prefix.
const headroom = binary.MaxVarintLen64

func (e *encoder) messageLen() int {
	n := len(e.buf) - headroom
	for _, d := range e.defs {
		n += len(d)
	}
	for _, s := range e.spans {
		n += len(s.data)
	}
	if len(e.outside) > 0 {
		n += 1 + uvarintLen(uint64(len(e.outside)))
		for _, b := range e.outside {
			n += uvarintLen(uint64(len(b)))
		}
	}
	return n + e.handles.tableLen()
}

// appendTable appends the buffer table, if the message has out-of-band
// buffers.
func (e *encoder) appendTable(b []byte) []byte {
	if len(e.outside) == 0 {
		return b
	}
	b = append(b, tagBuffers)
	b = binary.AppendUvarint(b, uint64(len(e.outside)))
	for _, o := range e.outside {
		b = binary.AppendUvarint(b, uint64(len(o)))
	}
	return b
}

// outsideLen returns the size of the out-of-band buffers.
func (e *encoder) outsideLen() int {
	n := 0
	for _, b := range e.outside {
		n += len(b)
	}
	return n
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// appendOutside writes a reference to data as the next out-of-band buffer,
// or, below the bulk limit, appends data.
func (e *encoder) appendOutside(data []byte, elems int) {
	if e.bulk > 0 && len(data) >= e.bulk {
		e.buf = append(e.buf, bulkOutside)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(e.outside)))
		e.buf = binary.AppendUvarint(e.buf, uint64(elems))
		e.outside = append(e.outside, data)
		return
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(elems)+bulkInline)
	e.buf = append(e.buf, data...)
}

func (e *encoder) appendDefs(b []byte) []byte {
	for _, d := range e.defs {
		b = append(b, d...)
	}
	return b
}

// appendMessage appends the whole message body (definitions, buffer table,
// then value) to b, splicing in the bulk spans.
func (e *encoder) appendMessage(b []byte) []byte {
	b = e.appendDefs(b)
	b = e.appendTable(b)
	b = e.handles.appendTable(b)
	start := headroom
	for _, s := range e.spans {
		b = append(b, e.buf[start:s.at]...)
		b = append(b, s.data...)
		start = s.at
	}
	return append(b, e.buf[start:]...)
}

// appendBulk appends raw bytes of the caller's memory, or, past the bulk
// limit, records them to be written from where they are.
func (e *encoder) appendBulk(data []byte) {
	if e.bulk > 0 && len(data) >= e.bulk {
		e.spans = append(e.spans, span{at: len(e.buf), data: data})
		return
	}
	e.buf = append(e.buf, data...)
}

func (e *encoder) encodeTop(v any) error {
	e.buf = append(e.buf, tagValue)
	if v == nil {
		e.buf = append(e.buf, idNil)
		return nil
	}
	ef := (*eface)(unsafe.Pointer(&v))
	return e.encodeDynamic(reflect.TypeOf(v), ef.data)
}

// word returns a scratch word for the current depth, to hold the data word
// of a pointer-shaped value taken out of an interface. Outer depths keep
// their words valid when the slice grows: they hold the old array.
func (e *encoder) word(w unsafe.Pointer) unsafe.Pointer {
	for len(e.words) <= e.depth {
		e.words = append(e.words, nil)
	}
	e.words[e.depth] = w
	e.nwords = max(e.nwords, e.depth+1)
	return unsafe.Pointer(&e.words[e.depth])
}

// encodeDynamic writes an interface value of dynamic type t whose data word
// is data: its type id, then the value. A pointer to a package-level error
// variable (a sentinel such as io.EOF) is written as a reference to that
// variable, followed by its value for decoders that cannot use the reference.
func (e *encoder) encodeDynamic(t reflect.Type, data unsafe.Pointer) error {
	var ti *typeInfo
	var id uint64
	// Every reflect.Type is a *reflect.rtype: comparing the pointers
	// saves the runtime's interface comparison.
	rt := rtypeOf(t)
	for _, m := range &e.typeFew {
		if m.rt == rt {
			ti, id = m.ti, m.id
			break
		}
	}
	if ti == nil {
		ti = infoOf(t)
		if len(ti.problems) > 0 {
			return ti.problems[0].err()
		}
		var err error
		if id, err = e.typeID(ti); err != nil {
			return err
		}
		e.typeFew[e.typeNext%len(e.typeFew)] = typeMemo{rt, ti, id}
		e.typeNext++
	}
	if e.depth++; e.depth > e.opts.maxDepth {
		return &DepthError{Limit: e.opts.maxDepth}
	}
	err := e.encodeValue(ti, id, data)
	e.depth--
	return err
}

func (e *encoder) encodeValue(ti *typeInfo, id uint64, data unsafe.Pointer) error {
	t := ti.t
	p := data
	if ti.direct {
		p = e.word(data)
	}
	if ti.errPtr && data != nil {
		var x any
		*(*eface)(unsafe.Pointer(&x)) = eface{typePointer(t), data}
		if off, ok := findGlobal(x); ok {
			e.buf = append(e.buf, idGlobal)
			e.buf = binary.AppendUvarint(e.buf, id)
			e.buf = appendVarint(e.buf, off)
			return ti.enc(e, p)
		}
	}
	e.buf = binary.AppendUvarint(e.buf, id)
	return ti.enc(e, p)
}

// typeID returns the stream's id for ti's type, defining it (and the types
// it is made of) in the current message if the stream has not seen it.
func (e *encoder) typeID(ti *typeInfo) (uint64, error) {
	if id, ok := predeclaredTypes[ti.t]; ok {
		return id, nil
	}
	if id, ok := e.types[ti.t]; ok {
		return id, nil
	}
	if len(ti.problems) > 0 {
		return 0, ti.problems[0].err()
	}
	id := e.nextType
	e.nextType++
	e.types[ti.t] = id
	e.addTypes = append(e.addTypes, ti.t)
	slot := len(e.defs)
	e.defs = append(e.defs, nil)

	t := ti.t
	d := []byte{tagType}
	d = binary.AppendUvarint(d, id)
	d = append(d, byte(ti.kind))
	d = appendString(d, t.String())
	var flags uint64
	if t.Name() != "" && t.PkgPath() != "" {
		flags |= typeFlagPkg
	}
	ref, hasRef := typeRefOf(t)
	if hasRef {
		flags |= typeFlagRef
	}
	if t.Kind() == reflect.Func && t.IsVariadic() {
		flags |= typeFlagVar
	}
	tags := false
	for _, f := range ti.fields {
		tags = tags || f.tag != ""
	}
	if tags {
		flags |= typeFlagTags
	}
	d = binary.AppendUvarint(d, flags)
	if flags&typeFlagPkg != 0 {
		d = appendString(d, t.PkgPath())
	}
	if hasRef {
		d = appendVarint(d, ref.Offset)
		d = binary.LittleEndian.AppendUint32(d, ref.Hash)
	}
	sub := func(x *typeInfo) error {
		xid, err := e.typeID(x)
		d = binary.AppendUvarint(d, xid)
		return err
	}
	var err error
	switch ti.kind {
	case kArray:
		d = binary.AppendUvarint(d, uint64(t.Len()))
		err = sub(ti.elem)
	case kSlice, kPtr:
		err = sub(ti.elem)
	case kMap:
		if err = sub(ti.key); err == nil {
			err = sub(ti.elem)
		}
	case kStruct:
		d = binary.AppendUvarint(d, uint64(len(ti.fields)))
		for _, f := range ti.fields {
			d = appendString(d, f.name)
			var ff byte
			if f.embedded {
				ff |= fieldEmbedded
			}
			if f.exported {
				ff |= fieldExported
			}
			d = append(d, ff)
			if tags {
				d = appendString(d, f.tag)
			}
			if err = sub(f.info); err != nil {
				break
			}
		}
	case kFunc:
		d = binary.AppendUvarint(d, uint64(len(ti.in)))
		for _, x := range ti.in {
			if err = sub(x); err != nil {
				break
			}
		}
		d = binary.AppendUvarint(d, uint64(len(ti.out)))
		for _, x := range ti.out {
			if err == nil {
				err = sub(x)
			}
		}
	}
	e.defs[slot] = d
	return id, err
}

// A funcDefKey identifies a function definition of the stream: the code (or
// the static funcval), what it captures by reference (a dictionary), and
// the func type it travels as: one function under two func types is two
// definitions.
type funcDefKey struct {
	p, dict unsafe.Pointer
	t       reflect.Type
}

// funcID returns the stream's id for the function whose funcval is fv,
// defining it if new. Functions travel by reference only: a name and a
// position in the binary. A method value travels as a reference to its
// method and, after the id (see encFunc), its receiver by value; a
// function made in generic code as references to its code and to its
// dictionary. Closures that capture variables are refused.
//
// It returns the receiver's info and its offset in the funcval for a
// method value.
func (e *encoder) funcID(ti *typeInfo, p unsafe.Pointer, fv unsafe.Pointer) (uint64, *typeInfo, uintptr, error) {
	for _, f := range &e.funcFew {
		if f.fv == fv && f.ti == ti {
			return f.id, nil, 0, nil
		}
	}
	if id, ok := e.funcs[funcDefKey{fv, nil, ti.t}]; ok {
		e.funcFew[e.funcNext%len(e.funcFew)] = funcMemo{fv, ti, id}
		e.funcNext++
		return id, nil, 0, nil
	}
	fi := funcInfo(reflect.NewAt(ti.t, p).Elem())
	pc := *(*uintptr)(fv)
	var mv methodValue
	var dict dictInfo
	key := funcDefKey{fv, nil, ti.t}
	switch {
	case fi.MethodValue && strings.HasSuffix(fi.Name, "-fm") && !fi.Foreign:
		mv = methodValueOf(ti.t, pc, fi.Name, "")
		if mv.pr != nil {
			return 0, nil, 0, mv.pr.err()
		}
		key = funcDefKey{unsafePointer(pc), nil, ti.t}
	case fi.Closure && !fi.MethodValue && !fi.Foreign && fi.Name != "":
		if dict = dictOf(pc, fv); !dict.ok {
			pr, _ := funcProblem(ti.t, fi)
			return 0, nil, 0, pr.err()
		}
		key = funcDefKey{unsafePointer(pc), unsafePointer(dict.dict), ti.t}
	default:
		if pr, bad := funcProblem(ti.t, fi); bad {
			return 0, nil, 0, pr.err()
		}
	}
	var rti *typeInfo
	if mv.recv != nil {
		rti = infoOf(mv.recv)
	}
	if id, ok := e.funcs[key]; ok {
		return id, rti, mv.off, nil
	}
	tid, err := e.typeID(ti)
	if err != nil {
		return 0, nil, 0, err
	}
	var rid uint64
	if rti != nil {
		if len(rti.problems) > 0 {
			pr := rti.problems[0]
			pr.Path = ".(receiver " + mv.recv.String() + ")" + pr.Path
			return 0, nil, 0, pr.err()
		}
		if rid, err = e.typeID(rti); err != nil {
			return 0, nil, 0, err
		}
	}
	id := e.nextFunc
	e.nextFunc++
	e.funcs[key] = id
	e.addFuncs = append(e.addFuncs, key)
	var d []byte
	switch {
	case rti != nil:
		d = closureHeader(id, tid, closureMethod, fi.Name, fi.Offset)
		d = binary.AppendUvarint(d, rid)
		d = appendString(d, mv.method)
	case dict.ok:
		ref, _ := typeRefOf(dict.first)
		d = closureHeader(id, tid, closureDict, fi.Name, fi.Offset)
		d = appendVarint(d, int64(dict.dict-anchorPC()))
		d = appendVarint(d, ref.Offset)
		d = binary.LittleEndian.AppendUint32(d, ref.Hash)
		d = appendString(d, dict.first.String())
	default:
		d = []byte{tagFunc}
		d = binary.AppendUvarint(d, id)
		d = binary.AppendUvarint(d, tid)
		d = appendString(d, fi.Name)
		d = appendVarint(d, fi.Offset)
	}
	e.defs = append(e.defs, d)
	return id, rti, mv.off, nil
}

// closureHeader starts the definition of function id of type tid made of
// code by position (name, offset), of closure kind kind; the kind's own
// fields follow.
func closureHeader(id, tid uint64, kind byte, name string, offset int64) []byte {
	d := []byte{tagClosure}
	d = binary.AppendUvarint(d, id)
	d = binary.AppendUvarint(d, tid)
	d = append(d, kind)
	d = appendString(d, name)
	return appendVarint(d, offset)
}
