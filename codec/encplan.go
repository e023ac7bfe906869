package codec

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"
	"unsafe"
)

// compileEnc builds the encode plan of ti: a function writing one value
// whose address is given, with all per-type decisions already taken.
func compileEnc(ti *typeInfo) encFn {
	if len(ti.problems) > 0 {
		pr := ti.problems[0]
		return func(*encoder, unsafe.Pointer) error { return pr.err() }
	}
	switch ti.kind {
	case kBool:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = append(e.buf, *(*byte)(p)&1)
			return nil
		}
	case kInt:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = appendVarint(e.buf, int64(*(*int)(p)))
			return nil
		}
	case kInt8, kUint8:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = append(e.buf, *(*byte)(p))
			return nil
		}
	case kInt16:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = appendVarint(e.buf, int64(*(*int16)(p)))
			return nil
		}
	case kInt32:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = appendVarint(e.buf, int64(*(*int32)(p)))
			return nil
		}
	case kInt64:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = appendVarint(e.buf, *(*int64)(p))
			return nil
		}
	case kUint, kUintptr:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.AppendUvarint(e.buf, uint64(*(*uint)(p)))
			return nil
		}
	case kUint16:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.AppendUvarint(e.buf, uint64(*(*uint16)(p)))
			return nil
		}
	case kUint32:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.AppendUvarint(e.buf, uint64(*(*uint32)(p)))
			return nil
		}
	case kUint64:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.AppendUvarint(e.buf, *(*uint64)(p))
			return nil
		}
	case kFloat32:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, *(*uint32)(p))
			return nil
		}
	case kFloat64:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = binary.LittleEndian.AppendUint64(e.buf, *(*uint64)(p))
			return nil
		}
	case kComplex64:
		return func(e *encoder, p unsafe.Pointer) error {
			w := (*[2]uint32)(p)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, w[0])
			e.buf = binary.LittleEndian.AppendUint32(e.buf, w[1])
			return nil
		}
	case kComplex128:
		return func(e *encoder, p unsafe.Pointer) error {
			w := (*[2]uint64)(p)
			e.buf = binary.LittleEndian.AppendUint64(e.buf, w[0])
			e.buf = binary.LittleEndian.AppendUint64(e.buf, w[1])
			return nil
		}
	case kString:
		return func(e *encoder, p unsafe.Pointer) error {
			s := *(*string)(p)
			e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
			e.appendBulk(unsafe.Slice(unsafe.StringData(s), len(s)))
			return nil
		}
	case kArray:
		return encArray(ti)
	case kSlice:
		return encSlice(ti)
	case kMap:
		return encMap(ti)
	case kPtr:
		return encPtr(ti)
	case kStruct:
		return encStruct(ti)
	case kInterface:
		return encInterface(ti)
	case kFunc:
		return func(e *encoder, p unsafe.Pointer) error {
			fv := *(*unsafe.Pointer)(p)
			if fv == nil {
				e.buf = append(e.buf, 0)
				return nil
			}
			id, rti, off, err := e.funcID(ti, p, fv)
			if err != nil {
				return err
			}
			e.buf = binary.AppendUvarint(e.buf, id)
			if rti == nil {
				return nil
			}
			if e.depth++; e.depth > e.opts.maxDepth {
				return &DepthError{Limit: e.opts.maxDepth}
			}
			err = rti.enc(e, unsafe.Add(fv, off))
			e.depth--
			return err
		}
	case kTime:
		return func(e *encoder, p unsafe.Pointer) error {
			e.buf = appendTime(e.buf, *(*time.Time)(p))
			return nil
		}
	case kLocation:
		return func(e *encoder, p unsafe.Pointer) error {
			loc := *(**time.Location)(p)
			if loc == nil {
				e.buf = append(e.buf, 0)
				return nil
			}
			_, off := time.Now().In(loc).Zone()
			e.buf = append(e.buf, 1)
			e.buf = appendString(e.buf, loc.String())
			e.buf = appendVarint(e.buf, zoneWord(off, loc))
			return nil
		}
	case kType:
		return func(e *encoder, p unsafe.Pointer) error {
			if *(*unsafe.Pointer)(p) == nil {
				e.buf = append(e.buf, 0)
				return nil
			}
			t := reflect.NewAt(ti.t, p).Elem().Interface().(reflect.Type)
			ref, ok := typeRefOf(t)
			if !ok {
				pr, _ := typeProblem(t)
				return pr.err()
			}
			e.buf = append(e.buf, 1)
			e.buf = appendVarint(e.buf, ref.Offset)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, ref.Hash)
			e.buf = appendString(e.buf, t.String())
			pkg := ""
			if t.Name() != "" {
				pkg = t.PkgPath()
			}
			e.buf = appendString(e.buf, pkg)
			return nil
		}
	case kBinary, kGob, kText:
		return encMarshaler(ti)
	case kFile:
		return func(e *encoder, p unsafe.Pointer) error { return e.encodeFile(*(**os.File)(p)) }
	case kHandle:
		return func(e *encoder, p unsafe.Pointer) error { return e.encodeHandle(ti, p) }
	case kHook:
		return func(e *encoder, p unsafe.Pointer) error {
			state, err := hookState(ti, p)
			if err != nil {
				return err
			}
			return e.encodeAny(state)
		}
	}
	return func(*encoder, unsafe.Pointer) error {
		return &UnsupportedError{Type: ti.t.String(), Reason: "the codec has no encoding for kind " + ti.t.Kind().String(), Fix: "send a value of another type"}
	}
}

