package codec

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"
)

// Interior pointers: a pointer (or a slice) into a field or an element of
// another object of the value decodes to the same place in the decoded
// object, not to a copy.
//
// The encoder records the address range of every object it writes (the
// target of a pointer, the elements of a slice that takes a memo id).
// When a message is written, it checks whether any two ranges overlap; in
// the common case none do and that is all. The check is the whole cost
// of the mechanism on most values, so it is kept lean: the ranges hold no
// pointers (appending and moving them needs no write barriers, the
// garbage collector does not scan them) and live in buffers reused from
// message to message; ranges that come in increasing order need one look
// each, a few are compared pair by pair, and many are painted in a bitmap
// of the addresses they span (see disjoint), sorted only when they are
// spread too thin for it or the bitmap cannot tell.
//
// When some overlap, the message is written again, this time noting each
// object's memo key, to find which lie inside which (findInterior). If
// some do, it is written a third time knowing, for each inner object, its
// container: a pointer to it becomes a reference to the container and a
// byte offset (refInterior), and if the container has not been written
// yet it is written there and then (refInteriorNew), so the order in
// which the value reaches them does not matter. The decoder checks that
// the offset lands on a value of the pointer's type inside the
// container's type, so no reference can point outside an object or at
// the wrong type.
//
// Slices whose type takes no memo id (numbers copied in bulk, strings,
// structs without references) are recorded too; when others point into
// one, the last writing marks it (bulkTracked, sliceTracked) so that it
// takes a memo id on both sides.
//
// Slices of one type that overlap without one holding the other (a[0:3]
// and a[1:4] without a) are written as parts of a slice over their union.
// Other objects that overlap without one holding the other (a pointer to
// a struct and a slice of its array field running past it) still decode
// as separate copies.

// An objRange is the address range of an object the encoder wrote, and
// the identity of its type (the pointer's or the slice's *typeInfo as a
// number, only ever compared): with the range, that is the object's memo
// key, so that an object written twice is told from two that overlap.
type objRange struct {
	start, end uintptr
	ti         uintptr
}

// An objRec is an object the encoder wrote: its address range and its key
// in the memo (the pointer's or the slice's type, and a slice's length).
type objRec struct {
	start, end uintptr
	key        memoKey
}

// record notes an object the message writes: the target of a pointer of
// type ti (n == 0) or the n elements of a slice of type ti, at p, ending
// at end.
func (e *encoder) record(p unsafe.Pointer, end uintptr, ti *typeInfo, n int) {
	if e.keyed {
		e.objs = append(e.objs, objRec{uintptr(p), end, memoKey{p, ti, n}})
		return
	}
	e.ranges = append(e.ranges, objRange{uintptr(p), end, uintptr(unsafe.Pointer(ti))})
}

// encodeMessage writes the value of a message: once, or, if some of its
// objects overlap, again to find which lie inside which, and a third time
// if some do (see above).
func (e *encoder) encodeMessage(v any) error {
	if err := e.encodeTop(v); err != nil || len(e.ranges) < 2 || !overlap(e.ranges, e) {
		return err
	}
	bulk := e.bulk
	e.rollback()
	e.begin(bulk)
	e.keyed = true
	err := e.encodeTop(v)
	e.keyed = false
	if err != nil {
		return err
	}
	in, containers := findInterior(e.objs)
	if in == nil {
		// They overlap, but none holds another as a value of its type:
		// this writing stands.
		return nil
	}
	e.rollback()
	e.begin(bulk)
	e.interior, e.containers = in, containers
	defer func() { e.interior, e.containers = nil, nil }()
	return e.encodeTop(v)
}

// overlap reports whether two of the objects share a byte, other than one
// object written twice (a slice that takes no memo id, held in two
// places). It may reorder rs, and uses e's scratch.
func overlap(rs []objRange, e *encoder) bool {
	switch len(rs) {
	case 0, 1:
		return false
	case 2: // a pointer and a slice, say: what the loops below say of two
		a, b := rs[0], rs[1]
		return a.start < b.end && b.start < a.end && a != b
	}
	// Objects met in increasing order of address, each past the end of
	// the one before, cannot hold one another: no sort needed.
	ordered := true
	for i := 1; i < len(rs) && ordered; i++ {
		ordered = rs[i].start >= rs[i-1].end
	}
	if ordered {
		return false
	}
	if len(rs) <= 8 {
		// A message of a few objects (a task and its inputs): every pair.
		for i, a := range rs {
			for _, b := range rs[i+1:] {
				if a.start < b.end && b.start < a.end && a != b {
					return true
				}
			}
		}
		return false
	}
	if e.disjoint(rs) {
		return false
	}
	e.rangeTmp = slices.Grow(e.rangeTmp[:0], len(rs))[:len(rs)]
	rs = sortRanges(rs, e.rangeTmp)
	// Sorted by start, objects that do not overlap each begin at or past
	// the end of the one before, or are the one before written twice.
	for i := 1; i < len(rs); i++ {
		if a, b := rs[i-1], rs[i]; b.start < a.end && a != b {
			return true
		}
	}
	return false
}

