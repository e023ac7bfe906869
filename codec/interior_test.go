package codec

import (
	"container/list"
	"container/ring"
	"errors"
	"reflect"
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
