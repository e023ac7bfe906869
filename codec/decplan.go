package codec

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// compileDec builds the decode plan of ti: a function reading one value of
// the layout the encoder writes for ti into the given address. Every read is
// bounds-checked; lengths are checked against the bytes left before any
// allocation.
func compileDec(ti *typeInfo) decFn {
	name := ti.t.String() // for error messages, computed once
	if len(ti.problems) > 0 {
		pr := ti.problems[0]
		return func(*decoder, unsafe.Pointer) error { return pr.err() }
	}
	switch ti.kind {
	case kBool:
		return func(d *decoder, p unsafe.Pointer) error {
			b, err := d.r.byte1("bool")
			if b > 1 {
				return &DecodeError{Offset: d.r.offset() - 1, Msg: fmt.Sprintf("bool byte %d, expected 0 or 1", b)}
			}
			*(*bool)(p) = b == 1
			return err
		}
	case kInt, kInt16, kInt32, kInt64:
		bits := uint(ti.size * 8)
		return func(d *decoder, p unsafe.Pointer) error {
			v, err := d.r.varint(name)
			if err != nil {
				return err
			}
			if bits < 64 && (v < -1<<(bits-1) || v >= 1<<(bits-1)) {
				return d.r.fail("%d overflows %s", v, ti.t)
			}
			switch bits {
			case 16:
				*(*int16)(p) = int16(v)
			case 32:
				*(*int32)(p) = int32(v)
			default:
				*(*int64)(p) = v
			}
			return nil
		}
	case kInt8, kUint8:
		return func(d *decoder, p unsafe.Pointer) error {
			b, err := d.r.byte1(name)
			*(*byte)(p) = b
			return err
		}
	case kUint, kUint16, kUint32, kUint64, kUintptr:
		bits := uint(ti.size * 8)
		return func(d *decoder, p unsafe.Pointer) error {
			v, err := d.r.uvarint(name)
			if err != nil {
				return err
			}
			if bits < 64 && v >= 1<<bits {
				return d.r.fail("%d overflows %s", v, ti.t)
			}
			switch bits {
			case 16:
				*(*uint16)(p) = uint16(v)
			case 32:
				*(*uint32)(p) = uint32(v)
			default:
				*(*uint64)(p) = v
			}
			return nil
		}
	case kFloat32, kFloat64, kComplex64, kComplex128:
		return func(d *decoder, p unsafe.Pointer) error {
			b, err := d.r.bytes(int(ti.size), name)
			if err != nil {
				return err
			}
			copy(unsafe.Slice((*byte)(p), ti.size), b)
			return nil
		}
	case kString:
		return func(d *decoder, p unsafe.Pointer) error {
			n, err := d.r.length("string length", 1)
			if err != nil {
				return err
			}
			*(*string)(p) = d.string(n)
			return nil
		}
	case kArray:
		return decArray(ti)
	case kSlice:
		return decSlice(ti)
	case kMap:
		return decMap(ti)
	case kPtr:
		return decPtr(ti)
	case kStruct:
		return decStruct(ti)
	case kInterface:
		return func(d *decoder, p unsafe.Pointer) error { return d.decodeDynamic(ti.t, p) }
	case kFunc:
		return decFunc(ti)
	case kTime:
		return func(d *decoder, p unsafe.Pointer) error {
			t, err := d.readTime()
			*(*time.Time)(p) = t
			return err
		}
	case kLocation:
		return func(d *decoder, p unsafe.Pointer) error {
			b, err := d.r.byte1("location")
			if err != nil || b == 0 {
				*(**time.Location)(p) = nil
				return err
			}
			name, err := d.r.str("location name")
			if err != nil {
				return err
			}
			off, err := d.r.varint("location offset")
			if err != nil {
				return err
			}
			loc, err := d.location(name, off>>1, time.Now(), off&1 == 1)
			*(**time.Location)(p) = loc
			return err
		}
	case kType:
		return func(d *decoder, p unsafe.Pointer) error {
			t, err := d.readType()
			if err != nil {
				return err
			}
			if t == nil {
				*(*unsafe.Pointer)(p) = nil
			} else {
				*(*unsafe.Pointer)(p) = typePointer(t)
			}
			return nil
		}
	case kBinary, kGob, kText:
		return decUnmarshaler(ti)
	case kFile:
		return func(d *decoder, p unsafe.Pointer) error {
			at := d.r.offset()
			k, err := d.r.uvarint("file")
			if err != nil || k == 0 {
				*(**os.File)(p) = nil
				return err
			}
			f, err := d.files.file(k, at)
			*(**os.File)(p) = f
			return err
		}
	case kHandle:
		return func(d *decoder, p unsafe.Pointer) error { return d.decodeHandle(ti, p) }
	case kHook:
		return func(d *decoder, p unsafe.Pointer) error {
			var state any
			if err := d.decodeDynamic(anyType, unsafe.Pointer(&state)); err != nil {
				return err
			}
			return setHookState(ti, p, state)
		}
	}
	return func(d *decoder, _ unsafe.Pointer) error {
		return fmt.Errorf("codec: cannot decode into %s", ti.t)
	}
}

