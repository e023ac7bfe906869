package codec

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// harnessSmall has the shape of the small struct of the bench harness
// (bench/internal/workload.Small), which sends it as a pointer and decodes
// each message into a new value.
type harnessSmall struct {
	ID      int64
	Count   int32
	Name    string
	Email   string
	Tags    []string
	Created time.Time
	Owner   harnessInner
}

type harnessInner struct {
	ID    int64
	Label string
	Score float64
}

func newHarnessSmall() *harnessSmall {
	return &harnessSmall{ID: 1234567, Count: 42, Name: "Ada Lovelace", Email: "ada@example.com",
		Tags: []string{"alpha", "beta", "gamma"}, Created: time.Date(2024, 5, 17, 12, 30, 0, 0, time.UTC),
		Owner: harnessInner{ID: 7, Label: "owner", Score: 0.75}}
}

// BenchmarkHarnessSmall is the harness's small struct row: Encode(v) of a
// pointer, then Decode into a new pointer, on a long-lived stream.
func BenchmarkHarnessSmall(b *testing.B) {
	var buf bytes.Buffer
	enc, dec := NewEncoder(&buf), NewDecoder(&buf)
	in := newHarnessSmall()
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(in); err != nil {
			b.Fatal(err)
		}
		var out *harnessSmall
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHarnessSmallEncode is its encoding half.
func BenchmarkHarnessSmallEncode(b *testing.B) {
	enc := NewEncoder(io.Discard)
	in := newHarnessSmall()
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHarnessSmallDecode is its decoding half, reading one message
// over and over.
func BenchmarkHarnessSmallDecode(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	in := newHarnessSmall()
	if err := enc.Encode(in); err != nil {
		b.Fatal(err)
	}
	dec := NewDecoder(&buf)
	var out *harnessSmall
	if err := dec.Decode(&out); err != nil {
		b.Fatal(err)
	}
	if err := enc.Encode(in); err != nil {
		b.Fatal(err)
	}
	msg := append([]byte(nil), buf.Bytes()...)
	r := bytes.NewReader(msg)
	dec.r, dec.br = r, r
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		var out *harnessSmall
		if err := dec.Decode(&out); err != nil {
			b.Fatal(err)
		}
	}
}
