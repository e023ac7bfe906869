package codec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"time"
	"unsafe"

	"github.com/mproc-go/mproc/internal/prefault"
)

// A Decoder reads values from a stream written by an Encoder.
//
// Types and functions resolve to this program's own: by their position in
// the binary when the stream comes from the same build (its fingerprint is
// checked), or by the names given to Register (the only way in Strict
// mode). A Decoder is not safe for concurrent use.
type Decoder struct {
	r      io.Reader
	fr     FileReader // r, if it receives descriptors
	br     io.ByteReader
	d      decoder
	header bool
	err    error // sticky: the stream can no longer be read
	offset int   // bytes consumed from r
	buf    []byte
}

// NewDecoder returns a Decoder reading from r. If r is not an
// io.ByteReader, the Decoder buffers it and may read past the messages it
// is asked for.
func NewDecoder(r io.Reader, opts ...Option) *Decoder {
	dec := &Decoder{r: r}
	dec.fr, _ = r.(FileReader)
	if br, ok := r.(io.ByteReader); ok {
		dec.br = br
	} else {
		b := bufio.NewReader(r)
		dec.r, dec.br = b, b
	}
	dec.d.init(buildOptions(opts))
	return dec
}

// Decode reads the next message into the value ptr points to. ptr must be
// a non-nil pointer; the stream's value must have ptr's element type (or
// be one pointer away from it: Encode(&v) decodes into &v, Encode(v) into
// a **T), or ptr must point to an interface the value's type implements.
// At the end of the stream Decode returns io.EOF.
//
// A value that does not fit ptr is an error that leaves the stream usable
// (the message is consumed, its type definitions kept); malformed input is
// a *DecodeError after which the stream cannot be read further. On error
// the value ptr points to may be partly written.
func (dec *Decoder) Decode(ptr any) error {
	// Opened and Handles say what this Decode made: nothing yet, also if
	// it fails before a message.
	dec.d.files.opened, dec.d.files.handles = nil, nil
	if dec.err != nil {
		return dec.err
	}
	if pv := reflect.ValueOf(ptr); pv.Kind() != reflect.Pointer || pv.IsNil() {
		return fmt.Errorf("codec: Decode needs a non-nil pointer, got %T", ptr)
	}
	if !dec.header {
		if err := dec.readHeader(); err != nil {
			if err == io.EOF {
				return err
			}
			dec.err = err
			return err
		}
	}
	at := dec.offset
	n, err := dec.readUvarint()
	if err != nil {
		if err == io.EOF && dec.offset == at {
			return io.EOF
		}
		dec.err = dec.streamErr(at, "message length", err)
		return dec.err
	}
	if n > uint64(dec.d.opts.maxMessage) {
		dec.err = &DecodeError{Offset: at, Msg: fmt.Sprintf("message length %d exceeds the limit of %d bytes (codec.MaxMessageSize)", n, dec.d.opts.maxMessage)}
		return dec.err
	}
	body, err := dec.readBody(int(n))
	if err != nil {
		dec.err = dec.streamErr(dec.offset, fmt.Sprintf("message of %d bytes", n), err)
		return dec.err
	}
	d := &dec.d
	d.src, d.limit = dec, dec.d.opts.maxMessage-int(n)
	err = d.decodeMessage(body, dec.offset-len(body), ptr)
	d.src = nil
	d.release()
	if err != nil && (errors.As(err, new(*DecodeError)) || errors.As(err, new(*FingerprintError))) {
		dec.err = err
		return err
	}
	if d.next < len(d.bufs) {
		if err == nil {
			dec.err = &DecodeError{Offset: dec.offset, Msg: fmt.Sprintf("the message has %d out-of-band buffers, its value refers to %d", len(d.bufs), d.next)}
			return dec.err
		}
		// The value did not fit ptr: skip the buffers it did not reach.
		for _, size := range d.bufs[d.next:] {
			at := dec.offset
			m, serr := io.CopyN(io.Discard, dec.r, int64(size))
			dec.offset += int(m)
			if serr != nil {
				dec.err = dec.streamErr(at, fmt.Sprintf("out-of-band buffer of %d bytes", size), serr)
				return dec.err
			}
		}
	}
	return err
}

