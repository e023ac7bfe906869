package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

type record struct {
	ID    int64
	Name  string
	Tags  []string
	When  time.Time
	Inner struct {
		A, B int32
		Note string
	}
}

func TestStreamSendsTypesOnce(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	var sizes []int
	for i := range 3 {
		before := buf.Len()
		r := record{ID: int64(i), Name: "n", Tags: []string{"a"}, When: time.Unix(int64(i), 0).UTC()}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, buf.Len()-before)
	}
	if sizes[1]*4 > sizes[0] || sizes[2] != sizes[1] {
		t.Fatalf("message sizes %v: the second and later messages must not repeat the type descriptions", sizes)
	}
	dec := NewDecoder(&buf)
	for i := range 3 {
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.ID != int64(i) || r.Name != "n" || !r.When.Equal(time.Unix(int64(i), 0)) {
			t.Fatalf("message %d = %+v", i, r)
		}
	}
	var r record
	if err := dec.Decode(&r); err != io.EOF {
		t.Fatalf("after the last message: %v, want io.EOF", err)
	}
}

func TestDecodeMismatchKeepsStreamUsable(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, v := range []any{Point{1, 2}, "text", Point{3, 4}} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecoder(&buf)
	var s string
	err := dec.Decode(&s)
	if err == nil || !strings.Contains(err.Error(), "cannot decode a codec.Point") || !strings.Contains(err.Error(), "into a string") {
		t.Fatalf("decoding a Point into a string: %v", err)
	}
	if err := dec.Decode(&s); err != nil || s != "text" {
		t.Fatalf("next message: %q, %v", s, err)
	}
	var p Point
	if err := dec.Decode(&p); err != nil || p != (Point{3, 4}) {
		t.Fatalf("last message: %v, %v", p, err)
	}
	// Into an interface the type does not implement: refused, stream usable.
	buf.Reset()
	enc = NewEncoder(&buf)
	for _, v := range []any{Point{1, 2}, Square{3}} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec = NewDecoder(&buf)
	var sh Shape
	if err := dec.Decode(&sh); err == nil || !strings.Contains(err.Error(), "cannot decode a codec.Point") || !strings.Contains(err.Error(), "codec.Shape") {
		t.Fatalf("Point into a Shape: %v", err)
	}
	if err := dec.Decode(&sh); err != nil || sh.Area() != 9 {
		t.Fatalf("next message: %v, %v", sh, err)
	}
	if err := dec.Decode(nil); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
		t.Fatalf("Decode(nil) = %v", err)
	}
}

// header returns a stream header with the given fingerprint.
func header(fp string) []byte {
	b := append([]byte(magic), formatVersion)
	return appendString(b, fp)
}

func TestFingerprintMismatch(t *testing.T) {
	data, err := Marshal(Point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	own := header(fingerprint())
	if !bytes.HasPrefix(data, own) {
		t.Fatal("Marshal output does not start with this binary's header")
	}
	other := append(header("go:another-build"), data[len(own):]...)
	var p Point
	err = Unmarshal(other, &p)
	var fe *FingerprintError
	if !errors.As(err, &fe) || fe.Stream != "go:another-build" || fe.Local != fingerprint() {
		t.Fatalf("Unmarshal with another fingerprint: %v, want *FingerprintError", err)
	}
	for _, w := range []string{"different binary", "go:another-build", "same build", "codec.Strict()", "codec.Register"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message lacks %q: %v", w, err)
		}
	}
	err = NewDecoder(bytes.NewReader(other)).Decode(&p)
	if !errors.As(err, &fe) {
		t.Fatalf("Decoder with another fingerprint: %v", err)
	}
	// Strict mode does not use positions, so it does not need the same build.
	if err := NewDecoder(bytes.NewReader(other), Strict()).Decode(&p); err != nil || p != (Point{1, 2}) {
		t.Fatalf("Strict decoder: %v, %v", p, err)
	}
}

type strictOnly struct{ V int }

type unregistered struct{ V int }

func strictDouble(x int) int  { return 2 * x }
func notRegistered(x int) int { return 3 * x }

