package codec

import (
	"bytes"
	"cmp"
	"container/list"
	"container/ring"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Case 3 of issue 12: a container/list's elements point at its root, a
// field of the List: the list comes back with its elements and no more.
func TestListRoundTrip(t *testing.T) {
	l := list.New()
	l.PushBack("a")
	l.PushBack(2)
	for _, v := range []any{l, []any{l.Front(), l}} {
		got := roundTrip(t, v)
		var gl *list.List
		switch g := got.(type) {
		case *list.List:
			gl = g
		case []any:
			gl = g[1].(*list.List)
			if g[0].(*list.Element) != gl.Front() {
				t.Errorf("the element sent before its list is not the decoded list's front")
			}
		}
		var vals []any
		for e := gl.Front(); e != nil; e = e.Next() {
			vals = append(vals, e.Value)
		}
		var back []any
		for e := gl.Back(); e != nil; e = e.Prev() {
			back = append(back, e.Value)
		}
		if gl.Len() != 2 || len(vals) != 2 || vals[0] != "a" || vals[1] != 2 || len(back) != 2 || back[0] != 2 {
			t.Fatalf("decoded list: Len %d, forward %v, backward %v; want [a 2]", gl.Len(), vals, back)
		}
		gl.PushBack(3)
		gl.Remove(gl.Front())
		if gl.Len() != 2 || gl.Front().Value != 2 || gl.Back().Value != 3 {
			t.Fatalf("the decoded list does not work as a list: Len %d", gl.Len())
		}
	}
}

func TestRingRoundTrip(t *testing.T) {
	r := ring.New(3)
	for i := range 3 {
		r.Value = i
		r = r.Next()
	}
	got := roundTrip(t, r)
	var vals []any
	got.Do(func(v any) { vals = append(vals, v) })
	if got.Len() != 3 || len(vals) != 3 || vals[0] != 0 || vals[2] != 2 || got.Prev().Value != 2 {
		t.Fatalf("decoded ring: Len %d, values %v", got.Len(), vals)
	}
}

type inner struct{ A, B int }

type outer struct {
	N  int
	In inner
	Rs []*inner
	Sb strings.Builder
}

// Whatever the order in which the value reaches an object and pointers
// into it, they decode to one object.
func TestInteriorPointersAnyOrder(t *testing.T) {
	o := &outer{N: 1, In: inner{2, 3}}
	o.Rs = []*inner{&o.In, {4, 5}}
	o.Sb.WriteString("built")
	got := roundTrip(t, []any{&o.In.B, o.Rs[1:], o, &o.In})
	g := got[2].(*outer)
	if got[0].(*int) != &g.In.B || got[3].(*inner) != &g.In || g.Rs[0] != &g.In {
		t.Fatal("pointers into the outer object decoded to copies")
	}
	sub := got[1].([]*inner)
	if len(sub) != 1 || &sub[0] != &g.Rs[1] || sub[0].A != 4 {
		t.Fatal("the sub-slice does not share the decoded slice's elements")
	}
	// The builder's pointer to itself, inside the outer object, is kept:
	// it can be written to.
	g.Sb.WriteString("!")
	if g.Sb.String() != "built!" {
		t.Fatalf("builder holds %q", g.Sb.String())
	}
	data, err := Marshal([]any{&o.In.B, o})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*int  &1+16, inside the object that follows, at byte offset 16 (an interior pointer: the whole object travels)",
		"container        *codec.outer", "*codec.outer  =&1, the object listed above"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("Dis lacks %q:\n%s", want, sb.String())
		}
	}
}

// A stream whose interior reference lands on the wrong type, or outside
// its object, is refused.
func TestInteriorReferenceChecked(t *testing.T) {
	o := &outer{N: 1}
	data, err := Marshal([]any{o, &o.In.B})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(string(data), "\x02\x01\x10") // refInterior, object 1, offset 16
	if i < 0 {
		t.Fatalf("no interior reference in %q", data)
	}
	for _, tc := range []struct {
		off  byte
		want string
	}{
		{9, "interior reference at offset 9 of a *codec.outer, where there is no int"},
		{120, "interior reference at offset 120 of a *codec.outer, where there is no int"},
	} {
		bad := []byte(string(data))
		bad[i+2] = tc.off
		var v any
		err := Unmarshal(bad, &v)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("offset %d: Unmarshal = %v, want a *DecodeError with %q", tc.off, err, tc.want)
		}
	}
}

