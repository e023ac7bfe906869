package binref

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// This file checks runtime type descriptors before the runtime uses them.
// The structs below mirror internal/abi of the Go release that built the
// binary (Go 1.26); TestDescriptorLayout checks them against every type the
// runtime lists, so a layout change in a new release fails the tests
// instead of letting a bad descriptor through.

// rtype mirrors abi.Type, the header every descriptor starts with.
type rtype struct {
	size       uintptr
	ptrBytes   uintptr
	hash       uint32
	tflag      uint8
	align      uint8
	fieldAlign uint8
	kind       uint8
	equal      uintptr
	gcdata     uintptr
	str        int32
	ptrToThis  int32
}

const (
	typeHeaderSize = unsafe.Sizeof(rtype{})
	typeHashOff    = unsafe.Offsetof(rtype{}.hash)

	tflagUncommon  = 1 << 0
	tflagExtraStar = 1 << 1

	wordSize = unsafe.Sizeof(uintptr(0))
)

type uncommonType struct {
	pkgPath int32
	mcount  uint16
	xcount  uint16
	moff    uint32
	_       uint32
}

type method struct{ name, mtyp, ifn, tfn int32 }

type imethod struct{ name, typ int32 }

type arrayType struct {
	rtype
	elem, slice, len uintptr
}

type chanType struct {
	rtype
	elem, dir uintptr
}

type funcType struct {
	rtype
	inCount, outCount uint16
}

type interfaceType struct {
	rtype
	pkgPath                 uintptr
	methods, nmethods, capm uintptr
}

type mapType struct {
	rtype
	key, elem, group, hasher    uintptr
	groupSize, slotSize, elemOf uintptr
	flags                       uint32
}

type ptrType struct {
	rtype
	elem uintptr
}

type structType struct {
	rtype
	pkgPath               uintptr
	fields, nfields, capf uintptr
}

type structField struct{ name, typ, offset uintptr }

// kindSize is the size of the kind-specific descriptor, after which the
// uncommon data (methods, package path) follows.
func kindSize(k reflect.Kind) uintptr {
	switch k {
	case reflect.Array:
		return unsafe.Sizeof(arrayType{})
	case reflect.Chan:
		return unsafe.Sizeof(chanType{})
	case reflect.Func:
		return unsafe.Sizeof(funcType{})
	case reflect.Interface:
		return unsafe.Sizeof(interfaceType{})
	case reflect.Map:
		return unsafe.Sizeof(mapType{})
	case reflect.Pointer, reflect.Slice:
		return unsafe.Sizeof(ptrType{})
	case reflect.Struct:
		return unsafe.Sizeof(structType{})
	}
	return typeHeaderSize
}

// fixedSize is the size of a value of kind k, or 0 if it depends on the type.
func fixedSize(k reflect.Kind) uintptr {
	switch k {
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		return 1
	case reflect.Int16, reflect.Uint16:
		return 2
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		return 4
	case reflect.Int64, reflect.Uint64, reflect.Float64, reflect.Complex64:
		return 8
	case reflect.Complex128:
		return 16
	case reflect.Int, reflect.Uint, reflect.Uintptr,
		reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return wordSize
	case reflect.String, reflect.Interface:
		return 2 * wordSize
	case reflect.Slice:
		return 3 * wordSize
	}
	return 0
}

// maxDescriptors bounds the work one TypeAt does on a hostile reference.
const maxDescriptors = 1 << 16

// A validator walks the descriptors reachable from one type and reports
// the first thing the runtime would trip on. Descriptors already seen in
// this walk are taken as valid, which makes recursive types terminate.
type validator struct {
	im   *image
	seen map[uintptr]bool
}

// remember records the descriptors of a successful walk in the image's
// set of valid descriptors: they are immutable, so later walks stop there.
func (v *validator) remember() {
	for addr := range v.seen {
		v.im.valid.add(addr)
	}
}

// A descriptorSet is a set of addresses in the type section, one bit per
// word, safe for concurrent use. A walk's first question about each
// descriptor is whether an earlier walk checked it; a bit answers that
// without hashing or allocating, which a sync.Map did not (it was most of
// the cost of a first TypeAt). The bits cost one byte per 64 bytes of type
// section.
type descriptorSet struct {
	base uintptr
	bits []atomic.Uint64
}

