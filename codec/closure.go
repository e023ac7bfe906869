package codec

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// This file knows the two kinds of func values the compiler makes that are
// not static functions and still travel:
//
//   - a method value x.M: a funcval holding the entry of the wrapper
//     "T.M-fm" and a copy of the receiver x. The receiver travels by value
//     through the codec, the wrapper by reference;
//   - a function made in generic code (F[T] used as a value inside a
//     generic function, a method expression of a generic type there): a
//     funcval holding the entry of a compiler-made wrapper and a pointer to
//     the instantiation's dictionary, read-only data of the binary. Both
//     travel by position, each verified on arrival.
//
// It also reads what the runtime knows of a function's argument frame,
// which lets the decoder check a function's signature cheaply.

// closureAnchor is the origin the codec computes positions from: its entry
// PC minus its offset as binref reports it is binref's anchor.
//
//go:noinline
func closureAnchor() {}

var anchorPC = sync.OnceValue(func() uintptr {
	v := reflect.ValueOf(closureAnchor)
	return v.Pointer() - uintptr(funcInfo(v).Offset)
})

// rtFunc mirrors the head of the runtime's _func, which *runtime.Func
// points to for a function's entry PC (Go 1.26). funcLayoutOK checks it
// against functions whose values are known before the codec relies on it.
type rtFunc struct {
	entryOff    uint32
	nameOff     int32
	args        int32
	deferreturn uint32
	pcsp        uint32
	pcfile      uint32
	pcln        uint32
	npcdata     uint32
	cuOffset    uint32
	startLine   int32
	funcID      uint8
	flag        uint8
}

const (
	funcIDWrapper   = 23          // abi.FuncIDWrapper: code the compiler made
	argsSizeUnknown = -0x80000000 // abi.ArgsSizeUnknown
)

// funcMeta returns the runtime's record of the function whose entry is pc.
func funcMeta(pc uintptr) (*rtFunc, *runtime.Func) {
	f := runtime.FuncForPC(pc)
	if f == nil || f.Entry() != pc {
		return nil, nil
	}
	return (*rtFunc)(unsafe.Pointer(f)), f
}

type layoutProbe struct{ n int }

func (p layoutProbe) probe(a int) int { return a + p.n }

//go:noinline
func probeFunc(a, b int, s string) int { return a + b + len(s) }

// funcLayoutOK reports whether rtFunc matches the runtime: a plain
// function has a normal ID and its inputs' size, a method value wrapper
// the wrapper ID.
var funcLayoutOK = sync.OnceValue(func() bool {
	plain := reflect.ValueOf(probeFunc).Pointer()
	m, _ := funcMeta(plain)
	if m == nil || m.funcID != 0 || m.args != 32 {
		return false
	}
	mv := reflect.ValueOf(layoutProbe{1}.probe).Pointer()
	w, f := funcMeta(mv)
	return w != nil && w.funcID == funcIDWrapper && w.args == 8 && strings.HasSuffix(f.Name(), "-fm")
})

// argsFits reports whether the function at pc can have type t, by the size
// of its argument frame: a cheap check of a signature taken from a stream.
// It errs on the side of accepting (unknown sizes, architectures whose
// register assignment the codec does not model).
func argsFits(pc uintptr, t reflect.Type) (got, want int, ok bool) {
	if !funcLayoutOK() {
		return 0, 0, true
	}
	m, _ := funcMeta(pc)
	if m == nil || m.args == argsSizeUnknown {
		return 0, 0, true
	}
	want, known := frameSize(t)
	return int(m.args), want, !known || int(m.args) == want
}

// Registers of the internal calling convention (Go's ABIInternal) that
// arguments and results are assigned to.
var intRegs, floatRegs = func() (int, int) {
	switch runtime.GOARCH {
	case "amd64":
		return 9, 15
	case "arm64":
		return 16, 16
	}
	return 0, 0
}()