// Slices copied in bulk (numbers) or element by element without identity
// tracking (strings) are tracked when other objects point into them.
func TestInteriorIntoUntrackedSlices(t *testing.T) {
	big := make([]float64, 1<<12) // 32 KiB: an out-of-band buffer
	for i := range big {
		big[i] = float64(i)
	}
	ints := []int{1, 2, 3, 4}
	strs := []string{"a", "b", "c"}
	type job struct {
		P    *int
		Sub  []float64
		All  []float64
		Ints []int
		Strs []string
		S2   []string
		Q    *string
	}
	got := roundTrip(t, job{P: &ints[3], Sub: big[10:20], All: big, Ints: ints, Strs: strs, S2: strs[1:], Q: &strs[2]})
	if got.P != &got.Ints[3] || *got.P != 4 {
		t.Error("a pointer into a []int decoded to a copy")
	}
	if &got.Sub[0] != &got.All[10] || len(got.Sub) != 10 || got.Sub[9] != 19 {
		t.Error("a sub-slice of a large []float64 decoded to a copy")
	}
	if &got.S2[0] != &got.Strs[1] || got.Q != &got.Strs[2] {
		t.Error("a sub-slice of, and a pointer into, a []string decoded to copies")
	}
	data, err := Marshal([]any{&ints[1], ints})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*int  &1+8, inside the object that follows, at byte offset 8",
		"container        []int  &1 (other objects point into it), 4 elements, 32 bytes copied raw (by value)",
		"[]int  =&1+0, inside the object listed above at byte offset 0, 4 elements"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("Dis lacks %q:\n%s", want, sb.String())
		}
	}
	// Slices that overlap without one holding the other are parts of one
	// slice over their union.
	ps := []*int{new(int), new(int), new(int), new(int)}
	for _, tc := range []struct {
		v    any
		x, y int // element x of the first slice is element y of the second
	}{
		{[2][]int{ints[0:3], ints[1:4]}, 1, 0},
		{[2][]*int{ps[2:4], ps[0:3]}, 0, 2},
		{[2][]string{strs[1:], strs[:2]}, 0, 1},
	} {
		g := reflect.ValueOf(roundTrip(t, tc.v))
		if g.Index(0).Index(tc.x).UnsafeAddr() != g.Index(1).Index(tc.y).UnsafeAddr() {
			t.Errorf("overlapping slices %T decoded to separate arrays", tc.v)
		}
	}
}

// A long list: its many objects take the bitmap and sort paths of the
// overlap check, not the pairwise one, and still decode into one list,
// whichever comes first. Written through one Encoder, its interior
// pointers are found again in each message.
func TestLongListRoundTrip(t *testing.T) {
	l := list.New()
	for i := range 100 {
		l.PushBack(i)
	}
	check := func(gl *list.List) {
		t.Helper()
		i := 0
		for e := gl.Front(); e != nil; e = e.Next() {
			if e.Value != i {
				t.Fatalf("element %d holds %v", i, e.Value)
			}
			i++
		}
		if i != 100 || gl.Len() != 100 || gl.Back().Value != 99 || gl.Back().Next() != nil {
			t.Fatalf("decoded list: %d elements, Len %d", i, gl.Len())
		}
	}
	check(roundTrip(t, l))
	got := roundTrip(t, []any{l.Back(), l})
	if got[0].(*list.Element) != got[1].(*list.List).Back() {
		t.Fatal("the element sent first is not the decoded list's back")
	}
	check(got[1].(*list.List))
	var buf bytes.Buffer
	enc, dec := NewEncoder(&buf), NewDecoder(&buf)
	for range 3 {
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
		var gl *list.List
		if err := dec.Decode(&gl); err != nil {
			t.Fatal(err)
		}
		check(gl)
	}
}

