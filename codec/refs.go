package codec

import (
	"reflect"

	"github.com/mproc-go/mproc/internal/binref"
)

// This file is the codec's only contact with internal/binref: positions of
// functions, types and sentinel values in the executable.

func fingerprint() string { return binref.Fingerprint() }

type funcRef = binref.FuncInfo

func funcInfo(fn reflect.Value) funcRef { return binref.Func(fn) }

func funcAt(offset int64, name string, t reflect.Type) (reflect.Value, error) {
	return binref.FuncAt(offset, name, t)
}

type typeRef = binref.TypeRef

func typeRefOf(t reflect.Type) (typeRef, bool) { return binref.TypeOf(t) }

func typeAt(ref typeRef, name string) (reflect.Type, error) { return binref.TypeAt(ref, name) }

func findGlobal(v any) (int64, bool) {
	g, ok := binref.FindGlobal(v)
	return g.Offset, ok
}

func loadGlobal(offset int64, t reflect.Type) (any, error) {
	return binref.LoadGlobal(binref.GlobalRef{Offset: offset}, t)
}
