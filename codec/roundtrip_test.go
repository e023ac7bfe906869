package codec

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
)

// roundTrip marshals v and unmarshals it into a new T, and also into an
// interface, which must restore the same concrete type without registration.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%T): %v", v, err)
	}
	var out T
	if err := Unmarshal(data, &out); err != nil {
		t.Fatalf("Unmarshal into %T: %v", out, err)
	}
	var anyOut any
	if err := Unmarshal(data, &anyOut); err != nil {
		t.Fatalf("Unmarshal %T into *any: %v", v, err)
	}
	if got, want := reflect.TypeOf(anyOut), reflect.TypeOf(any(v)); got != want {
		t.Fatalf("through an interface: got dynamic type %v, want %v", got, want)
	}
	return out
}

type (
	Celsius  float64
	Names    []string
	Point    struct{ X, Y int }
	innerPub struct {
		Note string
		n    int
	}
	Embedding struct {
		innerPub
		*Point
		secret []byte
		Tags   map[string]bool
	}
	keyStruct struct {
		A string
		B [2]int
	}
)

func TestRoundTripBasicKinds(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"bool true", true},
		{"bool false", false},
		{"int min", math.MinInt},
		{"int max", math.MaxInt},
		{"int8", []int8{math.MinInt8, -1, 0, math.MaxInt8}},
		{"int16", []int16{math.MinInt16, math.MaxInt16}},
		{"int32", []int32{math.MinInt32, math.MaxInt32}},
		{"int64", []int64{math.MinInt64, math.MaxInt64}},
		{"uint", uint(math.MaxUint)},
		{"uint8", []uint8{0, 255}},
		{"uint16", uint16(math.MaxUint16)},
		{"uint32", uint32(math.MaxUint32)},
		{"uint64", uint64(math.MaxUint64)},
		{"uintptr", uintptr(0xdeadbeef)},
		{"float32", float32(3.25)},
		{"float64", math.Pi},
		{"complex64", complex64(complex(1.5, -2))},
		{"complex128", complex(math.Inf(1), math.SmallestNonzeroFloat64)},
		{"string arbitrary bytes", "a\x00b\xff\xfe\u00e9"},
		{"empty string", ""},
		{"array", [3]string{"a", "", "c"}},
		{"array of numbers", [4]uint16{1, 2, 3, 65535}},
		{"nested arrays", [2][2]float64{{1, 2}, {3, 4}}},
		{"slice of strings", []string{"x", "y"}},
		{"slice of structs", []Point{{1, 2}, {-3, 4}}},
		{"map string keys", map[string]int{"a": 1, "b": -2}},
		{"map struct keys", map[keyStruct]string{{"k", [2]int{1, 2}}: "v"}},
		{"map array keys", map[[2]int]bool{{1, 2}: true}},
		{"map interface keys", map[any]int{"s": 1, 2: 2, Point{1, 1}: 3}},
		{"map float keys", map[float64]string{-0.5: "a", math.Inf(-1): "b"}},
		{"named float", Celsius(-40)},
		{"named slice", Names{"a", "b"}},
		{"embedded and unexported fields", Embedding{innerPub: innerPub{"note", 7}, Point: &Point{1, 2}, secret: []byte{0, 1}, Tags: map[string]bool{"x": true}}},
		{"unexported struct", innerPub{"hidden", -9}},
		{"large bulk slice", make([]float64, 1<<12)},
		{"large string", strings.Repeat("xy", 1<<14)},
		{"slice of slices", [][]int{{1}, nil, {}}},
		{"empty struct", struct{}{}},
		{"slice of empty structs", make([]struct{}, 5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, tc.v)
			if !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("got %#v, want %#v", got, tc.v)
			}
		})
	}
}

func TestRoundTripFloatBits(t *testing.T) {
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN with a payload
	in64 := []float64{nan, math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.MaxFloat64, math.SmallestNonzeroFloat64}
	in32 := []float32{float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1))}
	type scalars struct {
		F  float64
		G  float32
		C  complex128
		Fs [2]float64
	}
	sc := scalars{F: nan, G: math.Float32frombits(0x7fc0_0001), C: complex(math.Copysign(0, -1), nan), Fs: [2]float64{nan, math.Copysign(0, -1)}}

	got64 := roundTrip(t, in64)
	for i := range in64 {
		if math.Float64bits(got64[i]) != math.Float64bits(in64[i]) {
			t.Errorf("[]float64[%d]: bits %#x, want %#x", i, math.Float64bits(got64[i]), math.Float64bits(in64[i]))
		}
	}
	got32 := roundTrip(t, in32)
	for i := range in32 {
		if math.Float32bits(got32[i]) != math.Float32bits(in32[i]) {
			t.Errorf("[]float32[%d]: bits %#x, want %#x", i, math.Float32bits(got32[i]), math.Float32bits(in32[i]))
		}
	}
	gotSc := roundTrip(t, sc)
	if a, b := bitsOf(gotSc), bitsOf(sc); !bytes.Equal(a, b) {
		t.Errorf("struct of floats: bits %x, want %x", a, b)
	}
}

func bitsOf[T any](v T) []byte {
	return append([]byte(nil), unsafeBytes(&v)...)
}

func TestRoundTripNilVersusEmpty(t *testing.T) {
	type holder struct {
		NilSlice   []int
		EmptySlice []int
		NilMap     map[string]int
		EmptyMap   map[string]int
		NilPtr     *Point
		NilAny     any
		NilErr     error
		TypedNil   any
		NilFunc    func()
		NilBytes   []byte
		EmptyBytes []byte
		NilRefs    []*Point
		EmptyRefs  []*Point
	}
	in := holder{EmptySlice: []int{}, EmptyMap: map[string]int{}, TypedNil: (*Point)(nil), EmptyBytes: []byte{}, EmptyRefs: []*Point{}}
	got := roundTrip(t, in)
	checks := []struct {
		name    string
		isNil   bool
		wantNil bool
	}{
		{"NilSlice", got.NilSlice == nil, true},
		{"EmptySlice", got.EmptySlice == nil, false},
		{"NilMap", got.NilMap == nil, true},
		{"EmptyMap", got.EmptyMap == nil, false},
		{"NilPtr", got.NilPtr == nil, true},
		{"NilAny", got.NilAny == nil, true},
		{"NilErr", got.NilErr == nil, true},
		{"TypedNil (interface itself)", got.TypedNil == nil, false},
		{"NilFunc", got.NilFunc == nil, true},
		{"NilBytes", got.NilBytes == nil, true},
		{"EmptyBytes", got.EmptyBytes == nil, false},
		{"NilRefs", got.NilRefs == nil, true},
		{"EmptyRefs", got.EmptyRefs == nil, false},
	}
	for _, c := range checks {
		if c.isNil != c.wantNil {
			t.Errorf("%s: nil = %v, want %v", c.name, c.isNil, c.wantNil)
		}
	}
	if p, ok := got.TypedNil.(*Point); !ok || p != nil {
		t.Errorf("TypedNil = %#v, want (*Point)(nil)", got.TypedNil)
	}
	if got.EmptySlice == nil || len(got.EmptySlice) != 0 {
		t.Errorf("EmptySlice = %#v", got.EmptySlice)
	}
	// A nil value at the top.
	var nilAny any
	data, err := Marshal(nilAny)
	if err != nil {
		t.Fatal(err)
	}
	out := any(1)
	if err := Unmarshal(data, &out); err != nil || out != nil {
		t.Fatalf("nil any: got %v, %v", out, err)
	}
}