func (e *encoder) encodeAny(v any) error {
	if v == nil {
		e.buf = append(e.buf, idNil)
		return nil
	}
	return e.encodeDynamic(reflect.TypeOf(v), (*eface)(unsafe.Pointer(&v)).data)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(t.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()))
	loc := t.Location()
	if loc == time.UTC {
		b = appendString(b, "UTC")
		return append(b, 0)
	}
	_, off := t.Zone()
	b = appendString(b, loc.String())
	return appendVarint(b, zoneWord(off, loc))
}

// zoneWord is how a zone offset travels: the offset in seconds, doubled,
// plus one for a fixed zone (time.FixedZone), which must decode as that
// offset whatever the zone database says of its name.
func zoneWord(off int, loc *time.Location) int64 {
	w := int64(off) * 2
	if fixedZone(loc) {
		w++
	}
	return w
}

var fixedZones sync.Map // *time.Location -> bool

// fixedZone reports whether loc has a single zone and no rule for later
// times: what time.FixedZone makes. time.Location keeps this unexported;
// reflect reads the lengths.
func fixedZone(loc *time.Location) bool {
	if loc == time.UTC || loc == time.Local {
		return false
	}
	if v, ok := fixedZones.Load(loc); ok {
		return v.(bool)
	}
	l := reflect.ValueOf(loc).Elem()
	z, tx, ext := l.FieldByName("zone"), l.FieldByName("tx"), l.FieldByName("extend")
	fixed := z.IsValid() && tx.IsValid() && ext.IsValid() && z.Len() == 1 && tx.Len() <= 1 && ext.Len() == 0
	fixedZones.Store(loc, fixed)
	return fixed
}

func encMarshaler(ti *typeInfo) encFn {
	return func(e *encoder, p unsafe.Pointer) error {
		x := reflect.NewAt(ti.t, p).Interface()
		var b []byte
		var err error
		var method string
		switch ti.kind {
		case kBinary:
			method = "MarshalBinary"
			b, err = x.(encoding.BinaryMarshaler).MarshalBinary()
		case kGob:
			method = "GobEncode"
			b, err = x.(gobEncoder).GobEncode()
		default:
			method = "MarshalText"
			b, err = x.(encoding.TextMarshaler).MarshalText()
		}
		if err != nil {
			return fmt.Errorf("codec: (%s).%s: %w", ti.t, method, err)
		}
		e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
		e.buf = append(e.buf, b...)
		return nil
	}
}

func encArray(ti *typeInfo) encFn {
	n, size := ti.t.Len(), ti.elem.size
	if ti.bulk {
		return func(e *encoder, p unsafe.Pointer) error {
			e.appendBulk(unsafe.Slice((*byte)(p), ti.size))
			return nil
		}
	}
	return func(e *encoder, p unsafe.Pointer) error {
		enc := ti.elem.enc
		for i := range n {
			if err := enc(e, unsafe.Add(p, uintptr(i)*size)); err != nil {
				return err
			}
		}
		return nil
	}
}

