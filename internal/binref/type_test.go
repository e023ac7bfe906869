package binref

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

type pair[K comparable, V any] struct {
	Key  K
	Val  V
	next *pair[K, V]
}

type shape interface {
	Area() float64
	scale(f float64) shape
}

type square struct{ side float64 }

func (s square) Area() float64           { return s.side * s.side }
func (s square) scale(f float64) shape   { return square{s.side * f} }
func (s *square) grow(d float64) float64 { s.side += d; return s.side }

type embedding struct {
	square
	io.Reader `json:"r"`
	tags      map[string][]int
	ch        <-chan *os.File
	fn        func(int, ...string) (error, bool)
	arr       [3][2]uint16
	up        unsafe.Pointer
	mu        sync.Mutex
}

// sampleTypes covers every kind, generic instantiations, recursive types,
// methods, embedded fields and tags.
var sampleTypes = []reflect.Type{
	reflect.TypeFor[int](), reflect.TypeFor[string](), reflect.TypeFor[complex128](),
	reflect.TypeFor[[]byte](), reflect.TypeFor[error](), reflect.TypeFor[any](),
	reflect.TypeFor[pair[int, string]](), reflect.TypeFor[pair[string, int]](),
	reflect.TypeFor[*pair[int, string]](), reflect.TypeFor[shape](),
	reflect.TypeFor[square](), reflect.TypeFor[*square](), reflect.TypeFor[embedding](),
	reflect.TypeFor[map[square][]*embedding](), reflect.TypeFor[chan<- shape](),
	reflect.TypeFor[func(...any) error](), reflect.TypeFor[[4]pair[int, string]](),
	reflect.TypeFor[*os.File](), reflect.TypeFor[reflect.Value](), reflect.TypeFor[anchorType](),
}

func TestTypeRoundTrip(t *testing.T) {
	for _, typ := range sampleTypes {
		ref, ok := TypeOf(typ)
		if !ok {
			t.Errorf("TypeOf(%v) not ok", typ)
			continue
		}
		got, err := TypeAt(ref, typ.String())
		if err != nil {
			t.Errorf("TypeAt(%+v, %q): %v", ref, typ.String(), err)
			continue
		}
		if got != typ {
			t.Errorf("TypeAt(%+v) = %v, want %v (same descriptor)", ref, got, typ)
		}
		// Twice: the second answer comes from the cache.
		if again, err := TypeAt(ref, typ.String()); err != nil || again != typ {
			t.Errorf("second TypeAt(%v) = %v, %v", typ, again, err)
		}
	}
	a, _ := TypeOf(reflect.TypeFor[pair[int, string]]())
	b, _ := TypeOf(reflect.TypeFor[pair[string, int]]())
	if a == b {
		t.Errorf("pair[int,string] and pair[string,int] have the same ref %+v", a)
	}
}

// TestDescriptorLayout resolves every type the runtime lists for reflect
// lookups, and each one's element, field, parameter and method types: the
// validator must accept every real descriptor, or our mirror of the ABI is
// wrong.
func TestDescriptorLayout(t *testing.T) {
	sections, offsets := reflectTypelinks()
	if len(sections) == 0 || len(offsets[0]) == 0 {
		t.Fatal("reflect.typelinks lists no types")
	}
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(typ reflect.Type) {
		if typ == nil || seen[typ] {
			return
		}
		seen[typ] = true
		ref, ok := TypeOf(typ)
		if !ok {
			t.Errorf("TypeOf(%v) not ok for a type of the binary", typ)
			return
		}
		if got, err := TypeAt(ref, typ.String()); err != nil || got != typ {
			t.Errorf("TypeAt(%v) = %v, %v", typ, got, err)
			return
		}
		switch typ.Kind() {
		case reflect.Array, reflect.Chan, reflect.Pointer, reflect.Slice:
			visit(typ.Elem())
		case reflect.Map:
			visit(typ.Key())
			visit(typ.Elem())
		case reflect.Func:
			for i := range typ.NumIn() {
				visit(typ.In(i))
			}
			for i := range typ.NumOut() {
				visit(typ.Out(i))
			}
		case reflect.Struct:
			for i := range typ.NumField() {
				visit(typ.Field(i).Type)
			}
		}
		// A concrete type's Method(i).Type is built at run time (it
		// includes the receiver); an interface's is in the binary.
		if typ.Kind() == reflect.Interface {
			for i := range typ.NumMethod() {
				visit(typ.Method(i).Type)
			}
		}
	}
	base := uintptr(sections[0])
	for _, off := range offsets[0] {
		visit(typeAtAddr(base + uintptr(off)))
	}
	for _, typ := range sampleTypes {
		visit(typ)
	}
	if len(seen) < 200 {
		t.Errorf("visited only %d types", len(seen))
	}
	t.Logf("validated %d types", len(seen))
}

func TestTypeOfRuntimeBuilt(t *testing.T) {
	built := []reflect.Type{
		reflect.StructOf([]reflect.StructField{{Name: "Zq", Type: reflect.TypeFor[complex64]()}}),
		reflect.FuncOf([]reflect.Type{reflect.TypeFor[*pair[int, string]]()}, []reflect.Type{reflect.TypeFor[[7]square]()}, false),
		reflect.ArrayOf(1234567, reflect.TypeFor[square]()),
		nil,
	}
	for _, typ := range built {
		if ref, ok := TypeOf(typ); ok {
			t.Errorf("TypeOf(%v) = %+v, ok; want not ok for a type built at run time", typ, ref)
		}
	}
}