// readBuffer reads the next out-of-band buffer, of size bytes, from the
// stream into a new slice. Out of Strict mode the stream comes from this
// build and the slice is made at its full size, so the bytes land where
// the value keeps them with no copy in between; in Strict mode it grows as
// bytes arrive, as a message body does.
func (dec *Decoder) readBuffer(size int) ([]byte, error) {
	var b []byte
	if !dec.d.opts.strict || size <= growChunk {
		b = make([]byte, size)
		prefault.Write(b) // a large buffer is new memory: its pages at once
		m, err := io.ReadFull(dec.r, b)
		dec.offset += m
		return b, err
	}
	for len(b) < size {
		if len(b) == cap(b) {
			nb := make([]byte, len(b), min(size, max(2*len(b), growChunk)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(dec.r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		dec.offset += m
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// growChunk is the most a Decoder allocates for a message or a buffer in
// Strict mode before any of its bytes have arrived.
const growChunk = 1 << 20

func (dec *Decoder) streamErr(at int, what string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &DecodeError{Offset: at, Msg: fmt.Sprintf("reading %s: %v", what, err), Err: err}
}

func (dec *Decoder) readUvarint() (uint64, error) {
	var x uint64
	for i := 0; ; i++ {
		b, err := dec.br.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		dec.offset++
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return x, nil
		}
	}
}

// readBody reads n bytes, growing the buffer as data arrives rather than
// trusting n up front: a new buffer is never more than twice the bytes
// received (or 1 MiB). A large buffer is kept for the next message while
// messages keep using a good part of it; the decoded values never alias it.
func (dec *Decoder) readBody(n int) ([]byte, error) {
	const chunk = growChunk
	buf := dec.buf[:0]
	if cap(buf) < min(n, chunk) {
		buf = make([]byte, 0, min(n, chunk))
	}
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, 2*len(buf)))
			copy(nb, buf)
			buf = nb
		}
		// io.ReadFull's loop, without its two calls: a message usually
		// arrives in one Read.
		want := min(n, cap(buf))
		m, err := dec.r.Read(buf[len(buf):want])
		buf = buf[:len(buf)+m]
		dec.offset += m
		if err != nil && len(buf) < want {
			return nil, err
		}
	}
	if cap(buf) <= chunk || n >= cap(buf)/4 {
		dec.buf = buf
	} else {
		dec.buf = nil
	}
	return buf, nil
}

func (dec *Decoder) readHeader() error {
	var m [len(magic)]byte
	k, err := io.ReadFull(dec.r, m[:])
	dec.offset += k
	if err != nil {
		if err == io.EOF {
			return err
		}
		return dec.streamErr(0, "stream header", err)
	}
	if string(m[:]) != magic {
		return &DecodeError{Offset: 0, Msg: fmt.Sprintf("stream header %q is not the codec's magic %q: not a codec stream", m[:], magic)}
	}
	at := dec.offset
	v, err := dec.readUvarint()
	if err != nil {
		return dec.streamErr(at, "format version", err)
	}
	at = dec.offset
	n, err := dec.readUvarint()
	if err != nil {
		return dec.streamErr(at, "fingerprint", err)
	}
	if n > 256 {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("fingerprint length %d, expected at most 256", n)}
	}
	fp := make([]byte, n)
	k, err = io.ReadFull(dec.r, fp)
	dec.offset += k
	if err != nil {
		return dec.streamErr(at, "fingerprint", err)
	}
	if err := dec.d.checkHeader(v, string(fp), at); err != nil {
		return err
	}
	dec.header = true
	return nil
}

// decoder is the state of one stream's reading side.
type decoder struct {
	opts   options
	r      reader
	types  typeTable
	memo   []memoObj
	depth  int
	words  []unsafe.Pointer
	nwords int // how many of words may be set
	locs   map[string]*time.Location

	// The copy of the message the strings are cut from (see string): in
	// block, if copied, shift bytes further than in the body. Reading the
	// body from an earlier position must reset copied.
	block  []byte
	copied bool
	shift  int

	lastDest unsafe.Pointer // the last destination type (see rtypeOf) and its info
	lastInfo *typeInfo

	// The message's out-of-band buffers: their sizes, how many the value
	// has taken, and where they come from: the stream of src, or mem (the
	// bytes after the body, for Unmarshal). limit bounds their total.
	bufs  []int
	few   [2]int // bufs' first storage
	next  int
	src   *Decoder
	mem   []byte
	limit int

	files   decoderFiles // the message's handles
	fileSrc FileReader   // where they come from without a Decoder (UnmarshalFiles)
}

type memoObj struct {
	p  unsafe.Pointer
	n  int
	ti *typeInfo
}