// Objects that overlap without one holding the other as a value of its
// type decode as separate copies, and the message written to find that
// out is the one sent; a slice held twice is one object, not two that
// overlap.
func TestOverlapWithoutInterior(t *testing.T) {
	x := []int{1, 2, 3, 4}
	a, b := (*[2]int)(x[0:2]), (*[2]int)(x[1:3])
	got := roundTrip(t, []any{a, b})
	ga, gb := got[0].(*[2]int), got[1].(*[2]int)
	if *ga != [2]int{1, 2} || *gb != [2]int{2, 3} {
		t.Fatalf("decoded %v and %v", *ga, *gb)
	}
	type twice struct{ A, B []string }
	s := []string{"a", "b"}
	many := make([]twice, 20)
	for i := range many {
		many[i] = twice{s, s}
	}
	for _, v := range [][]twice{many[:1], many} {
		for _, g := range roundTrip(t, v) {
			if len(g.A) != 2 || g.A[1] != "b" || len(g.B) != 2 || g.B[0] != "a" {
				t.Fatalf("decoded %v", g)
			}
		}
	}
}

// overlap against every pair, and sortRanges against a comparison sort,
// on ranges spread over few or many address bits, with objects written
// twice.
func TestOverlapRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var e encoder
	for _, n := range []int{2, 3, 8, 9, 63, 64, 65, 300, 5000} {
		for _, spread := range []uint{6, 12, 20, 30, 44, 63} {
			for trial := range 20 {
				// Objects of up to 32 bytes, or, in one trial of three,
				// up to 4000, which paint many words of the bitmap.
				gran, maxSize := uintptr(64), 32
				if trial%3 == 2 {
					gran, maxSize = 4096, 4000
				}
				rs := make([]objRange, n)
				for i := range rs {
					start := uintptr(0xc000000000) + uintptr(rng.Uint64N(1<<spread))&^7
					size := uintptr(8 * (1 + rng.IntN(maxSize/8)))
					if trial%2 == 0 {
						// Disjoint: one object per gran bytes at most.
						start &^= gran - 1
					}
					rs[i] = objRange{start, start + size, uintptr(rng.IntN(2))}
				}
				if trial%4 == 0 && n > 2 {
					rs[n-1] = rs[0] // written twice
				}
				if trial%2 == 0 {
					seen := map[uintptr]bool{}
					for i := range rs {
						for seen[rs[i].start] && rs[i] != rs[0] {
							rs[i].start += gran
							rs[i].end += gran
						}
						seen[rs[i].start] = true
					}
				}
				want := false
				for i, a := range rs {
					for _, b := range rs[i+1:] {
						want = want || a.start < b.end && b.start < a.end && a != b
					}
				}
				in := slices.Clone(rs)
				if got := overlap(rs, &e); got != want {
					t.Fatalf("n %d, spread %d, trial %d: overlap %v, want %v", n, spread, trial, got, want)
				}
				sorted := sortRanges(slices.Clone(in), make([]objRange, n))
				if !slices.IsSortedFunc(sorted, func(a, b objRange) int { return cmp.Compare(a.start, b.start) }) {
					t.Fatalf("n %d, spread %d: not sorted", n, spread)
				}
				slices.SortFunc(in, func(a, b objRange) int { return cmp.Compare(a.start, b.start) })
				for i := range in {
					if in[i].start != sorted[i].start {
						t.Fatalf("n %d, spread %d: sorted starts differ at %d", n, spread, i)
					}
				}
			}
		}
	}
}

// BenchmarkOverlapGraph measures the interior-pointer check alone on the
// objects of BenchmarkGraph's values.
func BenchmarkOverlapGraph(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		var e encoder
		e.init(buildOptions(nil))
		e.begin(1 << 14)
		if err := e.encodeTop(graph(n)); err != nil {
			b.Fatal(err)
		}
		rs := slices.Clone(e.ranges)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(e.ranges, rs) // overlap sorts them
				if overlap(e.ranges, &e) {
					b.Fatal("overlap")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

func BenchmarkSortRanges(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1500, 150000} {
		rs := make([]objRange, n)
		for i := range rs {
			start := uintptr(0xc000000000) + uintptr(rng.Uint64N(uint64(n)*64))&^15
			rs[i] = objRange{start, start + 48, 0}
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, tmp := make([]objRange, n), make([]objRange, n)
			for b.Loop() {
				copy(s, rs)
				sortRanges(s, tmp)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/range")
		})
	}
}
