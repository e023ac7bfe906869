package codec

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Dis writes a listing of data, the output of Marshal or a saved Encoder
// stream, one line per item, like Python's pickletools.dis: the byte
// offset, the item, its type and its value or reference. It needs none of
// the program's types, so it reads payloads of any program.
//
// The listing marks what travels by value (numbers, strings, the layout of
// each type, once per stream) and what by reference: a function or a named
// type is a name and a position in the binary, never code; a sentinel error
// is a reference to the package-level variable. Objects reached twice show
// as a back-reference (=&k) to their first appearance (&k).
//
// Dis returns a *DecodeError for malformed data, after listing what came
// before it.
func Dis(w io.Writer, data []byte) error {
	bw := bufio.NewWriter(w)
	ds := &disasm{w: bw, r: newReader(data, 0), budget: 16*len(data) + 1<<16}
	err := ds.stream()
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

type disasm struct {
	w      io.Writer
	r      reader
	tt     typeTable
	nmemo  int
	depth  int
	budget int      // items left to list: bounds the work on hostile input
	quiet  int      // > 0 while walking elements not listed
	bufs   []int    // sizes of the current message's out-of-band buffers
	files  []string // names of the current message's files (handles)
	next   int      // out-of-band buffers referred to so far in the message
}

func sum(s []int) int {
	t := 0
	for _, x := range s {
		t += x
	}
	return t
}

func (ds *disasm) line(at int, label, text string) {
	if ds.quiet > 0 {
		return
	}
	lead := strings.Repeat("  ", min(ds.depth, 20)) + label
	fmt.Fprintf(ds.w, "%6d  %-22s %s\n", at, lead, text)
}

func (ds *disasm) stream() error {
	r := &ds.r
	if len(r.buf) < len(magic) || string(r.buf[:len(magic)]) != magic {
		return &DecodeError{Offset: 0, Msg: fmt.Sprintf("data does not start with the codec's magic %q: not codec output", magic)}
	}
	r.pos = len(magic)
	v, err := r.uvarint("format version")
	if err != nil {
		return err
	}
	fp, err := r.str("fingerprint")
	if err != nil {
		return err
	}
	ds.line(0, "header", fmt.Sprintf("magic %q, format %d, binary fingerprint %s", magic, v, fp))
	if v != formatVersion {
		return &DecodeError{Offset: len(magic), Msg: fmt.Sprintf("format version %d, this codec reads version %d", v, formatVersion)}
	}
	for n := 1; r.remaining() > 0; n++ {
		at := r.offset()
		size, err := r.uvarint("message length")
		if err != nil {
			return err
		}
		if size > uint64(r.remaining()) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("message length %d, but only %d bytes follow", size, r.remaining())}
		}
		end := r.pos + int(size)
		if err := ds.message(n, at, end); err != nil {
			return err
		}
		for k, size := range ds.bufs {
			ds.line(r.pos, "buffer", fmt.Sprintf("#%d, %s of raw data after message #%d (by value, out of band)", k, plural(size, "byte"), n))
			r.pos += size
		}
	}
	return nil
}

