package codec

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// The value tables below follow the shapes that encoding/gob's and
// encoding/json's own tests and CPython's pickletester exercise, written
// for Go and for this codec: every value either round-trips exactly
// (floats bit for bit, nil apart from empty, sharing kept) or is refused
// with a path.

type tEmbedded struct{ E int }

type tTagged struct {
	A int    `json:"a"`
	B string `json:"b,omitempty"`
	c bool
	tEmbedded
	*Point
}

type tRecursive struct {
	Name string
	Kids []*tRecursive
	Up   *tRecursive
}

type tNamedBytes []byte

type tNamedMap map[string][]int

type tKey struct {
	A int
	B string
}

func TestValueTable(t *testing.T) {
	// pickletester's recursive shapes.
	list := []any{1, nil}
	list[1] = list
	dict := map[string]any{"x": 1}
	dict["self"] = dict
	shared := &Point{7, 8}
	root := &tRecursive{Name: "root"}
	root.Kids = []*tRecursive{{Name: "a", Up: root}, {Name: "b", Up: root}}
	long := strings.Repeat("long string ", 3000) // past the bulk threshold
	floats := make([]float64, 1e5)
	for i := range floats {
		floats[i] = float64(i) / 3
	}
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	bigInt, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)

	cases := []struct {
		name string
		v    any
		// check, if set, tests what equality cannot (sharing).
		check func(t *testing.T, got any)
	}{
		// gob's and json's scalar tables: extremes of every size.
		{"ints", []any{int8(math.MinInt8), int16(math.MinInt16), int32(math.MinInt32), int64(math.MinInt64), math.MaxInt, -1, 0}, nil},
		{"uints", []any{uint8(math.MaxUint8), uint16(math.MaxUint16), uint32(math.MaxUint32), uint64(math.MaxUint64), uint(0), uintptr(1 << 40)}, nil},
		{"floats", []any{math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.Float64frombits(0x7ff8000000000abc),
			math.SmallestNonzeroFloat64, math.MaxFloat64, float32(math.MaxFloat32), math.Float32frombits(0x7fc00123)}, nil},
		{"complex", []any{complex(math.Inf(1), math.NaN()), complex64(complex(-0.0, 1))}, nil},
		{"strings", []any{"", "héllo, 世界", "\xff\xfe invalid UTF-8", "nul\x00inside", long}, nil},
		{"bools", [3]bool{true, false, true}, nil},
		// nil apart from empty (gob drops this distinction; pickle keeps it).
		{"nil and empty slices", [4][]int{nil, {}, {1}, make([]int, 0, 10)}, nil},
		{"nil and empty maps", []map[string]int{nil, {}, {"a": 1}}, nil},
		{"nil and empty bytes", []tNamedBytes{nil, {}, allBytes}, nil},
		{"nil pointer and interface", []any{(*Point)(nil), nil, error(nil)}, nil},
		// Composite shapes.
		{"arrays", [2][3]string{{"a", "b", "c"}, {"", "", "z"}}, nil},
		{"nested slices", [][][]int8{{{1}, nil}, {}, nil}, nil},
		{"map with struct keys", map[tKey][]string{{1, "a"}: {"x"}, {2, ""}: nil}, nil},
		{"set", map[string]struct{}{"a": {}, "b": {}}, nil},
		{"named map", tNamedMap{"k": {1, 2}}, nil},
		{"tagged, embedded, unexported", tTagged{A: 1, B: "b", c: true, tEmbedded: tEmbedded{3}, Point: &Point{1, 2}}, nil},
		{"pointer to pointer", func() any { p := &Point{1, 2}; return &p }(), nil},
		{"interfaces of every kind", []any{Point{1, 2}, &Point{3, 4}, []any{"x"}, map[any]any{1: 2}, Celsius(1.5), errors.New("boom")}, nil},
		{"json-like document", map[string]any{"a": []any{1.5, "s", true, nil, map[string]any{"n": nil}}, "b": map[string]any{}}, nil},
		{"zero-size elements", []struct{}{{}, {}, {}}, nil},
		{"big numbers", []any{bigInt, big.NewFloat(1.5), big.NewRat(1, 3)}, nil},
		{"time", []time.Time{time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), {}, time.Unix(0, 1).UTC()}, nil},
		{"bulk floats", floats, nil},
		{"struct with unexported time", struct{ at time.Time }{time.Unix(1e9, 0).UTC()}, nil},
		// pickletester's sharing and recursion.
		{"shared object", []*Point{shared, shared}, func(t *testing.T, got any) {
			g := got.([]*Point)
			if g[0] != g[1] {
				t.Error("two references to one object decoded as two objects")
			}
		}},
		{"recursive list", list, func(t *testing.T, got any) {
			g := got.([]any)
			if &g[1].([]any)[0] != &g[0] {
				t.Error("the list does not contain itself")
			}
		}},
		{"recursive dict", dict, func(t *testing.T, got any) {
			g := got.(map[string]any)
			if reflect.ValueOf(g["self"]).UnsafePointer() != reflect.ValueOf(g).UnsafePointer() {
				t.Error("the dict does not contain itself")
			}
		}},
		{"tree with parent pointers", root, func(t *testing.T, got any) {
			g := got.(*tRecursive)
			if g.Kids[0].Up != g || g.Kids[1].Up != g {
				t.Error("children do not point at their decoded parent")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Marshal(tc.v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			want := reflect.TypeOf(tc.v)
			if want == nil {
				want = reflect.TypeFor[any]()
			}
			dst := reflect.New(want)
			if err := Unmarshal(data, dst.Interface()); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			got := dst.Elem().Interface()
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			if !sameBits(reflect.ValueOf(tc.v), reflect.ValueOf(got), map[[2]unsafe.Pointer]bool{}) {
				t.Errorf("decoded %#v\nwant    %#v", got, tc.v)
			}
		})
	}
}

