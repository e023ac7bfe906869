// Command crossbuild is built by codec's TestBuilds in several ways (PIE,
// stripped); "send" writes a payload, "recv" reads it in another process of
// the same executable and prints what it finds.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mproc-go/mproc/codec"
)

var ErrBusy = errors.New("busy")

type Shape interface{ Area() int }

type Rect struct{ W, H int }

func (r Rect) Area() int { return r.W * r.H }

func Twice[T int | string](x T) T { return x + x }

type Task struct {
	Int    func(int) int
	Str    func(string) string
	Shapes []Shape
	Err    error
	Any    any
}

func main() {
	switch os.Args[1] {
	case "send":
		t := Task{Int: Twice[int], Str: Twice[string], Shapes: []Shape{Rect{2, 3}},
			Err: fmt.Errorf("wrapped: %w", ErrBusy), Any: map[string]Rect{"r": {1, 1}}}
		data, err := codec.Marshal(t)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(data)
	case "recv":
		data, _ := io.ReadAll(os.Stdin)
		var t Task
		if err := codec.Unmarshal(data, &t); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(t.Int(21), t.Str("ab"), t.Shapes[0].Area(), errors.Is(t.Err, ErrBusy), t.Any.(map[string]Rect)["r"])
	}
}
