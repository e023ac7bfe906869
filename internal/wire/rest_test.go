package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// A stream that ends before a frame the writer had not sent, or inside
// it, is completed by what OnEnd gives for that frame's number: what a
// dead worker left in its stash.
func TestOnEndServesTheFrameTheStreamLacks(t *testing.T) {
	sent := frames(t, []byte("one "), []byte("two "))
	var fw bytes.Buffer
	w := NewFrameWriter(&fw)
	w.Write([]byte("three"))
	if w.Frames() != 0 || string(w.Pending()) != "three" {
		t.Fatalf("Frames %d, Pending %q: want 0, \"three\"", w.Frames(), w.Pending())
	}
	w.Flush()
	third := fw.Bytes()
	for _, tc := range []struct {
		name   string
		stream []byte
	}{
		{"between frames", sent},
		{"inside the header", append(sent[:len(sent):len(sent)], third[:4]...)},
		{"inside the payload", append(sent[:len(sent):len(sent)], third[:len(third)-2]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewFrameReader(bytes.NewReader(tc.stream))
			var asked []uint64
			r.OnEnd(func(frame uint64) []byte {
				asked = append(asked, frame)
				return []byte("three")
			})
			got, err := io.ReadAll(r)
			if err != nil || string(got) != "one two three" {
				t.Errorf("read %q, %v; want \"one two three\", nil", got, err)
			}
			if len(asked) != 1 || asked[0] != 2 {
				t.Errorf("OnEnd asked for frames %v, want [2] once", asked)
			}
		})
	}
}

// Nothing to give back, or a frame that is corrupt rather than cut short,
// leaves the end as it was.
func TestOnEndLeavesOtherEndsAlone(t *testing.T) {
	sent := frames(t, []byte("one "))
	r := NewFrameReader(bytes.NewReader(sent))
	r.OnEnd(func(uint64) []byte { return nil })
	if got, err := io.ReadAll(r); err != nil || string(got) != "one " {
		t.Errorf("read %q, %v; want \"one \", nil", got, err)
	}
	bad := append([]byte(nil), sent...)
	bad[len(bad)-1] ^= 0xff
	r = NewFrameReader(bytes.NewReader(bad))
	r.OnEnd(func(uint64) []byte { t.Error("OnEnd called for a corrupt frame"); return []byte("x") })
	var fe *FrameError
	if _, err := io.ReadAll(r); !errors.As(err, &fe) || fe.Truncated {
		t.Errorf("corrupt frame: %v, want a *FrameError that is not Truncated", err)
	}
}
