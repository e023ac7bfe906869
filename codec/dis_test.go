package codec

import (
	"bytes"
	"errors"
	"io"
	"math/big"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDis(t *testing.T) {
	shared := &Point{1, 2}
	type payload struct {
		Name   string
		Floats []float64
		A, B   *Point
		Fn     func(int) int
		Err    error
		Any    any
		Hook   *stateful
		Big    []string
	}
	v := payload{Name: "job", Floats: make([]float64, 1000), A: shared, B: shared, Fn: square,
		Err: io.EOF, Any: map[string]int{"k": 1}, Hook: &stateful{Keep: "x"}, Big: make([]string, 40)}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for range 2 {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	var sb strings.Builder
	if err := Dis(&sb, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		"header", "binary fingerprint " + fingerprint(),
		"message                #1", "bytes of definitions (once per stream)",
		"message                #2", "of value (its types were defined earlier in the stream)",
		"type                   #32 struct codec.payload, 9 fields; type by reference",
		"field                Name #18 string (exported)",
		"func                   #1 github.com/mproc-go/mproc/codec.square func(int) int: by reference: name and position",
		"no code",
		".Floats              []float64  1000 elements, 8000 bytes copied raw (by value)",
		".A                   *codec.Point  &0",
		".B                   *codec.Point  =&0, the object listed above (shared, sent once)",
		".Fn                  func(int) int  func #1 github.com/mproc-go/mproc/codec.square, by reference",
		".Err                 error  sentinel *errors.errorString: by reference",
		"holding #", "map[string]int",
		"state from its MarshalCodec", `"v2"`,
		"... ", "more elements",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	// Types and functions are defined in the first message only.
	second := out[strings.Index(out, "message                #2"):]
	if strings.Contains(second, "  type  ") || strings.Contains(second, "  func  ") {
		t.Errorf("the second message redefines types:\n%s", second)
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestDisMalformed(t *testing.T) {
	data, err := Marshal([]string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	err = Dis(&sb, data[:len(data)-1])
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "message length") {
		t.Fatalf("truncated payload: %v", err)
	}
	if !strings.Contains(sb.String(), "header") {
		t.Fatalf("Dis did not list what came before the error:\n%s", sb.String())
	}
}

func TestDisKinds(t *testing.T) {
	type kinds struct {
		B     bool
		I8    int8
		U8    uint8
		F32   float32
		C     complex128
		When  time.Time
		Loc   *time.Location
		Big   *big.Int
		Text  textOnly
		Addr  netip.Addr
		Type  reflect.Type
		Arr   [2]float64
		Nil   []float64
		Bytes []byte
		Many  map[int]bool
		Fn    func()
	}
	many := map[int]bool{}
	for i := range 20 {
		many[i] = true
	}
	v := kinds{B: true, I8: -3, U8: 200, F32: 1.5, C: complex(1, -2),
		When: time.Date(2026, 11, 22, 3, 0, 0, 5, time.UTC), Loc: time.UTC, Big: big.NewInt(12345),
		Text: textOnly{"a", "b"}, Addr: netip.MustParseAddr("10.0.0.1"), Type: reflect.TypeFor[Point](),
		Arr: [2]float64{1, 2}, Bytes: []byte("hi"), Many: many}
	data, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		".B                   bool  true",
		".I8                  int8  -3",
		".U8                  uint8  200",
		".F32                 float32  1.5 (bits 0x3fc00000)",
		".C                   complex128  (1-2i)",
		".When                time.Time  2026-11-22T03:00:00.000000005Z",
		`.Loc                 *time.Location  "UTC" (offset 0s), by name`,
		"bytes by its GobEncode",
		`text "a|b", by its MarshalText`,
		"bytes by its MarshalBinary",
		".Type                reflect.Type  holding #", "*reflect.rtype  codec.Point, by reference: name and position",
		".Arr                 [2]float64  2 elements, 16 bytes copied raw (by value)",
		".Nil                 []float64  nil",
		`.Bytes               []uint8  2 elements, 2 bytes copied raw (by value) "hi"`,
		"4 more entries",
		".Fn                  func()  nil",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
