package codec

import (
	"encoding/binary"
	"fmt"
)

// magic opens every stream; formatVersion follows it.
const (
	magic         = "\x89MPC"
	formatVersion = 2
)

// Item tags inside a message body.
const (
	tagType    = 'T' // a type definition
	tagFunc    = 'F' // a function reference definition
	tagClosure = 'C' // a method value's method or a function made in generic code
	tagBuffers = 'B' // the sizes of the buffers that follow the body
	tagFiles   = 'H' // the names of the files passed beside the message (handles)
	tagValue   = 'V' // the value; always last
)

// A wireKind says how values of a type are laid out on the wire. The numbers
// are part of the format; for the predeclared basic types the kind number is
// also the type id.
type wireKind uint8

const (
	kBool wireKind = iota + 2
	kInt
	kInt8
	kInt16
	kInt32
	kInt64
	kUint
	kUint8
	kUint16
	kUint32
	kUint64
	kUintptr
	kFloat32
	kFloat64
	kComplex64
	kComplex128
	kString // 18
	kArray
	kSlice
	kMap
	kPtr
	kStruct
	kInterface
	kFunc
	kTime     // time.Time: instant and location
	kBinary   // encoding.BinaryMarshaler bytes
	kGob      // GobEncode bytes (math/big)
	kText     // encoding.TextMarshaler bytes
	kHook     // Marshaler state, an interface value
	kLocation // *time.Location: by name
	kType     // reflect.Type: by reference
	kFile     // *os.File: a handle, its descriptor passed beside the stream
	kHandle   // HandleMarshaler state, an interface value
	kLast
)

var kindNames = [...]string{
	kBool: "bool", kInt: "int", kInt8: "int8", kInt16: "int16", kInt32: "int32", kInt64: "int64",
	kUint: "uint", kUint8: "uint8", kUint16: "uint16", kUint32: "uint32", kUint64: "uint64",
	kUintptr: "uintptr", kFloat32: "float32", kFloat64: "float64", kComplex64: "complex64",
	kComplex128: "complex128", kString: "string", kArray: "array", kSlice: "slice", kMap: "map",
	kPtr: "pointer", kStruct: "struct", kInterface: "interface", kFunc: "func", kTime: "time",
	kBinary: "binary", kGob: "gob", kText: "text", kHook: "hook", kLocation: "location", kType: "reflect.Type",
	kFile: "file", kHandle: "handle",
}

func (k wireKind) String() string {
	if k < kLast && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

func (k wireKind) basic() bool { return k >= kBool && k <= kString }

// Predeclared type ids. Ids 0 and 1 are reserved in interface positions
// (nil, sentinel reference); the basic kinds use their kind number; ids from
// firstUserID on are defined by the stream.
const (
	idNil         = 0
	idGlobal      = 1
	idAny         = 19
	idError       = 20
	firstUserID   = 32
	maxZeroSized  = 1 << 16 // most elements of a zero-size type one message may hold
	typeFlagPkg   = 1       // type definition carries a package path
	typeFlagRef   = 2       // type definition carries a binary position
	typeFlagVar   = 4       // func type is variadic
	typeFlagTags  = 8       // struct fields carry their tags
	fieldEmbedded = 1
	fieldExported = 2
)

// Reference headers for pointers, maps and slices that may hold references.
const (
	refNil = 0
	refNew = 1 // a new object follows; it takes the next memo id
	// refInterior, memo id k, byte offset (and, for a slice, its length):
	// a pointer or slice into object k, an object written earlier.
	refInterior = 2
	// refInteriorNew, the container's type id, byte offset (and length):
	// a pointer or slice into an object not written yet, which follows
	// (it takes the next memo id).
	refInteriorNew = 3
	// refBack+k is a back-reference to memo id k.
	refBack = 4
)

// Bulk headers for slices of fixed-size numbers.
const (
	bulkNil     = 0
	bulkOutside = 1 // buffer #k, after the message body
	// refInterior (2) and refInteriorNew (3) as for references: a slice
	// into another object of the value.
	// bulkTracked, then a bulk header: a slice other objects point into;
	// it takes the next memo id.
	bulkTracked = 4
	// bulkInline+n: n elements follow in little-endian byte order.
	bulkInline = 5
)

// Slices that cannot hold references start with 0 (nil), 1 (a slice, its
// length and elements), refInterior or refInteriorNew, or sliceTracked (a
// slice other objects point into, which takes the next memo id; its length
// and elements follow).
const sliceTracked = 4

// reader reads one message body. Every method checks bounds and records the
// first error; callers check r.err where a decision depends on the value.
type reader struct {
	buf  []byte
	pos  int
	base int // stream offset of buf[0], for error messages
	// zeroLeft counts the elements of zero-size types the message may
	// still hold: they take no bytes, so the length of the input cannot
	// bound them.
	zeroLeft int
}

func newReader(buf []byte, base int) reader {
	return reader{buf: buf, base: base, zeroLeft: maxZeroSized}
}

func (r *reader) offset() int { return r.base + r.pos }

func (r *reader) remaining() int { return len(r.buf) - r.pos }

func (r *reader) fail(format string, args ...any) error {
	return &DecodeError{Offset: r.offset(), Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) byte1(what string) (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, r.fail("unexpected end of message, expected %s", what)
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

func (r *reader) uvarint(what string) (uint64, error) {
	buf, pos := r.buf, r.pos
	var x uint64
	for s := uint(0); s < 64; s += 7 {
		if pos >= len(buf) {
			return 0, r.fail("unexpected end of message, expected %s (varint)", what)
		}
		b := buf[pos]
		pos++
		if b < 0x80 {
			if s == 63 && b > 1 {
				break
			}
			r.pos = pos
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
	}
	return 0, r.fail("varint overflow, expected %s", what)
}

func (r *reader) varint(what string) (int64, error) {
	u, err := r.uvarint(what)
	return unzigzag(u), err
}

// unzigzag undoes the zigzag encoding of a signed varint.
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// length reads a count of items each at least minSize bytes long (0 for
// zero-size items) and refuses counts the rest of the message cannot hold.
func (r *reader) length(what string, minSize int) (int, error) {
	at := r.offset()
	u, err := r.uvarint(what)
	if err != nil {
		return 0, err
	}
	return r.checkLength(at, what, u, minSize)
}

func (r *reader) checkLength(at int, what string, u uint64, minSize int) (int, error) {
	if minSize == 0 {
		if u > uint64(r.zeroLeft) {
			return 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("%s %d of a zero-size type exceeds the %d such elements a message may hold", what, u, maxZeroSized)}
		}
		r.zeroLeft -= int(u)
		return int(u), nil
	}
	if u > uint64(r.remaining())/uint64(minSize) {
		return 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("%s %d is more than the %d bytes left in the message can hold", what, u, r.remaining())}
	}
	return int(u), nil
}

func (r *reader) bytes(n int, what string) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, r.fail("%s of %d bytes runs past the end of the message (%d left)", what, n, r.remaining())
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) str(what string) (string, error) {
	n, err := r.length(what+" length", 1)
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n, what)
	return string(b), err
}

func (r *reader) fixed64(what string) (uint64, error) {
	b, err := r.bytes(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) fixed32(what string) (uint32, error) {
	b, err := r.bytes(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func appendVarint(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