// readType reads a reflect.Type sent by reference: its position in the
// binary (used unless Strict), its name and its package path (for the
// registry).
func (d *decoder) readType() (reflect.Type, error) {
	at := d.r.offset()
	b, err := d.r.byte1("reflect.Type")
	if err != nil || b == 0 {
		return nil, err
	}
	var ref typeRef
	if ref.Offset, err = d.r.varint("type position"); err != nil {
		return nil, err
	}
	if ref.Hash, err = d.r.fixed32("type hash"); err != nil {
		return nil, err
	}
	name, err := d.r.str("type name")
	if err != nil {
		return nil, err
	}
	pkg, err := d.r.str("package path")
	if err != nil {
		return nil, err
	}
	if d.opts.strict {
		if t := registeredType(pkg, name); t != nil && pkg != "" {
			return t, nil
		}
		return nil, fmt.Errorf("codec: reflect.Type %s at byte %d: in Strict mode only registered named types resolve: codec.Register it in both programs", name, at)
	}
	t, err := typeAt(ref, name)
	if err != nil {
		return nil, &DecodeError{Offset: at, Msg: err.Error()}
	}
	return t, nil
}

// callUser calls a type's own decoding method, turning a panic on bad
// input into an error.
func callUser(t reflect.Type, method string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec: (%s).%s panicked: %v", t, method, r)
		}
	}()
	if err = f(); err != nil {
		err = fmt.Errorf("codec: (%s).%s: %w", t, method, err)
	}
	return err
}

func (d *decoder) readTime() (time.Time, error) {
	b, err := d.r.bytes(12, "time instant")
	if err != nil {
		return time.Time{}, err
	}
	sec := int64(binary.LittleEndian.Uint64(b))
	nsec := binary.LittleEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return time.Time{}, d.r.fail("time nanoseconds %d, expected less than 1e9", nsec)
	}
	n, err := d.r.length("time location length", 1)
	if err != nil {
		return time.Time{}, err
	}
	nb, _ := d.r.bytes(n, "time location")
	off, err := d.r.varint("time zone offset")
	if err != nil {
		return time.Time{}, err
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 && string(nb) == "UTC" { // no allocation on the common path
		return t.UTC(), nil
	}
	loc, err := d.location(string(nb), off>>1, t, off&1 == 1)
	if err != nil {
		return time.Time{}, err
	}
	return t.In(loc), nil
}

// location finds the location a stream names: UTC and Local are this
// process's own; other names load from the time zone database when their
// offset at instant t is the one the sender saw; otherwise a fixed zone
// with the sender's name and offset stands in.
func (d *decoder) location(name string, off int64, t time.Time, fixed bool) (*time.Location, error) {
	if off < -1e6 || off > 1e6 {
		return nil, d.r.fail("time zone offset %d seconds is out of range", off)
	}
	if fixed && !(name == "UTC" && off == 0) {
		// A fixed zone keeps its offset, whatever its name means in the
		// zone database here.
		key := name + "\x00" + strconv.FormatInt(off, 10)
		if loc := d.locs[key]; loc != nil {
			return loc, nil
		}
		loc := time.FixedZone(name, int(off))
		if d.locs == nil {
			d.locs = map[string]*time.Location{}
		}
		if len(d.locs) < 64 {
			d.locs[key] = loc
		}
		return loc, nil
	}
	switch name {
	case "UTC":
		if off == 0 {
			return time.UTC, nil
		}
	case "Local":
		return time.Local, nil
	}
	loc := d.locs[name]
	if loc == nil && name != "" && !d.opts.strict {
		if l, err := time.LoadLocation(name); err == nil {
			loc = l
		}
	}
	if loc != nil {
		if d.locs == nil {
			d.locs = map[string]*time.Location{}
		}
		if len(d.locs) < 64 {
			d.locs[name] = loc
		}
		if _, o := t.In(loc).Zone(); int64(o) == off {
			return loc, nil
		}
	}
	return time.FixedZone(name, int(off)), nil
}