// message lists message n, whose length prefix is at offset at and whose
// body ends at end.
func (ds *disasm) message(n, at, end int) error {
	r := &ds.r
	saved := r.buf
	r.buf = r.buf[:end]
	defer func() { r.buf = saved }()
	ds.nmemo = 0
	ds.next = 0
	r.zeroLeft = maxZeroSized
	start := r.pos
	firstType, firstFunc := len(ds.tt.types), len(ds.tt.funcs)
	err := ds.tt.readDefs(r, &ds.bufs, &ds.files, len(saved)-end)
	defs := r.pos - 1 - start
	value := end - r.pos + 1
	outside := ""
	if total := sum(ds.bufs); total > 0 {
		table := 1 + uvarintLen(uint64(len(ds.bufs)))
		for _, size := range ds.bufs {
			table += uvarintLen(uint64(size))
		}
		defs -= table
		outside = fmt.Sprintf(", then %s in %s after it (out of band; %s of the body list them)", plural(total, "byte"), plural(len(ds.bufs), "buffer"), plural(table, "byte"))
	}
	if err != nil {
		ds.line(at, "message", fmt.Sprintf("#%d, %s", n, plural(end-start, "byte")))
	} else if defs > 0 {
		ds.line(at, "message", fmt.Sprintf("#%d, %s: %s of definitions (once per stream), %s of value%s",
			n, plural(end-start, "byte"), plural(defs, "byte"), plural(value, "byte"), outside))
	} else {
		ds.line(at, "message", fmt.Sprintf("#%d, %s of value (its types were defined earlier in the stream)%s", n, plural(end-start, "byte"), outside))
	}
	if len(ds.files) > 0 {
		names := make([]string, len(ds.files))
		for i, f := range ds.files {
			names[i] = fmt.Sprintf("#%d %q", i+1, f)
		}
		ds.line(at, "files", fmt.Sprintf("%s passed beside message #%d, their descriptors duplicated into the receiver (handles): %s",
			plural(len(ds.files), "open file"), n, strings.Join(names, ", ")))
	}
	// List the definitions in stream order, even if reading them failed.
	types, funcs := ds.tt.types[firstType:], ds.tt.funcs[firstFunc:]
	for len(types)+len(funcs) > 0 {
		if len(funcs) == 0 || len(types) > 0 && types[0].at < funcs[0].at {
			ds.typeDef(types[0])
			types = types[1:]
		} else {
			ds.funcDef(funcs[0])
			funcs = funcs[1:]
		}
	}
	if err != nil {
		return err
	}
	if err := ds.iface("value", ""); err != nil {
		return err
	}
	if r.remaining() != 0 {
		return r.fail("%d bytes left after the value", r.remaining())
	}
	if ds.next < len(ds.bufs) {
		return r.fail("the message has %d out-of-band buffers, its value refers to %d", len(ds.bufs), ds.next)
	}
	return nil
}

// typeDef lists a type definition.
func (ds *disasm) typeDef(w *wireType) {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", w.id, w.kind, w.name)
	switch w.kind {
	case kArray:
		fmt.Fprintf(&b, ", %d × #%d", w.length, w.elem)
	case kSlice, kPtr:
		fmt.Fprintf(&b, " of #%d", w.elem)
	case kMap:
		fmt.Fprintf(&b, ", #%d to #%d", w.key, w.elem)
	case kStruct:
		fmt.Fprintf(&b, ", %s", plural(len(w.fields), "field"))
	case kFunc:
		fmt.Fprintf(&b, ", in %v out %v", w.in, w.out)
	}
	if w.hasRef {
		fmt.Fprintf(&b, "; type by reference: name and position %+#x in the binary", w.ref.Offset)
	}
	ds.line(w.at, "type", b.String())
	if w.kind == kStruct {
		ds.depth++
		for _, f := range w.fields {
			vis := "unexported"
			if f.flags&fieldExported != 0 {
				vis = "exported"
			}
			if f.flags&fieldEmbedded != 0 {
				vis += ", embedded"
			}
			tag := ""
			if f.tag != "" {
				tag = fmt.Sprintf(" tag %q", f.tag)
			}
			ds.line(w.at, "field", fmt.Sprintf("%s #%d %s%s (%s)", f.name, f.typ, ds.typeName(f.typ), tag, vis))
		}
		ds.depth--
	}
}

func (ds *disasm) funcDef(f *wireFunc) {
	switch f.closure {
	case closureMethod:
		ds.line(f.at, "func", fmt.Sprintf("#%d %s %s: method value: method %s of #%d %s by reference (its wrapper's name and position %+#x in the binary, no code); each value carries its receiver by value",
			f.id, f.name, ds.typeName(f.typ), f.method, f.recv, ds.typeName(f.recv), f.offset))
	case closureDict:
		ds.line(f.at, "func", fmt.Sprintf("#%d %s %s: made in generic code: by reference: its code's name and position %+#x and its dictionary (type arguments, read-only data of the binary, starting with %s) at %+#x, no code",
			f.id, f.name, ds.typeName(f.typ), f.offset, f.dictName, f.dictOff))
	default:
		ds.line(f.at, "func", fmt.Sprintf("#%d %s %s: by reference: name and position %+#x in the binary, no code",
			f.id, f.name, ds.typeName(f.typ), f.offset))
	}
}

