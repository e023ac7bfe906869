package codec

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz from fuzzSeeds")

type fuzzRecord struct {
	N     int
	U     uint16
	F     float64
	S     string
	B     []byte
	Arr   [3]int8
	Ints  []int32
	M     map[string]*Point
	P     *fuzzRecord
	I     any
	E     error
	T     time.Time
	Fn    func(int) int
	Sh    Shape
	Inner struct{ A, b string }
}

// fuzzSeeds returns values of many shapes; their encodings seed the fuzzers.
func fuzzSeeds() []any {
	self := &fuzzRecord{N: 1, S: "self"}
	self.P = self
	ring := []any{1, nil}
	ring[1] = ring
	m := map[string]any{"k": []any{1.5, "x"}}
	m["m"] = m
	c := &counter{n: 1}
	l := list.New()
	l.PushBack(1)
	l.PushBack("two")
	o := &outer{N: 1, In: inner{2, 3}}
	o.Rs = []*inner{&o.In, {4, 5}}
	nums, strs := []int{1, 2, 3}, []string{"a", "b"}
	cyc := sliceCycle{nil}
	cyc[0] = cyc
	// The struct plan's inline paths: short and long strings, []string,
	// times in UTC and not, back-references from fields and slices.
	hs := newHarnessSmall()
	hs2 := *hs
	hs2.Name, hs2.Tags, hs2.Created = string(make([]byte, 200)), []string{}, hs.Created.In(time.FixedZone("X", -7200))
	nd := &node{Name: "root"}
	nd.Kids = []*node{nd, {Name: "kid", Next: nd}}
	nd.Next = nd.Kids[1]
	return []any{
		nil, true, -1, uint64(math.MaxUint64), math.NaN(), "str\x00\xff", []byte("bytes"),
		[]float64{1, math.Inf(-1)}, [2][2]int16{{1, 2}, {3, 4}}, map[int]string{1: "a"},
		Point{1, 2}, &Point{3, 4}, []Point{{5, 6}}, map[Point]bool{{7, 8}: true},
		fuzzRecord{N: -3, U: 9, F: 0.5, S: "s", B: []byte{}, Arr: [3]int8{-1, 0, 1}, Ints: []int32{1, -1},
			M: map[string]*Point{"p": {1, 1}, "nil": nil}, I: Celsius(3), E: fmt.Errorf("w: %w", io.EOF),
			T: time.Date(2001, 2, 3, 4, 5, 6, 7, time.FixedZone("Z", 3600)), Fn: square, Sh: Square{2}},
		self, ring, m, []any{int8(1), uint32(2), complex64(3), Names{"n"}}, errors.New("e"), io.EOF,
		big.NewInt(-12345), time.Second, struct{}{}, []struct{}{{}, {}}, (*Point)(nil),
		[]any{(*Point)(nil), Shape(nil)}, &stateful{Keep: "hook"}, textOnly{"a", "b"},
		map[any]any{1: "x", "y": Point{}}, [][]string{{"a"}, nil}, describe[int],
		[]reflect.Type{reflect.TypeFor[Point](), nil}, time.UTC,
		// Issue 12: method values, functions made in generic code,
		// interior pointers, cycles through slices, built-in hooks.
		scaler{K: 2, Name: "s", tags: []string{"t"}}.Scale, []any{c.Add, c}, mapDouble[int](), getter[string](),
		l, []any{&o.In.B, o, o.Rs[1:]}, cyc, time.Date(2026, 7, 1, 0, 0, 0, 0, time.FixedZone("CET", 3600)),
		[]slog.Value{slog.StringValue("str"), slog.GroupValue(slog.Int("n", 1))}, regexp.MustCompile("a|b"),
		[]any{&nums[1], nums, nums[2:], strs[1:], strs, &strs[0]},
		hs, []any{hs2, harnessSmall{}}, nd,
	}
}

func stripHeader(t testing.TB, data []byte) []byte {
	h := header(fingerprint())
	if !bytes.HasPrefix(data, h) {
		t.Fatal("payload does not start with this binary's header")
	}
	return data[len(h):]
}

// fuzzDecodeAll decodes data into destinations of several types and
// disassembles it. Nothing may panic; a value that decoded must encode.
func fuzzDecodeAll(t *testing.T, data []byte) {
	var (
		a   any
		rec fuzzRecord
		p   *Point
		s   []any
		m   map[string]any
		n   *node
		e   error
		fl  []float64
		fn  func(context.Context, int) (int, error)
		ip  *int
		hs  *harnessSmall
	)
	for _, dst := range []any{&a, &rec, &p, &s, &m, &n, &e, &fl, &fn, &ip, &hs} {
		_ = Unmarshal(data, dst)
	}
	if err := Unmarshal(data, &a); err == nil {
		if _, err := Marshal(a); err != nil {
			t.Fatalf("a decoded value does not encode: %v", err)
		}
	}
	_ = Dis(io.Discard, data)
}

