package codec

import (
	"encoding/binary"
	"time"
	"unsafe"
)

// A struct's plan runs a flat list of its fields: a field of struct type
// (not one that marshals itself) is its own fields at their offsets, which
// is what its plan writes and reads, so nesting costs nothing. The
// commonest field kinds are written and read inline; every other field
// goes through its type's plan. The wire layout is the same either way.
//
// On decoding, an inline read that meets anything unusual (a short
// message, a value out of range, a zone other than UTC) leaves the reader
// where it was and hands the field to its plan, so errors read exactly as
// the plan words them.
type fieldOp struct {
	off  uintptr
	op   uint8
	info *typeInfo
}

const (
	opPlan uint8 = iota
	opInt64
	opInt32
	opByte
	opBool
	opFloat64
	opString
	opTime
	opStrings // a []string, which never takes a memo id
	opPtr
)

// structOps returns ti's fields flattened, at offsets from base, appended
// to ops.
func structOps(ti *typeInfo, base uintptr, ops []fieldOp) []fieldOp {
	for _, f := range ti.fields {
		x := f.info
		if x.kind == kStruct {
			ops = structOps(x, base+f.offset, ops)
			continue
		}
		op := opPlan
		switch {
		case x.kind == kInt64 || x.kind == kInt && x.size == 8:
			op = opInt64
		case x.kind == kInt32:
			op = opInt32
		case x.kind == kInt8 || x.kind == kUint8:
			op = opByte
		case x.kind == kBool:
			op = opBool
		case x.kind == kFloat64:
			op = opFloat64
		case x.kind == kString:
			op = opString
		case x.kind == kTime:
			op = opTime
		case x.kind == kSlice && x.elem.kind == kString:
			op = opStrings
		case x.kind == kPtr:
			op = opPtr
		}
		ops = append(ops, fieldOp{base + f.offset, op, x})
	}
	return ops
}

func encStruct(ti *typeInfo) encFn {
	ops := structOps(ti, 0, nil)
	return func(e *encoder, p unsafe.Pointer) error {
		// The buffer stays in a local between the plans the loop calls:
		// storing it back at every field costs a field's work again.
		b := e.buf
		for i := range ops {
			o := &ops[i]
			q := unsafe.Add(p, o.off)
			switch o.op {
			case opInt64:
				b = appendVarint(b, *(*int64)(q))
				continue
			case opInt32:
				b = appendVarint(b, int64(*(*int32)(q)))
				continue
			case opByte:
				b = append(b, *(*byte)(q))
				continue
			case opBool:
				b = append(b, *(*byte)(q)&1)
				continue
			case opFloat64:
				b = binary.LittleEndian.AppendUint64(b, *(*uint64)(q))
				continue
			case opString:
				if s := *(*string)(q); e.bulk == 0 || len(s) < e.bulk {
					b = append(binary.AppendUvarint(b, uint64(len(s))), s...)
					continue
				}
			case opTime:
				b = appendTime(b, *(*time.Time)(q))
				continue
			case opStrings:
				// What the slice's plan writes when no object of the
				// message lies inside another.
				h := (*sliceHeader)(q)
				if h.data == nil {
					b = append(b, 0)
					continue
				}
				if e.interior == nil && e.depth < e.opts.maxDepth {
					if h.len > 0 {
						e.record(h.data, uintptr(h.data)+uintptr(h.len)*unsafe.Sizeof(""), o.info, h.len)
					}
					b = binary.AppendUvarint(append(b, 1), uint64(h.len))
					e.buf = b
					for _, s := range unsafe.Slice((*string)(h.data), h.len) {
						e.appendString(s)
					}
					b = e.buf
					continue
				}
			}
			e.buf = b
			if err := o.info.enc(e, q); err != nil {
				return err
			}
			b = e.buf
		}
		e.buf = b
		return nil
	}
}

// appendString writes a string value: its length, then its bytes, which
// past the bulk limit stay in the caller's memory (see appendBulk).
func (e *encoder) appendString(s string) {
	if e.bulk > 0 && len(s) >= e.bulk {
		e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
		e.appendBulk(unsafe.Slice(unsafe.StringData(s), len(s)))
		return
	}
	e.buf = append(binary.AppendUvarint(e.buf, uint64(len(s))), s...)
}

