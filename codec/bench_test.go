package codec

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"testing"
	"time"
)

// small is the small struct of the benchmark: ints, strings, a
// time.Time and a nested struct.
type small struct {
	ID      int64
	Count   int32
	Name    string
	Email   string
	Created time.Time
	Addr    smallAddr
}

type smallAddr struct {
	Street string
	Zip    int
}

func newSmall() small {
	return small{ID: 123456789, Count: 42, Name: "Ada Lovelace", Email: "ada@example.com",
		Created: time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC), Addr: smallAddr{"12 Analytical St", 1815}}
}

// BenchmarkSmallStruct is a streaming round trip through a long-lived
// Encoder and Decoder pair: one message per operation.
func BenchmarkSmallStruct(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	dec := NewDecoder(&buf)
	in := newSmall()
	var out small
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(in); err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
	if out != in {
		b.Fatalf("round trip: %+v", out)
	}
}

// BenchmarkGobRoundTrip is BenchmarkSmallStruct with encoding/gob's
// long-lived Encoder and Decoder pair, for comparison.
func BenchmarkGobRoundTrip(b *testing.B) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	dec := gob.NewDecoder(&buf)
	in := newSmall()
	var out small
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(in); err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
	if !out.Created.Equal(in.Created) || out.Name != in.Name {
		b.Fatalf("round trip: %+v", out)
	}
}

// BenchmarkSmallStructPointer is BenchmarkSmallStruct encoding &v, which
// spares the boxing of v in an interface on every call.
func BenchmarkSmallStructPointer(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	dec := NewDecoder(&buf)
	in := newSmall()
	var out small
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(&in); err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
	if out != in {
		b.Fatalf("round trip: %+v", out)
	}
}

// BenchmarkGobRoundTripPointer is BenchmarkGobRoundTrip encoding &v.
func BenchmarkGobRoundTripPointer(b *testing.B) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	dec := gob.NewDecoder(&buf)
	in := newSmall()
	var out small
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(&in); err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
	if !out.Created.Equal(in.Created) || out.Name != in.Name {
		b.Fatalf("round trip: %+v", out)
	}
}

// BenchmarkSmallStructDecode measures decoding alone, to count the
// allocations beyond the result's own (its two strings... the result's
// strings are Name, Email and Addr.Street: three allocations).
func BenchmarkSmallStructDecode(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	in := newSmall()
	if err := enc.Encode(in); err != nil { // the type travels in the first message
		b.Fatal(err)
	}
	dec := NewDecoder(bytes.NewReader(buf.Bytes()))
	var out small
	if err := dec.Decode(&out); err != nil {
		b.Fatal(err)
	}
	buf.Reset()
	if err := enc.Encode(in); err != nil {
		b.Fatal(err)
	}
	msg := buf.Bytes()
	r := bytes.NewReader(msg)
	dec.r, dec.br = r, r
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
}

var floats = func() []float64 {
	s := make([]float64, 100_000)
	for i := range s {
		s[i] = float64(i) * 1.5
	}
	return s
}()

// BenchmarkFloat64s is a Marshal and Unmarshal round trip of 1e5 float64s
// (800 KB); compare with BenchmarkCopyBaseline.
func BenchmarkFloat64s(b *testing.B) {
	b.SetBytes(int64(len(floats) * 8))
	b.ReportAllocs()
	var out []float64
	for b.Loop() {
		data, err := Marshal(floats)
		if err != nil {
			b.Fatal(err)
		}
		if err := Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
	if len(out) != len(floats) || out[99_999] != floats[99_999] {
		b.Fatal("round trip lost data")
	}
}

// BenchmarkFloat64sStream sends the same slice through an Encoder and
// Decoder pair.
func BenchmarkFloat64sStream(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	dec := NewDecoder(&buf)
	b.SetBytes(int64(len(floats) * 8))
	b.ReportAllocs()
	var out []float64
	for b.Loop() {
		if err := enc.Encode(floats); err != nil {
			b.Fatal(err)
		}
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopyBaseline allocates and copies the bytes of 1e5 float64s: the
// floor for BenchmarkFloat64s.
func BenchmarkCopyBaseline(b *testing.B) {
	b.SetBytes(int64(len(floats) * 8))
	b.ReportAllocs()
	var out []float64
	for b.Loop() {
		out = make([]float64, len(floats))
		copy(out, floats)
	}
	_ = out
}

type gnode struct {
	ID       int
	Parent   *gnode
	Children []*gnode
	Peer     *gnode // a shared reference to a node elsewhere
}

// graph builds n nodes as a binary tree with parent pointers (cycles) and
// a peer pointer to another node (sharing).
func graph(n int) *gnode {
	nodes := make([]*gnode, n)
	for i := range nodes {
		nodes[i] = &gnode{ID: i}
	}
	for i, nd := range nodes {
		if i > 0 {
			nd.Parent = nodes[(i-1)/2]
			nd.Parent.Children = append(nd.Parent.Children, nd)
		}
		// The grandparent: shared by four grandchildren, and already on
		// the encoder's path, so nesting stays logarithmic (a peer in
		// another subtree would nest as deep as the graph is large, past
		// MaxDepth).
		nd.Peer = nodes[max(0, ((i-1)/2-1)/2)]
	}
	return nodes[0]
}

// BenchmarkGraph round-trips graphs of growing size: time per node must
// stay flat (linear time).
func BenchmarkGraph(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		g := graph(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				data, err := Marshal(g)
				if err != nil {
					b.Fatal(err)
				}
				var out *gnode
				if err := Unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

func TestGraphRoundTrip(t *testing.T) {
	g := graph(1000)
	got := roundTrip(t, g)
	seen := map[*gnode]bool{}
	var walk func(*gnode)
	walk = func(nd *gnode) {
		if seen[nd] {
			return
		}
		seen[nd] = true
		for _, c := range nd.Children {
			if c.Parent != nd {
				t.Fatalf("node %d: child %d's parent is not the node", nd.ID, c.ID)
			}
			walk(c)
		}
	}
	walk(got)
	if len(seen) != 1000 {
		t.Fatalf("reached %d nodes, want 1000", len(seen))
	}
	for nd := range seen {
		if nd.Peer.ID != max(0, ((nd.ID-1)/2-1)/2) || !seen[nd.Peer] {
			t.Fatalf("node %d: peer %d is not the shared node", nd.ID, nd.Peer.ID)
		}
	}
}

// BenchmarkSmallStructEncode measures encoding alone, on a long-lived stream.
func BenchmarkSmallStructEncode(b *testing.B) {
	enc := NewEncoder(io.Discard)
	in := newSmall()
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(&in); err != nil {
			b.Fatal(err)
		}
	}
}