func (ds *disasm) typeName(id uint64) string {
	if w := ds.tt.lookup(id); w != nil {
		return w.name
	}
	return fmt.Sprintf("#%d?", id)
}

func (ds *disasm) step() error {
	if ds.budget--; ds.budget < 0 {
		return ds.r.fail("too many items for the size of the data")
	}
	return nil
}

// iface lists an interface value: its type id, then the value. ifaceName
// is the interface type's name, "" for the top-level value.
func (ds *disasm) iface(label, ifaceName string) error {
	r := &ds.r
	at := r.offset()
	id, err := r.uvarint("interface type")
	if err != nil {
		return err
	}
	prefix := ""
	if ifaceName != "" {
		prefix = ifaceName + "  "
	}
	if id == idNil {
		ds.line(at, label, prefix+"nil")
		return nil
	}
	isGlobal := id == idGlobal
	if isGlobal {
		if id, err = r.uvarint("type of the sentinel"); err != nil {
			return err
		}
	}
	w := ds.tt.lookup(id)
	if w == nil || id <= idGlobal {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("interface value of undefined type #%d", id)}
	}
	switch {
	case isGlobal:
		pos, err := r.varint("sentinel position")
		if err != nil {
			return err
		}
		ds.line(at, label, fmt.Sprintf("%ssentinel %s: by reference: the package-level variable at %+#x in the binary "+
			"(errors.Is keeps matching); a copy follows for decoders that cannot use the reference", prefix, w.name, pos))
		return ds.nested(func() error { return ds.value(w, "copy") })
	case ifaceName == "":
		return ds.value(w, label)
	}
	ds.line(at, label, fmt.Sprintf("%sholding #%d %s", prefix, id, w.name))
	return ds.nested(func() error { return ds.value(w, ".("+w.name+")") })
}

