package codec

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// A wireType is a type as a stream describes it. The decoder resolves it to
// a local type; Dis prints it without any local type.
type wireType struct {
	id       uint64
	at       int // stream offset of the definition
	kind     wireKind
	name     string // as reflect.Type.String gives it
	pkg      string // package path of a named type
	hasRef   bool
	ref      typeRef
	variadic bool
	length   uint64 // arrays
	elem     uint64 // arrays, slices, pointers, maps
	key      uint64 // maps
	fields   []wireField
	in, out  []uint64

	// Decoder-side caches.
	local     reflect.Type
	localErr  error
	built     reflect.Type // resolveUnchecked's answer
	buildErr  error
	matched   map[*typeInfo]bool
	lastMatch *typeInfo
	// indirect is the local type T this pointer type last decoded into
	// as a T itself (see decodeIndirect), indirectPtr is *T's info.
	indirect, indirectPtr *typeInfo
	implOK                map[reflect.Type]bool
}

type wireField struct {
	name  string
	tag   string
	flags byte
	typ   uint64
}

var predeclaredWire [firstUserID]*wireType

func init() {
	for id, t := range predeclaredByID {
		predeclaredWire[id] = &wireType{id: id, kind: kindOfPredeclared(id), name: t.String(), local: t}
	}
}

func kindOfPredeclared(id uint64) wireKind {
	if id == idAny || id == idError {
		return kInterface
	}
	return wireKind(id)
}

// typeTable holds the types a stream has defined so far.
type typeTable struct {
	types []*wireType // id firstUserID+i
	funcs []*wireFunc // id 1+i
}

type wireFunc struct {
	id     uint64
	at     int
	typ    uint64
	name   string
	offset int64

	// A closure (tagClosure): closureMethod with the receiver's type and
	// the method's name, or closureDict with the dictionary's position and
	// its first entry, a type.
	closure  byte
	recv     uint64
	method   string
	dictOff  int64
	dictType typeRef
	dictName string

	// Decoder-side cache: the resolved function's funcval word; for a
	// method value, the wrapper's entry, the receiver's info and the
	// layout of the funcval to make.
	fv       unsafe.Pointer
	err      error
	pc       uintptr
	recvInfo *typeInfo
	recvOff  uintptr
	funcval  reflect.Type
	resolved bool
}

func (tt *typeTable) lookup(id uint64) *wireType {
	if id < firstUserID {
		return predeclaredWire[id]
	}
	if id-firstUserID < uint64(len(tt.types)) {
		return tt.types[id-firstUserID]
	}
	return nil
}

// readDefs reads the definitions at the start of a message body and adds
// them to the table, and the sizes of the message's out-of-band buffers
// into bufs, which must hold no more than limit bytes in all. It stops at
// the value tag.
func (tt *typeTable) readDefs(r *reader, bufs *[]int, files *[]string, limit int) error {
	firstNew := len(tt.types)
	*bufs = (*bufs)[:0]
	*files = (*files)[:0]
	seenBufs, seenFiles := false, false
	for {
		tag, err := r.byte1("a definition or the value")
		if err != nil {
			return err
		}
		switch tag {
		case tagType:
			if err := tt.readType(r); err != nil {
				return err
			}
		case tagFunc, tagClosure:
			if err := tt.readFunc(r, tag == tagClosure); err != nil {
				return err
			}
		case tagBuffers:
			if seenBufs {
				return &DecodeError{Offset: r.offset() - 1, Msg: "a second buffer table in one message"}
			}
			seenBufs = true
			if err := readBufferTable(r, bufs, limit); err != nil {
				return err
			}
		case tagFiles:
			if seenFiles {
				return &DecodeError{Offset: r.offset() - 1, Msg: "a second file table in one message"}
			}
			seenFiles = true
			if err := readFileTable(r, files); err != nil {
				return err
			}
		case tagValue:
			// Every type referenced by a new definition must now exist.
			for _, w := range tt.types[firstNew:] {
				for _, id := range w.refs() {
					if tt.lookup(id) == nil {
						return r.fail("type #%d (%s) refers to undefined type #%d", w.id, w.name, id)
					}
				}
			}
			return nil
		default:
			return &DecodeError{Offset: r.offset() - 1, Msg: fmt.Sprintf("unknown item tag 0x%02x, expected a definition ('T', 'F', 'C'), the buffer table ('B'), the file table ('H') or the value ('V')", tag)}
		}
	}
}

// readBufferTable reads the sizes of a message's out-of-band buffers: a
// count, then each size in bytes, at least 1 and at most limit in all.
func readBufferTable(r *reader, bufs *[]int, limit int) error {
	// Each buffer is referred to from the value by at least 3 bytes.
	n, err := r.length("buffer count", 3)
	if err != nil {
		return err
	}
	total := 0
	for range n {
		at := r.offset()
		size, err := r.uvarint("buffer size")
		if err != nil {
			return err
		}
		if size == 0 || size > uint64(limit-total) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("out-of-band buffer #%d of %d bytes: a buffer takes 1 byte or more, and %d are left for the message's buffers (by the end of the data or MaxMessageSize)", len(*bufs), size, limit-total)}
		}
		total += int(size)
		*bufs = append(*bufs, int(size))
	}
	return nil
}

