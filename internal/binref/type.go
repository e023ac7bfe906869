package binref

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// TypeRef is how a reflect.Type travels by reference: the position of its
// runtime type descriptor relative to an anchor type's descriptor, and the
// hash the compiler stored in the descriptor, checked on arrival.
type TypeRef struct {
	Offset int64
	Hash   uint32
}

// TypeOf returns the reference of t. ok is false for a nil t and for types
// whose descriptor is not in the executable: types built at run time with
// reflect.StructOf, reflect.FuncOf, reflect.PointerTo and the like (when
// the program itself never mentions them) and types of plugins. Those must
// travel by description, which is the codec's business.
//
// Cost: a range check and a read of the descriptor, a few nanoseconds,
// once the executable's layout is known (see FindGlobal).
func TypeOf(t reflect.Type) (ref TypeRef, ok bool) {
	if t == nil {
		return TypeRef{}, false
	}
	im, err := loadImage()
	if err != nil {
		return TypeRef{}, false
	}
	addr := uintptr(typeDescriptor(t))
	if !im.types.contains(addr, typeHeaderSize) {
		return TypeRef{}, false
	}
	return TypeRef{
		Offset: int64(addr - anchorTypeAddr()),
		Hash:   readU32(addr + typeHashOff),
	}, true
}

// resolvedType is a TypeAt result kept for the next call with the same ref.
type resolvedType struct {
	typ  reflect.Type
	name string
}

var typesAt sync.Map // TypeRef -> resolvedType, for refs that resolved

// TypeAt returns the type at ref, which TypeOf returned in a process running
// the same build, and checks that its String() is name.
//
// The runtime throws (a fatal error, not a panic) when handed a type
// descriptor with offsets out of range, so TypeAt checks everything itself
// before the runtime sees the descriptor: that it lies in the executable's
// type section, that its hash is ref.Hash and its name is name, and,
// recursively, that every descriptor, name, method and field it leads to
// is where the runtime will look for it. Any failure is a *ResolveError.
//
// Cost: the first call for a type walks the descriptors it refers to (a
// few microseconds for a typical struct); later calls are a map lookup.
func TypeAt(ref TypeRef, name string) (reflect.Type, error) {
	if r, ok := typesAt.Load(ref); ok {
		r := r.(resolvedType)
		if r.name != name {
			return nil, typeError(ref, name, fmt.Sprintf("the type there is %s", r.name))
		}
		return r.typ, nil
	}
	im, err := loadImage()
	if err != nil {
		return nil, typeError(ref, name, err.Error())
	}
	addr := anchorTypeAddr() + uintptr(ref.Offset)
	if !im.types.contains(addr, typeHeaderSize) || addr%unsafe.Alignof(uintptr(0)) != 0 {
		return nil, typeError(ref, name, "the address is not in the executable's type descriptors")
	}
	if h := readU32(addr + typeHashOff); h != ref.Hash {
		return nil, typeError(ref, name, fmt.Sprintf("the type hash there is %#x, want %#x", h, ref.Hash))
	}
	v := validator{im: im, seen: make(map[uintptr]bool, 128)}
	got, ok := v.typeString(addr)
	if !ok {
		return nil, typeError(ref, name, "no type descriptor there")
	}
	if got != name {
		return nil, typeError(ref, name, fmt.Sprintf("the type there is %s", got))
	}
	if why := v.check(addr); why != "" {
		return nil, typeError(ref, name, "malformed type descriptor: "+why)
	}
	v.remember()
	t := typeAtAddr(addr)
	if s := t.String(); s != name {
		// Unreachable unless the runtime formats names differently
		// from the descriptor; refuse rather than guess.
		return nil, typeError(ref, name, fmt.Sprintf("the runtime names the type there %s", s))
	}
	typesAt.Store(ref, resolvedType{t, name})
	return t, nil
}

func typeError(ref TypeRef, name, reason string) error {
	return &ResolveError{What: "type", Name: name, Offset: ref.Offset, Reason: reason}
}

// typeDescriptor returns the address of t's runtime type descriptor: the
// data word of the reflect.Type interface.
func typeDescriptor(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// typeAtAddr makes a reflect.Type of a validated descriptor: a reflect.Type
// is an interface whose method table is the same for every type, so we take
// the anchor's and replace the data word.
func typeAtAddr(addr uintptr) reflect.Type {
	t := reflect.TypeFor[anchorType]()
	(*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1] = at(addr)
	return t
}
