package binref

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// FuncInfo describes a func value for sending by reference.
//
// A func value is a pointer to a funcval: a word holding the code's entry
// PC, followed by the variables the function captured, if any. A function
// that captures nothing has a funcval the compiler placed in the
// executable's read-only data, so the entry PC alone rebuilds it in another
// process of the same build. One that captures variables has its funcval
// on the heap (or stack), and those variables cannot be sent by reference.
type FuncInfo struct {
	// Name is the function's name as runtime.FuncForPC gives it:
	// "main.main.func1" for a func literal, "pkg.(*T).M" for a method
	// expression, "pkg.F[...]" for every instantiation of a generic F
	// (Offset tells the instantiations apart).
	Name string
	File string // source file of the function's entry, for messages
	Line int    // line of the function's entry in File
	// Offset is the entry PC minus the entry PC of an anchor function in
	// this package. It is what FuncAt takes.
	Offset int64
	// Closure is true for a func value whose funcval is not in the
	// executable's read-only data: a func literal that captures
	// variables, a bound method value, or a function made at run time with
	// reflect.MakeFunc. It cannot be sent by reference.
	Closure bool
	// MethodValue is true for a bound method value x.M (its code is named
	// "...M-fm", or is reflect's method-value trampoline). Closure is
	// true as well: the receiver x is captured.
	MethodValue bool
	// Foreign is true when the code is not in the executable's text, for
	// instance in a plugin. It cannot be sent by reference.
	Foreign bool
}

// Sendable reports whether the function can travel by reference.
func (fi FuncInfo) Sendable() bool {
	return fi.Name != "" && !fi.Closure && !fi.MethodValue && !fi.Foreign
}

// funcMeta is what binref caches per entry PC.
type funcMeta struct {
	name, file string
	line       int
}

var funcMetas sync.Map // entry PC -> funcMeta

func metaFor(pc uintptr) funcMeta {
	if m, ok := funcMetas.Load(pc); ok {
		return m.(funcMeta)
	}
	var m funcMeta
	if f := runtime.FuncForPC(pc); f != nil {
		m.name = f.Name()
		m.file, m.line = f.FileLine(pc)
	}
	funcMetas.Store(pc, m)
	return m
}

// Func inspects a func value. It returns the zero FuncInfo for an invalid
// value, a non-func or a nil func, and never panics.
//
// A func value is sendable when its funcval is one of the static funcvals
// the compiler laid out in the executable's read-only data: those exist
// only for functions that capture nothing.
//
// The first call for a given function asks the runtime for its name and
// line (about a microsecond); later calls hit a cache and cost well under
// a hundred nanoseconds (BenchmarkFunc). The first call in the process
// also reads the layout of the executable; if that fails, every function
// is reported as a Closure, which errs on the side of refusing to send.
func Func(fn reflect.Value) FuncInfo {
	if !fn.IsValid() || fn.Kind() != reflect.Func || fn.IsNil() {
		return FuncInfo{}
	}
	pc := fn.Pointer()
	m := metaFor(pc)
	fi := FuncInfo{
		Name:   m.name,
		File:   m.file,
		Line:   m.line,
		Offset: int64(pc - anchorPC()),
	}
	fv, method := funcval(fn)
	fi.MethodValue = method || strings.HasSuffix(m.name, "-fm") || m.name == "reflect.methodValueCall"
	if im, err := loadImage(); err == nil {
		fi.Foreign = !im.text.contains(pc, 1)
		fi.Closure = fv == nil || !im.inStatic(uintptr(fv), wordSize)
	} else {
		fi.Closure = true
	}
	fi.Closure = fi.Closure || fi.MethodValue
	return fi
}

// isStaticSection reports whether a section holds the read-only data the
// compiler lays out with addresses in it (static funcvals, itabs): .rodata,
// or .data.rel.ro in PIE builds, where they need a relocation at load time
// and become read-only after it.
func isStaticSection(name string) bool {
	return name == ".rodata" || strings.HasPrefix(name, ".data.rel.ro")
}

// inStatic reports whether [addr, addr+size) is in one static section.
func (im *image) inStatic(addr, size uintptr) bool {
	for _, s := range im.sections {
		if isStaticSection(s.name) && s.contains(addr, size) {
			return true
		}
	}
	return false
}

// staticFuncvals lists the static funcvals of the executable: every
// aligned word of the funcval sections that holds a PC in the text. It is
// built on the first FuncAt (or by Prepare), in one pass over those
// sections: tens of microseconds for a program of a few megabytes, about
// a millisecond for a large one (BenchmarkStaticFuncvals).
var staticFuncvals = sync.OnceValues(func() (*funcvals, error) {
	im, err := loadImage()
	if err != nil {
		return nil, err
	}
	return im.indexFuncvals(), nil
})

// funcvals lists candidate static funcvals in address order: addrs[i]
// holds pcs[i].
//
// A list searched from the start, rather than a map, because it is built
// in every worker before its first result and searched once per function
// (FuncAt caches what it found): filling a map with a few thousand entries
// cost three times the scan, and a search costs a microsecond per few
// thousand candidates.
type funcvals struct {
	pcs, addrs []uintptr
}