func (ds *disasm) value(w *wireType, label string) error {
	if err := ds.step(); err != nil {
		return err
	}
	if ds.depth > DefaultMaxDepth {
		return &DepthError{Limit: DefaultMaxDepth}
	}
	r := &ds.r
	at := r.offset()
	if label == "" {
		label = "."
	}
	show := func(format string, args ...any) { ds.line(at, label, w.name+"  "+fmt.Sprintf(format, args...)) }
	switch w.kind {
	case kBool:
		b, err := r.byte1("bool")
		if err == nil && b > 1 {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("bool byte %d, expected 0 or 1", b)}
		}
		show("%v", b == 1)
		return err
	case kInt8:
		b, err := r.byte1("int8")
		show("%d", int8(b))
		return err
	case kUint8:
		b, err := r.byte1("uint8")
		show("%d", b)
		return err
	case kInt, kInt16, kInt32, kInt64:
		v, err := r.varint(w.name)
		show("%d", v)
		return err
	case kUint, kUint16, kUint32, kUint64, kUintptr:
		v, err := r.uvarint(w.name)
		show("%d", v)
		return err
	case kFloat32:
		v, err := r.fixed32(w.name)
		show("%v (bits %#08x)", math.Float32frombits(v), v)
		return err
	case kFloat64:
		v, err := r.fixed64(w.name)
		show("%v (bits %#016x)", math.Float64frombits(v), v)
		return err
	case kComplex64:
		a, err := r.fixed32(w.name)
		b, err2 := r.fixed32(w.name)
		show("(%v%+vi)", math.Float32frombits(a), math.Float32frombits(b))
		return firstErr(err, err2)
	case kComplex128:
		a, err := r.fixed64(w.name)
		b, err2 := r.fixed64(w.name)
		show("(%v%+vi)", math.Float64frombits(a), math.Float64frombits(b))
		return firstErr(err, err2)
	case kString:
		s, err := r.str("string")
		show("%s, %s by value", quoteShort(s), plural(len(s), "byte"))
		return err
	case kTime:
		b, err := r.bytes(12, "time instant")
		if err != nil {
			return err
		}
		sec, nsec := int64(binary.LittleEndian.Uint64(b)), binary.LittleEndian.Uint32(b[8:])
		name, err3 := r.str("time location")
		off, err4 := r.varint("time zone offset")
		if err := firstErr(err3, err4); err != nil {
			return err
		}
		t := time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone(name, int((off>>1)%1e6)))
		how := "zone name"
		if off&1 == 1 {
			how = "fixed zone"
		}
		show("%s (instant and %s %q; no monotonic reading)", t.Format(time.RFC3339Nano), how, name)
		return nil
	case kLocation:
		b, err := r.byte1("location")
		if err != nil || b == 0 {
			show("nil")
			return err
		}
		name, err := r.str("location name")
		if err != nil {
			return err
		}
		off, err := r.varint("location offset")
		if off&1 == 1 {
			show("%q, a fixed zone of offset %ds", name, off>>1)
		} else {
			show("%q (offset %ds), by name", name, off>>1)
		}
		return err
	case kType:
		b, err := r.byte1("reflect.Type")
		if err != nil || b == 0 {
			show("nil")
			return err
		}
		off, err := r.varint("type position")
		if err != nil {
			return err
		}
		if _, err := r.fixed32("type hash"); err != nil {
			return err
		}
		name, err := r.str("type name")
		if err != nil {
			return err
		}
		if _, err := r.str("package path"); err != nil {
			return err
		}
		show("%s, by reference: name and position %+#x in the binary", name, off)
		return nil
	case kBinary, kGob, kText:
		n, err := r.length("marshaled length", 1)
		if err != nil {
			return err
		}
		b, err := r.bytes(n, "marshaled bytes")
		if w.kind == kText {
			show("text %s, by its MarshalText", quoteShort(string(b)))
		} else {
			show("%d bytes by its %s", n, map[wireKind]string{kBinary: "MarshalBinary", kGob: "GobEncode"}[w.kind])
		}
		return err
	case kFile:
		k, err := r.uvarint("file")
		if err != nil {
			return err
		}
		if k == 0 {
			show("nil")
			return nil
		}
		if k > uint64(len(ds.files)) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("reference to file #%d, the message passes %d", k, len(ds.files))}
		}
		show("file #%d %q, a handle: its descriptor is passed beside the message, not its contents", k, ds.files[k-1])
		return nil
	case kHandle:
		show("a handle's state from its MarshalHandle (its files are passed beside the message):")
		ds.depth++
		defer func() { ds.depth-- }()
		return ds.iface("state", "any")
	case kHook:
		show("state from its MarshalCodec (or the codec's own, for a standard type it handles):")
		ds.depth++
		defer func() { ds.depth-- }()
		return ds.iface("state", "any")
	case kInterface:
		return ds.iface(label, w.name)
	case kFunc:
		id, err := r.uvarint("function")
		if err != nil {
			return err
		}
		if id == 0 {
			show("nil")
			return nil
		}
		if id > uint64(len(ds.tt.funcs)) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("reference to undefined function #%d", id)}
		}
		f := ds.tt.funcs[id-1]
		if f.closure != closureMethod {
			show("func #%d %s, by reference", id, f.name)
			return nil
		}
		show("method value #%d %s: method %s by reference, receiver by value:", id, f.name, f.method)
		return ds.nested(func() error { return ds.value(ds.tt.lookup(f.recv), "receiver") })
	case kPtr:
		return ds.ref(w, label, func() error {
			elem := ds.tt.lookup(w.elem)
			return ds.nested(func() error { return ds.value(elem, "*") })
		})
	case kMap:
		return ds.ref(w, label, func() error { return ds.mapEntries(w) })
	case kSlice:
		return ds.slice(w, label)
	case kArray:
		elem := ds.tt.lookup(w.elem)
		if ds.bulk(elem) {
			size := ds.fixedSize(elem)
			if size > 0 && w.length > uint64(r.remaining())/size {
				return r.fail("array of %d elements runs past the end of the message", w.length)
			}
			if _, err := r.bytes(int(w.length*size), w.name); err != nil {
				return err
			}
			show("%d elements, %d bytes copied raw (by value)", w.length, w.length*size)
			return nil
		}
		show("%d elements", w.length)
		return ds.elements(elem, w.length)
	case kStruct:
		show("struct, %s", plural(len(w.fields), "field"))
		return ds.nested(func() error {
			for _, f := range w.fields {
				if err := ds.value(ds.tt.lookup(f.typ), "."+f.name); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return &DecodeError{Offset: at, Msg: fmt.Sprintf("value of unknown kind %d", w.kind)}
}

func (ds *disasm) nested(f func() error) error {
	ds.depth++
	err := f()
	ds.depth--
	return err
}

// ref lists a pointer, a map or a slice that may be shared: nil, a new
// object (&k) or a back-reference to one (=&k).
func (ds *disasm) ref(w *wireType, label string, body func() error) error {
	r := &ds.r
	at := r.offset()
	h, err := r.uvarint("reference")
	if err != nil {
		return err
	}
	switch {
	case h == refNil:
		ds.line(at, label, w.name+"  nil")
		return nil
	case h >= refBack:
		return ds.backRef(at, label, w, h)
	case h == refInterior || h == refInteriorNew:
		return ds.interior(at, label, w, h, false)
	case h != refNew:
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("reference header %d", h)}
	}
	ds.line(at, label, fmt.Sprintf("%s  &%d", w.name, ds.nmemo))
	ds.nmemo++
	return body()
}

// interior lists a pointer or slice into another object: one listed above,
// or one that follows.
func (ds *disasm) interior(at int, label string, w *wireType, h uint64, slice bool) error {
	r := &ds.r
	var k, tid uint64
	var err error
	if h == refInterior {
		k, err = r.uvarint("container object")
	} else {
		tid, err = r.uvarint("container type")
	}
	if err != nil {
		return err
	}
	off, err := r.uvarint("offset in the container")
	if err != nil {
		return err
	}
	n := ""
	if slice {
		m, err := r.uvarint("slice length")
		if err != nil {
			return err
		}
		n = fmt.Sprintf(", %d elements", m)
	}
	if h == refInterior {
		if k >= uint64(ds.nmemo) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference to object #%d, but only %d objects precede it", k, ds.nmemo)}
		}
		ds.line(at, label, fmt.Sprintf("%s  =&%d+%d, inside the object listed above at byte offset %d%s (an interior pointer: it decodes to the same place)", w.name, k, off, off, n))
		return nil
	}
	c := ds.tt.lookup(tid)
	if c == nil || c.kind != kPtr && c.kind != kSlice {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference into type #%d, which is not a pointer or slice type", tid)}
	}
	ds.line(at, label, fmt.Sprintf("%s  &%d+%d, inside the object that follows, at byte offset %d%s (an interior pointer: the whole object travels)", w.name, ds.nmemo, off, off, n))
	if c.kind == kSlice && !ds.mayCycle(c, map[*wireType]bool{}) {
		// Written as a slice value, marked as tracked (which counts it).
		return ds.nested(func() error { return ds.value(c, "container") })
	}
	ds.nmemo++
	return ds.nested(func() error {
		if c.kind == kSlice {
			elem := ds.tt.lookup(c.elem)
			cat := r.offset()
			m, err := ds.sliceLen(elem)
			if err != nil {
				return err
			}
			ds.line(cat, "container", fmt.Sprintf("%s  %d elements", c.name, m))
			return ds.elements(elem, uint64(m))
		}
		ds.line(r.offset(), "container", c.name)
		return ds.nested(func() error { return ds.value(ds.tt.lookup(c.elem), "*") })
	})
}

