// Command refprog sends a function, a type and a sentinel error by
// reference to a copy of itself, which resolves them and reports what it
// got. TestOtherProcess builds it in several modes and checks the report.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"

	"github.com/mproc-go/mproc/internal/binref"
)

// ErrSentinel is the sentinel the child must recognise with errors.Is.
var ErrSentinel = errors.New("refprog: sentinel")

// Payload is the type the child must resolve.
type Payload struct {
	Name string
	Vals map[string][]int
}

func square(x int) int { return x * x }

func describe[T any](x T) string { return fmt.Sprintf("%T:%v", x, x) }

type funcRef struct {
	Offset int64
	Name   string
}

type message struct {
	Fingerprint string
	Square      funcRef
	DescInt     funcRef
	DescString  funcRef
	Bogus       funcRef
	Payload     binref.TypeRef
	PayloadName string
	Sentinel    binref.GlobalRef
	SquarePC    uintptr
}

func main() {
	var err error
	if os.Getenv("BINREF_REFPROG_CHILD") == "1" {
		err = child()
	} else {
		err = parent()
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}

func ref(fn any) funcRef {
	fi := binref.Func(reflect.ValueOf(fn))
	return funcRef{fi.Offset, fi.Name}
}

func parent() error {
	m := message{
		Fingerprint: binref.Fingerprint(),
		Square:      ref(square),
		DescInt:     ref(describe[int]),
		DescString:  ref(describe[string]),
		PayloadName: reflect.TypeFor[Payload]().String(),
		SquarePC:    reflect.ValueOf(square).Pointer(),
	}
	m.Bogus = funcRef{m.Square.Offset + 1, m.Square.Name}
	var ok bool
	if m.Payload, ok = binref.TypeOf(reflect.TypeFor[Payload]()); !ok {
		return errors.New("TypeOf(Payload) not ok")
	}
	if m.Sentinel, ok = binref.FindGlobal(ErrSentinel); !ok {
		return errors.New("FindGlobal(ErrSentinel) not found")
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "BINREF_REFPROG_CHILD=1")
	cmd.Args = append(cmd.Args, string(data))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func child() error {
	var m message
	if err := json.Unmarshal([]byte(os.Args[1]), &m); err != nil {
		return err
	}
	fmt.Println("fingerprint same:", m.Fingerprint == binref.Fingerprint() && m.Fingerprint != "")
	fmt.Println("fingerprint kind:", strings.SplitN(m.Fingerprint, ":", 2)[0])
	fmt.Printf("square pc parent=%#x child=%#x\n", m.SquarePC, reflect.ValueOf(square).Pointer())

	sq, err := binref.FuncAt(m.Square.Offset, m.Square.Name, reflect.TypeFor[func(int) int]())
	if err != nil {
		return err
	}
	fmt.Println("square(7) =", sq.Interface().(func(int) int)(7))
	di, err := binref.FuncAt(m.DescInt.Offset, m.DescInt.Name, reflect.TypeFor[func(int) string]())
	if err != nil {
		return err
	}
	fmt.Println("describe[int](3) =", di.Interface().(func(int) string)(3))
	ds, err := binref.FuncAt(m.DescString.Offset, m.DescString.Name, reflect.TypeFor[func(string) string]())
	if err != nil {
		return err
	}
	fmt.Println("describe[string](a) =", ds.Interface().(func(string) string)("a"))
	_, err = binref.FuncAt(m.Bogus.Offset, m.Bogus.Name, reflect.TypeFor[func(int) int]())
	var re *binref.ResolveError
	fmt.Println("bogus offset refused:", errors.As(err, &re), err)

	typ, err := binref.TypeAt(m.Payload, m.PayloadName)
	if err != nil {
		return err
	}
	fmt.Println("payload type:", typ, typ == reflect.TypeFor[Payload]())

	v, err := binref.LoadGlobal(m.Sentinel, reflect.TypeOf(ErrSentinel))
	if err != nil {
		return err
	}
	e, _ := v.(error)
	fmt.Println("sentinel:", errors.Is(e, ErrSentinel), v == any(ErrSentinel))
	return nil
}