func (d *decoder) init(o options) { d.opts = o }

func (d *decoder) checkHeader(version uint64, fp string, at int) error {
	if version != formatVersion {
		return &DecodeError{Offset: len(magic), Msg: fmt.Sprintf("format version %d, this codec reads version %d", version, formatVersion)}
	}
	if !d.opts.strict && (fp != fingerprint() || fp == "") {
		return &FingerprintError{Stream: fp, Local: fingerprint()}
	}
	return nil
}

// release drops the decoder's references to the value it decoded last, so
// that a long-lived stream keeps nothing of it alive.
func (d *decoder) release() {
	// The runtime's clearing of memory that holds pointers costs more than
	// the few stores a small message needs.
	if n := len(d.memo); n <= 4 {
		for i := range n {
			d.memo[i] = memoObj{}
		}
	} else {
		clear(d.memo)
	}
	d.memo = d.memo[:0]
	for i := range d.nwords {
		d.words[i] = nil
	}
	d.nwords = 0
	d.r.buf = nil
}

// decodeMessage decodes one message body that starts at stream offset base.
func (d *decoder) decodeMessage(body []byte, base int, ptr any) error {
	// Field by field: assigning a whole reader copies it through the
	// stack.
	d.r.buf, d.r.pos, d.r.base, d.r.zeroLeft = body, 0, base, maxZeroSized
	d.copied = false
	d.memo = d.memo[:0]
	d.depth = 0
	d.next = 0
	if d.bufs == nil {
		d.bufs = d.few[:0]
	}
	d.files.opened, d.files.handles = nil, nil // the caller's now
	if err := d.types.readDefs(&d.r, &d.bufs, &d.files.names, d.limit); err != nil {
		return err
	}
	if len(d.files.names) > 0 {
		return d.decodeWithFiles(ptr)
	}
	return d.decodeValue(ptr)
}

// decodeWithFiles receives the message's files, then decodes its value.
func (d *decoder) decodeWithFiles(ptr any) error {
	src := d.fileSrc
	if d.src != nil {
		src = d.src.fr
	}
	defer d.files.end()
	if err := d.files.receive(src, d.r.offset()); err != nil {
		return err
	}
	return d.decodeValue(ptr)
}

// decodeValue decodes the message's value, after its definitions.
func (d *decoder) decodeValue(ptr any) error {
	pt := reflect.TypeOf(ptr)
	ti := d.lastInfo
	if pt == nil || rtypeOf(pt) != d.lastDest {
		pv := reflect.ValueOf(ptr)
		if pv.Kind() != reflect.Pointer || pv.IsNil() {
			return fmt.Errorf("codec: Decode needs a non-nil pointer, got %T", ptr)
		}
		ti = infoOf(pt.Elem())
		if len(ti.problems) > 0 {
			return ti.problems[0].err()
		}
		d.lastDest, d.lastInfo = rtypeOf(pt), ti
	} else if (*eface)(unsafe.Pointer(&ptr)).data == nil {
		return fmt.Errorf("codec: Decode needs a non-nil pointer, got a nil %T", ptr)
	}
	p := (*eface)(unsafe.Pointer(&ptr)).data
	if err := d.decodeTop(ti, p); err != nil {
		return err
	}
	if d.r.remaining() != 0 {
		return d.r.fail("%d bytes left after the value", d.r.remaining())
	}
	return nil
}

func (d *decoder) decodeTop(ti *typeInfo, p unsafe.Pointer) error {
	if ti.kind == kInterface {
		// Encode(&iface) decodes into &iface2: the stream's value is a
		// pointer to an interface of the destination's type.
		save := d.r.pos
		if id, err := d.r.uvarint("type of the value"); err == nil && id >= firstUserID {
			if w := d.types.lookup(id); w != nil && w.kind == kPtr && d.matches(w, infoOf(reflect.PointerTo(ti.t))) {
				if ok, err := d.decodeIndirect(w, ti, p); ok {
					return err
				}
			}
		}
		d.r.pos = save
		d.copied = false // the copy starts after save, perhaps
		return ti.dec(d, p)
	}
	at := d.r.offset()
	id, err := d.r.uvarint("type of the value")
	if err != nil {
		return err
	}
	global := id == idGlobal
	if global {
		if id, err = d.r.uvarint("type of the sentinel"); err != nil {
			return err
		}
	}
	if id == idNil {
		reflect.NewAt(ti.t, p).Elem().SetZero()
		return nil
	}
	w := d.types.lookup(id)
	if w == nil {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("value of undefined type #%d", id)}
	}
	if w.indirect == ti || !d.matches(w, ti) {
		if !global {
			if ok, err := d.decodeIndirect(w, ti, p); ok {
				return err
			}
		}
		return fmt.Errorf("codec: cannot decode a %s (stream type #%d) into a %s", w.name, id, ti.t)
	}
	var off int64
	if global {
		if off, err = d.r.varint("sentinel position"); err != nil {
			return err
		}
	}
	if err := ti.dec(d, p); err != nil {
		return err
	}
	if global && !d.opts.strict {
		g, err := loadGlobal(off, ti.t)
		if err != nil {
			return &DecodeError{Offset: at, Msg: err.Error()}
		}
		reflect.NewAt(ti.t, p).Elem().Set(reflect.ValueOf(g))
	}
	return nil
}

