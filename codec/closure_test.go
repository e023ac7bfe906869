package codec

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

type scaler struct {
	K    int
	Name string
	tags []string
}

func (s scaler) Scale(_ context.Context, x int) (int, error) {
	return x * s.K, nil
}

func (s scaler) scale(x int) int { return x * s.K }

func (s scaler) Label() string { return s.Name + "/" + strings.Join(s.tags, ",") }

// Op is a named func type a method value can be stored as.
type Op func(context.Context, int) (int, error)

// Case 1 of issue 12: a method value travels, its receiver by value (with
// its unexported fields and aliasing), its method by reference.
func TestMethodValuesTravel(t *testing.T) {
	s := scaler{K: 3, Name: "x", tags: []string{"a", "b"}}
	c := &counter{n: 10}
	type job struct {
		Scale    func(context.Context, int) (int, error)
		Named    Op
		Label    func() string
		Add      func(int) int
		C        *counter
		Boxed    any
		Stringer func() string
	}
	var str fmt.Stringer = reflect.TypeFor[int]()
	in := job{Scale: s.Scale, Named: s.Scale, Label: s.Label, Add: c.Add, C: c, Boxed: c.Add, Stringer: str.String}
	got := roundTrip(t, in)
	if n, err := got.Scale(context.Background(), 5); n != 15 || err != nil {
		t.Errorf("decoded s.Scale(5) = %d, %v, want 15", n, err)
	}
	if n, _ := got.Named(context.Background(), 2); n != 6 {
		t.Errorf("decoded s.Scale as an Op (2) = %d, want 6", n)
	}
	if l := got.Label(); l != "x/a,b" {
		t.Errorf("decoded s.Label() = %q, want x/a,b (unexported fields travel)", l)
	}
	// The pointer receiver is the decoded C, as c.Add's is c.
	if n := got.Add(5); n != 15 || got.C.n != 15 {
		t.Errorf("decoded c.Add(5) = %d and C.n = %d, want 15 and 15: the receiver lost its identity", n, got.C.n)
	}
	if n := got.Boxed.(func(int) int)(1); n != 16 || got.C.n != 16 {
		t.Errorf("decoded c.Add in an interface (1) = %d, C.n = %d, want 16, 16", n, got.C.n)
	}
	if g := roundTrip(t, s.scale); g(2) != 6 {
		t.Errorf("decoded s.scale(2) = %d, want 6 (an unexported method)", g(2))
	}
	if s := got.Stringer(); s != "int" {
		t.Errorf("decoded method value of an interface = %q, want int", s)
	}
	// Resent from the decoded value, as a worker passing it on would.
	again := roundTrip(t, got.Scale)
	if n, _ := again(context.Background(), 1); n != 3 {
		t.Errorf("a method value sent twice returns %d, want 3", n)
	}
}

func TestMethodValueDisAndCheck(t *testing.T) {
	s := scaler{K: 2, Name: "n"}
	data, err := Marshal(s.Scale)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		"codec.scaler.Scale-fm func(context.Context, int) (int, error): method value: method Scale of #",
		"each value carries its receiver by value",
		"method value #1 github.com/mproc-go/mproc/codec.scaler.Scale-fm: method Scale by reference, receiver by value:",
		"receiver             codec.scaler  struct, 3 fields",
		".K                 int  2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Dis lacks %q:\n%s", want, out)
		}
	}
	if ps := Check(s.Scale); ps != nil {
		t.Errorf("Check(s.Scale) = %v, want nothing", ps)
	}
	// A receiver whose type the binary does not describe is refused, with
	// the fix. (A test binary describes nearly every type of its package,
	// so the wrapper's name is made up.)
	mv := findMethodValue(reflect.TypeFor[func(int) int](), "example.com/nowhere.(*T).Plus-fm", " (x.go:3)")
	if mv.pr == nil || mv.pr.Reason+"; fix: "+mv.pr.Fix != "method value example.com/nowhere.(*T).Plus-fm (x.go:3): "+
		"its receiver's type *example.com/nowhere.T is not known to the codec: the program never uses it as an interface value or through reflect, "+
		"so the binary has no description of it to send the receiver by; fix: call codec.Register with a value of the receiver's type once "+
		"(in an init function), or send the method expression (*T).Plus with the receiver as an argument" {
		t.Errorf("unknown receiver type: %v", mv.pr)
	}
}

