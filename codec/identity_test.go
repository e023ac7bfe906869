package codec

import (
	"strings"
	"testing"
)

type node struct {
	Name string
	Next *node
	Kids []*node
	Any  any
}

type ringHolder struct {
	Head *node
}

func TestRoundTripAliasingAndCycles(t *testing.T) {
	t.Run("two pointers to one object", func(t *testing.T) {
		shared := &Point{1, 2}
		got := roundTrip(t, [2]*Point{shared, shared})
		if got[0] != got[1] || *got[0] != (Point{1, 2}) {
			t.Fatalf("got %p %p (%v), want one object", got[0], got[1], got[0])
		}
	})
	t.Run("self-referencing struct", func(t *testing.T) {
		n := &node{Name: "self"}
		n.Next = n
		got := roundTrip(t, n)
		if got.Next != got || got.Name != "self" {
			t.Fatalf("got %+v, want a node pointing to itself", got)
		}
	})
	t.Run("ring list", func(t *testing.T) {
		a, b, c := &node{Name: "a"}, &node{Name: "b"}, &node{Name: "c"}
		a.Next, b.Next, c.Next = b, c, a
		got := roundTrip(t, ringHolder{a})
		h := got.Head
		if h.Name != "a" || h.Next.Name != "b" || h.Next.Next.Name != "c" || h.Next.Next.Next != h {
			t.Fatalf("ring not restored: %s %s %s", h.Name, h.Next.Name, h.Next.Next.Name)
		}
	})
	t.Run("map reaching itself through a pointer", func(t *testing.T) {
		type box struct{ M map[string]*box }
		b := &box{M: map[string]*box{}}
		b.M["me"] = b
		got := roundTrip(t, b)
		if got.M["me"] != got {
			t.Fatalf("got %+v, want the map to reach its own box", got)
		}
	})
	t.Run("map containing itself through an interface", func(t *testing.T) {
		m := map[string]any{}
		m["self"] = m
		got := roundTrip(t, m)
		inner, ok := got["self"].(map[string]any)
		if !ok || len(inner) != 1 {
			t.Fatalf("got %#v", got)
		}
		inner["probe"] = 1
		if _, ok := got["probe"]; !ok {
			t.Fatal("the inner map is a copy, want the same map")
		}
	})
	t.Run("slice containing itself through an interface", func(t *testing.T) {
		s := make([]any, 2)
		s[0] = "x"
		s[1] = s
		got := roundTrip(t, s)
		inner, ok := got[1].([]any)
		if !ok || len(inner) != 2 || &inner[0] != &got[0] {
			t.Fatalf("got %#v, want the slice to contain itself", got)
		}
	})
	t.Run("shared children in a tree with parent cycles", func(t *testing.T) {
		root := &node{Name: "root"}
		leaf := &node{Name: "leaf", Any: root}
		root.Kids = []*node{leaf, leaf, {Name: "other", Next: leaf}}
		got := roundTrip(t, root)
		if got.Kids[0] != got.Kids[1] || got.Kids[2].Next != got.Kids[0] || got.Kids[0].Any.(*node) != got {
			t.Fatal("sharing or the parent cycle was lost")
		}
	})
	t.Run("the same slice twice is one slice", func(t *testing.T) {
		kids := []*node{{Name: "k"}}
		got := roundTrip(t, [2][]*node{kids, kids})
		if &got[0][0] != &got[1][0] {
			t.Fatal("want one backing array")
		}
	})
}

// A pointer into the middle of another object of the value, and a
// sub-slice of a slice of the value, decode to the same place (case 3 of
// issue 12).
func TestRoundTripInteriorPointers(t *testing.T) {
	type pair struct {
		P   *Point
		X   *int
		All []int
		Sub []int
	}
	p := &Point{1, 2}
	all := []int{1, 2, 3}
	got := roundTrip(t, pair{P: p, X: &p.X, All: all, Sub: all[1:]})
	if *got.X != 1 || got.P.X != 1 || got.Sub[0] != 2 {
		t.Fatalf("values lost: %+v", got)
	}
	if got.X != &got.P.X {
		t.Fatal("the interior pointer decoded to a copy, not into its object")
	}
	got.All[1] = 99
	if got.Sub[0] != 99 || len(got.Sub) != 2 {
		t.Fatal("the sub-slice decoded to a copy, not into the slice's elements")
	}
}

func TestRoundTripMapKeysWithIdentity(t *testing.T) {
	type keyed struct {
		ByPtr   map[*Point]string
		ByIface map[any]int
		Shared  *Point
	}
	p := &Point{1, 2}
	in := keyed{
		ByPtr:   map[*Point]string{p: "p", {3, 4}: "other"},
		ByIface: map[any]int{p: 1, Point{1, 2}: 2, [2]string{"a", "b"}: 3, 1.5: 4},
		Shared:  p,
	}
	got := roundTrip(t, in)
	if got.ByPtr[got.Shared] != "p" {
		t.Fatalf("pointer key is not the shared object: %v", got.ByPtr)
	}
	if got.ByIface[got.Shared] != 1 || got.ByIface[Point{1, 2}] != 2 || got.ByIface[[2]string{"a", "b"}] != 3 || got.ByIface[1.5] != 4 {
		t.Fatalf("interface keys: %v", got.ByIface)
	}
	if len(got.ByPtr) != 2 || len(got.ByIface) != 4 {
		t.Fatalf("lengths %d %d", len(got.ByPtr), len(got.ByIface))
	}
}

// Past the first few objects the encoder's memo changes representation;
// identity and the interior-pointer rule must hold there too.
func TestRoundTripManyObjects(t *testing.T) {
	type pair struct {
		P *Point
		X *int
	}
	var in []pair
	for i := range 50 {
		p := &Point{i, -i}
		in = append(in, pair{P: p, X: &p.X}, pair{P: p, X: &p.X})
	}
	got := roundTrip(t, in)
	for i := 0; i < len(got); i += 2 {
		a, b := got[i], got[i+1]
		if a.P != b.P || a.X != b.X {
			t.Fatalf("pair %d: the same objects decoded twice", i/2)
		}
		if *a.X != i/2 || a.P.Y != -i/2 {
			t.Fatalf("pair %d: values %d %v", i/2, *a.X, a.P)
		}
		if a.X != &a.P.X {
			t.Fatal("the interior pointer decoded to a copy, not into its object")
		}
	}
}

// An empty slice that could hold references takes no memo id on either
// side; the ids of the objects after it must agree.
func TestEmptyReferenceSliceKeepsIDsInStep(t *testing.T) {
	p := &Point{1, 2}
	type v struct {
		E    []any
		N    []*Point
		P, Q *Point
	}
	in := v{E: []any{}, N: []*Point{}, P: p, Q: p}
	got := roundTrip(t, in)
	if got.P != got.Q || got.E == nil || len(got.E) != 0 || got.N == nil {
		t.Fatalf("got %+v", got)
	}
	data, _ := Marshal(in)
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[]interface {}  empty", ".P                   *codec.Point  &0", "=&0, the object listed above"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, sb.String())
		}
	}
}