func decUnmarshaler(ti *typeInfo) decFn {
	return func(d *decoder, p unsafe.Pointer) error {
		n, err := d.r.length("marshaled length", 1)
		if err != nil {
			return err
		}
		b, _ := d.r.bytes(n, "marshaled bytes")
		x := reflect.NewAt(ti.t, p).Interface()
		switch ti.kind {
		case kBinary:
			return callUser(ti.t, "UnmarshalBinary", func() error { return x.(encoding.BinaryUnmarshaler).UnmarshalBinary(b) })
		case kGob:
			return callUser(ti.t, "GobDecode", func() error { return x.(gobDecoder).GobDecode(b) })
		default:
			return callUser(ti.t, "UnmarshalText", func() error { return x.(encoding.TextUnmarshaler).UnmarshalText(b) })
		}
	}
}

func decArray(ti *typeInfo) decFn {
	n, size, name := ti.t.Len(), ti.elem.size, ti.t.String()
	if ti.bulk {
		return func(d *decoder, p unsafe.Pointer) error {
			b, err := d.r.bytes(int(ti.size), name)
			if err != nil {
				return err
			}
			copy(unsafe.Slice((*byte)(p), ti.size), b)
			return nil
		}
	}
	return func(d *decoder, p unsafe.Pointer) error {
		dec := ti.elem.dec
		for i := range n {
			if err := dec(d, unsafe.Add(p, uintptr(i)*size)); err != nil {
				return err
			}
		}
		return nil
	}
}

// refHeader reads a reference header: refNil, refNew, or a back-reference
// to an object of type ti decoded earlier in the message.
func (d *decoder) refHeader(ti *typeInfo, what string) (h uint64, back *memoObj, err error) {
	at := d.r.offset()
	if u, n := fastUvarint(d.r.buf, d.r.pos); n > 0 {
		h = u
		d.r.pos += n
	} else if h, err = d.r.uvarint(what); err != nil {
		return h, nil, err
	}
	if h < refBack {
		return h, nil, nil
	}
	k := h - refBack
	if k >= uint64(len(d.memo)) {
		return h, nil, &DecodeError{Offset: at, Msg: fmt.Sprintf("back-reference to object #%d, but only %d objects precede it", k, len(d.memo))}
	}
	m := &d.memo[k]
	if m.ti != ti {
		return h, nil, &DecodeError{Offset: at, Msg: fmt.Sprintf("back-reference to object #%d, a %s, where a %s is expected", k, m.ti.t, ti.t)}
	}
	return h, m, nil
}