func TestStrictResolvesOnlyRegistered(t *testing.T) {
	Register(strictOnly{}, strictDouble)
	decode := func(v any) (any, error) {
		data, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		err = NewDecoder(bytes.NewReader(data), Strict()).Decode(&out)
		return out, err
	}
	out, err := decode(strictOnly{5})
	if err != nil || out.(strictOnly).V != 5 {
		t.Fatalf("registered type: %v, %v", out, err)
	}
	_, err = decode(unregistered{5})
	if err == nil || !strings.Contains(err.Error(), "codec.unregistered") || !strings.Contains(err.Error(), "codec.Register") {
		t.Fatalf("unregistered type in Strict mode: %v", err)
	}
	out, err = decode(strictDouble)
	if err != nil || out.(func(int) int)(4) != 8 {
		t.Fatalf("registered func: %v, %v", out, err)
	}
	_, err = decode(notRegistered)
	if err == nil || !strings.Contains(err.Error(), "notRegistered") || !strings.Contains(err.Error(), "not registered") {
		t.Fatalf("unregistered func in Strict mode: %v", err)
	}
	// Unnamed types made of resolvable parts need no registration.
	out, err = decode(map[string][]int{"a": {1}})
	if err != nil || out.(map[string][]int)["a"][0] != 1 {
		t.Fatalf("unnamed composite type: %v, %v", out, err)
	}
	// Errors: standard types are registered; sentinels decode as copies.
	// An unnamed struct with exported fields is rebuilt from its parts.
	out, err = decode(struct{ E error }{io.EOF})
	if err != nil {
		t.Fatalf("unnamed struct: %v", err)
	}
	if e := out.(struct{ E error }).E; e == io.EOF || e.Error() != "EOF" {
		t.Fatalf("io.EOF in Strict mode decoded to %#v: want a copy (Strict trusts no position)", e)
	}
	var e error
	data, _ := Marshal(io.EOF)
	if err := NewDecoder(bytes.NewReader(data), Strict()).Decode(&e); err != nil || e.Error() != "EOF" {
		t.Fatalf("io.EOF in Strict mode: %v, %v", e, err)
	}
	if e == io.EOF {
		t.Fatal("Strict mode trusted a sentinel position")
	}
}

func TestDepthLimit(t *testing.T) {
	var head *node
	for range 200 {
		head = &node{Next: head}
	}
	var buf bytes.Buffer
	err := NewEncoder(&buf, MaxDepth(100)).Encode(head)
	var de *DepthError
	if !errors.As(err, &de) || de.Limit != 100 || !strings.Contains(err.Error(), "codec.MaxDepth") {
		t.Fatalf("Encode past MaxDepth: %v", err)
	}
	if buf.Len() != 0 {
		t.Fatal("a refused Encode wrote bytes")
	}
	if err := NewEncoder(&buf).Encode(head); err != nil {
		t.Fatal(err)
	}
	var out *node
	err = NewDecoder(bytes.NewReader(buf.Bytes()), MaxDepth(100)).Decode(&out)
	if !errors.As(err, &de) || de.Limit != 100 {
		t.Fatalf("Decode past MaxDepth: %v", err)
	}
	if err := NewDecoder(bytes.NewReader(buf.Bytes())).Decode(&out); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p := out; p != nil; p = p.Next {
		n++
	}
	if n != 200 {
		t.Fatalf("decoded %d nodes, want 200", n)
	}
	// Nesting through interfaces counts as well.
	var v any = 1
	for range 200 {
		v = []any{v}
	}
	if err := NewEncoder(io.Discard, MaxDepth(100)).Encode(v); !errors.As(err, &de) {
		t.Fatalf("nested interfaces: %v", err)
	}
}

func TestOversizedMessageRefused(t *testing.T) {
	data := header(fingerprint())
	data = binary.AppendUvarint(data, 1<<40)
	var p Point
	err := NewDecoder(bytes.NewReader(data)).Decode(&p)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "exceeds the limit") || de.Offset != len(header(fingerprint())) {
		t.Fatalf("huge length prefix: %v", err)
	}
	data = binary.AppendUvarint(header(fingerprint()), 1000)
	err = NewDecoder(bytes.NewReader(data), MaxMessageSize(100)).Decode(&p)
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "MaxMessageSize") {
		t.Fatalf("length past MaxMessageSize: %v", err)
	}
	// Within the limit but past the end of the input.
	err = NewDecoder(bytes.NewReader(data)).Decode(&p)
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("truncated message: %v", err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("pipe closed")
}

