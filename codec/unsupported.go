package codec

import (
	"reflect"

	"github.com/mproc-go/mproc/internal/sendable"
)

// leafProblem reports whether values of t can never be sent, whatever they
// hold, and why: the table is internal/sendable's, which mprocvet reads
// too. Containers of such types are refused through their elements.
func leafProblem(t reflect.Type) (reason, fix string, bad bool) {
	switch t.Kind() {
	case reflect.Chan:
		return sendable.Chan.Reason, sendable.Chan.Fix, true
	case reflect.UnsafePointer:
		return sendable.UnsafePointer.Reason, sendable.UnsafePointer.Fix, true
	}
	if l, ok := sendable.Named(t.PkgPath(), t.Name()); ok {
		return l.Reason, l.Fix, true
	}
	return "", "", false
}
