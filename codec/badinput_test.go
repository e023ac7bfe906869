package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// msg builds Marshal-shaped data: this binary's header and one message
// with the given body.
func msg(body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := header(fingerprint())
	out = binary.AppendUvarint(out, uint64(len(b)))
	return append(out, b...)
}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// sliceOfStringDef defines type #32 as []string, without a position.
func sliceOfStringDef() []byte {
	b := []byte{tagType}
	b = append(b, uv(32)...)
	b = append(b, byte(kSlice))
	b = appendString(b, "[]string")
	b = append(b, 0) // flags
	return append(b, uv(uint64(kString))...)
}

func TestBadInput(t *testing.T) {
	hdr := len(header(fingerprint()))
	body := hdr + 1 // offset of a short message's body
	var ptrDef []byte
	{
		// #32 *int
		ptrDef = append([]byte{tagType}, uv(32)...)
		ptrDef = append(ptrDef, byte(kPtr))
		ptrDef = appendString(ptrDef, "*int")
		ptrDef = append(ptrDef, 0)
		ptrDef = append(ptrDef, uv(uint64(kInt))...)
	}
	tests := []struct {
		name   string
		data   []byte
		dst    func() any
		offset int // -1: do not check
		want   []string
	}{
		{"empty", nil, newAny, 0, []string{"not codec output"}},
		{"wrong magic", []byte("GOB!xxxxxx"), newAny, 0, []string{"magic"}},
		{"future version", append([]byte(magic), 9, 0), newAny, len(magic), []string{"format version 9"}},
		{"no message", header(fingerprint()), newAny, hdr, []string{"message length"}},
		{"trailing bytes", append(msg([]byte{tagValue, idNil}), 0), newAny, hdr, []string{"exactly one message"}},
		{"unknown tag", msg([]byte{'X'}), newAny, body, []string{"unknown item tag 0x58"}},
		{"no value", msg([]byte{}), newAny, body, []string{"expected a definition or the value"}},
		{"bool byte 2", msg([]byte{tagValue, byte(kBool), 2}), newAny, body + 2, []string{"bool byte 2"}},
		{"int8 into int16 overflow", msg([]byte{tagValue, byte(kInt16)}, appendVarint(nil, 1<<20)), func() any { return new(int16) }, -1, []string{"overflows int16"}},
		{"string longer than the message", msg([]byte{tagValue, byte(kString)}, uv(1<<60)), newAny, body + 2, []string{"string length 1152921504606846976", "bytes left"}},
		{"slice of 2^60 strings", msg(sliceOfStringDef(), []byte{tagValue, 32, 1}, uv(1<<60)), newAny, -1, []string{"slice length", "bytes left"}},
		{"bulk slice of 2^60", msg(func() []byte {
			d := []byte{tagType}
			d = append(d, uv(32)...)
			d = append(d, byte(kSlice))
			d = appendString(d, "[]float64")
			d = append(d, 0)
			return append(d, uv(uint64(kFloat64))...)
		}(), []byte{tagValue, 32}, uv(1<<60+bulkInline)), newAny, -1, []string{"slice length", "bytes left"}},
		{"buffer not in the table", msg(func() []byte {
			d := []byte{tagType}
			d = append(d, uv(32)...)
			d = append(d, byte(kSlice))
			d = appendString(d, "[]float64")
			d = append(d, 0)
			return append(d, uv(uint64(kFloat64))...)
		}(), []byte{tagValue, 32, bulkOutside, 3, 10}), newAny, -1, []string{"[]float64 in out-of-band buffer #3, expected #0 of the 0 the message has"}},
		{"type defined out of order", msg([]byte{tagType, 40}), newAny, body + 1, []string{"type definition #40 out of order, expected #32"}},
		{"undefined element type", msg(func() []byte {
			d := []byte{tagType}
			d = append(d, uv(32)...)
			d = append(d, byte(kSlice))
			d = appendString(d, "[]int")
			d = append(d, 0)
			return append(d, uv(99)...)
		}(), []byte{tagValue, idNil}), newAny, -1, []string{"refers to undefined type #99"}},
		{"value of undefined type", msg([]byte{tagValue, 77}), func() any { return new(int) }, body + 1, []string{"undefined type #77"}},
		{"back-reference to nothing", msg(ptrDef, []byte{tagValue, 32, refBack + 5}), func() any { return new(*int) }, -1, []string{"back-reference to object #5", "only 0 objects"}},
		{"unknown function", msg(func() []byte {
			d := []byte{tagType}
			d = append(d, uv(32)...)
			d = append(d, byte(kFunc))
			d = appendString(d, "func()")
			d = append(d, 0, 0, 0)
			return d
		}(), []byte{tagValue, 32, 9}), func() any { return new(func()) }, -1, []string{"undefined function #9"}},
		{"unknown kind", msg([]byte{tagType, 32, 200}), newAny, body + 2, []string{"unknown kind 200"}},
		{"varint overflow", msg([]byte{tagValue}, bytes.Repeat([]byte{0xff}, 11)), newAny, body + 1, []string{"varint overflow"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Unmarshal(tc.data, tc.dst())
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Unmarshal error = %v, want *DecodeError", err)
			}
			if tc.offset >= 0 && de.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", de.Offset, tc.offset, err)
			}
			for _, w := range append(tc.want, "at byte") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q: %v", w, err)
				}
			}
			// Dis reports malformed data too (after listing what it could).
			var sb strings.Builder
			// Some data is well-formed and only wrong for Unmarshal.
			disOK := map[string]bool{"no message": true, "int8 into int16 overflow": true}
			if err := Dis(&sb, tc.data); (err == nil) != disOK[tc.name] {
				t.Errorf("Dis error = %v; listing:\n%s", err, sb.String())
			}
		})
	}
}

func newAny() any { return new(any) }

func TestNothingToDecodeInto(t *testing.T) {
	data, _ := Marshal(1)
	for _, dst := range []any{nil, 1, (*int)(nil)} {
		if err := Unmarshal(data, dst); err == nil || !strings.Contains(err.Error(), "non-nil pointer") {
			t.Errorf("Unmarshal into %#v: %v", dst, err)
		}
	}
	var ch chan int
	err := Unmarshal(data, &ch)
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Type != "chan int" {
		t.Errorf("Unmarshal into a chan: %v", err)
	}
}
