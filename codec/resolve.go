package codec

import (
	"fmt"
	"reflect"
)

// resolve finds the local type a wire type stands for. A named type
// resolves by its position in the binary (same build, not Strict) or by
// its registered name; a type made of others (slice, map, pointer...)
// resolves through its parts. The result is checked to have the layout the
// stream describes, so a wrong position or a type of the same name from
// another build is an error, never a misread.
func (d *decoder) resolve(w *wireType) (reflect.Type, error) {
	if w.local != nil || w.localErr != nil {
		return w.local, w.localErr
	}
	t, err := d.resolveUnchecked(w, 0)
	if err == nil && !d.matches(w, infoOf(t)) {
		err = fmt.Errorf("codec: stream type #%d %s does not match local type %s (a different build or version of the type?)", w.id, w.name, t)
	}
	if err == nil {
		if pr := infoOf(t).problems; len(pr) > 0 {
			err = pr[0].err()
		}
	}
	w.local, w.localErr = t, err
	if err != nil {
		w.local = nil
	}
	return w.local, w.localErr
}

const maxResolveDepth = 64

func (d *decoder) resolveUnchecked(w *wireType, depth int) (reflect.Type, error) {
	if w.local != nil {
		return w.local, nil
	}
	if w.built != nil || w.buildErr != nil {
		return w.built, w.buildErr
	}
	t, err := d.build(w, depth)
	if err != nil {
		t = nil
	}
	if depth <= maxResolveDepth {
		w.built, w.buildErr = t, err
	}
	return t, err
}

// maxConstructed bounds the size of an array type built from a stream's
// description (types of the program itself have no such bound).
const maxConstructed = 1 << 20

func (d *decoder) build(w *wireType, depth int) (reflect.Type, error) {
	if depth > maxResolveDepth {
		return nil, fmt.Errorf("codec: stream type #%d %s nests unnamed types too deeply", w.id, w.name)
	}
	switch w.kind {
	case kType:
		return rtypeType, nil
	case kLocation:
		return locationType, nil
	case kFile:
		return fileType, nil
	}
	if w.pkg != "" || w.kind.basic() || w.kind == kInterface || w.kind >= kTime {
		// A named type: by position, or by registered name.
		if !d.opts.strict && w.hasRef {
			t, err := typeAt(w.ref, w.name)
			if err != nil {
				return nil, fmt.Errorf("codec: stream type #%d %s: %w", w.id, w.name, err)
			}
			return t, nil
		}
		if t := registeredType(w.pkg, w.name); t != nil {
			return t, nil
		}
		if w.pkg != "" || w.hasRef {
			how := "codec.Register it in both programs"
			if !d.opts.strict {
				how = "send it from the same build, or " + how
			}
			return nil, fmt.Errorf("codec: stream type #%d %s (package %s) is not known here: %s", w.id, w.name, w.pkg, how)
		}
	}
	if !d.opts.strict && w.hasRef {
		// An unnamed type of this build (a struct with tags or unexported
		// fields) is the program's own, found by its position.
		if t, err := typeAt(w.ref, w.name); err == nil {
			return t, nil
		}
	}
	part := func(id uint64) (reflect.Type, error) {
		x := d.types.lookup(id)
		if x == nil {
			return nil, fmt.Errorf("codec: stream type #%d refers to undefined type #%d", w.id, id)
		}
		return d.resolveUnchecked(x, depth+1)
	}
	switch w.kind {
	case kSlice, kPtr, kArray:
		e, err := part(w.elem)
		if err != nil {
			return nil, err
		}
		switch w.kind {
		case kSlice:
			return reflect.SliceOf(e), nil
		case kPtr:
			return reflect.PointerTo(e), nil
		}
		if w.length > maxConstructed || uint64(e.Size())*w.length > maxConstructed {
			return nil, fmt.Errorf("codec: stream type #%d %s is too large", w.id, w.name)
		}
		return reflect.ArrayOf(int(w.length), e), nil
	case kMap:
		k, err := part(w.key)
		if err != nil {
			return nil, err
		}
		e, err := part(w.elem)
		if err != nil {
			return nil, err
		}
		if !k.Comparable() {
			return nil, fmt.Errorf("codec: stream type #%d %s has a key type %s that is not comparable", w.id, w.name, k)
		}
		return reflect.MapOf(k, e), nil
	case kFunc:
		var in, out []reflect.Type
		for _, id := range w.in {
			x, err := part(id)
			if err != nil {
				return nil, err
			}
			in = append(in, x)
		}
		for _, id := range w.out {
			x, err := part(id)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		if w.variadic && (len(in) == 0 || in[len(in)-1].Kind() != reflect.Slice) {
			return nil, fmt.Errorf("codec: stream type #%d %s is variadic without a final slice parameter", w.id, w.name)
		}
		return reflect.FuncOf(in, out, w.variadic), nil
	case kStruct:
		var fs []reflect.StructField
		for _, f := range w.fields {
			x, err := part(f.typ)
			if err != nil {
				return nil, err
			}
			if f.flags&fieldExported == 0 || !isIdent(f.name) {
				return nil, fmt.Errorf("codec: stream type #%d %s is an unnamed struct with unexported field %q: send it from the same build", w.id, w.name, f.name)
			}
			fs = append(fs, reflect.StructField{Name: f.name, Type: x, Tag: reflect.StructTag(f.tag), Anonymous: f.flags&fieldEmbedded != 0})
		}
		return structOf(fs)
	}
	return nil, fmt.Errorf("codec: stream type #%d %s (%s) cannot be resolved", w.id, w.name, w.kind)
}

func structOf(fs []reflect.StructField) (t reflect.Type, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec: cannot rebuild struct type: %v", r)
		}
	}()
	return reflect.StructOf(fs), nil
}

