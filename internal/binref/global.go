package binref

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"
)

// GlobalRef is how a package-level variable of interface type travels by
// reference: the position of the variable relative to an anchor variable
// in this package. Sending a sentinel error
//
//	var ErrNotFound = errors.New("not found")
//
// this way makes it decode, in another process of the same build, to the
// very value that process's ErrNotFound holds, so errors.Is keeps working.
type GlobalRef struct {
	Offset int64
}

// globalKey identifies an interface value: its dynamic type's descriptor
// and its data word.
type globalKey struct {
	typ  uintptr
	data unsafe.Pointer
}

var (
	// globalsFound caches positive answers: key -> offset. A hit is
	// checked against the variable before it is used, so a variable that
	// was reassigned since is looked up again.
	globalsFound sync.Map
	// globalsMissing caches negative answers: key -> the value itself.
	// Holding the value keeps its data from being freed and the address
	// reused by another value, which would make the answer wrong.
	globalsMissing      sync.Map
	globalsMissingCount atomic.Int64
)

// maxMissing bounds the negative cache; when full it is emptied.
const maxMissing = 4096

// FindGlobal reports whether some package-level variable of interface type
// holds exactly v: the same dynamic type and the same data word, so that
// v == variable. It returns the variable's reference.
//
// Mechanism: a scan of the executable's pointer-bearing variables (the
// .data and .bss sections, as the runtime records them) for two adjacent
// words that form an interface holding v: a type or itab word, then v's
// data word. Only itabs the compiler laid out in the binary count, which
// covers every conversion written in the source (errors.New,
// fmt.Errorf, MyErr{} assigned to an error variable); an itab made at run
// time by a type assertion is not recognised.
//
// Cost: the first lookup of a value scans the sections, under a
// nanosecond per word of .data and .bss: ten to a few tens of microseconds
// for a typical program (BenchmarkFindGlobalScan). Answers are cached per
// value, positive or negative, and a cached answer costs tens of
// nanoseconds (BenchmarkFindGlobal); still, call it for values worth it
// (error values), not for every interface. A variable assigned after its value was first looked up, or
// a value equal to a variable's but in other memory, is not found.
//
// Limits: a value with no data pointer (a nil pointer), variables in
// plugins, variables of concrete (non-interface) type.
func FindGlobal(v any) (GlobalRef, bool) {
	e := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))
	key := globalKey{typ: uintptr(e[0]), data: e[1]}
	if key.typ == 0 || key.data == nil {
		return GlobalRef{}, false
	}
	im, err := loadImage()
	if err != nil {
		return GlobalRef{}, false
	}
	anchor := anchorGlobalAddr()
	if off, ok := globalsFound.Load(key); ok {
		addr := anchor + uintptr(off.(int64))
		if typ, data := readIface(addr); data == key.data && (typ == key.typ || im.itabType(typ) == key.typ) {
			return GlobalRef{Offset: off.(int64)}, true
		}
		globalsFound.Delete(key)
	}
	if _, ok := globalsMissing.Load(key); ok {
		return GlobalRef{}, false
	}
	for _, s := range []span{im.data, im.bss} {
		if addr, ok := im.scan(s, key); ok {
			off := int64(addr - anchor)
			globalsFound.Store(key, off)
			return GlobalRef{Offset: off}, true
		}
	}
	if globalsMissingCount.Add(1) > maxMissing {
		globalsMissing.Clear()
		globalsMissingCount.Store(1)
	}
	globalsMissing.Store(key, v)
	return GlobalRef{}, false
}

// scan looks in s for an interface variable holding key.
//
//go:norace
func (im *image) scan(s span, key globalKey) (uintptr, bool) {
	data := uintptr(key.data)
	for p := alignUp(s.start, wordSize); p+2*wordSize <= s.end; p += wordSize {
		if readWord(p+wordSize) != data {
			continue
		}
		if w := readWord(p); w == key.typ || im.itabType(w) == key.typ {
			return p, true
		}
	}
	return 0, false
}

// itabType returns the dynamic type recorded in the itab at addr, or 0 if
// addr is not an itab laid out in the executable. An itab is
// {interface type, dynamic type, hash, methods...}; we check that both
// types are descriptors and the hash is the dynamic type's.
func (im *image) itabType(addr uintptr) uintptr {
	const itabHeader = 3 * wordSize
	if addr%wordSize != 0 || !im.inStatic(addr, itabHeader) {
		return 0
	}
	inter, typ := readWord(addr), readWord(addr+wordSize)
	if !im.types.contains(inter, unsafe.Sizeof(interfaceType{})) || !im.types.contains(typ, typeHeaderSize) {
		return 0
	}
	if reflect.Kind((*rtype)(at(inter)).kind) != reflect.Interface {
		return 0
	}
	if readU32(addr+2*wordSize) != readU32(typ+typeHashOff) {
		return 0
	}
	return typ
}

// readIface reads the two words of an interface variable at addr, which
// the caller has checked lies in the data or bss section. Other goroutines
// may write the variable; the caller checks what it read.
//
//go:norace
func readIface(addr uintptr) (typ uintptr, data unsafe.Pointer) {
	w := (*[2]unsafe.Pointer)(at(addr))
	return uintptr(w[0]), w[1]
}

// LoadGlobal reads the variable at ref in this process and returns its
// value, if the variable is an interface holding a value of dynamic type
// want. It validates the address (inside the executable's pointer-bearing
// variables, aligned) and the type word (want's descriptor, or an itab in
// the executable whose dynamic type is want) before building the value,
// so a hostile ref yields a *ResolveError, never a crash.
//
// Cost: a few nanoseconds; nothing is cached.
func LoadGlobal(ref GlobalRef, want reflect.Type) (any, error) {
	fail := func(format string, args ...any) (any, error) {
		return nil, &ResolveError{What: "global", Name: fmt.Sprint(want), Offset: ref.Offset, Reason: fmt.Sprintf(format, args...)}
	}
	if want == nil || want.Kind() == reflect.Interface {
		return fail("a variable cannot hold a value of dynamic type %v", want)
	}
	im, err := loadImage()
	if err != nil {
		return fail("%v", err)
	}
	addr := anchorGlobalAddr() + uintptr(ref.Offset)
	if addr%wordSize != 0 || !(im.data.contains(addr, 2*wordSize) || im.bss.contains(addr, 2*wordSize)) {
		return fail("the address is not in the executable's variables")
	}
	typ, data := readIface(addr)
	wantAddr := uintptr(typeDescriptor(want))
	switch {
	case typ == 0:
		return fail("the variable there is nil")
	case typ == wantAddr || im.itabType(typ) == wantAddr:
	default:
		return fail("the variable there does not hold a %v (%s)", want, im.describeTypeWord(typ))
	}
	var v any
	e := (*[2]unsafe.Pointer)(unsafe.Pointer(&v))
	e[0], e[1] = typeDescriptor(want), data
	return v, nil
}

// describeTypeWord names what an interface's first word points at, for
// error messages, reading only validated memory.
func (im *image) describeTypeWord(w uintptr) string {
	v := validator{im: im, seen: map[uintptr]bool{}}
	if t := im.itabType(w); t != 0 {
		w = t
	}
	if w%wordSize == 0 {
		if s, ok := v.typeString(w); ok {
			return "it holds a " + s
		}
	}
	return "the words there are not an interface value"
}
