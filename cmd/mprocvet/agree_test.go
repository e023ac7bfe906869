package main

import (
	"go/types"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/mproc-go/mproc/codec"
)

// TestAgreesWithCodecCheck: for every kind of thing mprocvet flags, the
// codec refuses a value of it at run time, with the same reason, and the
// other way round for what travels.
func TestAgreesWithCodecCheck(t *testing.T) {
	cases := []struct {
		value any        // a struct holding the thing in field F
		typ   types.Type // the thing, as go/types sees it
	}{
		{struct{ F sync.Mutex }{}, named("sync", "Mutex")},
		{struct{ F sync.WaitGroup }{}, named("sync", "WaitGroup")},
		{struct{ F atomic.Value }{}, named("sync/atomic", "Value")},
		{struct{ F reflect.Value }{}, named("reflect", "Value")},
		{struct{ F net.Conn }{}, named("net", "Conn")},
		{struct{ F chan int }{}, types.NewChan(types.SendRecv, types.Typ[types.Int])},
		{struct{ F unsafe.Pointer }{}, types.Typ[types.UnsafePointer]},
	}
	for _, c := range cases {
		ps := codec.Check(c.value)
		p, bad := unsendable(types.NewStruct([]*types.Var{types.NewField(0, nil, "F", c.typ, false)}, nil), false)
		if len(ps) != 1 || !bad {
			t.Errorf("%T: codec.Check = %v, mprocvet reports %v: want both to refuse it", c.value, ps, bad)
			continue
		}
		if ps[0].Path != p.path || ps[0].Reason != p.leaf.Reason || ps[0].Fix != p.leaf.Fix {
			t.Errorf("%T: codec says %q at %q, mprocvet %q at %q", c.value, ps[0].Reason, ps[0].Path, p.leaf.Reason, p.path)
		}
	}
	// What travels, for both.
	for _, c := range []struct {
		value any
		typ   types.Type
	}{
		{struct{ F int }{}, types.Typ[types.Int]},
		{struct{ F func() int }{}, types.NewSignatureType(nil, nil, nil, nil, types.NewTuple(types.NewParam(0, nil, "", types.Typ[types.Int])), false)},
		{struct{ F any }{}, types.NewInterfaceType(nil, nil)},
	} {
		if ps := codec.Check(c.value); ps != nil {
			t.Errorf("%T: codec.Check = %v", c.value, ps)
		}
		if p, bad := unsendable(types.NewStruct([]*types.Var{types.NewField(0, nil, "F", c.typ, false)}, nil), false); bad {
			t.Errorf("%T: mprocvet reports %+v", c.value, p)
		}
	}
}

func named(pkg, name string) types.Type {
	obj := types.NewTypeName(0, types.NewPackage(pkg, pkg), name, nil)
	return types.NewNamed(obj, types.NewStruct(nil, nil), nil)
}
