package codec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestStringsShareBlocks decodes many messages whose strings are cut from
// shared blocks, keeps every value, and checks them all at the end: a
// later message must never write over the bytes of an earlier string.
func TestStringsShareBlocks(t *testing.T) {
	type msg struct {
		A    string
		N    int
		Tags []string
		B    string
	}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		n := rng.IntN(300)
		if rng.IntN(20) == 0 {
			n = 1500 + rng.IntN(4000) // some messages past the block, some past maxShared
		}
		return strings.Repeat(string(rune('a'+rng.IntN(26))), n) + fmt.Sprint(rng.IntN(1000))
	}
	var sent []*msg
	var buf bytes.Buffer
	enc, dec := NewEncoder(&buf), NewDecoder(&buf)
	var got []*msg
	for range 2000 {
		m := &msg{A: word(), N: rng.IntN(1000)}
		for range rng.IntN(4) {
			m.Tags = append(m.Tags, word())
		}
		if rng.IntN(3) > 0 {
			m.B = word()
		}
		sent = append(sent, m)
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		var out *msg
		if err := dec.Decode(&out); err != nil {
			t.Fatal(err)
		}
		got = append(got, out)
	}
	for i, m := range sent {
		g := got[i]
		if g.A != m.A || g.N != m.N || g.B != m.B || len(g.Tags) != len(m.Tags) {
			t.Fatalf("message %d: got %+v, want %+v", i, g, m)
		}
		for j := range m.Tags {
			if g.Tags[j] != m.Tags[j] {
				t.Fatalf("message %d tag %d: got %q, want %q", i, j, g.Tags[j], m.Tags[j])
			}
		}
	}
}