// frameSize returns the size the runtime records for the argument frame
// of a function of type t under the internal calling convention: the
// arguments and results that do not fit in registers, then spill space for
// the arguments that do. known is false where the convention is not
// modelled.
func frameSize(t reflect.Type) (size int, known bool) {
	if intRegs == 0 {
		return 0, false
	}
	const word = int(unsafe.Sizeof(uintptr(0)))
	var stackIn, stackOut, spill int
	assign := func(x reflect.Type, ints, floats *int) bool {
		i, f := *ints, *floats
		if !regAssign(x, &i, &f) {
			return false
		}
		*ints, *floats = i, f
		return true
	}
	ints, floats := 0, 0
	for i := range t.NumIn() {
		x := t.In(i)
		if assign(x, &ints, &floats) {
			spill = alignUp(spill, x.Align()) + int(x.Size())
		} else {
			stackIn = alignUp(stackIn, x.Align()) + int(x.Size())
		}
	}
	ints, floats = 0, 0
	for i := range t.NumOut() {
		x := t.Out(i)
		if !assign(x, &ints, &floats) {
			stackOut = alignUp(stackOut, x.Align()) + int(x.Size())
		}
	}
	return alignUp(stackIn, word) + alignUp(stackOut, word) + alignUp(spill, word), true
}

// regAssign assigns a value of type x to registers, counting them in ints
// and floats; it fails when x cannot be in registers or they run out.
func regAssign(x reflect.Type, ints, floats *int) bool {
	use := func(n int, p *int, limit int) bool {
		*p += n
		return *p <= limit
	}
	switch x.Kind() {
	case reflect.Float32, reflect.Float64:
		return use(1, floats, floatRegs)
	case reflect.Complex64, reflect.Complex128:
		return use(2, floats, floatRegs)
	case reflect.String, reflect.Interface:
		return use(2, ints, intRegs)
	case reflect.Slice:
		return use(3, ints, intRegs)
	case reflect.Array:
		switch x.Len() {
		case 0:
			return true
		case 1:
			return regAssign(x.Elem(), ints, floats)
		}
		return false
	case reflect.Struct:
		for i := range x.NumField() {
			if !regAssign(x.Field(i).Type, ints, floats) {
				return false
			}
		}
		return true
	}
	return use(1, ints, intRegs)
}

func alignUp(n, a int) int { return (n + a - 1) &^ (a - 1) }

// A closureKind says what a funcval holds besides its code.
const (
	closureMethod = 1 // a method value: the receiver
	closureDict   = 2 // a function made in generic code: a dictionary
)

// A methodValue is what the codec learned about the code of a method value.
type methodValue struct {
	recv   reflect.Type // the receiver's type (T, *T or an interface)
	method string
	off    uintptr // where the receiver lies in the funcval
	pr     *Problem
}

var methodValues sync.Map // methodKey -> methodValue

type methodKey struct {
	pc uintptr
	t  reflect.Type
}

// methodValueOf finds the receiver type of the method value whose wrapper
// is named name (pkg.T.M-fm, pkg.(*T).M-fm) and whose type is t.
func methodValueOf(t reflect.Type, pc uintptr, name, where string) methodValue {
	k := methodKey{pc, t}
	if v, ok := methodValues.Load(k); ok {
		return v.(methodValue)
	}
	mv := findMethodValue(t, name, where)
	if mv.pr == nil { // a refusal may be lifted by a later Register
		methodValues.Store(k, mv)
	}
	return mv
}

func findMethodValue(t reflect.Type, name, where string) methodValue {
	fail := func(reason, fix string) methodValue {
		return methodValue{pr: &Problem{Type: t.String(), Reason: fmt.Sprintf("method value %s%s: %s", name, where, reason), Fix: fix}}
	}
	base, ok := strings.CutSuffix(name, "-fm")
	i := strings.LastIndexByte(base, '.')
	if !ok || i <= 0 {
		return fail("its wrapper's name is not one the codec knows", "send the method expression and pass the receiver as an argument")
	}
	method, recvName := base[i+1:], base[:i]
	ptr := false
	if j := strings.Index(recvName, ".(*"); j >= 0 && strings.HasSuffix(recvName, ")") {
		recvName, ptr = recvName[:j]+"."+recvName[j+3:len(recvName)-1], true
	}
	var found []reflect.Type
	for _, bt := range namedTypes(recvName) {
		r := bt
		if ptr {
			r = reflect.PointerTo(bt)
		}
		// reflect lists exported methods only: an unexported one is
		// checked on arrival by its wrapper's name and argument frame.
		if exportedName(method) {
			mt, ok := methodType(r, method)
			if !ok || !(mt == t || t.Kind() == reflect.Func && mt.ConvertibleTo(t)) {
				continue
			}
		}
		if !containsType(found, r) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		rn := recvName
		if ptr {
			rn = "*" + rn
		}
		return fail(fmt.Sprintf("its receiver's type %s is not known to the codec: the program never uses it as an interface value or through reflect, so the binary has no description of it to send the receiver by", rn),
			fmt.Sprintf("call codec.Register with a value of the receiver's type once (in an init function), or send the method expression %s with the receiver as an argument", methodExpr(shortName(base))))
	case 1:
	default:
		return fail(fmt.Sprintf("its receiver's generic type has %d instantiations with that method and signature, which the wrapper's name does not tell apart", len(found)),
			"send the method expression of the instantiation and pass the receiver as an argument")
	}
	r := found[0]
	return methodValue{recv: r, method: method, off: uintptr(alignUp(int(unsafe.Sizeof(uintptr(0))), r.Align()))}
}