// sameBits is reflect.DeepEqual with floats compared bit for bit (NaN
// payloads and the sign of zero count) and big numbers by value.
func sameBits(a, b reflect.Value, seen map[[2]unsafe.Pointer]bool) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	switch x := a.Interface().(type) {
	case *big.Int:
		return x.Cmp(b.Interface().(*big.Int)) == 0
	case *big.Float:
		return x.Cmp(b.Interface().(*big.Float)) == 0
	case *big.Rat:
		return x.Cmp(b.Interface().(*big.Rat)) == 0
	case time.Time:
		return x.Equal(b.Interface().(time.Time)) && x.Location().String() == b.Interface().(time.Time).Location().String()
	case error:
		if a.Kind() == reflect.Pointer && !a.IsNil() && !b.IsNil() {
			return x.Error() == b.Interface().(error).Error()
		}
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) ||
			a.Kind() == reflect.Float32 && math.Float32bits(float32(a.Float())) == math.Float32bits(float32(b.Float()))
	case reflect.Complex64, reflect.Complex128:
		ca, cb := a.Complex(), b.Complex()
		return math.Float64bits(real(ca)) == math.Float64bits(real(cb)) && math.Float64bits(imag(ca)) == math.Float64bits(imag(cb))
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return false
		}
		if a.IsNil() {
			return true
		}
		if a.Kind() == reflect.Slice && a.Len() != b.Len() {
			return false
		}
		k := [2]unsafe.Pointer{a.UnsafePointer(), b.UnsafePointer()}
		if seen[k] {
			return true
		}
		seen[k] = true
		switch a.Kind() {
		case reflect.Pointer:
			return sameBits(a.Elem(), b.Elem(), seen)
		case reflect.Slice:
			for i := range a.Len() {
				if !sameBits(a.Index(i), b.Index(i), seen) {
					return false
				}
			}
			return true
		}
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !sameBits(it.Value(), bv, seen) {
				return false
			}
		}
		return true
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameBits(a.Elem(), b.Elem(), seen)
	case reflect.Array:
		for i := range a.Len() {
			if !sameBits(a.Index(i), b.Index(i), seen) {
				return false
			}
		}
		return true
	case reflect.Struct:
		ca, cb := reflect.New(a.Type()).Elem(), reflect.New(a.Type()).Elem()
		ca.Set(a)
		cb.Set(b)
		for i := range a.NumField() {
			fa := reflect.NewAt(a.Type().Field(i).Type, unsafe.Pointer(ca.Field(i).UnsafeAddr())).Elem()
			fb := reflect.NewAt(a.Type().Field(i).Type, unsafe.Pointer(cb.Field(i).UnsafeAddr())).Elem()
			if !sameBits(fa, fb, seen) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// The refusals of the table: each names its path and its reason.
func TestValueTableRefusals(t *testing.T) {
	base := 1
	cases := []struct {
		name       string
		v          any
		path, want string
	}{
		{"channel in a map", map[string]any{"c": make(chan int)}, `["c"].(chan int)`, "a channel connects goroutines"},
		{"closure in a slice", []any{1, func() int { return base }}, "[1].(func() int)", "captures variables"},
		{"unsafe pointer in a struct", struct{ P unsafe.Pointer }{}, ".P", "an unsafe.Pointer is an address"},
		{"mutex behind a pointer", &struct {
			mu sync.Mutex
			N  int
		}{}, ".mu", "a sync.Mutex coordinates goroutines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.v)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || ue.Path != tc.path || !strings.Contains(ue.Reason, tc.want) {
				t.Fatalf("Marshal = %v (path %q), want an *UnsupportedError at %s: %s", err, pathOf(ue), tc.path, tc.want)
			}
		})
	}
}

func pathOf(ue *UnsupportedError) string {
	if ue == nil {
		return ""
	}
	return ue.Path
}
