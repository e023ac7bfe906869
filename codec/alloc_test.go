package codec

import (
	"reflect"
	"runtime"
	"testing"
	"unsafe"
)

// TestNewArrayIsTypedForTheCollector fills arrays from newArray with the
// only references to fresh objects, collects garbage, and reads them back:
// an array typed wrongly for the collector would lose them (or crash it).
func TestNewArrayIsTypedForTheCollector(t *testing.T) {
	type node struct {
		n    int
		next *node
		s    string
	}
	ti := infoOf(reflect.TypeFor[[]*node]())
	if ti.elemRtype != rtypeOf(reflect.TypeFor[*node]()) {
		t.Fatal("elemRtype is not the element type's descriptor")
	}
	const n = 1000
	arrays := make([]unsafe.Pointer, 8)
	for i := range arrays {
		arrays[i] = newArray(ti, n)
		s := unsafe.Slice((**node)(arrays[i]), n)
		for j := range s {
			s[j] = &node{n: j, next: &node{n: -j}, s: string(rune('a' + j%26))}
		}
	}
	for range 3 {
		runtime.GC()
		_ = make([]byte, 1<<20) // reuse what a wrong collection would free
	}
	for i := range arrays {
		for j, nd := range unsafe.Slice((**node)(arrays[i]), n) {
			if nd.n != j || nd.next.n != -j || nd.s != string(rune('a'+j%26)) {
				t.Fatalf("array %d element %d = %+v after GC", i, j, *nd)
			}
		}
	}
	if p := newArray(ti, 0); p == nil {
		t.Error("newArray(ti, 0) = nil, want a non-nil pointer for an empty slice")
	}
}

// TestNewValueIsTypedForTheCollector is the same check for newValue.
func TestNewValueIsTypedForTheCollector(t *testing.T) {
	type node struct {
		n    int
		next *node
		s    string
	}
	ti := infoOf(reflect.TypeFor[node]())
	objs := make([]*node, 1000)
	for i := range objs {
		objs[i] = (*node)(newValue(ti))
		*objs[i] = node{n: i, next: &node{n: -i}, s: string(rune('a' + i%26))}
	}
	for range 3 {
		runtime.GC()
		_ = make([]byte, 1<<20)
	}
	for i, nd := range objs {
		if nd.n != i || nd.next.n != -i || nd.s != string(rune('a'+i%26)) {
			t.Fatalf("object %d = %+v after GC", i, *nd)
		}
	}
}