func newDescriptorSet(types span) *descriptorSet {
	words := (types.end - types.start) / wordSize
	return &descriptorSet{base: types.start, bits: make([]atomic.Uint64, (words+63)/64)}
}

func (s *descriptorSet) index(addr uintptr) (i uintptr, ok bool) {
	i = (addr - s.base) / wordSize
	return i, addr >= s.base && addr%wordSize == 0 && i/64 < uintptr(len(s.bits))
}

func (s *descriptorSet) has(addr uintptr) bool {
	i, ok := s.index(addr)
	return ok && s.bits[i/64].Load()&(1<<(i%64)) != 0
}

// add records addr; addresses outside the type section are ignored.
func (s *descriptorSet) add(addr uintptr) {
	if i, ok := s.index(addr); ok {
		s.bits[i/64].Or(1 << (i % 64))
	}
}

// clear empties the set, for tests and benchmarks.
func (s *descriptorSet) clear() {
	for i := range s.bits {
		s.bits[i].Store(0)
	}
}

// read copies the value of type T at addr if all of it lies in the type
// section and addr is aligned for T.
func read[T any](v *validator, addr uintptr) (T, bool) {
	var x T
	if addr%unsafe.Alignof(x) != 0 || !v.im.types.contains(addr, unsafe.Sizeof(x)) {
		return x, false
	}
	return *(*T)(at(addr)), true
}

func readU32(addr uintptr) uint32 { return *(*uint32)(at(addr)) }

// name decodes the abi.Name at addr: a flag byte, a varint length and the
// bytes, then an optional tag (varint length and bytes) and an optional
// package path (a name offset). Every byte must lie in the type section.
func (v *validator) name(addr uintptr) (string, bool) {
	span := v.im.types
	if !span.contains(addr, 1) {
		return "", false
	}
	flags := *(*byte)(at(addr))
	p := addr + 1
	varint := func() (uintptr, bool) {
		var n uintptr
		for shift := 0; shift < 28; shift += 7 {
			if !span.contains(p, 1) {
				return 0, false
			}
			b := *(*byte)(at(p))
			p++
			n |= uintptr(b&0x7f) << shift
			if b&0x80 == 0 {
				return n, true
			}
		}
		return 0, false
	}
	n, ok := varint()
	if !ok || !span.contains(p, n) {
		return "", false
	}
	s := unsafe.String((*byte)(at(p)), n)
	p += n
	if flags&(1<<1) != 0 { // tag
		n, ok := varint()
		if !ok || !span.contains(p, n) {
			return "", false
		}
		p += n
	}
	if flags&(1<<2) != 0 { // package path
		if !span.contains(p, 4) {
			return "", false
		}
		off := int32(*(*byte)(at(p))) | int32(*(*byte)(at(p + 1)))<<8 | int32(*(*byte)(at(p + 2)))<<16 | int32(*(*byte)(at(p + 3)))<<24
		if off != 0 {
			if pkg := v.im.types.start + uintptr(off); off < 0 || !span.contains(pkg, 2) || *(*byte)(at(pkg))&(1<<2) != 0 {
				return "", false
			}
			if _, ok := v.name(v.im.types.start + uintptr(off)); !ok {
				return "", false
			}
		}
	}
	return s, true
}

// nameOff decodes the name at a name offset from the type section.
func (v *validator) nameOff(off int32) (string, bool) {
	if off <= 0 {
		return "", false
	}
	return v.name(v.im.types.start + uintptr(off))
}

// typeOff returns the descriptor at a type offset; 0 and -1 mean none.
func (v *validator) typeOff(off int32) (addr uintptr, none bool) {
	if off == 0 || off == -1 {
		return 0, true
	}
	return v.im.types.start + uintptr(off), false
}

