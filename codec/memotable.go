package codec

import "math/bits"

// An addrTable is the encoder's memo past its first few objects: the
// objects a message has written, by address. It does what a
// map[unsafe.Pointer]memoVal would, about twice as fast on a graph of many
// pointers: addresses hash by one multiplication (objects are aligned, so
// their low bits say nothing and are dropped), slots are probed linearly
// in a flat array of addresses alone.
//
// Addresses are kept as uintptr: the value being encoded keeps its
// objects alive while the message is written, and the table never turns
// an address back into a pointer.
type addrTable struct {
	// keys holds the addresses, 0 for an empty slot, apart from the
	// entries so that a probe reads 8 bytes a slot: a table of thousands
	// of objects stays in cache.
	keys  []uintptr
	vals  []memoVal
	count int
	shift uint // 64 - log2(len(keys))
}

const addrTableMin = 64

func (t *addrTable) index(addr uintptr) uintptr {
	return uintptr((uint64(addr) >> 3) * 0x9E3779B97F4A7C15 >> t.shift)
}

// get returns the entry at addr.
func (t *addrTable) get(addr uintptr) (memoVal, bool) {
	if t.count == 0 {
		return memoVal{}, false
	}
	mask := uintptr(len(t.keys) - 1)
	for i := t.index(addr); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case addr:
			return t.vals[i], true
		case 0:
			return memoVal{}, false
		}
	}
}

// put records v at addr, which must not be in the table (nor 0).
func (t *addrTable) put(addr uintptr, v memoVal) {
	if 2*(t.count+1) > len(t.keys) {
		t.grow()
	}
	mask := uintptr(len(t.keys) - 1)
	i := t.index(addr)
	for t.keys[i] != 0 {
		i = (i + 1) & mask
	}
	t.keys[i], t.vals[i] = addr, v
	t.count++
}

// grow doubles the table (or makes its first), moving its entries.
func (t *addrTable) grow() {
	n := max(addrTableMin, 2*len(t.keys))
	keys, vals := t.keys, t.vals
	t.keys, t.vals = make([]uintptr, n), make([]memoVal, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	t.count = 0
	for i, k := range keys {
		if k != 0 {
			t.put(k, vals[i])
		}
	}
}

// clear empties the table, keeping its slots for the next message unless
// they are many: a huge message should not pin its memory to the stream.
func (t *addrTable) clear() {
	if t.count == 0 {
		return
	}
	if len(t.keys) > 1<<17 {
		*t = addrTable{}
		return
	}
	clear(t.keys) // vals of empty slots are never read; they point only at typeInfos, which live for the program
	t.count = 0
}
