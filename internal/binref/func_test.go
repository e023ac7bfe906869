package binref

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const pkgPath = "github.com/mproc-go/mproc/internal/binref"

func plainFunc(x int) int { return x*2 + 1 }

type counter struct{ n int }

func (c *counter) Add(d int) int { c.n += d; return c.n }
func (c counter) Get() int       { return c.n }

func double[T any](x T) []T { return []T{x, x} }

// declLine returns the line of the first line in this package's test file
// that starts with prefix, so tests do not hard-code line numbers.
func declLine(t *testing.T, file, prefix string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), prefix) {
			return n
		}
	}
	t.Fatalf("%s has no line starting with %q", file, prefix)
	return 0
}

// roundTrip sends fn by reference within this process and returns the
// rebuilt value, failing the test on any error.
func roundTrip[F any](t *testing.T, fn F) F {
	t.Helper()
	fi := Func(reflect.ValueOf(fn))
	if !fi.Sendable() {
		t.Fatalf("Func(%s) = %+v, want sendable", fi.Name, fi)
	}
	v, err := FuncAt(fi.Offset, fi.Name, reflect.TypeFor[F]())
	if err != nil {
		t.Fatalf("FuncAt(%#x, %q): %v", fi.Offset, fi.Name, err)
	}
	return v.Interface().(F)
}

func TestFuncTopLevel(t *testing.T) {
	fi := Func(reflect.ValueOf(plainFunc))
	if want := pkgPath + ".plainFunc"; fi.Name != want {
		t.Errorf("Name = %q, want %q", fi.Name, want)
	}
	if filepath.Base(fi.File) != "func_test.go" {
		t.Errorf("File = %q, want func_test.go", fi.File)
	}
	if want := declLine(t, "func_test.go", "func plainFunc("); fi.Line != want {
		t.Errorf("Line = %d, want %d", fi.Line, want)
	}
	if fi.Closure || fi.MethodValue || fi.Foreign {
		t.Errorf("plainFunc: %+v, want a plain function", fi)
	}
	if got := roundTrip(t, plainFunc)(20); got != 41 {
		t.Errorf("rebuilt plainFunc(20) = %d, want 41", got)
	}
}

func TestFuncLiteral(t *testing.T) {
	noCapture := func(s string) string { return s + "!" }
	fi := Func(reflect.ValueOf(noCapture))
	if want := pkgPath + ".TestFuncLiteral.func1"; fi.Name != want {
		t.Errorf("Name = %q, want %q", fi.Name, want)
	}
	if want := declLine(t, "func_test.go", "noCapture := func("); fi.Line != want {
		t.Errorf("Line = %d, want %d", fi.Line, want)
	}
	if got := roundTrip(t, noCapture)("hi"); got != "hi!" {
		t.Errorf("rebuilt literal returned %q, want %q", got, "hi!")
	}

	n := 3
	captures := func() int { n++; return n }
	fi = Func(reflect.ValueOf(captures))
	if !fi.Closure || fi.MethodValue || fi.Sendable() {
		t.Errorf("capturing literal: %+v, want Closure and not sendable", fi)
	}
	if want := pkgPath + ".TestFuncLiteral.func2"; fi.Name != want {
		t.Errorf("Name = %q, want %q", fi.Name, want)
	}
	if want := declLine(t, "func_test.go", "captures := func("); fi.Line != want || filepath.Base(fi.File) != "func_test.go" {
		t.Errorf("position = %s:%d, want func_test.go:%d", fi.File, fi.Line, want)
	}
}

func TestFuncMethods(t *testing.T) {
	c := &counter{n: 1}
	fi := Func(reflect.ValueOf(c.Add))
	if !fi.MethodValue || !fi.Closure || fi.Sendable() {
		t.Errorf("method value: %+v, want MethodValue and Closure", fi)
	}
	if want := pkgPath + ".(*counter).Add-fm"; fi.Name != want {
		t.Errorf("Name = %q, want %q", fi.Name, want)
	}
	fi = Func(reflect.ValueOf(c).MethodByName("Add"))
	if !fi.MethodValue || !fi.Closure {
		t.Errorf("reflect method value: %+v, want MethodValue and Closure", fi)
	}

	add := roundTrip(t, (*counter).Add)
	if got := add(c, 4); got != 5 || c.n != 5 {
		t.Errorf("rebuilt (*counter).Add(c, 4) = %d (c.n=%d), want 5", got, c.n)
	}
	get := roundTrip(t, counter.Get)
	if got := get(counter{n: 7}); got != 7 {
		t.Errorf("rebuilt counter.Get = %d, want 7", got)
	}
}

func TestFuncGenericInstantiations(t *testing.T) {
	fInt := Func(reflect.ValueOf(double[int]))
	fStr := Func(reflect.ValueOf(double[string]))
	if want := pkgPath + ".double[...]"; fInt.Name != want || fStr.Name != want {
		t.Errorf("names = %q, %q, want %q", fInt.Name, fStr.Name, want)
	}
	if fInt.Offset == fStr.Offset {
		t.Fatalf("double[int] and double[string] have the same offset %#x", fInt.Offset)
	}
	if got := roundTrip(t, double[int])(4); !reflect.DeepEqual(got, []int{4, 4}) {
		t.Errorf("rebuilt double[int](4) = %v", got)
	}
	if got := roundTrip(t, double[string])("a"); !reflect.DeepEqual(got, []string{"a", "a"}) {
		t.Errorf("rebuilt double[string](a) = %v", got)
	}
	// The int instantiation's offset with the string instantiation's type
	// must not be confused for it: the names agree, so only the type can
	// tell, and that is the caller's job; but the offsets must differ.
	if _, err := FuncAt(fStr.Offset, fStr.Name, reflect.TypeFor[func(string) []string]()); err != nil {
		t.Errorf("FuncAt(double[string]): %v", err)
	}
}

