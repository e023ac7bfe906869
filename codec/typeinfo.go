package codec

import (
	"encoding"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"
)

// A typeInfo is everything the codec learns about a Go type, once: its wire
// kind, whether it can be sent at all, and its compiled encode and decode
// plans. Check and the encoder read the same typeInfo, so they always agree.
type typeInfo struct {
	t       reflect.Type
	kind    wireKind
	size    uintptr
	direct  bool   // stored directly in an interface word (pointer-shaped)
	bulk    bool   // fixed-size numbers without pointers: copied as raw bytes
	memo    bool   // slices of it may reach themselves: track identity
	errPtr  bool   // a pointer implementing error: may be a sentinel
	dynamic bool   // holds interfaces, funcs or hooks: Check must look at values
	minWire uint64 // fewest bytes a value of the type encodes to
	elem    *typeInfo
	// elemRtype is a slice type's element's runtime descriptor, for
	// newArray.
	elemRtype unsafe.Pointer
	rtype     unsafe.Pointer // the type's own, for newValue
	key       *typeInfo
	fields    []fieldInfo
	in        []*typeInfo // func parameters
	out       []*typeInfo // func results

	// problems lists every part of the type that can never be sent, with
	// paths relative to the type ([*] stands for any element).
	problems []Problem

	enc encFn
	dec decFn
}

type fieldInfo struct {
	name     string
	tag      string
	offset   uintptr
	info     *typeInfo
	embedded bool
	exported bool
}

type (
	encFn func(e *encoder, p unsafe.Pointer) error
	decFn func(d *decoder, p unsafe.Pointer) error
)

var (
	infoCache sync.Map // reflect.Type -> *typeInfo, complete infos only
	compileMu sync.Mutex
	building  = map[reflect.Type]*typeInfo{} // guarded by compileMu
	pending   []*typeInfo                    // guarded by compileMu
)

// infoOf returns the compiled typeInfo of t. The first call for a type
// compiles it (and every type it contains) under a lock; later calls are a
// lock-free map lookup.
func infoOf(t reflect.Type) *typeInfo {
	if v, ok := infoCache.Load(t); ok {
		return v.(*typeInfo)
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	ti := build(t)
	for _, p := range pending {
		p.problems = staticProblems(p, map[*typeInfo]bool{})
	}
	for _, p := range pending {
		p.dynamic = isDynamic(p, map[*typeInfo]bool{})
	}
	for _, p := range pending {
		compilePlans(p)
	}
	for _, p := range pending {
		infoCache.Store(p.t, p)
	}
	pending = pending[:0]
	clear(building)
	return ti
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	locationType        = reflect.TypeFor[*time.Location]()
	rtypeType           = reflect.TypeOf(reflect.TypeFor[int]()) // *reflect.rtype, behind every reflect.Type
	errorType           = reflect.TypeFor[error]()
	anyType             = reflect.TypeFor[any]()
	marshalerType       = reflect.TypeFor[Marshaler]()
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	gobEncoderType      = reflect.TypeFor[gobEncoder]()
	gobDecoderType      = reflect.TypeFor[gobDecoder]()
	basicKinds          = [...]wireKind{
		reflect.Bool: kBool, reflect.Int: kInt, reflect.Int8: kInt8, reflect.Int16: kInt16,
		reflect.Int32: kInt32, reflect.Int64: kInt64, reflect.Uint: kUint, reflect.Uint8: kUint8,
		reflect.Uint16: kUint16, reflect.Uint32: kUint32, reflect.Uint64: kUint64, reflect.Uintptr: kUintptr,
		reflect.Float32: kFloat32, reflect.Float64: kFloat64, reflect.Complex64: kComplex64,
		reflect.Complex128: kComplex128, reflect.String: kString,
	}
	predeclaredTypes = map[reflect.Type]uint64{}
	predeclaredByID  = map[uint64]reflect.Type{}
)

func init() {
	for _, t := range []reflect.Type{
		reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](),
		reflect.TypeFor[int32](), reflect.TypeFor[int64](), reflect.TypeFor[uint](), reflect.TypeFor[uint8](),
		reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](), reflect.TypeFor[uintptr](),
		reflect.TypeFor[float32](), reflect.TypeFor[float64](), reflect.TypeFor[complex64](),
		reflect.TypeFor[complex128](), reflect.TypeFor[string](),
	} {
		id := uint64(basicKinds[t.Kind()])
		predeclaredTypes[t], predeclaredByID[id] = id, t
	}
	predeclaredTypes[anyType], predeclaredByID[idAny] = idAny, anyType
	predeclaredTypes[errorType], predeclaredByID[idError] = idError, errorType
}