func TestStreamErrorsAreSticky(t *testing.T) {
	w := &failWriter{}
	enc := NewEncoder(w)
	err := enc.Encode(1)
	if err == nil || !strings.Contains(err.Error(), "writing message: pipe closed") {
		t.Fatalf("Encode to a failing writer: %v", err)
	}
	if err2 := enc.Encode(2); err2 != err || w.n != 1 {
		t.Fatalf("second Encode: %v after %d writes; want the same error, no new write", err2, w.n)
	}

	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode("ok"); err != nil {
		t.Fatal(err)
	}
	data := append(buf.Bytes(), 3, tagValue, 0x80, 0x80) // a truncated varint in a second message
	dec := NewDecoder(bytes.NewReader(data))
	var s string
	if err := dec.Decode(&s); err != nil || s != "ok" {
		t.Fatalf("first message: %q %v", s, err)
	}
	var a any
	err = dec.Decode(&a)
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != len(buf.Bytes())+2 {
		t.Fatalf("malformed second message: %v", err)
	}
	if err2 := dec.Decode(&a); err2 != err {
		t.Fatalf("after malformed input: %v, want the same error", err2)
	}
}

// A read that fails keeps its cause: a caller with a deadline on the
// connection tells a timeout from a corrupt stream with errors.Is.
func TestDecodeErrorUnwrapsReadError(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode("ok"); err != nil {
		t.Fatal(err)
	}
	r := io.MultiReader(bytes.NewReader(buf.Bytes()[:buf.Len()-1]), errReader{os.ErrDeadlineExceeded})
	var s string
	err := NewDecoder(r).Decode(&s)
	var de *DecodeError
	if !errors.As(err, &de) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Decode = %v, want a *DecodeError wrapping os.ErrDeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "i/o timeout") {
		t.Errorf("message %q does not say the read timed out", err)
	}

	err = NewDecoder(bytes.NewReader(buf.Bytes()[:buf.Len()-1])).Decode(&s)
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("truncated stream: %v, want io.ErrUnexpectedEOF only", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type Pair[K comparable, V any] struct {
	Key K
	Val V
}

func TestGenericTypes(t *testing.T) {
	in := []any{Pair[string, int]{"a", 1}, Pair[int, []string]{2, []string{"x"}}}
	got := roundTrip(t, in)
	if p, ok := got[0].(Pair[string, int]); !ok || p.Key != "a" {
		t.Fatalf("got %#v", got[0])
	}
	if p, ok := got[1].(Pair[int, []string]); !ok || p.Val[0] != "x" {
		t.Fatalf("got %#v", got[1])
	}
	// In Strict mode, by registered name.
	Register(Pair[string, int]{})
	data, _ := Marshal(in[0])
	var out any
	if err := NewDecoder(bytes.NewReader(data), Strict()).Decode(&out); err != nil || out.(Pair[string, int]).Val != 1 {
		t.Fatalf("Strict: %#v, %v", out, err)
	}
	data, _ = Marshal(in[1])
	err := NewDecoder(bytes.NewReader(data), Strict()).Decode(&out)
	if err == nil || !strings.Contains(err.Error(), "codec.Pair[int,[]string]") {
		t.Fatalf("Strict, unregistered instantiation: %v", err)
	}
}

func TestDecodeOnePointerAway(t *testing.T) {
	in := &node{Name: "top"}
	in.Next = in // the top-level pointer is the destination itself
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, v := range []any{in, node{Name: "value"}, (*node)(nil)} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecoder(&buf)
	var n node
	if err := dec.Decode(&n); err != nil || n.Name != "top" || n.Next != &n {
		t.Fatalf("Encode(&v), Decode(&v): %+v, %v", n, err)
	}
	var p *node
	if err := dec.Decode(&p); err != nil || p == nil || p.Name != "value" {
		t.Fatalf("Encode(v), Decode(&ptr): %+v, %v", p, err)
	}
	err := dec.Decode(&n)
	if err == nil || !strings.Contains(err.Error(), "nil *codec.node") {
		t.Fatalf("a nil pointer into a value: %v", err)
	}
}
