package codec

import "testing"

func TestAddrTable(t *testing.T) {
	var tab addrTable
	if _, ok := tab.get(8); ok {
		t.Fatal("empty table found an address")
	}
	// Addresses 8 bytes apart and 4096 apart: neighbours and a stride
	// that multiplicative hashing must still spread.
	var addrs []uintptr
	for i := range 5000 {
		addrs = append(addrs, uintptr(0x10000+8*i), uintptr(0x4000000+4096*i))
	}
	for i, a := range addrs {
		tab.put(a, memoVal{n: i, id: uint64(i)})
	}
	for i, a := range addrs {
		v, ok := tab.get(a)
		if !ok || v.id != uint64(i) || v.n != i {
			t.Fatalf("get(%#x) = %+v, %v, want id %d", a, v, ok, i)
		}
	}
	if _, ok := tab.get(0x10004); ok {
		t.Fatal("found an address never put")
	}
	for round := range 3 {
		tab.clear()
		for _, a := range addrs[:100] {
			if _, ok := tab.get(a); ok {
				t.Fatalf("round %d: %#x survived clear", round, a)
			}
		}
		tab.put(addrs[7], memoVal{id: 99})
		if v, ok := tab.get(addrs[7]); !ok || v.id != 99 {
			t.Fatalf("round %d: after clear, get = %+v, %v", round, v, ok)
		}
	}
}

// TestAddrTablePages checks both ways a large table hashes: objects of a
// page keep neighbouring slots; when two pages of tightly packed 8-byte
// objects land on the same slots, a probe runs long and the table then
// hashes every address alone.
func TestAddrTablePages(t *testing.T) {
	var tab addrTable
	tab.grow(8 * pageSlots)
	if tab.mixed {
		t.Fatal("a table of 8 pages of slots hashes every address alone")
	}
	const p1 = 0x7f0000000
	p2 := uintptr(p1 + 1)
	for tab.index(p2<<12) != tab.index(p1<<12) {
		p2++
	}
	check := func(page uintptr, what string) {
		for i := range uintptr(pageSlots) {
			if v, ok := tab.get(page<<12 + 8*i); !ok || v.id != uint64(page<<12+8*i) {
				t.Fatalf("%s: page %#x word %d: %+v, %v", what, page, i, v, ok)
			}
		}
	}
	for i := range uintptr(pageSlots) {
		a := p1<<12 + 8*i
		tab.put(a, memoVal{id: uint64(a)})
	}
	if tab.mixed {
		t.Fatal("one page of packed objects made the table dense")
	}
	if got := tab.index(p1<<12+8*5) - tab.index(p1<<12); got != 5 {
		t.Errorf("the page's sixth word is %d slots after its first, want 5", got)
	}
	check(p1, "one page")
	for i := range uintptr(pageSlots) {
		a := p2<<12 + 8*i
		tab.put(a, memoVal{id: uint64(a)})
	}
	if !tab.dense || !tab.mixed {
		t.Errorf("two colliding pages of packed objects: dense %v, mixed %v; want both", tab.dense, tab.mixed)
	}
	check(p1, "after the switch")
	check(p2, "after the switch")
	tab.clear()
	if tab.dense || tab.mixed {
		t.Errorf("clear kept dense %v, mixed %v", tab.dense, tab.mixed)
	}
}