func FuzzUnmarshal(f *testing.F) {
	for _, v := range fuzzSeeds() {
		data, err := Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, stripHeader(f, data))
	}
	f.Add(true, []byte(magic))
	f.Add(false, outsideMessage(f))
	f.Fuzz(func(t *testing.T, raw bool, in []byte) {
		// Unless raw, in follows this binary's header, which the fuzzer
		// could not guess: the corpus stays valid across builds.
		data := in
		if !raw {
			data = append(header(fingerprint()), in...)
		}
		fuzzDecodeAll(t, data)
	})
}

func FuzzDecoder(f *testing.F) {
	for _, stream := range fuzzStreams(f) {
		f.Add(stream)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		data := append(header(fingerprint()), in...)
		// Out of Strict mode a Decoder makes an out-of-band buffer at the
		// size the stream announces, up to MaxMessageSize: keep that small.
		dec := NewDecoder(bytes.NewReader(data), MaxMessageSize(1<<22))
		for range 64 {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
		}
		dec = NewDecoder(bytes.NewReader(data), Strict())
		for range 64 {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
		}
		_ = Dis(io.Discard, data)
	})
}

// fuzzStreams returns short streams (after the header) of two or three
// messages each, sharing type definitions: small inputs keep the fuzzer's
// minimization fast.
func fuzzStreams(t testing.TB) [][]byte {
	seeds := fuzzSeeds()
	var out [][]byte
	for i := 0; i < len(seeds); i += 3 {
		var buf bytes.Buffer
		enc := NewEncoder(&buf)
		for _, v := range seeds[i:min(i+3, len(seeds))] {
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Encode(seeds[i]); err != nil { // types already defined
			t.Fatal(err)
		}
		out = append(out, stripHeader(t, buf.Bytes()))
	}
	return append(out, outsideSeed(t))
}

// TestUpdateCorpus rewrites the checked-in seed corpus when run with
// -update-corpus; otherwise it checks that the corpus exists.
func TestUpdateCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz")
	if !*updateCorpus {
		for _, target := range []string{"FuzzUnmarshal", "FuzzDecoder"} {
			entries, err := os.ReadDir(filepath.Join(dir, target))
			if err != nil || len(entries) < 10 {
				t.Fatalf("seed corpus for %s: %d files, %v; regenerate with go test -run TestUpdateCorpus -update-corpus", target, len(entries), err)
			}
		}
		return
	}
	write := func(target, name string, args ...string) {
		path := filepath.Join(dir, target, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		content := "go test fuzz v1\n"
		for _, a := range args {
			content += a + "\n"
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{"FuzzUnmarshal", "FuzzDecoder"} {
		if err := os.RemoveAll(filepath.Join(dir, target)); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range fuzzSeeds() {
		data, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body := stripHeader(t, data)
		write("FuzzUnmarshal", fmt.Sprintf("seed%02d", i), "bool(false)", "[]byte("+strconv.Quote(string(body))+")")
	}
	for i, stream := range fuzzStreams(t) {
		write("FuzzDecoder", fmt.Sprintf("stream%02d", i), "[]byte("+strconv.Quote(string(stream))+")")
	}
	write("FuzzUnmarshal", "raw-magic", "bool(true)", "[]byte("+strconv.Quote(magic)+")")
	write("FuzzUnmarshal", "outside", "bool(false)", "[]byte("+strconv.Quote(string(outsideMessage(t)))+")")
}

// fuzzFiles is a FileReader over bytes that hands out duplicates of
// /dev/null as the descriptors a message passes, as many as asked for up
// to a few.
type fuzzFiles struct {
	*bytes.Reader
	null  *os.File
	given []int
}

func (f *fuzzFiles) TakeFiles(n int) ([]int, error) {
	if n > 4 {
		return nil, fmt.Errorf("%d descriptors expected, 4 here", n)
	}
	var fds []int
	for range n {
		fd, err := unix.Dup(int(f.null.Fd()))
		if err != nil {
			return nil, err
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// FuzzDecoderFiles decodes streams whose messages pass files: file tables
// and file references in any state, with descriptors to match.
func FuzzDecoderFiles(f *testing.F) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		f.Fatal(err)
	}
	defer null.Close()
	type withFiles struct {
		A, B *os.File
		N    int
		Any  any
	}
	var s seedFiles
	enc := NewEncoder(&s)
	for _, v := range []any{withFiles{A: null, B: null, N: 3}, withFiles{A: null, Any: []any{null, "x"}}, []*os.File{null, nil}} {
		if err := enc.Encode(v); err != nil {
			f.Fatal(err)
		}
	}
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	f.Add(stripHeader(f, s.Bytes()))
	f.Fuzz(func(t *testing.T, in []byte) {
		data := append(header(fingerprint()), in...)
		dec := NewDecoder(&fuzzFiles{Reader: bytes.NewReader(data), null: null}, MaxMessageSize(1<<22))
		for range 16 {
			var v any
			err := dec.Decode(&v)
			for _, f := range dec.Opened() {
				f.Close()
			}
			if err != nil {
				break
			}
		}
		_ = Dis(io.Discard, data)
	})
}

// seedFiles is a FileWriter collecting a stream and its descriptors.
type seedFiles struct {
	bytes.Buffer
	fds []int
}

func (s *seedFiles) AttachFiles(fds []int) error {
	s.fds = append(s.fds, fds...)
	return nil
}