func (w *wireType) refs() []uint64 {
	var ids []uint64
	switch w.kind {
	case kArray, kSlice, kPtr:
		ids = append(ids, w.elem)
	case kMap:
		ids = append(ids, w.key, w.elem)
	case kStruct:
		for _, f := range w.fields {
			ids = append(ids, f.typ)
		}
	case kFunc:
		ids = append(ids, w.in...)
		ids = append(ids, w.out...)
	}
	return ids
}

const maxTypes = 1 << 20 // types one stream may define

func (tt *typeTable) readType(r *reader) error {
	at := r.offset()
	start := at - 1
	id, err := r.uvarint("type id")
	if err != nil {
		return err
	}
	if want := firstUserID + uint64(len(tt.types)); id != want {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("type definition #%d out of order, expected #%d", id, want)}
	}
	if len(tt.types) >= maxTypes {
		return &DecodeError{Offset: at, Msg: "too many type definitions in one stream"}
	}
	k, err := r.byte1("type kind")
	if err != nil {
		return err
	}
	w := &wireType{id: id, at: start, kind: wireKind(k)}
	if w.kind < kBool || w.kind >= kLast {
		return &DecodeError{Offset: r.offset() - 1, Msg: fmt.Sprintf("unknown kind %d in definition of type #%d", k, id)}
	}
	if w.name, err = r.str("type name"); err != nil {
		return err
	}
	flags, err := r.uvarint("type flags")
	if err != nil {
		return err
	}
	w.variadic = flags&typeFlagVar != 0
	if flags&typeFlagPkg != 0 {
		if w.pkg, err = r.str("package path"); err != nil {
			return err
		}
	}
	if flags&typeFlagRef != 0 {
		w.hasRef = true
		if w.ref.Offset, err = r.varint("type position"); err != nil {
			return err
		}
		if w.ref.Hash, err = r.fixed32("type hash"); err != nil {
			return err
		}
	}
	ids := func(what string) ([]uint64, error) {
		n, err := r.length(what+" count", 1)
		if err != nil {
			return nil, err
		}
		out := make([]uint64, n)
		for i := range out {
			if out[i], err = r.uvarint(what); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	switch w.kind {
	case kArray:
		if w.length, err = r.uvarint("array length"); err != nil {
			return err
		}
		w.elem, err = r.uvarint("array element type")
	case kSlice, kPtr:
		w.elem, err = r.uvarint("element type")
	case kMap:
		if w.key, err = r.uvarint("map key type"); err == nil {
			w.elem, err = r.uvarint("map element type")
		}
	case kStruct:
		var n int
		if n, err = r.length("field count", 3); err != nil {
			return err
		}
		w.fields = make([]wireField, n)
		for i := range w.fields {
			f := &w.fields[i]
			if f.name, err = r.str("field name"); err != nil {
				return err
			}
			if f.flags, err = r.byte1("field flags"); err != nil {
				return err
			}
			if flags&typeFlagTags != 0 {
				if f.tag, err = r.str("field tag"); err != nil {
					return err
				}
			}
			if f.typ, err = r.uvarint("field type"); err != nil {
				return err
			}
		}
	case kFunc:
		if w.in, err = ids("parameter type"); err == nil {
			w.out, err = ids("result type")
		}
	}
	if err != nil {
		return err
	}
	tt.types = append(tt.types, w)
	return nil
}

func (tt *typeTable) readFunc(r *reader, closure bool) error {
	at := r.offset()
	id, err := r.uvarint("function id")
	if err != nil {
		return err
	}
	if want := 1 + uint64(len(tt.funcs)); id != want {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("function definition #%d out of order, expected #%d", id, want)}
	}
	if len(tt.funcs) >= maxTypes {
		return &DecodeError{Offset: at, Msg: "too many function definitions in one stream"}
	}
	f := &wireFunc{id: id, at: at - 1}
	if f.typ, err = r.uvarint("function type"); err != nil {
		return err
	}
	if w := tt.lookup(f.typ); w == nil || w.kind != kFunc {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("function #%d has type #%d, which is not a defined func type", id, f.typ)}
	}
	if closure {
		if f.closure, err = r.byte1("closure kind"); err != nil {
			return err
		}
		if f.closure != closureMethod && f.closure != closureDict {
			return &DecodeError{Offset: r.offset() - 1, Msg: fmt.Sprintf("function #%d of unknown closure kind %d", id, f.closure)}
		}
	}
	if f.name, err = r.str("function name"); err != nil {
		return err
	}
	if f.offset, err = r.varint("function position"); err != nil {
		return err
	}
	switch f.closure {
	case closureMethod:
		at := r.offset()
		if f.recv, err = r.uvarint("receiver type"); err != nil {
			return err
		}
		if tt.lookup(f.recv) == nil {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("method value #%d has receiver type #%d, which is not defined", id, f.recv)}
		}
		if f.method, err = r.str("method name"); err != nil {
			return err
		}
	case closureDict:
		if f.dictOff, err = r.varint("dictionary position"); err != nil {
			return err
		}
		if f.dictType.Offset, err = r.varint("dictionary type position"); err != nil {
			return err
		}
		if f.dictType.Hash, err = r.fixed32("dictionary type hash"); err != nil {
			return err
		}
		if f.dictName, err = r.str("dictionary type name"); err != nil {
			return err
		}
	}
	tt.funcs = append(tt.funcs, f)
	return nil
}

// qualifiedName is the registry key of a named type: package path and name.
func qualifiedName(pkg, name string) string {
	if pkg == "" {
		return name
	}
	// name is "pkgname.Name[...]"; the package name never holds a dot.
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return pkg + "." + name
}