// disjoint reports true if no two of the objects share a byte. It paints
// them in a bitmap of the span of addresses they lie in, a bit for as
// many bytes as all starts are aligned to, and stops at the first bit
// painted twice: in time and memory linear in the number of objects and
// their span, where sorting them takes n log n. A bit painted twice may
// be two objects sharing a byte, one object written twice or two that
// share only the bytes of a bit; then, or when the span is too wide for
// the bitmap, it reports false and overlap sorts them to know.
func (e *encoder) disjoint(rs []objRange) bool {
	lo, hi, diff := rs[0].start, rs[0].end, uintptr(0)
	for _, x := range rs {
		lo, hi = min(lo, x.start), max(hi, x.end)
		diff |= x.start ^ rs[0].start
	}
	if diff == 0 {
		return false // all at one address
	}
	shift := uint(bits.TrailingZeros64(uint64(diff)))
	nbits := (hi-1-lo)>>shift + 1
	if words := nbits / 64; words > uintptr(16*len(rs)) || words > 1<<20 {
		// Spread thin: clearing the bitmap would cost more than sorting
		// (about 16 words a range), or take more than 8 MiB.
		return false
	}
	m := slices.Grow(e.cells[:0], int(nbits/64+1))[:nbits/64+1]
	clear(m)
	e.cells = m
	for _, x := range rs {
		a, b := (x.start-lo)>>shift, (x.end-1-lo)>>shift // first and last bits
		first, last := ^uint64(0)<<(a%64), ^uint64(0)>>(63-b%64)
		if a/64 == b/64 {
			w := &m[a/64]
			if *w&first&last != 0 {
				return false
			}
			*w |= first & last
			continue
		}
		if m[a/64]&first != 0 || m[b/64]&last != 0 {
			return false
		}
		m[a/64] |= first
		m[b/64] |= last
		for i := a/64 + 1; i < b/64; i++ {
			if m[i] != 0 {
				return false
			}
			m[i] = ^uint64(0)
		}
	}
	return true
}

// sortRanges sorts s by start address, using tmp (as long as s) as
// scratch, and returns the sorted slice, which is s or tmp. A radix sort,
// on digits of up to 11 bits of the starts' offsets from the lowest: the
// objects of a message usually lie within a few megabytes, so two or
// three linear passes do, where a comparison sort takes n log n.
func sortRanges(s, tmp []objRange) []objRange {
	if len(s) < 64 {
		slices.SortFunc(s, func(a, b objRange) int { return cmp.Compare(a.start, b.start) })
		return s
	}
	// The keys are the starts less the lowest, without the low bits that
	// all share (alignment), in digits of at most 11 bits.
	lo, hi, diff := s[0].start, s[0].start, uintptr(0)
	for _, x := range s {
		lo, hi = min(lo, x.start), max(hi, x.start)
		diff |= x.start ^ s[0].start
	}
	shift := uint(bits.TrailingZeros64(uint64(diff)))
	width := uint(bits.Len64(uint64(hi-lo) >> shift))
	if width == 0 {
		return s // one start for all
	}
	passes := (width + 10) / 11
	digit := (width + passes - 1) / passes
	mask := uintptr(1)<<digit - 1
	var c [1 << 11]int
	for range passes {
		clear(c[:mask+1])
		for _, x := range s {
			c[(x.start-lo)>>shift&mask&(1<<11-1)]++
		}
		sum := 0
		for d, n := range c[:mask+1] {
			c[d] = sum
			sum += n
		}
		for _, x := range s {
			d := (x.start - lo) >> shift & mask & (1<<11 - 1)
			tmp[c[d]] = x
			c[d]++
		}
		s, tmp = tmp, s
		shift += digit
	}
	return s
}

