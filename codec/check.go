package codec

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"unsafe"
)

// Check lists every part of v that cannot be sent, not only the first: each
// Problem names its path from the root (.Cfg.Log.out, [3], ["key"],
// .(*pkg.T).field), its type, the reason and the fix. A nil result means
// Marshal(v) will not refuse v (it can still fail on a MarshalCodec,
// MarshalBinary or similar method returning an error).
//
// For an empty slice, map or nil pointer whose element type can never be
// sent, the path uses [*] for "any element" and [*key] for "any key": the
// type is refused whatever it holds.
//
// Open files and handles (HandleMarshaler) are reported, since Marshal
// refuses them; mproc's calls pass them as handles (see Sendable).
//
// Check walks the whole value, following pointers once each; its cost is
// that of encoding v, with reflection.
func Check(v any) []Problem { return check(v, false) }

// check is Check; passing accepts open files and handles, as an encoder
// that passes them does, except files that cannot be passed (closed).
func check(v any, passing bool) []Problem {
	if v == nil {
		return nil
	}
	c := checker{seen: map[memoKey]bool{}, passing: passing}
	root := reflect.New(reflect.TypeOf(v)).Elem()
	root.Set(reflect.ValueOf(v))
	c.walk(root, "", 0)
	return c.problems
}

type checker struct {
	problems []Problem
	seen     map[memoKey]bool
	passing  bool
}

func (c *checker) add(path string, ps []Problem) {
	for _, p := range ps {
		p.Path = path + p.Path
		c.problems = append(c.problems, p)
	}
}

// walk checks v, which is addressable.
func (c *checker) walk(v reflect.Value, path string, depth int) {
	ti := infoOf(v.Type())
	if !ti.dynamic {
		return
	}
	if _, _, bad := leafProblem(ti.t); bad && len(ti.problems) > 0 {
		c.add(path, ti.problems)
		return
	}
	if depth > DefaultMaxDepth {
		c.problems = append(c.problems, Problem{Path: path, Type: ti.t.String(),
			Reason: fmt.Sprintf("nested more than %d levels deep", DefaultMaxDepth),
			Fix:    "raise the limit with codec.MaxDepth, or send a long linked list as a slice"})
		return
	}
	// Strip the read-only flag of values reached through unexported
	// fields: Check only reads.
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	switch ti.kind {
	case kPtr:
		if v.IsNil() {
			c.add(path, ti.problems)
			return
		}
		if c.once(memoKey{v.UnsafePointer(), ti, 0}) {
			c.walk(v.Elem(), path, depth+1)
		}
	case kStruct:
		for i, f := range ti.fields {
			if f.info.dynamic {
				c.walk(v.Field(i), path+"."+f.name, depth)
			}
		}
	case kArray:
		for i := range v.Len() {
			c.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), depth)
		}
	case kSlice:
		if v.Len() == 0 {
			c.add(path, ti.problems)
			return
		}
		if c.once(memoKey{v.UnsafePointer(), ti, v.Len()}) {
			for i := range v.Len() {
				c.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	case kMap:
		if v.Len() == 0 {
			c.add(path, ti.problems)
			return
		}
		if !c.once(memoKey{v.UnsafePointer(), ti, 0}) {
			return
		}
		k := reflect.New(ti.key.t).Elem()
		e := reflect.New(ti.elem.t).Elem()
		for it := v.MapRange(); it.Next(); {
			k.SetIterKey(it)
			e.SetIterValue(it)
			kp := path + "[" + formatKey(k) + "]"
			c.walk(k, kp, depth+1)
			c.walk(e, kp, depth+1)
		}
	case kInterface:
		if v.IsNil() {
			return
		}
		x := v.Elem()
		cp := reflect.New(x.Type()).Elem()
		cp.Set(x)
		c.walk(cp, path+".("+x.Type().String()+")", depth+1)
	case kFunc:
		if len(ti.problems) > 0 {
			c.add(path, ti.problems)
			return
		}
		if v.IsNil() {
			return
		}
		fi := funcInfo(v)
		fv := *(*unsafe.Pointer)(unsafe.Pointer(v.UnsafeAddr()))
		switch {
		case fi.MethodValue && strings.HasSuffix(fi.Name, "-fm") && !fi.Foreign:
			// Both parts: the method by reference, the receiver by value.
			mv := methodValueOf(ti.t, *(*uintptr)(fv), fi.Name, "")
			if mv.pr != nil {
				c.add(path, []Problem{*mv.pr})
				return
			}
			recv := reflect.New(mv.recv).Elem()
			recv.Set(reflect.NewAt(mv.recv, unsafe.Add(fv, mv.off)).Elem())
			c.walk(recv, path+".(receiver "+mv.recv.String()+")", depth+1)
		case fi.Closure && !fi.MethodValue && !fi.Foreign && fi.Name != "" && dictOf(*(*uintptr)(fv), fv).ok:
		default:
			if pr, bad := funcProblem(ti.t, fi); bad {
				c.add(path, []Problem{pr})
			}
		}
	case kType:
		if !v.IsNil() {
			if pr, bad := typeProblem(v.Interface().(reflect.Type)); bad {
				c.add(path, []Problem{pr})
			}
		}
	case kFile:
		if v.IsNil() {
			return
		}
		if !c.passing {
			c.problems = append(c.problems, Problem{Path: path, Type: ti.t.String(), Reason: reasonFileBytes, Fix: fixFileBytes})
		} else if pr, bad := unusableFile(v.Interface().(*os.File)); bad {
			pr.Path = path
			c.problems = append(c.problems, pr)
		}
	case kHandle:
		if !v.IsNil() && !c.passing {
			c.problems = append(c.problems, Problem{Path: path, Type: ti.t.String(), Reason: reasonHandleBytes, Fix: fixHandleBytes})
		}
	case kHook:
		state, err := hookState(ti, unsafe.Pointer(v.UnsafeAddr()))
		if err != nil || state == nil {
			return
		}
		cp := reflect.New(reflect.TypeOf(state)).Elem()
		cp.Set(reflect.ValueOf(state))
		c.walk(cp, path+".MarshalCodec()", depth+1)
	}
}