func decSlice(ti *typeInfo) decFn {
	size, name := ti.elem.size, ti.t.String()
	if ti.elem.bulk {
		return func(d *decoder, p unsafe.Pointer) error {
			at := d.r.offset()
			h, err := d.r.uvarint("slice header")
			if err != nil {
				return err
			}
			tracked := h == bulkTracked
			if tracked {
				at = d.r.offset()
				if h, err = d.r.uvarint("slice header"); err != nil {
					return err
				}
				if h != bulkOutside && h < bulkInline {
					return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d after a tracked mark", h)}
				}
			}
			switch {
			case h == bulkNil:
				*(*sliceHeader)(p) = sliceHeader{}
				return nil
			case h == refInterior || h == refInteriorNew:
				q, n, err := d.interior(h, ti.elem, true)
				if err != nil {
					return err
				}
				*(*sliceHeader)(p) = sliceHeader{q, n, n}
				return nil
			case h == bulkOutside:
				b, n, err := d.outside(at, size, ti.t)
				if err != nil {
					return err
				}
				sh := sliceHeader{unsafe.Pointer(unsafe.SliceData(b)), n, n}
				*(*sliceHeader)(p) = sh
				if tracked && n > 0 {
					d.memo = append(d.memo, memoObj{sh.data, n, ti})
				}
				return nil
			case h < bulkInline:
				return &DecodeError{Offset: at, Msg: fmt.Sprintf("slice header %d", h)}
			}
			n, err := d.r.checkLength(at, "slice length", h-bulkInline, int(size))
			if err != nil {
				return err
			}
			b, err := d.r.bytes(n*int(size), name)
			if err != nil {
				return err
			}
			// append allocates without zeroing what it then overwrites; the
			// allocation is size-aligned, enough for any number type.
			s := append(make([]byte, 0, 0), b...)
			if n == 0 {
				s = make([]byte, 0, 1)
			}
			*(*sliceHeader)(p) = sliceHeader{unsafe.Pointer(unsafe.SliceData(s)), n, n}
			if tracked && n > 0 {
				d.memo = append(d.memo, memoObj{unsafe.Pointer(unsafe.SliceData(s)), n, ti})
			}
			return nil
		}
	}
	minSize := 1
	if size == 0 {
		minSize = 0
	}
	return func(d *decoder, p unsafe.Pointer) error {
		var h uint64
		var back *memoObj
		var err error
		if ti.memo {
			h, back, err = d.refHeader(ti, "slice header")
		} else {
			h, err = d.r.uvarint("slice header")
		}
		if err != nil {
			return err
		}
		tracked := ti.memo
		switch {
		case h == refNil:
			*(*sliceHeader)(p) = sliceHeader{}
			return nil
		case back != nil:
			*(*sliceHeader)(p) = sliceHeader{back.p, back.n, back.n}
			return nil
		case h == refInterior || h == refInteriorNew:
			q, n, err := d.interior(h, ti.elem, true)
			if err != nil {
				return err
			}
			*(*sliceHeader)(p) = sliceHeader{q, n, n}
			return nil
		case !ti.memo && h == sliceTracked:
			tracked = true
		case h != refNew:
			return d.r.fail("slice header %d", h)
		}
		n, err := d.r.length("slice length", minSize)
		if err != nil {
			return err
		}
		s := newArray(ti, n)
		*(*sliceHeader)(p) = sliceHeader{s, n, n}
		if tracked && n > 0 { // as the encoder: an empty slice takes no memo id
			d.memo = append(d.memo, memoObj{s, n, ti})
		}
		if d.depth++; d.depth > d.opts.maxDepth {
			return &DepthError{Limit: d.opts.maxDepth}
		}
		dec := ti.elem.dec
		if ti.elem.kind == kString {
			err := d.readStrings(unsafe.Slice((*string)(s), n), dec)
			d.depth--
			return err
		}
		if ti.elem.kind == kPtr {
			for i := range n {
				q := unsafe.Add(s, uintptr(i)*size)
				if !d.backRef(ti.elem, q) {
					if err := dec(d, q); err != nil {
						return err
					}
				}
			}
			d.depth--
			return nil
		}
		for i := range n {
			if err := dec(d, unsafe.Add(s, uintptr(i)*size)); err != nil {
				return err
			}
		}
		d.depth--
		return nil
	}
}

func decPtr(ti *typeInfo) decFn {
	return func(d *decoder, p unsafe.Pointer) error {
		h, back, err := d.refHeader(ti, "pointer")
		if err != nil {
			return err
		}
		switch {
		case h == refNil:
			*(*unsafe.Pointer)(p) = nil
			return nil
		case back != nil:
			*(*unsafe.Pointer)(p) = back.p
			return nil
		case h == refInterior || h == refInteriorNew:
			q, _, err := d.interior(h, ti.elem, false)
			if err != nil {
				return err
			}
			*(*unsafe.Pointer)(p) = q
			return nil
		case h != refNew:
			return d.r.fail("pointer header %d", h)
		}
		if ti.elem.minWire > uint64(d.r.remaining()) {
			return d.r.fail("a %s takes at least %d bytes, %d are left", ti.elem.t, ti.elem.minWire, d.r.remaining())
		}
		obj := newValue(ti.elem)
		d.memo = append(d.memo, memoObj{obj, 0, ti})
		*(*unsafe.Pointer)(p) = obj
		if d.depth++; d.depth > d.opts.maxDepth {
			return &DepthError{Limit: d.opts.maxDepth}
		}
		err = ti.elem.dec(d, obj)
		d.depth--
		return err
	}
}