func containsType(ts []reflect.Type, t reflect.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// shortName drops the package path of a qualified function name.
func shortName(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// methodType returns the type of r's method name without its receiver.
func methodType(r reflect.Type, name string) (reflect.Type, bool) {
	m, ok := r.MethodByName(name)
	if !ok {
		return nil, false
	}
	if r.Kind() == reflect.Interface {
		return m.Type, true
	}
	in := make([]reflect.Type, 0, m.Type.NumIn()-1)
	for i := 1; i < m.Type.NumIn(); i++ {
		in = append(in, m.Type.In(i))
	}
	out := make([]reflect.Type, 0, m.Type.NumOut())
	for i := range m.Type.NumOut() {
		out = append(out, m.Type.Out(i))
	}
	return reflect.FuncOf(in, out, m.Type.IsVariadic()), true
}

// symbolName is the name the linker gives a named type in function names:
// package path, then the name with type arguments written [...].
func symbolName(t reflect.Type) string {
	n := t.Name()
	if i := strings.IndexByte(n, '['); i >= 0 {
		n = n[:i] + "[...]"
	}
	return t.PkgPath() + "." + n
}

// expectedWrapper is the name of the method value wrapper of r's method m.
func expectedWrapper(r reflect.Type, m string) string {
	if r.Kind() == reflect.Pointer {
		s := symbolName(r.Elem())
		i := strings.LastIndexByte(strings.TrimSuffix(s, "[...]"), '.')
		return s[:i] + ".(*" + s[i+1:] + ")." + m + "-fm"
	}
	return symbolName(r) + "." + m + "-fm"
}

//go:linkname reflectTypelinks reflect.typelinks
func reflectTypelinks() (sections []unsafe.Pointer, offset [][]int32)

// typeIndex maps symbol names to the named types the binary describes:
// those reachable in a few steps from the type links (the unnamed types
// the runtime lists), and the registered ones.
var typeIndex = sync.OnceValue(func() map[string][]reflect.Type {
	idx := map[string][]reflect.Type{}
	seen := map[reflect.Type]bool{}
	var visit func(t reflect.Type, depth int)
	visit = func(t reflect.Type, depth int) {
		if seen[t] || depth > 3 {
			return
		}
		seen[t] = true
		if t.Name() != "" && t.PkgPath() != "" {
			k := symbolName(t)
			idx[k] = append(idx[k], t)
		}
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
			visit(t.Elem(), depth+1)
		case reflect.Map:
			visit(t.Key(), depth+1)
			visit(t.Elem(), depth+1)
		case reflect.Struct:
			for i := range t.NumField() {
				visit(t.Field(i).Type, depth+1)
			}
		case reflect.Func:
			for i := range t.NumIn() {
				visit(t.In(i), depth+1)
			}
			for i := range t.NumOut() {
				visit(t.Out(i), depth+1)
			}
		}
	}
	secs, offs := reflectTypelinks()
	for i, sec := range secs {
		for _, o := range offs[i] {
			visit(typeAtAddr(unsafe.Add(sec, o)), 0)
		}
	}
	return idx
})

// namedTypes returns the named types whose symbol name is name.
func namedTypes(name string) []reflect.Type {
	ts := append([]reflect.Type(nil), typeIndex()[name]...)
	registerStd.Do(registerStandard)
	registry.RLock()
	for _, t := range registry.types {
		if symbolName(t) == name && !containsType(ts, t) {
			ts = append(ts, t)
		}
	}
	registry.RUnlock()
	return ts
}

// typeAtAddr makes a reflect.Type of a descriptor the runtime listed.
func typeAtAddr(p unsafe.Pointer) reflect.Type {
	t := reflect.TypeFor[int]()
	(*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1] = p
	return t
}

// A dictClosure is the funcval of a function made in generic code.
type dictClosure struct {
	pc, dict uintptr
}

// A dictInfo is what the codec learned about such a function.
type dictInfo struct {
	dict  uintptr
	first reflect.Type // the dictionary's first entry, a type argument
	ok    bool
}

// dictOf reports whether the closure fv, of code pc, is a compiler-made
// wrapper whose only captured word is a dictionary: its code is marked as
// made by the compiler (not a literal of the program), the word points
// into the executable's read-only data, and that memory starts with a
// pointer to a type descriptor, as a dictionary does (the type arguments
// come first), and is not an itab.
func dictOf(pc uintptr, fv unsafe.Pointer) dictInfo {
	if !funcLayoutOK() {
		return dictInfo{}
	}
	m, f := funcMeta(pc)
	if m == nil || m.funcID != funcIDWrapper || strings.HasSuffix(f.Name(), "-fm") {
		return dictInfo{}
	}
	d := *(*uintptr)(unsafe.Add(fv, unsafe.Sizeof(uintptr(0))))
	first, ok := dictFirst(d)
	return dictInfo{dict: d, first: first, ok: ok}
}

// dictFirst checks that d looks like a dictionary and returns the type its
// first word points to.
func dictFirst(d uintptr) (reflect.Type, bool) {
	const word = unsafe.Sizeof(uintptr(0))
	if d%word != 0 || !readOnlyImage(d, 3*word) {
		return nil, false
	}
	w := (*[3]uintptr)(unsafePointer(d))
	if !inTypes(w[0]) {
		return nil, false
	}
	t := typeAtAddr(unsafePointer(w[0]))
	// An itab (the first word of an interface receiver) also starts with
	// a type descriptor: an interface type, then the concrete type and its
	// hash.
	if t.Kind() == reflect.Interface && inTypes(w[1]) {
		if ref, ok := typeRefOf(typeAtAddr(unsafePointer(w[1]))); ok && ref.Hash == uint32(w[2]) {
			return nil, false
		}
	}
	return t, true
}

// inTypes reports whether addr is an aligned address among the binary's
// type descriptors.
func inTypes(addr uintptr) bool {
	if addr == 0 || addr%unsafe.Alignof(uintptr(0)) != 0 {
		return false
	}
	_, ok := typeRefOf(typeAtAddr(unsafePointer(addr)))
	return ok
}

func unsafePointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// readOnlyImage reports whether [addr, addr+n) lies in one read-only
// mapping of the executable's file.
func readOnlyImage(addr, n uintptr) bool {
	for _, m := range roMappings() {
		if addr >= m[0] && addr+n <= m[1] && addr+n > addr {
			return true
		}
	}
	return false
}

// roMappings lists the executable's read-only, non-executable mappings.
var roMappings = sync.OnceValue(func() [][2]uintptr {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	exe = strings.TrimSuffix(exe, " (deleted)") // replaced while running
	data, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil
	}
	var out [][2]uintptr
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "r--p" || f[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			out = append(out, [2]uintptr{uintptr(a), uintptr(b)})
		}
	}
	return out
})

// resolveCode checks that anchor+offset is the entry of a function named
// name and returns its PC.
func resolveCode(offset int64, name string, wrapper bool) (uintptr, error) {
	pc := anchorPC() + uintptr(offset)
	m, f := funcMeta(pc)
	switch {
	case f == nil:
		return 0, fmt.Errorf("function %s at %+#x: no function starts there", name, offset)
	case f.Name() != name:
		return 0, fmt.Errorf("function %s at %+#x: the function there is %s", name, offset, f.Name())
	case wrapper && (!funcLayoutOK() || m.funcID != funcIDWrapper):
		return 0, fmt.Errorf("function %s at %+#x is not code the compiler made", name, offset)
	}
	return pc, nil
}

// exportedName reports whether a method name is exported.
func exportedName(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}