// decodeIndirect decodes a top-level value one pointer away from the
// destination's type, as encoding/gob does: Encode(&v) then Decode(&v), or
// Encode(v) then Decode(&p) with p a pointer. It reports whether it applied.
func (d *decoder) decodeIndirect(w *wireType, ti *typeInfo, p unsafe.Pointer) (bool, error) {
	switch {
	case w.indirect == ti || w.kind == kPtr && d.matches(d.types.lookup(w.elem), ti):
		// A pointer to a T, into a T: the destination is the object.
		if w.indirect != ti {
			w.indirect, w.indirectPtr = ti, infoOf(reflect.PointerTo(ti.t))
		}
		ptrTi := w.indirectPtr
		at := d.r.offset()
		h, err := d.r.uvarint("pointer")
		switch {
		case err != nil:
			return true, err
		case h == refNil:
			return true, fmt.Errorf("codec: cannot decode a nil %s into a %s", w.name, ti.t)
		case h == refInterior || h == refInteriorNew:
			return true, fmt.Errorf("codec: the %s points inside another object that travels with it: decode it into a %s", w.name, reflect.PointerTo(ti.t))
		case h != refNew:
			return true, &DecodeError{Offset: at, Msg: "back-reference before any object"}
		}
		d.memo = append(d.memo, memoObj{p, 0, ptrTi})
		d.depth++
		return true, ti.dec(d, p)
	case ti.kind == kPtr && d.matches(w, ti.elem):
		// A T into a pointer to a T: a new object.
		obj := reflect.New(ti.elem.t).UnsafePointer()
		if err := ti.elem.dec(d, obj); err != nil {
			return true, err
		}
		*(*unsafe.Pointer)(p) = obj
		return true, nil
	}
	return false, nil
}

// outside reads the rest of a reference to an out-of-band buffer, whose
// header is at offset at: its number, which must be the next, and the
// count of elements of elemSize bytes it holds, which must fill it. It
// returns the buffer's bytes, in a new slice.
func (d *decoder) outside(at int, elemSize uintptr, what reflect.Type) ([]byte, int, error) {
	k, err := d.r.uvarint("buffer number")
	if err != nil {
		return nil, 0, err
	}
	n, err := d.r.uvarint("buffer length")
	if err != nil {
		return nil, 0, err
	}
	if k != uint64(d.next) || k >= uint64(len(d.bufs)) {
		return nil, 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("%s in out-of-band buffer #%d, expected #%d of the %d the message has", what, k, d.next, len(d.bufs))}
	}
	size := d.bufs[k]
	if elemSize == 0 || n != uint64(size)/uint64(elemSize) || size%int(elemSize) != 0 {
		return nil, 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("%s of %d elements of %d bytes in out-of-band buffer #%d of %d bytes", what, n, elemSize, k, size)}
	}
	d.next++
	if d.src == nil {
		if size > len(d.mem) {
			return nil, 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("out-of-band buffer #%d of %d bytes runs past the end of the data", k, size)}
		}
		b := append(make([]byte, 0, 0), d.mem[:size]...)
		d.mem = d.mem[size:]
		return b, int(n), nil
	}
	from := d.src.offset
	b, err := d.src.readBuffer(size)
	if err != nil {
		return nil, 0, d.src.streamErr(from, fmt.Sprintf("out-of-band buffer #%d of %d bytes", k, size), err)
	}
	return b, int(n), nil
}

// maxShared is the largest message whose strings share one allocation.
const maxShared = 4096

