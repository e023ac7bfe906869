package codec

// minWire returns the fewest bytes a value of ti's type encodes to. The
// decoder checks it against the bytes left before allocating a value.
func minWire(ti *typeInfo, visiting map[*typeInfo]bool) uint64 {
	const limit = 1 << 40
	switch ti.kind {
	case kFloat32, kFloat64, kComplex64, kComplex128:
		return uint64(ti.size)
	case kArray:
		if visiting[ti] {
			return 0
		}
		visiting[ti] = true
		defer delete(visiting, ti)
		if ti.bulk {
			return uint64(ti.size)
		}
		return min(limit, uint64(ti.t.Len())*minWire(ti.elem, visiting))
	case kStruct:
		if visiting[ti] {
			return 0
		}
		visiting[ti] = true
		defer delete(visiting, ti)
		var n uint64
		for _, f := range ti.fields {
			n = min(limit, n+minWire(f.info, visiting))
		}
		return n
	case 0:
		return 0
	}
	return 1
}

// compilePlans fills in ti's encode and decode plans and the flags they
// depend on. It runs once per type, after every type ti is made of has
// been built.
func compilePlans(ti *typeInfo) {
	ti.memo = ti.kind == kSlice && mayCycle(ti.elem, map[*typeInfo]bool{})
	ti.minWire = minWire(ti, map[*typeInfo]bool{})
	ti.enc = compileEnc(ti)
	ti.dec = compileDec(ti)
}