// In Strict mode no position is trusted: the method value is rebuilt by
// reflect from the registered receiver type.
func TestMethodValueStrict(t *testing.T) {
	Register(scaler{})
	s := scaler{K: 4}
	data, err := Marshal(s.Scale)
	if err != nil {
		t.Fatal(err)
	}
	var f func(context.Context, int) (int, error)
	if err := NewDecoder(strings.NewReader(string(data)), Strict()).Decode(&f); err != nil {
		t.Fatal(err)
	}
	if n, _ := f(context.Background(), 2); n != 8 {
		t.Errorf("strict-decoded s.Scale(2) = %d, want 8", n)
	}
}

func double[T int | float64](x T) T { return 2 * x }

// mapDouble is the shape of a generic wrapper around mproc.Map: inside
// generic code, double[T] is a closure over the instantiation's
// dictionary.
func mapDouble[T int | float64]() func(T) T { return double[T] }

type gbox[T any] struct{ v T }

func (b gbox[T]) Get() T { return b.v }

func getter[T any]() func(gbox[T]) T { return gbox[T].Get }

// Case 2 of issue 12: functions made in generic code travel.
func TestGenericFunctionsTravel(t *testing.T) {
	fi, ff := mapDouble[int](), mapDouble[float64]()
	g := getter[string]()
	type job struct {
		I func(int) int
		F func(float64) float64
		G func(gbox[string]) string
	}
	got := roundTrip(t, job{fi, ff, g})
	if got.I(21) != 42 || got.F(1.5) != 3 || got.G(gbox[string]{"v"}) != "v" {
		t.Errorf("decoded generic functions give %d, %v, %q; want 42, 3, v", got.I(21), got.F(1.5), got.G(gbox[string]{"v"}))
	}
	data, err := Marshal(fi)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	if out := sb.String(); !strings.Contains(out, "mapDouble[...].func1 func(int) int: made in generic code: by reference: its code's name and position") ||
		!strings.Contains(out, "its dictionary (type arguments, read-only data of the binary, starting with int)") {
		t.Errorf("Dis of a function made in generic code:\n%s", out)
	}
	// Strict mode trusts no position and has no name for it.
	var f func(int) int
	err = NewDecoder(strings.NewReader(string(data)), Strict()).Decode(&f)
	if err == nil || !strings.Contains(err.Error(), "made in generic code and travels by position only, which Strict mode does not trust") {
		t.Errorf("strict Decode = %v", err)
	}
	// A literal of the program in generic code is still refused.
	if _, err := Marshal(identityOf[int]()); err == nil || !strings.Contains(err.Error(), "made inside a generic function") {
		t.Errorf("Marshal(identityOf[int]()) = %v", err)
	}
}

// Case 5 of issue 12: one function under two func types.
func TestOneFunctionTwoTypes(t *testing.T) {
	type F func(int) int
	got := roundTrip(t, []any{square, F(square), square})
	if got[0].(func(int) int)(3) != 9 || got[1].(F)(4) != 16 || got[2].(func(int) int)(2) != 4 {
		t.Errorf("decoded %T %T %T", got[0], got[1], got[2])
	}
	var buf strings.Builder
	enc := NewEncoder(&buf)
	if err := enc.Encode(square); err != nil {
		t.Fatal(err)
	}
	if err := enc.Encode(F(square)); err != nil {
		t.Fatal(err)
	}
	dec := NewDecoder(strings.NewReader(buf.String()))
	var a func(int) int
	var b F
	if err := dec.Decode(&a); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("the second message, the same function as an F: %v", err)
	}
	if b(5) != 25 {
		t.Errorf("b(5) = %d", b(5))
	}
}

// streamWithFunc builds a message whose value is a func of type typ that
// names the function fn (name and position): a stream rewritten to present
// fn under another signature.
func streamWithFunc(typ reflect.Type, fn any) []byte {
	e := new(encoder)
	e.init(buildOptions(nil))
	e.begin(0)
	tid, err := e.typeID(infoOf(typ))
	if err != nil {
		panic(err)
	}
	fi := funcInfo(reflect.ValueOf(fn))
	d := []byte{tagFunc}
	d = binary.AppendUvarint(d, e.nextFunc)
	d = binary.AppendUvarint(d, tid)
	d = appendString(d, fi.Name)
	d = appendVarint(d, fi.Offset)
	e.defs = append(e.defs, d)
	e.buf = append(e.buf, tagValue)
	e.buf = binary.AppendUvarint(e.buf, tid)
	e.buf = append(e.buf, 1)
	out := appendHeader(nil)
	out = binary.AppendUvarint(out, uint64(e.messageLen()))
	return e.appendMessage(out)
}