func decStruct(ti *typeInfo) decFn {
	ops := structOps(ti, 0, nil)
	return func(d *decoder, p unsafe.Pointer) error {
		r := &d.r
		for i := range ops {
			o := &ops[i]
			q := unsafe.Add(p, o.off)
			switch o.op {
			case opInt64:
				if pos := r.pos; uint(pos) < uint(len(r.buf)) && r.buf[pos] < 0x80 {
					u := uint64(r.buf[pos])
					r.pos = pos + 1
					*(*int64)(q) = unzigzag(u)
					continue
				}
				if u, n := fastUvarint(r.buf, r.pos); n > 0 {
					r.pos += n
					*(*int64)(q) = unzigzag(u)
					continue
				}
			case opInt32:
				if pos := r.pos; uint(pos) < uint(len(r.buf)) && r.buf[pos] < 0x80 {
					u := uint64(r.buf[pos])
					r.pos = pos + 1
					*(*int32)(q) = int32(unzigzag(u)) // 7 bits: always in range
					continue
				}
				if u, n := fastUvarint(r.buf, r.pos); n > 0 {
					if v := unzigzag(u); int64(int32(v)) == v {
						r.pos += n
						*(*int32)(q) = int32(v)
						continue
					}
				}
			case opByte:
				if r.pos < len(r.buf) {
					*(*byte)(q) = r.buf[r.pos]
					r.pos++
					continue
				}
			case opBool:
				if r.pos < len(r.buf) && r.buf[r.pos] <= 1 {
					*(*bool)(q) = r.buf[r.pos] == 1
					r.pos++
					continue
				}
			case opFloat64:
				if r.pos <= len(r.buf)-8 {
					*(*uint64)(q) = binary.LittleEndian.Uint64(r.buf[r.pos:])
					r.pos += 8
					continue
				}
			case opString:
				if s, ok := d.shortString(); ok {
					*(*string)(q) = s
					continue
				}
				if u, n := fastUvarint(r.buf, r.pos); n > 0 && u <= uint64(len(r.buf)-r.pos-n) {
					r.pos += n
					*(*string)(q) = d.string(int(u))
					continue
				}
			case opTime:
				if d.fastTime((*time.Time)(q)) {
					continue
				}
			case opPtr:
				if d.backRef(o.info, q) {
					continue
				}
			case opStrings:
				// A new slice (header 1) of as many strings as the
				// message can hold; anything else through the plan.
				if r.pos < len(r.buf) && r.buf[r.pos] == 1 && d.depth < d.opts.maxDepth {
					if u, k := fastUvarint(r.buf, r.pos+1); k > 0 && u <= uint64(len(r.buf)-r.pos-1-k) {
						r.pos += 1 + k
						n := int(u)
						s := newArray(o.info, n)
						*(*sliceHeader)(q) = sliceHeader{s, n, n}
						d.depth++
						err := d.readStrings(unsafe.Slice((*string)(s), n), o.info.elem.dec)
						d.depth--
						if err != nil {
							return err
						}
						continue
					}
				}
			}
			if err := o.info.dec(d, q); err != nil {
				return err
			}
		}
		return nil
	}
}

// fastUvarint decodes the varint at b[pos:] and returns it and its length,
// or a length of 0 if it is not there whole or overflows; the caller then
// lets the reader's uvarint say why.
func fastUvarint(b []byte, pos int) (uint64, int) {
	// Up to three bytes (numbers below 2^21: lengths, memo ids, small
	// ints) with a single bounds check.
	if pos >= 0 && pos < len(b)-2 {
		b := b[pos : pos+3]
		if b[0] < 0x80 {
			return uint64(b[0]), 1
		}
		if b[1] < 0x80 {
			return uint64(b[0]&0x7f) | uint64(b[1])<<7, 2
		}
		if b[2] < 0x80 {
			return uint64(b[0]&0x7f) | uint64(b[1]&0x7f)<<7 | uint64(b[2])<<14, 3
		}
	} else if uint(pos) < uint(len(b)) && b[pos] < 0x80 {
		return uint64(b[pos]), 1
	}
	return slowUvarint(b, pos)
}

func slowUvarint(b []byte, pos int) (uint64, int) {
	if pos < 0 || pos > len(b) {
		return 0, 0
	}
	x, n := binary.Uvarint(b[pos:])
	if n <= 0 {
		return 0, 0
	}
	return x, n
}

// utcTail is how a time in UTC ends on the wire, after its instant: the
// zone's name, "UTC", and an offset of 0.
const utcTail = "\x03UTC\x00"

// fastTime reads a time in UTC, the common case, into t; it reports false,
// reading nothing, for any other.
func (d *decoder) fastTime(t *time.Time) bool {
	b := d.r.buf
	pos := d.r.pos
	if pos < 0 || pos > len(b)-17 {
		return false
	}
	b = b[pos : pos+17]
	if string(b[12:17]) != utcTail {
		return false
	}
	nsec := binary.LittleEndian.Uint32(b[8:])
	if nsec >= 1e9 {
		return false
	}
	*t = time.Unix(int64(binary.LittleEndian.Uint64(b)), int64(nsec)).UTC()
	d.r.pos = pos + 17
	return true
}

// readStrings reads the elements of a slice of strings; dec is the
// element type's plan, for any the inline read does not take.
func (d *decoder) readStrings(ss []string, dec decFn) error {
	r := &d.r
	for i := range ss {
		if s, ok := d.shortString(); ok {
			ss[i] = s
			continue
		}
		if u, k := fastUvarint(r.buf, r.pos); k > 0 && u <= uint64(len(r.buf)-r.pos-k) {
			r.pos += k
			ss[i] = d.string(int(u))
			continue
		}
		if err := dec(d, unsafe.Pointer(&ss[i])); err != nil {
			return err
		}
	}
	return nil
}

// shortString reads a string of 1 to 127 bytes cut from the message's
// copy, once there is one: the common case, with no call. It reports
// false, reading nothing, for any other. The copy ends where the message
// does, so its bounds are the message's.
func (d *decoder) shortString() (string, bool) {
	i := d.r.pos + d.shift
	if !d.copied || uint(i) >= uint(len(d.block)) {
		return "", false
	}
	n := int(d.block[i])
	if n == 0 || n >= 0x80 || n >= len(d.block)-i {
		return "", false
	}
	d.r.pos += 1 + n
	return unsafe.String(&d.block[i+1], n), true
}

// backRef reads a pointer of type ti into p if it is a back-reference to
// an object of the message, the commonest pointer of a graph; it reports
// false, reading nothing, for any other.
func (d *decoder) backRef(ti *typeInfo, p unsafe.Pointer) bool {
	u, n := fastUvarint(d.r.buf, d.r.pos)
	if n == 0 || u < refBack || u-refBack >= uint64(len(d.memo)) {
		return false
	}
	m := &d.memo[u-refBack]
	if m.ti != ti {
		return false
	}
	d.r.pos += n
	*(*unsafe.Pointer)(p) = m.p
	return true
}