func (ds *disasm) backRef(at int, label string, w *wireType, h uint64) error {
	k := h - refBack
	if k >= uint64(ds.nmemo) {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("back-reference to object #%d, but only %d objects precede it", k, ds.nmemo)}
	}
	ds.line(at, label, fmt.Sprintf("%s  =&%d, the object listed above (shared, sent once)", w.name, k))
	return nil
}

func (ds *disasm) mapEntries(w *wireType) error {
	r := &ds.r
	n, err := r.length("map length", 0)
	if err != nil {
		return err
	}
	key, elem := ds.tt.lookup(w.key), ds.tt.lookup(w.elem)
	return ds.nested(func() error {
		ds.line(r.offset(), "len", fmt.Sprint(n))
		for i := range n {
			if i == maxListed {
				ds.line(r.offset(), "...", fmt.Sprintf("%d more entries", n-i))
				ds.quiet++
				defer func() { ds.quiet-- }()
			}
			if err := ds.value(key, "key"); err != nil {
				return err
			}
			if err := ds.value(elem, "elem"); err != nil {
				return err
			}
		}
		return nil
	})
}

const maxListed = 16 // elements listed per slice, array or map

func (ds *disasm) slice(w *wireType, label string) error {
	r := &ds.r
	at := r.offset()
	elem := ds.tt.lookup(w.elem)
	if ds.bulk(elem) {
		h, err := r.uvarint("slice header")
		if err != nil {
			return err
		}
		if h == refInterior || h == refInteriorNew {
			return ds.interior(at, label, w, h, true)
		}
		tracked := ""
		if h == bulkTracked {
			tracked = fmt.Sprintf("&%d (other objects point into it), ", ds.nmemo)
			ds.nmemo++
			if h, err = r.uvarint("slice header"); err != nil {
				return err
			}
			if h != bulkOutside && h < bulkInline {
				return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d after a tracked mark", h)}
			}
		}
		switch h {
		case bulkNil:
			ds.line(at, label, w.name+"  nil")
			return nil
		case bulkOutside:
			k, err := r.uvarint("buffer number")
			if err != nil {
				return err
			}
			n, err := r.uvarint("buffer length")
			if err != nil {
				return err
			}
			if k != uint64(ds.next) || k >= uint64(len(ds.bufs)) {
				return &DecodeError{Offset: at, Msg: fmt.Sprintf("%s in out-of-band buffer #%d, expected #%d of the %d the message has", w.name, k, ds.next, len(ds.bufs))}
			}
			if size := ds.fixedSize(elem); size == 0 || n != uint64(ds.bufs[k])/uint64(size) || ds.bufs[k]%int(size) != 0 {
				return &DecodeError{Offset: at, Msg: fmt.Sprintf("%s of %d elements of %d bytes in out-of-band buffer #%d of %d bytes", w.name, n, size, k, ds.bufs[k])}
			}
			ds.next++
			ds.line(at, label, fmt.Sprintf("%s  %s%d elements in out-of-band buffer #%d (by value, %s after the message body)", w.name, tracked, n, k, plural(ds.bufs[k], "byte")))
			return nil
		}
		if h < bulkInline {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d", h)}
		}
		size := ds.fixedSize(elem)
		n, err := r.checkLength(at, "slice length", h-bulkInline, int(size))
		if err != nil {
			return err
		}
		b, err := r.bytes(n*int(size), w.name)
		if err != nil {
			return err
		}
		text := fmt.Sprintf("%s%d elements, %d bytes copied raw (by value)", tracked, n, len(b))
		if elem.kind == kUint8 && elem.name == "uint8" {
			text += " " + quoteShort(string(b))
		}
		ds.line(at, label, w.name+"  "+text)
		return nil
	}
	if ds.mayCycle(w, map[*wireType]bool{}) {
		h, err := r.uvarint("slice header")
		switch {
		case err != nil:
			return err
		case h == refNil:
			ds.line(at, label, w.name+"  nil")
			return nil
		case h >= refBack:
			return ds.backRef(at, label, w, h)
		case h == refInterior || h == refInteriorNew:
			return ds.interior(at, label, w, h, true)
		case h != refNew:
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d", h)}
		}
		n, err := ds.sliceLen(elem)
		if err != nil {
			return err
		}
		if n == 0 { // an empty slice takes no memo id
			ds.line(at, label, w.name+"  empty")
			return nil
		}
		ds.line(at, label, fmt.Sprintf("%s  &%d", w.name, ds.nmemo))
		ds.nmemo++
		return ds.elements(elem, uint64(n))
	}
	h, err := r.uvarint("slice header")
	if err != nil {
		return err
	}
	switch h {
	case 0:
		ds.line(at, label, w.name+"  nil")
		return nil
	case refInterior, refInteriorNew:
		return ds.interior(at, label, w, h, true)
	case sliceTracked:
		ds.line(at, label, fmt.Sprintf("%s  &%d (other objects point into it)", w.name, ds.nmemo))
		ds.nmemo++
		return ds.sliceElems(elem)
	case 1:
		ds.line(at, label, w.name)
		return ds.sliceElems(elem)
	}
	return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d", h)}
}