// findInterior maps every object that lies inside another, as a value of
// its type, to the outermost such container, and lists the containers.
func findInterior(objs []objRec) (map[memoKey]objRec, map[memoKey]bool) {
	sorted := slices.Clone(objs)
	slices.SortFunc(sorted, func(a, b objRec) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end > b.end {
				return -1
			}
			return 1
		}
		return 0
	})
	var in map[memoKey]objRec
	var containers map[memoKey]bool
	add := func(c, x objRec) {
		if x.key == c.key || !recFits(c, x) {
			return
		}
		if in == nil {
			in, containers = map[memoKey]objRec{}, map[memoKey]bool{}
		}
		in[x.key] = c
		containers[c.key] = true
	}
	// Overlapping objects form groups; each group's container is its
	// first object if that covers the group, else, for slices that
	// overlap without one holding the other, a slice of the same type
	// over their union (the backing array they share).
	for lo := 0; lo < len(sorted); {
		first := sorted[lo]
		end, hi := first.end, lo+1
		for ; hi < len(sorted) && sorted[hi].start < end; hi++ {
			end = max(end, sorted[hi].end)
		}
		group := sorted[lo:hi]
		lo = hi
		if len(group) == 1 {
			continue
		}
		c := first
		if end > first.end {
			ti := first.key.ti
			size := uintptr(0)
			if ti.kind == kSlice {
				size = ti.elem.size
			}
			if size == 0 || (end-first.start)%size != 0 {
				// No container for the whole group: each object holds
				// those inside it.
				outer := 0
				for i, x := range group[1:] {
					if x.start < group[outer].end && x.end <= group[outer].end {
						add(group[outer], x)
					} else {
						outer = i + 1
					}
				}
				continue
			}
			c = objRec{first.start, end, memoKey{first.key.p, ti, int((end - first.start) / size)}}
		}
		for _, x := range group {
			add(c, x)
		}
	}
	return in, containers
}

// recFits reports whether x lies in c as a value of x's type.
func recFits(c, x objRec) bool {
	u, n := x.key.ti.elem, x.key.n
	off := x.start - c.start
	if c.key.ti.kind == kPtr {
		return within(c.key.ti.elem, off, u, n)
	}
	return withinSeq(c.key.ti.elem, c.key.n, off, u, n)
}

// within reports whether, in a value of type t, the bytes at off hold a u
// (n == 0, for a pointer) or n consecutive elements of an array of u (for
// a slice).
func within(t *typeInfo, off uintptr, u *typeInfo, n int) bool {
	if t == u && off == 0 && n <= 1 {
		return true
	}
	switch t.kind {
	case kArray:
		return withinSeq(t.elem, t.t.Len(), off, u, n)
	case kStruct:
		for _, f := range t.fields {
			if off >= f.offset && off < f.offset+f.info.size {
				return within(f.info, off-f.offset, u, n)
			}
		}
	}
	return false
}

// withinSeq is within for count consecutive values of type t.
func withinSeq(t *typeInfo, count int, off uintptr, u *typeInfo, n int) bool {
	if t.size == 0 || count <= 0 {
		return false
	}
	i := off / t.size
	if i >= uintptr(count) {
		return false
	}
	if t == u && n >= 1 && off%t.size == 0 {
		return i+uintptr(n) <= uintptr(count)
	}
	return within(t, off-i*t.size, u, n)
}

// memoID returns the memo id of k, if the message has written it.
func (e *encoder) memoID(k memoKey) (uint64, bool) {
	if e.nmemo <= uint64(len(e.memoFew)) { // as in seen
		for i, x := range e.memoFew[:e.nmemo] {
			if x == k {
				return uint64(i), true
			}
		}
		return 0, false
	}
	v, ok := e.memo.get(uintptr(k.p))
	if !ok {
		return 0, false
	}
	if v.ti != k.ti || v.n != k.n {
		id, ok := e.memoAlt[k]
		return id, ok
	}
	return v.id, true
}

// encInterior writes a pointer (n == 0) or a slice of n elements at
// address at, which lies in container c.
func (e *encoder) encInterior(c objRec, at uintptr, n int) error {
	off := at - c.start
	if id, ok := e.memoID(c.key); ok {
		e.buf = append(e.buf, refInterior)
		e.buf = binary.AppendUvarint(e.buf, id)
		e.buf = binary.AppendUvarint(e.buf, uint64(off))
		if n > 0 {
			e.buf = binary.AppendUvarint(e.buf, uint64(n))
		}
		return nil
	}
	tid, err := e.typeID(c.key.ti)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, refInteriorNew)
	e.buf = binary.AppendUvarint(e.buf, tid)
	e.buf = binary.AppendUvarint(e.buf, uint64(off))
	if n > 0 {
		e.buf = binary.AppendUvarint(e.buf, uint64(n))
	}
	if ti := c.key.ti; ti.kind == kSlice && !ti.memo {
		// Its own plan writes it, marked as tracked.
		return ti.enc(e, unsafe.Pointer(&sliceHeader{c.key.p, c.key.n, c.key.n}))
	}
	e.seen(c.key) // not seen yet: this gives the container its memo id
	if c.key.ti.kind == kSlice {
		return e.sliceElems(c.key.ti, &sliceHeader{c.key.p, c.key.n, c.key.n})
	}
	if e.depth++; e.depth > e.opts.maxDepth {
		return &DepthError{Limit: e.opts.maxDepth}
	}
	err = c.key.ti.elem.enc(e, c.key.p)
	e.depth--
	return err
}