// typeString returns the String() of the descriptor at addr, as the
// runtime computes it, if its header and name are readable.
func (v *validator) typeString(addr uintptr) (string, bool) {
	h, ok := read[rtype](v, addr)
	if !ok {
		return "", false
	}
	s, ok := v.nameOff(h.str)
	if !ok {
		return "", false
	}
	if h.tflag&tflagExtraStar != 0 {
		if len(s) == 0 {
			return "", false
		}
		s = s[1:]
	}
	return s, true
}

// check returns "" if the descriptor at addr, and everything it refers to,
// is where the runtime will look for it, or what is wrong.
func (v *validator) check(addr uintptr) string {
	if v.seen[addr] {
		return ""
	}
	if v.im.valid.has(addr) {
		return ""
	}
	if len(v.seen) >= maxDescriptors {
		return "too many descriptors"
	}
	h, ok := read[rtype](v, addr)
	if !ok {
		return fmt.Sprintf("descriptor %#x is not in the type section", addr)
	}
	v.seen[addr] = true
	k := reflect.Kind(h.kind)
	if k == reflect.Invalid || k > reflect.UnsafePointer {
		return fmt.Sprintf("descriptor %#x has kind %d", addr, h.kind)
	}
	if _, ok := v.typeString(addr); !ok {
		return fmt.Sprintf("descriptor %#x has no readable name", addr)
	}
	if fixed := fixedSize(k); (fixed != 0 && h.size != fixed) || h.ptrBytes > h.size {
		return fmt.Sprintf("descriptor %#x: size %d, pointer bytes %d for a %v", addr, h.size, h.ptrBytes, k)
	}
	if !isPow2(h.align) || !isPow2(h.fieldAlign) || h.align > 64 || h.fieldAlign > 64 {
		return fmt.Sprintf("descriptor %#x: alignment %d/%d", addr, h.align, h.fieldAlign)
	}
	if h.equal != 0 && !v.im.inImage(h.equal, wordSize) {
		return fmt.Sprintf("descriptor %#x: equality function outside the executable", addr)
	}
	if h.ptrBytes > 0 && !v.im.inImage(h.gcdata, 1) {
		return fmt.Sprintf("descriptor %#x: pointer mask outside the executable", addr)
	}
	if p, none := v.typeOff(h.ptrToThis); !none {
		pt, ok := read[ptrType](v, p)
		if !ok || reflect.Kind(pt.kind) != reflect.Pointer || pt.elem != addr {
			return fmt.Sprintf("descriptor %#x: its pointer type %#x does not point back", addr, p)
		}
		if why := v.check(p); why != "" {
			return why
		}
	}
	if !v.im.types.contains(addr, kindSize(k)) {
		return fmt.Sprintf("descriptor %#x: truncated %v descriptor", addr, k)
	}
	extra := addr + kindSize(k) // uncommon data, then a func's parameters
	if h.tflag&tflagUncommon != 0 {
		if why := v.checkUncommon(extra); why != "" {
			return fmt.Sprintf("descriptor %#x: %s", addr, why)
		}
		extra += unsafe.Sizeof(uncommonType{})
	}
	switch k {
	case reflect.Array:
		t := *(*arrayType)(at(addr))
		if why := v.check(t.elem); why != "" {
			return why
		}
		if t.slice != 0 {
			if why := v.check(t.slice); why != "" {
				return why
			}
		}
		esize := (*rtype)(at(t.elem)).size
		if esize != 0 && (t.len > h.size/esize || t.len*esize != h.size) || esize == 0 && h.size != 0 {
			return fmt.Sprintf("descriptor %#x: array of %d elements of size %d has size %d", addr, t.len, esize, h.size)
		}
	case reflect.Chan:
		t := *(*chanType)(at(addr))
		if t.dir < 1 || t.dir > 3 {
			return fmt.Sprintf("descriptor %#x: channel direction %d", addr, t.dir)
		}
		return v.check(t.elem)
	case reflect.Func:
		t := *(*funcType)(at(addr))
		n := uintptr(t.inCount) + uintptr(t.outCount&(1<<15-1))
		if !v.im.types.contains(extra, n*wordSize) {
			return fmt.Sprintf("descriptor %#x: truncated parameter list", addr)
		}
		for i := range n {
			if why := v.check(readWord(extra + i*wordSize)); why != "" {
				return why
			}
		}
	case reflect.Interface:
		t := *(*interfaceType)(at(addr))
		if t.pkgPath != 0 {
			if _, ok := v.name(t.pkgPath); !ok {
				return fmt.Sprintf("descriptor %#x: bad package path", addr)
			}
		}
		if t.nmethods > 1<<16 || t.methods%4 != 0 || !v.im.types.contains(t.methods, t.nmethods*unsafe.Sizeof(imethod{})) {
			return fmt.Sprintf("descriptor %#x: method table out of the type section", addr)
		}
		for i := range t.nmethods {
			m := *(*imethod)(at(t.methods + i*unsafe.Sizeof(imethod{})))
			if _, ok := v.nameOff(m.name); !ok {
				return fmt.Sprintf("descriptor %#x: bad method name", addr)
			}
			if why := v.checkFuncOff(m.typ); why != "" {
				return why
			}
		}
	case reflect.Map:
		t := *(*mapType)(at(addr))
		for _, e := range []uintptr{t.key, t.elem, t.group} {
			if why := v.check(e); why != "" {
				return why
			}
		}
		if !v.im.inImage(t.hasher, wordSize) {
			return fmt.Sprintf("descriptor %#x: hash function outside the executable", addr)
		}
	case reflect.Pointer, reflect.Slice:
		return v.check((*ptrType)(at(addr)).elem)
	case reflect.Struct:
		t := *(*structType)(at(addr))
		if t.pkgPath != 0 {
			if _, ok := v.name(t.pkgPath); !ok {
				return fmt.Sprintf("descriptor %#x: bad package path", addr)
			}
		}
		fsize := unsafe.Sizeof(structField{})
		if t.nfields > 1<<20 || !v.im.types.contains(t.fields, t.nfields*fsize) || t.fields%wordSize != 0 {
			return fmt.Sprintf("descriptor %#x: field table out of the type section", addr)
		}
		for i := range t.nfields {
			f := *(*structField)(at(t.fields + i*fsize))
			if _, ok := v.name(f.name); !ok {
				return fmt.Sprintf("descriptor %#x: bad name for field %d", addr, i)
			}
			if why := v.check(f.typ); why != "" {
				return why
			}
			if fs := (*rtype)(at(f.typ)).size; f.offset > h.size || fs > h.size-f.offset {
				return fmt.Sprintf("descriptor %#x: field %d at %d overflows the struct", addr, i, f.offset)
			}
		}
	}
	return ""
}