func decMap(ti *typeInfo) decFn {
	minSize := 2
	if ti.key.size == 0 {
		minSize--
	}
	if ti.elem.size == 0 {
		minSize--
	}
	return func(d *decoder, p unsafe.Pointer) error {
		h, back, err := d.refHeader(ti, "map")
		if err != nil {
			return err
		}
		switch {
		case h == refNil:
			*(*unsafe.Pointer)(p) = nil
			return nil
		case back != nil:
			*(*unsafe.Pointer)(p) = back.p
			return nil
		case h != refNew:
			return d.r.fail("map header %d", h)
		}
		at := d.r.offset()
		n, err := d.r.length("map length", minSize)
		if err != nil {
			return err
		}
		if minSize == 0 && n > 1 {
			// Every key of a zero-size type is the same key.
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("%s with %d entries, but its key type has a single value", ti.t, n)}
		}
		m := reflect.MakeMapWithSize(ti.t, min(n, 1024))
		mp := m.UnsafePointer()
		*(*unsafe.Pointer)(p) = mp
		d.memo = append(d.memo, memoObj{mp, 0, ti})
		if d.depth++; d.depth > d.opts.maxDepth {
			return &DepthError{Limit: d.opts.maxDepth}
		}
		k := reflect.New(ti.key.t).Elem()
		v := reflect.New(ti.elem.t).Elem()
		kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
		for range n {
			k.SetZero()
			v.SetZero()
			at := d.r.offset()
			if err := ti.key.dec(d, kp); err != nil {
				return err
			}
			if !k.Comparable() {
				return &DecodeError{Offset: at, Msg: fmt.Sprintf("map key of type %s is not comparable", k.Elem().Type())}
			}
			if err := ti.elem.dec(d, vp); err != nil {
				return err
			}
			m.SetMapIndex(k, v)
		}
		d.depth--
		return nil
	}
}

func decFunc(ti *typeInfo) decFn {
	return func(d *decoder, p unsafe.Pointer) error {
		at := d.r.offset()
		id, err := d.r.uvarint("function")
		if err != nil {
			return err
		}
		if id == 0 {
			*(*unsafe.Pointer)(p) = nil
			return nil
		}
		if id > uint64(len(d.types.funcs)) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("reference to undefined function #%d", id)}
		}
		f := d.types.funcs[id-1]
		if !d.matches(d.types.lookup(f.typ), ti) {
			return &DecodeError{Offset: at, Msg: fmt.Sprintf("function #%d %s is not a %s", id, f.name, ti.t)}
		}
		if !f.resolved {
			f.resolved = true
			switch f.closure {
			case closureMethod:
				f.err = d.resolveMethod(f, ti)
			case closureDict:
				f.fv, f.err = d.resolveDict(f, ti)
			default:
				f.fv, f.err = d.resolveFunc(f, ti)
			}
		}
		if f.err != nil {
			return fmt.Errorf("codec: function at byte %d: %w", at, f.err)
		}
		if f.closure != closureMethod {
			*(*unsafe.Pointer)(p) = f.fv
			return nil
		}
		if d.depth++; d.depth > d.opts.maxDepth {
			return &DepthError{Limit: d.opts.maxDepth}
		}
		defer func() { d.depth-- }()
		if d.opts.strict {
			// No position is trusted: the method value is made by reflect
			// from the decoded receiver.
			rv := reflect.New(f.recvInfo.t)
			if err := f.recvInfo.dec(d, rv.UnsafePointer()); err != nil {
				return err
			}
			x := rv.Elem().MethodByName(f.method).Convert(ti.t).Interface()
			*(*unsafe.Pointer)(p) = (*eface)(unsafe.Pointer(&x)).data
			return nil
		}
		obj := reflect.New(f.funcval).UnsafePointer()
		*(*uintptr)(obj) = f.pc
		if err := f.recvInfo.dec(d, unsafe.Add(obj, f.recvOff)); err != nil {
			return err
		}
		*(*unsafe.Pointer)(p) = obj
		return nil
	}
}