// lookup returns the address of the first word that holds pc.
func (f *funcvals) lookup(pc uintptr) (addr uintptr, ok bool) {
	for i, p := range f.pcs {
		if p == pc {
			return f.addrs[i], true
		}
	}
	return 0, false
}

// indexFuncvals scans the funcval sections. The words are read as a
// slice, with the text bounds in locals, which the compiler turns into a
// tight loop.
//
//go:norace
func (im *image) indexFuncvals() *funcvals {
	f := new(funcvals)
	lo, n := im.text.start, im.text.end-im.text.start
	for _, s := range im.sections {
		start := alignUp(s.start, wordSize)
		if !isStaticSection(s.name) || start+wordSize > s.end {
			continue
		}
		words := unsafe.Slice((*uintptr)(at(start)), (s.end-start)/wordSize)
		for i, pc := range words {
			if pc-lo < n { // lo <= pc < text.end
				f.pcs = append(f.pcs, pc)
				f.addrs = append(f.addrs, start+uintptr(i)*wordSize)
			}
		}
	}
	return f
}

// funcval returns the pointer held by a func value (the address of its
// funcval), or nil if it cannot be had, and whether the value is a method
// value made by reflect (Value.Method).
func funcval(fn reflect.Value) (fv unsafe.Pointer, method bool) {
	switch {
	case fn.CanInterface():
		i := fn.Interface()
		fv = (*[2]unsafe.Pointer)(unsafe.Pointer(&i))[1]
	case fn.CanAddr():
		fv = *(*unsafe.Pointer)(fn.Addr().UnsafePointer())
	default:
		// An unexported field of a value that is not addressable: reflect
		// gives no access to the word, so read it from the Value itself,
		// whose layout has been {type, pointer, flags} since Go 1.
		const flagIndir, flagMethod = 1 << 7, 1 << 9
		h := (*struct {
			typ, ptr unsafe.Pointer
			flag     uintptr
		})(unsafe.Pointer(&fn))
		if h.flag&flagMethod != 0 {
			return nil, true
		}
		fv = h.ptr
		if h.flag&flagIndir != 0 && fv != nil {
			fv = *(*unsafe.Pointer)(fv)
		}
	}
	// A funcval starts with the entry PC; anything else means we did not
	// find the funcval (a layout we do not know), so report none.
	if fv == nil || *(*uintptr)(fv) != fn.Pointer() {
		return nil, false
	}
	return fv, false
}

// resolvedFunc is a FuncAt result kept for the next call with the same
// offset: the name checked and the address of the static funcval.
type resolvedFunc struct {
	name    string
	funcval uintptr
}

var funcsAt sync.Map // offset -> resolvedFunc, for offsets that resolved

// FuncAt rebuilds a func value of type typ from the offset and name that
// Func reported in a process running the same build.
//
// It checks with runtime.FuncForPC that anchor+offset is the entry of a
// function named exactly name, and that the executable holds a static
// funcval for that entry, which the compiler makes only for functions that
// capture nothing. So a wrong or hostile offset gives a *ResolveError,
// never a call into the middle of some code or into a closure without its
// variables. The result points at that static funcval, as the sender's
// value did.
//
// FuncAt cannot check typ against the function's signature: the caller
// must pass the type the sender's value had (the codec sends it along).
//
// Cost: the first call lists the static funcvals (one pass over the
// read-only data) unless Prepare did; the first call for an offset asks the
// runtime about it and searches that list; later calls are a map lookup
// and one small allocation.
func FuncAt(offset int64, name string, typ reflect.Type) (reflect.Value, error) {
	fail := func(format string, args ...any) (reflect.Value, error) {
		return reflect.Value{}, &ResolveError{What: "function", Name: name, Offset: offset, Reason: fmt.Sprintf(format, args...)}
	}
	if typ == nil || typ.Kind() != reflect.Func {
		return fail("the requested type %v is not a func type", typ)
	}
	r, ok := funcsAt.Load(offset)
	if !ok || r.(resolvedFunc).name != name {
		pc := anchorPC() + uintptr(offset)
		f := runtime.FuncForPC(pc)
		switch {
		case f == nil:
			return fail("no function there")
		case f.Entry() != pc:
			return fail("the address is inside %s, not at its start", f.Name())
		case f.Name() != name:
			return fail("the function there is %s", f.Name())
		}
		index, err := staticFuncvals()
		if err != nil {
			return fail("%v", err)
		}
		fv, ok := index.lookup(pc)
		if !ok {
			return fail("%s has no static function value: it is a closure or a method value, which cannot be sent by reference", name)
		}
		r = resolvedFunc{name, fv}
		funcsAt.Store(offset, r)
	}
	v := reflect.New(typ).Elem()
	*(*unsafe.Pointer)(v.Addr().UnsafePointer()) = at(r.(resolvedFunc).funcval)
	return v, nil
}