// stringBlock is the size of the blocks that copies of small messages are
// made in, for their strings: the copies of several messages share one
// allocation.
const stringBlock = 1024

// string returns the next n bytes, which the caller checked are there, as
// a string. The strings of a small message are cut from one copy of it,
// from its first string on, made on first use in the decoder's block: one
// allocation for the strings of several messages. A string keeps its
// block alive, so blocks are small (stringBlock, or the copy's size).
func (d *decoder) string(n int) string {
	if d.copied && n > 0 {
		// The message's later strings: slices of its copy.
		i := d.r.pos + d.shift
		d.r.pos += n
		return unsafe.String(&d.block[i : i+n : len(d.block)][0], n)
	}
	return d.newString(n)
}

func (d *decoder) newString(n int) string {
	if n == 0 {
		return ""
	}
	start := d.r.pos
	d.r.pos += n
	if len(d.r.buf) > maxShared {
		return string(d.r.buf[start:d.r.pos])
	}
	if !d.copied {
		rest := d.r.buf[start:]
		if cap(d.block)-len(d.block) < len(rest) {
			d.block = make([]byte, 0, max(stringBlock, len(rest)))
		}
		d.shift = len(d.block) - start
		d.block = append(d.block, rest...) // bytes once handed out are never written again
		d.copied = true
	}
	i := start + d.shift
	return unsafe.String(&d.block[i : i+n : len(d.block)][0], n)
}

// word returns a scratch word for the current depth (see encoder.word).
func (d *decoder) word() unsafe.Pointer {
	for len(d.words) <= d.depth {
		d.words = append(d.words, nil)
	}
	d.words[d.depth] = nil
	d.nwords = max(d.nwords, d.depth+1)
	return unsafe.Pointer(&d.words[d.depth])
}

// decodeDynamic reads an interface value (type id, then value) into the
// interface of type it at p.
func (d *decoder) decodeDynamic(it reflect.Type, p unsafe.Pointer) error {
	at := d.r.offset()
	id, err := d.r.uvarint("interface type")
	if err != nil {
		return err
	}
	if id == idNil {
		*(*[2]unsafe.Pointer)(p) = [2]unsafe.Pointer{}
		return nil
	}
	global := id == idGlobal
	if global {
		if id, err = d.r.uvarint("type of the sentinel"); err != nil {
			return err
		}
	}
	w := d.types.lookup(id)
	if w == nil || id == idNil || id == idGlobal {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("interface value of undefined type #%d", id)}
	}
	ct, err := d.resolve(w)
	if err != nil {
		return err
	}
	// The answer is cached on the stream's own wire types only: the
	// predeclared ones are shared by every decoder of the process.
	shared := id < firstUserID
	impl, known := false, false
	if !shared {
		impl, known = w.implOK[it]
	}
	if !known {
		impl = ct.Implements(it) && ct.Kind() != reflect.Interface
		if !shared {
			if w.implOK == nil {
				w.implOK = map[reflect.Type]bool{}
			}
			w.implOK[it] = impl
		}
	}
	if !impl {
		return fmt.Errorf("codec: cannot decode a %s (stream type #%d, at byte %d) into a %s: it does not implement it", ct, id, at, it)
	}
	var off int64
	if global {
		if off, err = d.r.varint("sentinel position"); err != nil {
			return err
		}
	}
	if d.depth++; d.depth > d.opts.maxDepth {
		return &DepthError{Limit: d.opts.maxDepth}
	}
	ti := infoOf(ct)
	if ti.minWire > uint64(d.r.remaining()) {
		return d.r.fail("a %s takes at least %d bytes, %d are left", ct, ti.minWire, d.r.remaining())
	}
	var data unsafe.Pointer
	if ti.direct {
		wp := d.word()
		if err := ti.dec(d, wp); err != nil {
			return err
		}
		data = *(*unsafe.Pointer)(wp)
	} else {
		data = reflect.New(ct).UnsafePointer()
		if err := ti.dec(d, data); err != nil {
			return err
		}
	}
	d.depth--
	var x any
	*(*eface)(unsafe.Pointer(&x)) = eface{typePointer(ct), data}
	if global && !d.opts.strict {
		if x, err = loadGlobal(off, ct); err != nil {
			return &DecodeError{Offset: at, Msg: err.Error()}
		}
	}
	if it.NumMethod() == 0 {
		*(*any)(p) = x
	} else {
		reflect.NewAt(it, p).Elem().Set(reflect.ValueOf(x))
	}
	return nil
}
