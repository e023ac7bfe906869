package codec

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// blob returns n bytes that differ from one position to the next.
func blob(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

type blobs struct {
	Small  []byte
	Large  []byte
	Floats []float64
	Name   string
	Many   [][]byte
	ByKey  map[string][]byte
	Hooked *blobHook
}

// blobHook's state is a large slice, decoded before UnmarshalCodec sees it.
type blobHook struct{ data []byte }

func (h *blobHook) MarshalCodec() (any, error) { return h.data, nil }
func (h *blobHook) UnmarshalCodec(state any) error {
	h.data = slices.Clone(state.([]byte))
	return nil
}

func newBlobs() blobs {
	fs := make([]float64, 40000)
	for i := range fs {
		fs[i] = float64(i) / 3
	}
	return blobs{
		Small:  []byte("small"),
		Large:  blob(1 << 20),
		Floats: fs,
		Name:   "blobs",
		Many:   [][]byte{blob(100 << 10), nil, []byte("x"), blob(70 << 10)},
		ByKey:  map[string][]byte{"a": blob(20 << 10), "b": []byte("b")},
		Hooked: &blobHook{blob(50 << 10)},
	}
}

func checkBlobs(t *testing.T, got, want blobs) {
	t.Helper()
	if !bytes.Equal(got.Small, want.Small) || !bytes.Equal(got.Large, want.Large) || !slices.Equal(got.Floats, want.Floats) || got.Name != want.Name {
		t.Fatalf("decoded blobs differ: %d small, %d large, %d floats, name %q", len(got.Small), len(got.Large), len(got.Floats), got.Name)
	}
	if !slices.EqualFunc(got.Many, want.Many, bytes.Equal) || (got.Many[1] == nil) != (want.Many[1] == nil) {
		t.Fatalf("decoded Many differs")
	}
	if len(got.ByKey) != 2 || !bytes.Equal(got.ByKey["a"], want.ByKey["a"]) || !bytes.Equal(got.ByKey["b"], want.ByKey["b"]) {
		t.Fatalf("decoded ByKey differs")
	}
	if got.Hooked == nil || !bytes.Equal(got.Hooked.data, want.Hooked.data) {
		t.Fatalf("decoded Hooked differs: the hook saw its state before its buffer arrived")
	}
}

// The out-of-band buffers of a message: the large slices, in value order.
var wantBuffers = []string{
	"#0, 1048576 bytes", "#1, 320000 bytes", "#2, 102400 bytes", "#3, 71680 bytes",
}

func TestOutsideMarshal(t *testing.T) {
	in := newBlobs()
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out blobs
	if err := Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	checkBlobs(t, out, in)

	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatalf("Dis: %v\n%s", err, sb.String())
	}
	listing := sb.String()
	for _, w := range append(wantBuffers, "1048576 elements in out-of-band buffer #0", "[]float64  40000 elements in out-of-band buffer #1", "1614336 bytes in 6 buffers after it (out of band; 20 bytes of the body list them)") {
		if !strings.Contains(listing, w) {
			t.Errorf("listing lacks %q:\n%s", w, listing)
		}
	}
	// A small slice stays in the body.
	if !strings.Contains(listing, `5 bytes copied raw (by value) "small"`) {
		t.Errorf("the small slice is not inline:\n%s", listing)
	}
}

func TestOutsideStream(t *testing.T) {
	in := newBlobs()
	for _, opts := range [][]Option{nil, {Strict()}} {
		var buf bytes.Buffer
		enc := NewEncoder(&buf)
		for range 2 {
			if err := enc.Encode(in); err != nil {
				t.Fatal(err)
			}
			if err := enc.Encode("between"); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Encode(blob(3 << 20)); err != nil {
			t.Fatal(err)
		}
		if opts != nil {
			Register(blobs{})
		}
		dec := NewDecoder(&buf, opts...)
		for range 2 {
			var out blobs
			if err := dec.Decode(&out); err != nil {
				t.Fatalf("opts %d: %v", len(opts), err)
			}
			checkBlobs(t, out, in)
			var s string
			if err := dec.Decode(&s); err != nil || s != "between" {
				t.Fatalf("message after the buffers: %q, %v", s, err)
			}
		}
		var b []byte
		if err := dec.Decode(&b); err != nil || !bytes.Equal(b, blob(3<<20)) {
			t.Fatalf("a 3 MiB slice alone (opts %d): %d bytes, %v", len(opts), len(b), err)
		}
		if err := dec.Decode(&b); err != io.EOF {
			t.Fatalf("at the end: %v, want io.EOF", err)
		}
	}
}

func TestOutsideMismatchSkipsBuffers(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, v := range []any{newBlobs(), 7} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecoder(&buf)
	var s string
	err := dec.Decode(&s)
	var de *DecodeError
	if err == nil || errors.As(err, &de) || !strings.Contains(err.Error(), "cannot decode") {
		t.Fatalf("blobs into a string: %v, want a mismatch that keeps the stream usable", err)
	}
	var n int
	if err := dec.Decode(&n); err != nil || n != 7 {
		t.Fatalf("next message: %d, %v", n, err)
	}
}

func TestOutsideTruncated(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(blob(1 << 20)); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()[:buf.Len()-1000]
	dec := NewDecoder(bytes.NewReader(data))
	var b []byte
	err := dec.Decode(&b)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "out-of-band buffer #0 of 1048576 bytes: unexpected EOF") {
		t.Fatalf("truncated buffer: %v", err)
	}
	if err2 := dec.Decode(&b); err2 != err {
		t.Fatalf("after a truncated buffer: %v, want the same error", err2)
	}
	if err := Unmarshal(data, &b); !errors.As(err, &de) || !strings.Contains(err.Error(), "out-of-band buffer #0 of 1048576 bytes: a buffer takes 1 byte or more, and 1047576 are left") {
		t.Fatalf("Unmarshal of a truncated buffer: %v", err)
	}
	if err := Dis(io.Discard, data); !errors.As(err, &de) {
		t.Fatalf("Dis of a truncated buffer: %v", err)
	}
}