// checkUncommon checks a type's package path and method table.
func (v *validator) checkUncommon(addr uintptr) string {
	u, ok := read[uncommonType](v, addr)
	if !ok {
		return "truncated uncommon data"
	}
	if u.pkgPath != 0 {
		if _, ok := v.nameOff(u.pkgPath); !ok {
			return "bad package path"
		}
	}
	if u.xcount > u.mcount {
		return "more exported methods than methods"
	}
	msize := unsafe.Sizeof(method{})
	first := addr + uintptr(u.moff)
	if u.mcount > 0 && (first%4 != 0 || !v.im.types.contains(first, uintptr(u.mcount)*msize)) {
		return "method table out of the type section"
	}
	textLen := v.im.text.end - v.im.text.start
	for i := range uintptr(u.mcount) {
		m := *(*method)(at(first + i*msize))
		if _, ok := v.nameOff(m.name); !ok {
			return "bad method name"
		}
		if why := v.checkFuncOff(m.mtyp); why != "" {
			return why
		}
		for _, off := range []int32{m.ifn, m.tfn} {
			if off != -1 && (off < 0 || uintptr(off) > textLen) {
				return "method code out of the text"
			}
		}
	}
	return ""
}

// checkFuncOff checks a method's type: none, or a func descriptor.
func (v *validator) checkFuncOff(off int32) string {
	p, none := v.typeOff(off)
	if none {
		return ""
	}
	if h, ok := read[rtype](v, p); !ok || reflect.Kind(h.kind) != reflect.Func {
		return fmt.Sprintf("method type %#x is not a func descriptor", p)
	}
	return v.check(p)
}

func isPow2(x uint8) bool { return x != 0 && x&(x-1) == 0 }
