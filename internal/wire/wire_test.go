package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/mproc-go/mproc/codec"
)

func validStream(t testing.TB) []byte {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf)
	for _, m := range []*Msg{
		{Kind: KindReady},
		{Kind: KindResult, ID: 7, Out: []int{1, 4, 9}},
		{Kind: KindResult, ID: 8, Out: []string{"a"}, Fails: []Failure{{Item: 0, Err: io.EOF, Type: "*errors.errorString", Msg: "EOF"}}},
		{Kind: KindFatal, Text: "bye"},
	} {
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestMessagesRoundTrip(t *testing.T) {
	dec := codec.NewDecoder(bytes.NewReader(validStream(t)))
	var kinds []Kind
	for {
		var m *Msg
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, m.Kind)
		if m.Kind == KindResult && m.ID == 8 && !errors.Is(m.Fails[0].Err, io.EOF) {
			t.Errorf("failure error %v is not io.EOF", m.Fails[0].Err)
		}
	}
	if want := []Kind{KindReady, KindResult, KindResult, KindFatal}; !bytes.Equal(kindBytes(kinds), kindBytes(want)) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
}

func kindBytes(ks []Kind) []byte {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	return b
}

// FuzzMessageStream feeds a pool's reader arbitrary bytes, as a worker with
// a corrupted or truncated stream would send: decoding must fail with an
// error, never panic or hang.
func FuzzMessageStream(f *testing.F) {
	valid := validStream(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := codec.NewDecoder(bytes.NewReader(data), codec.MaxMessageSize(1<<20))
		for range 100 {
			var m *Msg
			if err := dec.Decode(&m); err != nil {
				return
			}
		}
	})
}