func TestOutsideLimit(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEncoder(&buf).Encode(blob(1 << 20)); err != nil {
		t.Fatal(err)
	}
	var b []byte
	err := NewDecoder(bytes.NewReader(buf.Bytes()), MaxMessageSize(1<<19)).Decode(&b)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "MaxMessageSize") {
		t.Fatalf("buffers past MaxMessageSize: %v", err)
	}
}

// bytesDef defines type #32 as []byte.
func bytesDef() []byte {
	d := []byte{tagType}
	d = append(d, uv(32)...)
	d = append(d, byte(kSlice))
	d = appendString(d, "[]uint8")
	d = append(d, 0)
	return append(d, uv(uint64(kUint8))...)
}

// table returns a buffer table of the given sizes.
func table(sizes ...uint64) []byte {
	b := []byte{tagBuffers}
	b = append(b, uv(uint64(len(sizes)))...)
	for _, s := range sizes {
		b = append(b, uv(s)...)
	}
	return b
}

// ref returns a value of type #32 (a slice of numbers) that refers to
// out-of-band buffer k of n elements.
func ref(k, n uint64) []byte {
	return append(append([]byte{tagValue, 32, bulkOutside}, uv(k)...), uv(n)...)
}

// outsideMessage returns, after the header, a message that holds a []byte
// in an out-of-band buffer, small enough for a fuzzer.
func outsideMessage(t testing.TB) []byte {
	return stripHeader(t, append(msg(bytesDef(), table(4), ref(0, 4)), "abcd"...))
}

// outsideSeed returns outsideMessage and a second message of the stream.
func outsideSeed(t testing.TB) []byte {
	first := outsideMessage(t)
	second := append(table(3), ref(0, 3)...)
	second = append(append(uv(uint64(len(second))), second...), "xyz"...)
	return append(first, second...)
}

func TestOutsideSeed(t *testing.T) {
	dec := NewDecoder(bytes.NewReader(append(header(fingerprint()), outsideSeed(t)...)))
	for _, want := range []string{"abcd", "xyz"} {
		var b []byte
		if err := dec.Decode(&b); err != nil || string(b) != want {
			t.Fatalf("decoded %q, %v; want %q", b, err, want)
		}
	}
}

func TestOutsideBadInput(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ok", append(msg(bytesDef(), table(4), ref(0, 4)), "abcd"...), ""},
		{"second table", append(msg(bytesDef(), table(4), table(4), ref(0, 4)), "abcd"...), "a second buffer table"},
		{"empty buffer", msg(bytesDef(), table(0), ref(0, 0)), "buffer #0 of 0 bytes"},
		{"buffer past the data", append(msg(bytesDef(), table(5), ref(0, 5)), "abcd"...), "buffer #0 of 5 bytes"},
		{"length not the size", append(msg(bytesDef(), table(4), ref(0, 3)), "abcd"...), "[]uint8 of 3 elements of 1 bytes in out-of-band buffer #0 of 4 bytes"},
		{"out of order", append(msg(bytesDef(), table(2, 2), ref(1, 2)), "abcd"...), "out-of-band buffer #1, expected #0 of the 2"},
		{"unreferenced", append(msg(bytesDef(), table(2, 2), ref(0, 2)), "abcd"...), "the message has 2 out-of-band buffers, its value refers to 1"},
		{"huge count", msg(bytesDef(), []byte{tagBuffers}, uv(1<<40), ref(0, 2)), "buffer count"},
		{"bytes past the buffers", append(msg(bytesDef(), table(4), ref(0, 4)), "abcde"...), "past the message and its buffers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			err := Unmarshal(tc.data, &b)
			streamErr := NewDecoder(bytes.NewReader(tc.data)).Decode(&b)
			disErr := Dis(io.Discard, tc.data)
			if tc.want == "" {
				if err != nil || streamErr != nil || disErr != nil || string(b) != "abcd" {
					t.Fatalf("Unmarshal %q, %v; Decode %v; Dis %v", b, err, streamErr, disErr)
				}
				return
			}
			for what, err := range map[string]error{"Unmarshal": err, "Decode": streamErr, "Dis": disErr} {
				if what != "Unmarshal" && tc.name == "bytes past the buffers" {
					continue // the next message, to a stream
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Errorf("%s: %v, want a *DecodeError", what, err)
				} else if what != "Dis" && !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want %q", what, err, tc.want)
				}
			}
		})
	}
}

func TestOutsideSmallMessagesUnchanged(t *testing.T) {
	// Below the bulk limit nothing moves out of band.
	data, err := Marshal([][]byte{blob(1<<14 - 1), blob(100)})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil || strings.Contains(sb.String(), "buffer") {
		t.Fatalf("Dis: %v; a buffer below the bulk limit:\n%s", err, sb.String())
	}
	var out [][]byte
	if err := Unmarshal(data, &out); err != nil || len(out) != 2 || !bytes.Equal(out[0], blob(1<<14-1)) {
		t.Fatalf("round trip: %d slices, %v", len(out), err)
	}
}