// interior reads the rest of a refInterior or refInteriorNew header, for
// a pointer to a u (slice false) or a slice of u: it returns the address
// inside the container and, for a slice, the length.
func (d *decoder) interior(h uint64, u *typeInfo, slice bool) (unsafe.Pointer, int, error) {
	at := d.r.offset()
	var k, tid uint64
	var err error
	if h == refInterior {
		k, err = d.r.uvarint("container object")
	} else {
		tid, err = d.r.uvarint("container type")
	}
	if err != nil {
		return nil, 0, err
	}
	off, err := d.r.uvarint("offset in the container")
	if err != nil {
		return nil, 0, err
	}
	n := 0
	if slice {
		if n, err = d.r.length("slice length", 0); err != nil {
			return nil, 0, err
		}
		if n == 0 {
			return nil, 0, &DecodeError{Offset: at, Msg: "an interior slice of no elements"}
		}
	}
	var m memoObj
	if h == refInterior {
		if k >= uint64(len(d.memo)) {
			return nil, 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference to object #%d, but only %d objects precede it", k, len(d.memo))}
		}
		m = d.memo[k]
	} else if m, err = d.container(at, tid); err != nil {
		return nil, 0, err
	}
	var fits bool
	if m.ti.kind == kPtr {
		fits = off < uint64(m.ti.elem.size) && within(m.ti.elem, uintptr(off), u, n)
	} else {
		fits = m.ti.kind == kSlice && withinSeq(m.ti.elem, m.n, uintptr(off), u, n)
	}
	if !fits {
		what := u.t.String()
		if slice {
			what = fmt.Sprintf("%d elements of type %s", n, u.t)
		}
		return nil, 0, &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference at offset %d of a %s, where there is no %s", off, m.ti.t, what)}
	}
	return unsafe.Add(m.p, off), n, nil
}

// container decodes the container object of a refInteriorNew header, of
// stream type tid: a pointer's target or a slice's elements.
func (d *decoder) container(at int, tid uint64) (memoObj, error) {
	w := d.types.lookup(tid)
	if w == nil || w.kind != kPtr && w.kind != kSlice {
		return memoObj{}, &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference into type #%d, which is not a pointer or slice type", tid)}
	}
	ct, err := d.resolve(w)
	if err != nil {
		return memoObj{}, err
	}
	cti := infoOf(ct)
	if cti.kind == kSlice && !cti.memo {
		// Written by its own plan, marked as tracked.
		before := len(d.memo)
		var h sliceHeader
		if err := cti.dec(d, unsafe.Pointer(&h)); err != nil {
			return memoObj{}, err
		}
		if len(d.memo) <= before || d.memo[before].p != h.data || h.data == nil {
			return memoObj{}, &DecodeError{Offset: at, Msg: fmt.Sprintf("interior reference into a %s that is not marked as tracked", ct)}
		}
		return d.memo[before], nil
	}
	if d.depth++; d.depth > d.opts.maxDepth {
		return memoObj{}, &DepthError{Limit: d.opts.maxDepth}
	}
	defer func() { d.depth-- }()
	if cti.kind == kPtr {
		if cti.elem.minWire > uint64(d.r.remaining()) {
			return memoObj{}, d.r.fail("a %s takes at least %d bytes, %d are left", cti.elem.t, cti.elem.minWire, d.r.remaining())
		}
		obj := newObject(cti.elem)
		m := memoObj{obj, 0, cti}
		d.memo = append(d.memo, m)
		return m, cti.elem.dec(d, obj)
	}
	minSize := 1
	if cti.elem.size == 0 {
		minSize = 0
	}
	n, err := d.r.length("slice length", minSize)
	if err != nil {
		return memoObj{}, err
	}
	if n == 0 {
		return memoObj{}, &DecodeError{Offset: at, Msg: "an interior reference into an empty slice"}
	}
	s := newSlice(cti, n)
	m := memoObj{s, n, cti}
	d.memo = append(d.memo, m)
	dec, size := cti.elem.dec, cti.elem.size
	for i := range n {
		if err := dec(d, unsafe.Add(s, uintptr(i)*size)); err != nil {
			return m, err
		}
	}
	return m, nil
}

func newObject(ti *typeInfo) unsafe.Pointer { return newValue(ti) }

func newSlice(ti *typeInfo, n int) unsafe.Pointer { return newArray(ti, n) }