func TestTypeAtErrors(t *testing.T) {
	typ := reflect.TypeFor[pair[int, string]]()
	ref, _ := TypeOf(typ)
	name := typ.String()
	tests := []struct {
		name string
		ref  TypeRef
		want string
	}{
		{"wrong name", ref, ""},
		{"wrong hash", TypeRef{ref.Offset, ref.Hash + 1}, "type hash there is"},
		{"misaligned", TypeRef{ref.Offset + 1, ref.Hash}, "not in the executable's type descriptors"},
		{"inside a descriptor", TypeRef{ref.Offset + 8, ref.Hash}, "type hash there is"},
		{"far away", TypeRef{1 << 50, ref.Hash}, "not in the executable's type descriptors"},
		{"negative", TypeRef{-1 << 50, ref.Hash}, "not in the executable's type descriptors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, reason := name, tt.want
			if tt.name == "wrong name" {
				want, reason = "binref.other", "the type there is "+name
			}
			got, err := TypeAt(tt.ref, want)
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("TypeAt = %v, %v; want a *ResolveError", got, err)
			}
			if got != nil || re.What != "type" || re.Name != want || re.Offset != tt.ref.Offset {
				t.Errorf("TypeAt = %v, %+v", got, re)
			}
			for _, w := range []string{reason, want, "Fingerprint"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The cache must not turn a wrong name into a right one.
	if _, err := TypeAt(ref, name); err != nil {
		t.Fatal(err)
	}
	if _, err := TypeAt(ref, "int"); err == nil || !strings.Contains(err.Error(), "the type there is "+name) {
		t.Errorf("cached TypeAt with a wrong name: %v", err)
	}
}

func FuzzTypeAt(f *testing.F) {
	for _, typ := range sampleTypes {
		ref, _ := TypeOf(typ)
		f.Add(ref.Offset, ref.Hash, typ.String(), false)
		f.Add(ref.Offset+wordSizeInt, ref.Hash, typ.String(), true)
		f.Add(ref.Offset+48, uint32(0), "", true)
	}
	im, err := loadImage()
	if err != nil {
		f.Fatal(err)
	}
	anchor := anchorTypeAddr()
	f.Fuzz(func(t *testing.T, offset int64, hash uint32, name string, honest bool) {
		if honest {
			// Move the offset into the type section and take the hash and
			// name from whatever is there, so that the input gets past
			// those checks to the deep ones.
			size := uint64(im.types.end - im.types.start)
			addr := im.types.start + uintptr(uint64(offset)%size)&^(wordSize-1)
			offset = int64(addr - anchor)
			hash, name = honestHashName(im, addr)
		}
		tryTypeAt(t, TypeRef{offset, hash}, name)
	})
}

// honestHashName returns the hash and name a descriptor at addr would have.
func honestHashName(im *image, addr uintptr) (uint32, string) {
	if !im.types.contains(addr, typeHeaderSize) {
		return 0, ""
	}
	v := validator{im: im, seen: map[uintptr]bool{}}
	s, _ := v.typeString(addr)
	return readU32(addr + typeHashOff), s
}

// tryTypeAt resolves ref and uses the result; it must not crash.
func tryTypeAt(t *testing.T, ref TypeRef, name string) bool {
	typ, err := TypeAt(ref, name)
	if err != nil {
		var re *ResolveError
		if !errors.As(err, &re) {
			t.Fatalf("error %v is not a *ResolveError", err)
		}
		return false
	}
	if typ.String() != name {
		t.Fatalf("TypeAt(%+v, %q) = %v", ref, name, typ)
	}
	exercise(typ, 2)
	return true
}

// TestTypeAtEveryAddress offers TypeAt every aligned address of the type
// section with the hash and name found there: the validator must stop
// whatever is not a descriptor before the runtime sees it, and accept
// every descriptor.
func TestTypeAtEveryAddress(t *testing.T) {
	im, err := loadImage()
	if err != nil {
		t.Fatal(err)
	}
	anchor := anchorTypeAddr()
	resolved, tried := 0, 0
	for addr := im.types.start; addr+typeHeaderSize <= im.types.end; addr += wordSize {
		hash, name := honestHashName(im, addr)
		if name == "" {
			continue
		}
		tried++
		if tryTypeAt(t, TypeRef{int64(addr - anchor), hash}, name) {
			resolved++
		}
	}
	t.Logf("%d of %d candidate addresses resolved", resolved, tried)
	if resolved < 1000 {
		t.Errorf("only %d addresses resolved", resolved)
	}
}

const wordSizeInt = int64(wordSize)

// exercise calls the reflect.Type methods that read a descriptor's parts.
func exercise(typ reflect.Type, depth int) {
	if depth == 0 {
		return
	}
	_, _, _, _ = typ.Name(), typ.PkgPath(), typ.Size(), typ.Comparable()
	switch typ.Kind() {
	case reflect.Interface:
		for i := range typ.NumMethod() {
			exercise(typ.Method(i).Type, depth-1)
		}
	case reflect.Array, reflect.Chan, reflect.Pointer, reflect.Slice:
		exercise(typ.Elem(), depth-1)
	case reflect.Map:
		exercise(typ.Key(), depth-1)
		exercise(typ.Elem(), depth-1)
	case reflect.Func:
		for i := range typ.NumIn() {
			exercise(typ.In(i), depth-1)
		}
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			_ = f.Tag
			exercise(f.Type, depth-1)
		}
	}
	_ = reflect.PointerTo(typ).String()
}
