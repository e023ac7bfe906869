package binref_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/mproc-go/mproc/internal/binref"
)

func square(x int) int { return x * x }

// A function travels as its name and offset; the receiving process (here,
// the same one) rebuilds it after checking both.
func ExampleFuncAt() {
	fi := binref.Func(reflect.ValueOf(square))
	fmt.Println(fi.Name, fi.Sendable())

	v, err := binref.FuncAt(fi.Offset, fi.Name, reflect.TypeOf(square))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Interface().(func(int) int)(9))
	// Output:
	// github.com/mproc-go/mproc/internal/binref_test.square true
	// 81
}

// A closure that captures a variable cannot be sent by reference.
func ExampleFunc_closure() {
	n := 0
	fi := binref.Func(reflect.ValueOf(func() int { n++; return n }))
	fmt.Println(fi.Name, fi.Closure, fi.Sendable())
	// Output:
	// github.com/mproc-go/mproc/internal/binref_test.ExampleFunc_closure.func1 true false
}

type point struct{ X, Y int }

func ExampleTypeAt() {
	ref, ok := binref.TypeOf(reflect.TypeFor[map[string]point]())
	if !ok {
		return
	}
	t, err := binref.TypeAt(ref, "map[string]binref_test.point")
	fmt.Println(t, err)
	_, err = binref.TypeAt(ref, "map[string]int")
	fmt.Println(err != nil)
	// Output:
	// map[string]binref_test.point <nil>
	// true
}

var ErrNotFound = errors.New("not found")

// A sentinel error travels as the position of its variable, so that
// errors.Is still matches on the other side.
func ExampleFindGlobal() {
	ref, ok := binref.FindGlobal(ErrNotFound)
	fmt.Println(ok)

	v, err := binref.LoadGlobal(ref, reflect.TypeOf(ErrNotFound))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(errors.Is(v.(error), ErrNotFound))
	// Output:
	// true
	// true
}

// Two processes compare fingerprints before they exchange references.
func ExampleFingerprint() {
	fp := binref.Fingerprint()
	fmt.Println(strings.HasPrefix(fp, "go:") || strings.HasPrefix(fp, "crc64:"))
	// Output: true
}