func isIdent(s string) bool {
	if s == "" || s == "_" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' || c >= 0x80) {
			return false
		}
	}
	return true
}

// matches reports whether the stream's description of a type is exactly the
// layout the codec writes for local type ti.
func (d *decoder) matches(w *wireType, ti *typeInfo) bool {
	if w.lastMatch == ti {
		return true
	}
	if ok, done := w.matched[ti]; done {
		if ok {
			w.lastMatch = ti
		}
		return ok
	}
	ok := d.match(w, ti, map[[2]any]bool{})
	if w.matched == nil {
		w.matched = map[*typeInfo]bool{}
	}
	w.matched[ti] = ok
	return ok
}

func (d *decoder) match(w *wireType, ti *typeInfo, assumed map[[2]any]bool) bool {
	if w == nil || w.kind != ti.kind || w.name != ti.t.String() {
		return false
	}
	key := [2]any{w, ti}
	if assumed[key] {
		return true
	}
	assumed[key] = true
	sub := func(id uint64, x *typeInfo) bool { return d.match(d.types.lookup(id), x, assumed) }
	switch w.kind {
	case kArray:
		return w.length == uint64(ti.t.Len()) && sub(w.elem, ti.elem)
	case kSlice, kPtr:
		return sub(w.elem, ti.elem)
	case kMap:
		return sub(w.key, ti.key) && sub(w.elem, ti.elem)
	case kStruct:
		if len(w.fields) != len(ti.fields) {
			return false
		}
		for i, f := range w.fields {
			if f.name != ti.fields[i].name || f.tag != ti.fields[i].tag || !sub(f.typ, ti.fields[i].info) {
				return false
			}
		}
	case kFunc:
		if len(w.in) != len(ti.in) || len(w.out) != len(ti.out) || w.variadic != ti.t.IsVariadic() {
			return false
		}
		for i, id := range w.in {
			if !sub(id, ti.in[i]) {
				return false
			}
		}
		for i, id := range w.out {
			if !sub(id, ti.out[i]) {
				return false
			}
		}
	}
	return true
}
