package binref

import (
	"reflect"
	"unsafe"
)

// typeDescriptor returns the address of t's runtime type descriptor: the
// data word of the reflect.Type interface.
func typeDescriptor(t reflect.Type) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}