// gobEncoder and gobDecoder are encoding/gob's interfaces, declared here so
// the codec needs no gob import; math/big implements them.
type gobEncoder interface{ GobEncode() ([]byte, error) }
type gobDecoder interface{ GobDecode([]byte) error }

func build(t reflect.Type) *typeInfo {
	if v, ok := infoCache.Load(t); ok {
		return v.(*typeInfo)
	}
	if ti := building[t]; ti != nil {
		return ti
	}
	ti := &typeInfo{t: t, size: t.Size(), rtype: rtypeOf(t)}
	building[t] = ti
	pending = append(pending, ti)
	ti.direct = isDirect(t)
	ti.errPtr = t.Kind() == reflect.Pointer && t.Implements(errorType)
	if k := customKind(t); k != 0 {
		ti.kind = k
		return ti
	}
	switch k := t.Kind(); k {
	case reflect.Array:
		ti.kind = kArray
		ti.elem = build(t.Elem())
		ti.bulk = ti.elem.bulk
	case reflect.Slice:
		ti.kind = kSlice
		ti.elem = build(t.Elem())
		ti.elemRtype = rtypeOf(t.Elem())
	case reflect.Map:
		ti.kind = kMap
		ti.key = build(t.Key())
		ti.elem = build(t.Elem())
	case reflect.Pointer:
		ti.kind = kPtr
		ti.elem = build(t.Elem())
	case reflect.Struct:
		ti.kind = kStruct
		for i := range t.NumField() {
			f := t.Field(i)
			ti.fields = append(ti.fields, fieldInfo{
				name: f.Name, tag: string(f.Tag), offset: f.Offset, info: build(f.Type),
				embedded: f.Anonymous, exported: f.IsExported(),
			})
		}
	case reflect.Interface:
		ti.kind = kInterface
	case reflect.Func:
		ti.kind = kFunc
		for i := range t.NumIn() {
			ti.in = append(ti.in, build(t.In(i)))
		}
		for i := range t.NumOut() {
			ti.out = append(ti.out, build(t.Out(i)))
		}
	case reflect.Chan, reflect.UnsafePointer, reflect.Invalid:
		ti.kind = 0 // refused through leafProblem
	default:
		ti.kind = basicKinds[k]
		ti.bulk = k != reflect.Bool && k != reflect.String
	}
	return ti
}

// customKind reports whether t (not a pointer or interface) marshals itself,
// and how. A method promoted from an embedded field does not count: the
// outer type's other fields would be lost.
func customKind(t reflect.Type) wireKind {
	switch t {
	case timeType:
		return kTime
	case locationType:
		return kLocation
	case rtypeType:
		return kType
	case fileType:
		return kFile
	}
	if t.Kind() == reflect.Pointer && t.Implements(handleMarshalerType) && t.Implements(handleUnmarshalerType) {
		return kHandle
	}
	if builtinHooks[t] != nil {
		return kHook
	}
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return 0
	}
	pt := reflect.PointerTo(t)
	for _, c := range []struct {
		kind     wireKind
		enc, dec reflect.Type
	}{
		{kHook, marshalerType, unmarshalerType},
		{kBinary, binaryMarshalerType, binaryUnmarshalType},
		{kGob, gobEncoderType, gobDecoderType},
		{kText, textMarshalerType, textUnmarshalerType},
	} {
		if pt.Implements(c.enc) && pt.Implements(c.dec) && !promoted(t, c.enc) {
			return c.kind
		}
	}
	return 0
}

