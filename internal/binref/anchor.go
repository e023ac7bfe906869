package binref

import (
	"errors"
	"reflect"
	"unsafe"
)

// The anchors are defined here, in binref, so that every program that can
// send a reference has them, whatever else it contains. A reference is a
// distance from an anchor, so it survives the address-space layout
// randomisation of PIE builds: the whole image moves as one block.

// anchorFunc is the origin of function offsets.
//
//go:noinline
func anchorFunc() {}

// anchorType is the origin of type offsets.
type anchorType struct{ _ byte }

// anchorGlobal is the origin of global offsets. It is a pointer-bearing
// package-level variable, so the linker places it in .data or .bss with
// the variables FindGlobal looks for.
var anchorGlobal = errors.New("binref: anchor")

func anchorPC() uintptr {
	return reflect.ValueOf(anchorFunc).Pointer()
}

func anchorTypeAddr() uintptr {
	return uintptr(typeDescriptor(reflect.TypeFor[anchorType]()))
}

func anchorGlobalAddr() uintptr {
	return uintptr(unsafe.Pointer(&anchorGlobal))
}
