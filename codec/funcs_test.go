package codec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func square(x int) int { return x * x }

func describe[T any](x T) string { return fmt.Sprintf("%T:%v", x, x) }

type counter struct{ n int }

func (c *counter) Add(d int) int { c.n += d; return c.n }
func (c counter) Get() int       { return c.n }

var literal = func(s string) string { return "lit:" + s }

// identityOf returns a literal that captures no variable, but is made in
// generic code and so closes over the generic dictionary.
func identityOf[T any]() func(T) T { return func(x T) T { return x } }

func TestRoundTripFuncs(t *testing.T) {
	type job struct {
		F      func(int) int
		Add    func(*counter, int) int
		Get    func(counter) int
		Int    func(int) string
		Str    func(string) string
		Lit    func(string) string
		Parse  func(string, int, int) (int64, error)
		Nil    func()
		AnyFun any
	}
	in := job{
		F: square, Add: (*counter).Add, Get: counter.Get,
		Int: describe[int], Str: describe[string], Lit: literal,
		Parse:  strconv.ParseInt,
		AnyFun: func(a, b int) int { return a - b }, // captures nothing
	}
	got := roundTrip(t, in)
	c := &counter{n: 1}
	checks := []struct{ name, got, want string }{
		{"top-level", fmt.Sprint(got.F(7)), "49"},
		{"method expression (*T).M", fmt.Sprint(got.Add(c, 2)), "3"},
		{"method expression T.M", fmt.Sprint(got.Get(*c)), "3"},
		{"generic F[int]", got.Int(5), "int:5"},
		{"generic F[string]", got.Str("x"), "string:x"},
		{"non-capturing literal", got.Lit("y"), "lit:y"},
		{"function of another package", fmt.Sprint(got.Parse("ff", 16, 64)), "255 <nil>"},
		{"literal in an interface", fmt.Sprint(got.AnyFun.(func(int, int) int)(5, 3)), "2"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: called after decoding: %s, want %s", ch.name, ch.got, ch.want)
		}
	}
	if got.Nil != nil {
		t.Error("nil func decoded as non-nil")
	}
}

// A function reference carries a name and a position: nothing of its code.
func TestFuncTravelsByReference(t *testing.T) {
	data, err := Marshal(square)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"func #1", "github.com/mproc-go/mproc/codec.square", "by reference"} {
		if !strings.Contains(out, want) {
			t.Errorf("Dis output lacks %q:\n%s", want, out)
		}
	}
	// Past the stream header: the func type's description, the name, a
	// position and the one-byte reference; no code.
	name := "github.com/mproc-go/mproc/codec.square"
	if n := len(data) - len(appendHeader(nil)); n > 2*len(name)+32 {
		t.Errorf("a function reference took %d bytes; it should be a name and a position", n)
	}
}

func TestFuncRefusals(t *testing.T) {
	base := 10
	capturing := func(x int) int { return x + base }
	tests := []struct {
		name string
		v    any
		want []string
	}{
		{"capturing closure", struct{ F func(int) int }{capturing},
			[]string{".F", "func(int) int", "codec.TestFuncRefusals.func1", "funcs_test.go:", "captures variables",
				"top-level function and pass the captured values as arguments", "struct holding them with a method"}},
		{"literal made in generic code", []any{identityOf[int]()},
			[]string{"[0].(func(int) int)", "identityOf[...]", "made inside a generic function",
				"type arguments", "F[int]) travels too"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.v)
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("Marshal error = %v, want *UnsupportedError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A decoded function can be sent on again (a worker passing it along).
func TestResendDecodedFunc(t *testing.T) {
	f := roundTrip(t, square)
	g := roundTrip(t, f)
	if g(3) != 9 {
		t.Fatalf("the function sent twice returns %d for 3, want 9", g(3))
	}
}