// resolveMethod checks a method value's definition: its receiver type
// resolves here and has the method with the value's type, and, unless
// Strict, the position holds that method's value wrapper.
func (d *decoder) resolveMethod(f *wireFunc, ti *typeInfo) error {
	rt, err := d.resolve(d.types.lookup(f.recv))
	if err != nil {
		return err
	}
	if exportedName(f.method) {
		mt, ok := methodType(rt, f.method)
		if !ok {
			return fmt.Errorf("method value %s: %s has no method %s", f.name, rt, f.method)
		}
		if !(mt == ti.t || mt.ConvertibleTo(ti.t)) {
			return fmt.Errorf("method value %s: method %s of %s is a %s, not a %s", f.name, f.method, rt, mt, ti.t)
		}
	} else if d.opts.strict {
		return fmt.Errorf("method value %s: its method %s is unexported, which reflect cannot rebuild, and Strict mode trusts no position: send a method value of an exported method", f.name, f.method)
	}
	f.recvInfo = infoOf(rt)
	if d.opts.strict {
		return nil
	}
	if want := expectedWrapper(rt, f.method); f.name != want {
		return fmt.Errorf("method value %s: the method %s of %s has the wrapper %s", f.name, f.method, rt, want)
	}
	pc, err := resolveCode(f.offset, f.name, true)
	if err != nil {
		return err
	}
	if got, want, ok := argsFits(pc, ti.t); !ok {
		return fmt.Errorf("method value %s takes %d bytes of arguments, a %s takes %d", f.name, got, ti.t, want)
	}
	f.pc = pc
	f.funcval = reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[uintptr]()}, {Name: "R", Type: rt}})
	f.recvOff = f.funcval.Field(1).Offset
	return nil
}

// resolveDict checks the definition of a function made in generic code:
// its code is a wrapper the compiler made, with that name, and its
// dictionary lies in the binary's read-only data and starts with the type
// the stream names, found by its own verified position. Strict mode
// trusts no position, and such a function has no name to register.
func (d *decoder) resolveDict(f *wireFunc, ti *typeInfo) (unsafe.Pointer, error) {
	if d.opts.strict {
		return nil, fmt.Errorf("function %s is made in generic code and travels by position only, which Strict mode does not trust: send a top-level function (an instantiation F[int] written out) and codec.Register it", f.name)
	}
	pc, err := resolveCode(f.offset, f.name, true)
	if err != nil {
		return nil, err
	}
	if got, want, ok := argsFits(pc, ti.t); !ok {
		return nil, fmt.Errorf("function %s takes %d bytes of arguments, a %s takes %d", f.name, got, ti.t, want)
	}
	first, err := typeAt(f.dictType, f.dictName)
	if err != nil {
		return nil, err
	}
	dict := anchorPC() + uintptr(f.dictOff)
	if got, ok := dictFirst(dict); !ok || got != first {
		return nil, fmt.Errorf("function %s: no dictionary starting with %s at %+#x", f.name, f.dictName, f.dictOff)
	}
	return unsafe.Pointer(&dictClosure{pc, dict}), nil
}

// resolveFunc finds the local function a reference names: by position
// (verified against the name, and its argument frame against the type)
// or, in Strict mode, by registered name.
func (d *decoder) resolveFunc(f *wireFunc, ti *typeInfo) (unsafe.Pointer, error) {
	var fn reflect.Value
	if d.opts.strict {
		v, ok := registeredFunc(f.name, ti.t)
		if ok && v.Type() != ti.t {
			return nil, fmt.Errorf("function %s is registered with type %s, not %s", f.name, v.Type(), ti.t)
		}
		if !ok {
			return nil, fmt.Errorf("function %s (%s) is not registered: codec.Register it in both programs (Strict mode trusts no position)", f.name, ti.t)
		}
		fn = v
	} else {
		v, err := funcAt(f.offset, f.name, ti.t)
		if err != nil {
			return nil, err
		}
		if got, want, ok := argsFits(v.Pointer(), ti.t); !ok {
			return nil, fmt.Errorf("function %s takes %d bytes of arguments, a %s takes %d: the stream gives it a signature it does not have", f.name, got, ti.t, want)
		}
		fn = v
	}
	x := fn.Interface()
	fv := (*eface)(unsafe.Pointer(&x)).data
	if fv == nil {
		return nil, fmt.Errorf("function %s resolved to nil", f.name)
	}
	return fv, nil
}