// Case 9 of issue 12: a function presented under a signature it does not
// have is refused in the default mode too.
func TestFuncSignatureChecked(t *testing.T) {
	var f func(int) int
	err := Unmarshal(streamWithFunc(reflect.TypeFor[func(int) int](), strings.ToUpper), &f)
	if err == nil || !strings.Contains(err.Error(), "function strings.ToUpper takes 16 bytes of arguments, a func(int) int takes 8: the stream gives it a signature it does not have") {
		t.Fatalf("Unmarshal of strings.ToUpper as a func(int) int = %v", err)
	}
	// The same stream with the right signature decodes.
	var g func(string) string
	if err := Unmarshal(streamWithFunc(reflect.TypeFor[func(string) string](), strings.ToUpper), &g); err != nil || g("a") != "A" {
		t.Fatalf("Unmarshal of strings.ToUpper = %v", err)
	}
}

// frameSize agrees with the runtime on functions of assorted signatures.
func TestFrameSizes(t *testing.T) {
	if !funcLayoutOK() {
		t.Fatal("the runtime's function records do not have the layout the codec reads")
	}
	for _, fn := range []any{square, strings.ToUpper, strings.Repeat, fmt.Sprintf, describe[int], (*counter).Add,
		counter.Get, binary.AppendUvarint, errors.Is, reflect.TypeOf, frameProbe, sha256.Sum256, manyArgs, arrayArgs,
		floatArgs, context.WithCancel, fmt.Fprintf, wide.Sum, (*wide).Sum, wide{}.Sum, mixedArgs} {
		v := reflect.ValueOf(fn)
		got, want, ok := argsFits(v.Pointer(), v.Type())
		if !ok {
			t.Errorf("%s: runtime says %d bytes of arguments, the codec computes %d", funcInfo(v).Name, got, want)
		}
	}
}

func manyArgs(a, b, c, d, e, f, g, h int, s string, x []int, y, z int) (int, [2]int, string) {
	return a + b + c + d + e + f + g + h + len(s) + len(x) + y + z, [2]int{}, ""
}

func arrayArgs(a [3]int, b [1]string, c [0]int, s struct {
	p [2]byte
	q int
}) [1]float64 {
	return [1]float64{float64(a[0] + len(b[0]) + len(c) + s.q + int(s.p[0]))}
}

func floatArgs(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p float64, z complex128) float64 {
	return a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + real(z)
}

type wide struct {
	a, b, c, d, e, f, g, h, i, j int
	x, y                         float64
}

func (w wide) Sum(k int) (int, float64) { return w.a + w.j + k, w.x + w.y }

func mixedArgs(a int, f float32, w wide, c complex64, s []string, m map[int]int, e error, p *int, b [1]bool) (wide, error) {
	return w, nil
}

func frameProbe(a int8, b int64, c int16, s struct{ x, y int32 }, f float32) (bool, error) {
	return a == 0 && b == 0 && c == 0 && s.x == 0 && f == 0, nil
}

type getterOf interface{ Get() string }

// boundInGeneric makes x.Get inside generic code: the compiler's closure
// holds the receiver and the dictionary, which the codec does not take
// apart; it is refused, not misread.
func boundInGeneric[T getterOf](x T) func() string { return x.Get }

func TestMethodValuesOfGenericTypes(t *testing.T) {
	b := gbox[string]{"v"}
	got := roundTrip(t, b.Get)
	if got() != "v" {
		t.Errorf("decoded gbox[string].Get() = %q", got())
	}
	pb := &gbox[int]{7}
	gi := roundTrip(t, pb.Get)
	if gi() != 7 {
		t.Errorf("decoded (*gbox[int]).Get() = %d", gi())
	}
	for _, f := range []func() string{boundInGeneric(b), boundInGeneric[getterOf](b), boundInGeneric(&b)} {
		_, err := Marshal(f)
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "boundInGeneric[...]") || !strings.Contains(err.Error(), "made inside a generic function") {
			t.Errorf("Marshal(a method value made in generic code) = %v, want a refusal", err)
		}
	}
}

type locked struct {
	mu sync.Mutex
	n  int
}

func (l *locked) Inc() int { l.mu.Lock(); defer l.mu.Unlock(); l.n++; return l.n }

// A receiver that cannot travel refuses the method value, with the path
// into the receiver.
func TestMethodValueReceiverRefused(t *testing.T) {
	l := &locked{}
	_, err := Marshal(struct{ F func() int }{l.Inc})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Path != ".F.(receiver *codec.locked).mu" || ue.Type != "sync.Mutex" {
		t.Fatalf("Marshal(l.Inc) = %v, want a refusal at .F.(receiver *codec.locked).mu", err)
	}
}