func promoted(t, iface reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && (f.Type.Implements(iface) || reflect.PointerTo(f.Type).Implements(iface)) {
			return true
		}
	}
	return false
}

// isDirect reports whether an interface holding a t stores the value itself
// in its data word rather than a pointer to it. The rule is the compiler's;
// it is observed rather than restated: the zero value of a pointer-shaped
// type has a nil data word, any other non-empty value points to storage.
func isDirect(t reflect.Type) bool {
	if t.Size() != unsafe.Sizeof(uintptr(0)) {
		return false
	}
	v := reflect.Zero(t).Interface()
	return (*eface)(unsafe.Pointer(&v)).data == nil
}

// staticProblems lists the parts of ti's type that can never be sent.
func staticProblems(ti *typeInfo, visiting map[*typeInfo]bool) []Problem {
	if ti.kind == kFile || ti.kind == kHandle {
		return nil // handles: refused only where bytes are the destination
	}
	if reason, fix, bad := leafProblem(ti.t); bad {
		return []Problem{{Type: ti.t.String(), Reason: reason, Fix: fix}}
	}
	if visiting[ti] {
		return nil
	}
	visiting[ti] = true
	defer delete(visiting, ti)
	var out []Problem
	add := func(prefix string, ps []Problem) {
		for _, p := range ps {
			p.Path = prefix + p.Path
			out = append(out, p)
		}
	}
	switch ti.kind {
	case kArray, kSlice:
		add("[*]", staticProblems(ti.elem, visiting))
	case kMap:
		add("[*key]", staticProblems(ti.key, visiting))
		add("[*]", staticProblems(ti.elem, visiting))
	case kPtr:
		add("", staticProblems(ti.elem, visiting))
	case kStruct:
		for _, f := range ti.fields {
			add("."+f.name, staticProblems(f.info, visiting))
		}
	case kFunc:
		// A function travels by reference, but its type is defined on the
		// wire with the types of its parameters and results.
		if p, ok := signatureProblem(ti, visiting); ok {
			out = append(out, p)
		}
	}
	return out
}

// signatureProblem reports the first parameter or result of a func type
// that cannot be sent, as a problem of the function itself.
func signatureProblem(ti *typeInfo, visiting map[*typeInfo]bool) (Problem, bool) {
	for i, x := range append(ti.in[:len(ti.in):len(ti.in)], ti.out...) {
		ps := staticProblems(x, visiting)
		if len(ps) == 0 {
			continue
		}
		which := fmt.Sprintf("parameter %d", i+1)
		if i >= len(ti.in) {
			which = fmt.Sprintf("result %d", i-len(ti.in)+1)
		}
		where := x.t.String()
		if ps[0].Path != "" {
			where = fmt.Sprintf("%s (at %s, a %s)", where, ps[0].Path, ps[0].Type)
		}
		return Problem{Type: ti.t.String(),
			Reason: fmt.Sprintf("its type travels with it and its %s, %s, cannot: %s", which, where, ps[0].Reason),
			Fix:    "give the function a signature of sendable types; " + ps[0].Fix}, true
	}
	return Problem{}, false
}

// mayCycle reports whether a value of the type can reach itself (through a
// pointer, map or interface, or through slices alone), which is when
// slices of it need identity tracking.
func mayCycle(ti *typeInfo, visiting map[*typeInfo]bool) bool {
	switch ti.kind {
	case kPtr, kMap, kInterface, kHook, kHandle:
		return true
	}
	if visiting[ti] {
		// Back on the path: the type reaches itself through slices
		// alone (type RS []RS).
		return true
	}
	visiting[ti] = true
	defer delete(visiting, ti)
	switch ti.kind {
	case kArray, kSlice:
		return mayCycle(ti.elem, visiting)
	case kStruct:
		for _, f := range ti.fields {
			if mayCycle(f.info, visiting) {
				return true
			}
		}
	}
	return false
}

// Low-level layouts of the runtime's slice and empty-interface headers.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

type eface struct {
	typ, data unsafe.Pointer
}

// typePointer returns the runtime type descriptor behind t, the word an
// interface value of dynamic type t holds next to its data.
func typePointer(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}
