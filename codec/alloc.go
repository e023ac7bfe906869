package codec

import (
	"reflect"
	"unsafe"
)

// The decoder allocates through the runtime's own entry points, which
// reflect calls too: reflect.MakeSlice returns its slice header boxed in
// a Value, a second heap allocation per slice that the decoder would drop
// at once (a third of the allocations of a graph's round trip).

//go:linkname reflectNewArray reflect.unsafe_NewArray
func reflectNewArray(rtype unsafe.Pointer, n int) unsafe.Pointer

// reflect.New also finds the pointer type, to box the object in a Value.
//
//go:linkname reflectNew reflect.unsafe_New
func reflectNew(rtype unsafe.Pointer) unsafe.Pointer

// rtypeOf returns the runtime's descriptor of t: the data word of the
// interface, a *reflect.rtype for every reflect.Type from package reflect.
func rtypeOf(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// newArray allocates n zeroed elements of the slice type ti's element
// type, typed for the garbage collector; never nil, even for n == 0.
func newArray(ti *typeInfo, n int) unsafe.Pointer {
	return reflectNewArray(ti.elemRtype, n)
}

// newValue allocates a zeroed value of ti's type, typed for the garbage
// collector.
func newValue(ti *typeInfo) unsafe.Pointer {
	return reflectNew(ti.rtype)
}
