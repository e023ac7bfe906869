package codec

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
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
