package codec

// compilePlans fills in ti's encode and decode plans and the flags they
// depend on. It runs once per type, after every type ti is made of has
// been built.
func compilePlans(ti *typeInfo) {
	ti.memo = ti.kind == kSlice && mayCycle(ti.elem, map[*typeInfo]bool{})
	ti.enc = compileEnc(ti)
	ti.dec = compileDec(ti)
}