func encSlice(ti *typeInfo) encFn {
	size := ti.elem.size
	if ti.elem.bulk {
		return func(e *encoder, p unsafe.Pointer) error {
			h := (*sliceHeader)(p)
			if h.data == nil {
				e.buf = append(e.buf, bulkNil)
				return nil
			}
			if h.len > 0 && size > 0 {
				if done, err := e.untracked(ti, h, bulkTracked); done {
					return err
				}
			}
			e.appendOutside(unsafe.Slice((*byte)(h.data), uintptr(h.len)*size), h.len)
			return nil
		}
	}
	elems := func(e *encoder, h *sliceHeader) error { return e.sliceElems(ti, h) }
	if !ti.memo {
		return func(e *encoder, p unsafe.Pointer) error {
			h := (*sliceHeader)(p)
			if h.data == nil {
				e.buf = append(e.buf, 0)
				return nil
			}
			if h.len > 0 && size > 0 {
				if done, err := e.untracked(ti, h, sliceTracked); done {
					return err
				}
				if e.containers != nil && e.containers[memoKey{h.data, ti, h.len}] {
					return elems(e, h) // after untracked's sliceTracked
				}
			}
			e.buf = append(e.buf, 1)
			return elems(e, h)
		}
	}
	return func(e *encoder, p unsafe.Pointer) error {
		h := (*sliceHeader)(p)
		if h.data == nil {
			e.buf = append(e.buf, refNil)
			return nil
		}
		// Empty slices may all share one address: they take no memo id and
		// are never back-referenced.
		if h.len > 0 && e.interior != nil {
			if c, ok := e.interior[memoKey{h.data, ti, h.len}]; ok {
				return e.encInterior(c, uintptr(h.data), h.len)
			}
		}
		if h.len > 0 && e.seen(memoKey{h.data, ti, h.len}) {
			return nil
		}
		if h.len > 0 && size > 0 {
			e.record(h.data, uintptr(h.data)+uintptr(h.len)*size, ti, h.len)
		}
		e.buf = append(e.buf, refNew)
		return elems(e, h)
	}
}