func TestFuncRuntimeMade(t *testing.T) {
	typ := reflect.TypeFor[func(int) int]()
	made := reflect.MakeFunc(typ, func(args []reflect.Value) []reflect.Value { return args })
	if fi := Func(made); !fi.Closure || fi.Sendable() {
		t.Errorf("reflect.MakeFunc value: %+v, want Closure", fi)
	}
}

func TestFuncUnexportedField(t *testing.T) {
	n := 0
	holder := struct {
		plain, closure func(int) int
	}{plainFunc, func(x int) int { n += x; return n }}
	v := reflect.ValueOf(holder) // not addressable: fields cannot Interface
	plain := Func(v.Field(0))
	if want := Func(reflect.ValueOf(plainFunc)); plain != want {
		t.Errorf("unexported field: %+v, want %+v", plain, want)
	}
	if fi := Func(v.Field(1)); !fi.Closure {
		t.Errorf("unexported capturing field: %+v, want Closure", fi)
	}
	addressable := reflect.ValueOf(&holder).Elem()
	if fi := Func(addressable.Field(0)); fi != plain {
		t.Errorf("addressable unexported field: %+v, want %+v", fi, plain)
	}
	if fi := Func(addressable.Field(1)); !fi.Closure {
		t.Errorf("addressable unexported capturing field: %+v, want Closure", fi)
	}
}

func TestFuncNotAFunc(t *testing.T) {
	var nilFunc func()
	for _, v := range []reflect.Value{{}, reflect.ValueOf(3), reflect.ValueOf(nilFunc)} {
		if fi := Func(v); fi != (FuncInfo{}) || fi.Sendable() {
			t.Errorf("Func(%v) = %+v, want zero", v, fi)
		}
	}
}

func TestFuncAtErrors(t *testing.T) {
	fi := Func(reflect.ValueOf(plainFunc))
	typ := reflect.TypeFor[func(int) int]()
	tests := []struct {
		name   string
		offset int64
		fname  string
		typ    reflect.Type
		want   []string
	}{
		{"wrong name", fi.Offset, pkgPath + ".other", typ, []string{"function", pkgPath + ".other", "the function there is " + pkgPath + ".plainFunc", "Fingerprint"}},
		{"inside a function", fi.Offset + 1, fi.Name, typ, []string{"inside " + pkgPath + ".plainFunc", "not at its start"}},
		{"outside the text", 1 << 40, fi.Name, typ, []string{"no function there", "0x10000000000"}},
		{"negative", -1 << 40, fi.Name, typ, []string{"no function there", "-0x10000000000"}},
		{"not a func type", fi.Offset, fi.Name, reflect.TypeFor[int](), []string{"int is not a func type"}},
		{"nil type", fi.Offset, fi.Name, nil, []string{"<nil> is not a func type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := FuncAt(tt.offset, tt.fname, tt.typ)
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("FuncAt = %v, %v; want a *ResolveError", v, err)
			}
			if v.IsValid() {
				t.Errorf("FuncAt returned a value %v with the error", v)
			}
			if re.What != "function" || re.Offset != tt.offset || re.Name != tt.fname {
				t.Errorf("error fields = %+v", re)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestFuncAtRefusesClosures offers FuncAt the code of a closure and of a
// method value under their own names: rebuilt without their captured
// variables they would read garbage, so FuncAt must refuse them.
func TestFuncAtRefusesClosures(t *testing.T) {
	n := 1
	closure := func(x int) int { return x + n }
	c := &counter{}
	for _, fn := range []any{closure, c.Add} {
		fi := Func(reflect.ValueOf(fn))
		v, err := FuncAt(fi.Offset, fi.Name, reflect.TypeOf(fn))
		var re *ResolveError
		if !errors.As(err, &re) || v.IsValid() {
			t.Errorf("FuncAt(%s) = %v, %v; want a *ResolveError", fi.Name, v, err)
			continue
		}
		for _, w := range []string{fi.Name + " has no static function value", "closure or a method value", "cannot be sent by reference"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
}

// TestFuncAtSharesStaticFuncval checks that the rebuilt value points at the
// very funcval the original did.
func TestFuncAtSharesStaticFuncval(t *testing.T) {
	for _, fn := range []any{plainFunc, double[string], (*counter).Add} {
		orig := reflect.ValueOf(fn)
		fi := Func(orig)
		v, err := FuncAt(fi.Offset, fi.Name, orig.Type())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := funcval(orig)
		if got, _ := funcval(v); got != want || got == nil {
			t.Errorf("%s: rebuilt funcval %p, original %p", fi.Name, got, want)
		}
	}
}

func FuzzFuncAt(f *testing.F) {
	for _, fn := range []any{plainFunc, (*counter).Add, double[int], double[string], anchorFunc} {
		fi := Func(reflect.ValueOf(fn))
		f.Add(fi.Offset, fi.Name)
		f.Add(fi.Offset+3, fi.Name)
	}
	f.Add(int64(-1)<<62, "main.main")
	typ := reflect.TypeFor[func()]()
	f.Fuzz(func(t *testing.T, offset int64, name string) {
		v, err := FuncAt(offset, name, typ)
		if err != nil {
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ResolveError", err)
			}
			return
		}
		// Never call it: the type is ours, not the function's. Check that
		// it is what was asked for.
		if fi := Func(v); fi.Offset != offset || fi.Name != name {
			t.Fatalf("FuncAt(%#x, %q) resolved to %+v", offset, name, fi)
		}
	})
}