// once reports whether k is seen for the first time.
func (c *checker) once(k memoKey) bool {
	if c.seen[k] {
		return false
	}
	c.seen[k] = true
	return true
}

func formatKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return fmt.Sprintf("%q", k.String())
	}
	if k.Kind() == reflect.Interface && !k.IsNil() && k.Elem().Kind() == reflect.String {
		return fmt.Sprintf("%q", k.Elem().String())
	}
	return fmt.Sprint(k)
}

// funcProblem reports whether a func value cannot travel by reference.
func funcProblem(t reflect.Type, fi funcRef) (Problem, bool) {
	pr := Problem{Type: t.String()}
	where := ""
	if fi.File != "" {
		where = fmt.Sprintf(" (%s:%d)", fi.File, fi.Line)
	}
	switch {
	case fi.MethodValue:
		m := strings.TrimSuffix(fi.Name, "-fm")
		if i := strings.LastIndex(m, "/"); i >= 0 {
			m = m[i+1:]
		}
		if i := strings.IndexByte(m, '.'); i >= 0 {
			m = m[i+1:]
		}
		pr.Reason = fmt.Sprintf("method value %s%s is bound to its receiver, which is data in this process", fi.Name, where)
		pr.Fix = fmt.Sprintf("send the method expression %s (or the value-receiver form) and pass the receiver as an argument", methodExpr(m))
	case fi.Closure && strings.Contains(fi.Name, "[...]"):
		// A literal inside generic code is a closure over the generic
		// dictionary even when it captures no variable of its own.
		pr.Reason = fmt.Sprintf("func literal %s%s is made inside a generic function, and captures that function's type arguments "+
			"(its dictionary), which live in this process's memory; only functions without captured state travel, by reference", fi.Name, where)
		pr.Fix = "use a top-level function; a generic top-level function instantiated by name (F[int]) travels too"
	case fi.Closure:
		pr.Reason = fmt.Sprintf("func literal %s%s captures variables, which live in this process's memory; "+
			"only functions without captured state travel, by reference (a name and a position in the binary, never code)", fi.Name, where)
		pr.Fix = "use a top-level function and pass the captured values as arguments, " +
			"or a struct holding them with a method: send the struct and the method expression (*T).M"
	case fi.Foreign || fi.Name == "":
		pr.Reason = fmt.Sprintf("function %s%s is not in the executable's code (a plugin, or made at run time)", fi.Name, where)
		pr.Fix = "send a top-level function of the program itself"
	default:
		return Problem{}, false
	}
	return pr, true
}

// typeProblem reports whether a reflect.Type cannot travel by reference.
func typeProblem(t reflect.Type) (Problem, bool) {
	if _, ok := typeRefOf(t); ok {
		return Problem{}, false
	}
	return Problem{Type: "reflect.Type",
		Reason: fmt.Sprintf("type %s was built at run time (reflect.StructOf, FuncOf...) or comes from a plugin: it has no position in the binary to travel by", t),
		Fix:    "send a reflect.Type of a type the program declares, or describe the type with data"}, true
}

// methodExpr turns "T.M" or "(*T).M" into the method expression to write.
func methodExpr(m string) string {
	if strings.HasPrefix(m, "(") {
		return m
	}
	if i := strings.LastIndexByte(m, '.'); i > 0 {
		return "(*" + m[:i] + ")" + m[i:]
	}
	return m
}

// isDynamic reports whether values of ti's type must be looked at to know
// whether they can be sent.
func isDynamic(ti *typeInfo, visiting map[*typeInfo]bool) bool {
	if len(ti.problems) > 0 {
		return true
	}
	switch ti.kind {
	case kInterface, kFunc, kHook, kType, kFile, kHandle:
		return true
	}
	if visiting[ti] {
		return false
	}
	visiting[ti] = true
	defer delete(visiting, ti)
	switch ti.kind {
	case kArray, kSlice, kPtr:
		return isDynamic(ti.elem, visiting)
	case kMap:
		return isDynamic(ti.key, visiting) || isDynamic(ti.elem, visiting)
	case kStruct:
		for _, f := range ti.fields {
			if isDynamic(f.info, visiting) {
				return true
			}
		}
	}
	return false
}