// sliceElems writes the length and the elements of the slice at h.
func (e *encoder) sliceElems(ti *typeInfo, h *sliceHeader) error {
	if e.depth++; e.depth > e.opts.maxDepth {
		return &DepthError{Limit: e.opts.maxDepth}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(h.len))
	if ti.elem.kind == kString {
		for _, s := range unsafe.Slice((*string)(h.data), h.len) {
			e.appendString(s)
		}
		e.depth--
		return nil
	}
	enc, size := ti.elem.enc, ti.elem.size
	for i := range h.len {
		if err := enc(e, unsafe.Add(h.data, uintptr(i)*size)); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

// seen writes a back-reference and reports true if k was already written
// in this message; otherwise it gives k the next memo id. The id is taken
// before the contents are written, so a value that reaches itself refers
// back to its own id.
//
// The first few objects of a message are kept in a small array scanned
// linearly, which beats hashing for the usual handful of pointers; past
// that they move to a map.
func (e *encoder) seen(k memoKey) bool {
	if e.nmemo <= uint64(len(e.memoFew)) {
		for i, x := range e.memoFew[:e.nmemo] {
			if x == k {
				e.buf = binary.AppendUvarint(e.buf, uint64(i)+refBack)
				return true
			}
		}
		if e.nmemo < uint64(len(e.memoFew)) {
			e.memoFew[e.nmemo] = k
			e.nmemo++
			return false
		}
		e.migrate()
	}
	return e.seenMany(k)
}

// migrate moves the first few objects of the message to the memo maps,
// the first of equal keys winning (a slice written twice, see register).
func (e *encoder) migrate() {
	for i, x := range e.memoFew {
		e.insertMany(x, uint64(i))
	}
}

// insertMany records k with memo id id unless it is recorded.
func (e *encoder) insertMany(k memoKey, id uint64) {
	v, ok := e.memo.get(uintptr(k.p))
	if !ok {
		e.memo.put(uintptr(k.p), memoVal{k.ti, k.n, id})
		return
	}
	if v.ti == k.ti && v.n == k.n {
		return
	}
	if e.memoAlt == nil {
		e.memoAlt = map[memoKey]uint64{}
	}
	if _, ok := e.memoAlt[k]; !ok {
		e.memoAlt[k] = id
	}
}

// register gives k the next memo id without writing anything; a key seen
// before keeps its first id (the decoder numbers both).
func (e *encoder) register(k memoKey) {
	if e.nmemo < uint64(len(e.memoFew)) {
		e.memoFew[e.nmemo] = k
		e.nmemo++
		return
	}
	if e.nmemo == uint64(len(e.memoFew)) {
		e.migrate()
	}
	e.insertMany(k, e.nmemo)
	e.nmemo++
}

// untracked handles a non-empty slice of a type whose slices take no memo
// id: it records it as an object of the message, and when the message is
// written again for its interior pointers, writes it as a slice into
// another object, or marks it (with tracked) as one that others point
// into. done reports that the slice is written.
func (e *encoder) untracked(ti *typeInfo, h *sliceHeader, tracked byte) (done bool, err error) {
	k := memoKey{h.data, ti, h.len}
	if e.interior == nil {
		e.record(h.data, uintptr(h.data)+uintptr(h.len)*ti.elem.size, ti, h.len)
		return false, nil
	}
	if c, ok := e.interior[k]; ok {
		return true, e.encInterior(c, uintptr(h.data), h.len)
	}
	if e.containers[k] {
		if id, ok := e.memoID(k); ok {
			// Written before: the whole of object id.
			e.buf = append(e.buf, refInterior)
			e.buf = binary.AppendUvarint(e.buf, id)
			e.buf = append(e.buf, 0)
			e.buf = binary.AppendUvarint(e.buf, uint64(h.len))
			return true, nil
		}
		e.buf = append(e.buf, tracked)
		e.register(k)
	}
	return false, nil
}

// seenMany is seen past the first few objects. The map is keyed by address
// alone, which hashes fastest; an object at the address of another one of
// a different type or length (a struct and its first field) goes to a
// second map.
func (e *encoder) seenMany(k memoKey) bool {
	v, ok := e.memo.get(uintptr(k.p))
	if !ok {
		e.memo.put(uintptr(k.p), memoVal{k.ti, k.n, e.nmemo})
		e.nmemo++
		return false
	}
	if v.ti != k.ti || v.n != k.n {
		if e.memoAlt == nil {
			e.memoAlt = map[memoKey]uint64{}
		}
		id, ok := e.memoAlt[k]
		if !ok {
			e.memoAlt[k] = e.nmemo
			e.nmemo++
			return false
		}
		v.id = id
	}
	e.buf = binary.AppendUvarint(e.buf, v.id+refBack)
	return true
}

func encPtr(ti *typeInfo) encFn {
	return func(e *encoder, p unsafe.Pointer) error {
		obj := *(*unsafe.Pointer)(p)
		if obj == nil {
			e.buf = append(e.buf, refNil)
			return nil
		}
		if e.interior != nil {
			if c, ok := e.interior[memoKey{obj, ti, 0}]; ok {
				return e.encInterior(c, uintptr(obj), 0)
			}
		}
		if e.seen(memoKey{obj, ti, 0}) {
			return nil
		}
		if ti.elem.size > 0 {
			e.record(obj, uintptr(obj)+ti.elem.size, ti, 0)
		}
		e.buf = append(e.buf, refNew)
		if e.depth++; e.depth > e.opts.maxDepth {
			return &DepthError{Limit: e.opts.maxDepth}
		}
		err := ti.elem.enc(e, obj)
		e.depth--
		return err
	}
}

func encMap(ti *typeInfo) encFn {
	return func(e *encoder, p unsafe.Pointer) error {
		m := *(*unsafe.Pointer)(p)
		if m == nil {
			e.buf = append(e.buf, refNil)
			return nil
		}
		if e.seen(memoKey{m, ti, 0}) {
			return nil
		}
		e.buf = append(e.buf, refNew)
		if e.depth++; e.depth > e.opts.maxDepth {
			return &DepthError{Limit: e.opts.maxDepth}
		}
		mv := reflect.NewAt(ti.t, p).Elem()
		e.buf = binary.AppendUvarint(e.buf, uint64(mv.Len()))
		k := reflect.New(ti.key.t).Elem()
		v := reflect.New(ti.elem.t).Elem()
		kp, vp := k.Addr().UnsafePointer(), v.Addr().UnsafePointer()
		for it := mv.MapRange(); it.Next(); {
			k.SetIterKey(it)
			v.SetIterValue(it)
			if err := ti.key.enc(e, kp); err != nil {
				return err
			}
			if err := ti.elem.enc(e, vp); err != nil {
				return err
			}
		}
		e.depth--
		return nil
	}
}

func encInterface(ti *typeInfo) encFn {
	if ti.t.NumMethod() == 0 {
		return func(e *encoder, p unsafe.Pointer) error {
			ef := (*eface)(p)
			if ef.typ == nil {
				e.buf = append(e.buf, idNil)
				return nil
			}
			return e.encodeDynamic(reflect.TypeOf(*(*any)(p)), ef.data)
		}
	}
	return func(e *encoder, p unsafe.Pointer) error {
		w := (*[2]unsafe.Pointer)(p)
		if w[0] == nil {
			e.buf = append(e.buf, idNil)
			return nil
		}
		return e.encodeDynamic(reflect.NewAt(ti.t, p).Elem().Elem().Type(), w[1])
	}
}
