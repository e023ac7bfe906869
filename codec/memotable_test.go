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
