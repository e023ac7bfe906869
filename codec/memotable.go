package codec

import "math/bits"

// An addrTable is the encoder's memo past its first few objects: the
// objects a message has written, by address. It does what a
// map[unsafe.Pointer]memoVal would, about twice as fast on a graph of many
// pointers: addresses hash by one multiplication, slots are probed
// linearly in a flat array of addresses alone.
//
// A large table keeps the objects of one page of memory in neighbouring
// slots, pages spread by the hash: a value is usually walked in roughly
// the order it was allocated, so consecutive lookups fall on the same few
// cache lines instead of one miss each. Densely packed small objects
// would make long runs of full slots there; the first probe that runs
// long switches the table, for the rest of the message, to hashing every
// address alone.
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
	mixed bool // every address hashed alone: the table is small, or dense
	dense bool // a probe ran long: objects packed tight, for this message
}

const (
	addrTableMin = 64
	// Tables from pageSlots*8 slots on keep pages together; below that
	// the keys fit in the first-level cache anyway.
	pageSlots = 512 // a page's 8-byte words
	maxProbe  = 64  // a put probing further switches to mixed
)

func (t *addrTable) index(addr uintptr) uintptr {
	if t.mixed {
		return uintptr((uint64(addr) >> 3) * 0x9E3779B97F4A7C15 >> t.shift)
	}
	// Objects are aligned: their low 3 bits say nothing.
	page := uint64(addr) >> 12
	return (uintptr(page*0x9E3779B97F4A7C15>>t.shift) + (addr>>3)%pageSlots) & uintptr(len(t.keys)-1)
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
		t.grow(max(addrTableMin, 2*len(t.keys)))
	}
	mask := uintptr(len(t.keys) - 1)
	i := t.index(addr)
	for probe := 0; t.keys[i] != 0; probe++ {
		if probe == maxProbe && !t.mixed {
			t.dense = true
			t.grow(len(t.keys))
			t.put(addr, v)
			return
		}
		i = (i + 1) & mask
	}
	t.keys[i], t.vals[i] = addr, v
	t.count++
}

// grow remakes the table with n slots (or makes its first), moving its
// entries.
func (t *addrTable) grow(n int) {
	keys, vals := t.keys, t.vals
	t.keys, t.vals = make([]uintptr, n), make([]memoVal, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	t.mixed = t.dense || n < 8*pageSlots
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
	t.dense = false
	t.mixed = len(t.keys) < 8*pageSlots
}