func (ds *disasm) sliceElems(elem *wireType) error {
	n, err := ds.sliceLen(elem)
	if err != nil {
		return err
	}
	return ds.elements(elem, uint64(n))
}

func (ds *disasm) sliceLen(elem *wireType) (int, error) {
	minSize := 1
	if ds.zeroSize(elem, 0) {
		minSize = 0
	}
	return ds.r.length("slice length", minSize)
}

func (ds *disasm) elements(elem *wireType, n uint64) error {
	return ds.nested(func() error {
		ds.line(ds.r.offset(), "len", fmt.Sprint(n))
		for i := range n {
			if i == maxListed {
				ds.line(ds.r.offset(), "...", fmt.Sprintf("%d more elements", n-i))
				ds.quiet++
				defer func() { ds.quiet-- }()
			}
			if err := ds.value(elem, fmt.Sprintf("[%d]", i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// bulk, fixedSize, zeroSize and mayCycle mirror, on stream types, the
// encoder's decisions on local types.
func (ds *disasm) bulk(w *wireType) bool {
	for range 64 {
		switch {
		case w.kind >= kInt && w.kind <= kComplex128:
			return true
		case w.kind == kArray:
			w = ds.tt.lookup(w.elem)
		default:
			return false
		}
	}
	return false
}

func (ds *disasm) fixedSize(w *wireType) uint64 {
	n := uint64(1)
	for w.kind == kArray {
		if w.length != 0 && n > math.MaxUint32/w.length {
			return math.MaxUint32
		}
		n *= w.length
		w = ds.tt.lookup(w.elem)
	}
	return n * wireSizes[w.kind]
}

var wireSizes = [...]uint64{kInt: 8, kInt8: 1, kInt16: 2, kInt32: 4, kInt64: 8, kUint: 8, kUint8: 1, kUint16: 2,
	kUint32: 4, kUint64: 8, kUintptr: 8, kFloat32: 4, kFloat64: 8, kComplex64: 8, kComplex128: 16, kString: 0}

func (ds *disasm) zeroSize(w *wireType, depth int) bool {
	if depth > 64 {
		return false
	}
	switch w.kind {
	case kArray:
		return w.length == 0 || ds.zeroSize(ds.tt.lookup(w.elem), depth+1)
	case kStruct:
		for _, f := range w.fields {
			if !ds.zeroSize(ds.tt.lookup(f.typ), depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

func (ds *disasm) mayCycle(w *wireType, visiting map[*wireType]bool) bool {
	switch w.kind {
	case kPtr, kMap, kInterface, kHook, kHandle:
		return true
	}
	if visiting[w] {
		// Back on the path: the type reaches itself through slices
		// alone (type RS []RS).
		return true
	}
	visiting[w] = true
	defer delete(visiting, w)
	switch w.kind {
	case kArray, kSlice:
		return ds.mayCycle(ds.tt.lookup(w.elem), visiting)
	case kStruct:
		for _, f := range w.fields {
			if ds.mayCycle(ds.tt.lookup(f.typ), visiting) {
				return true
			}
		}
	}
	return false
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func quoteShort(s string) string {
	if len(s) > 48 {
		return fmt.Sprintf("%q...", s[:48])
	}
	return fmt.Sprintf("%q", s)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
