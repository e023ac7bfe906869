package codec_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync"

	"github.com/mproc-go/mproc/codec"
)

type Account struct {
	Owner   string
	balance int64 // unexported fields travel too
	Partner *Account
}

func ExampleMarshal() {
	a := &Account{Owner: "ada", balance: 100}
	b := &Account{Owner: "bob", balance: -5, Partner: a}
	a.Partner = b // a cycle

	data, err := codec.Marshal(a)
	if err != nil {
		fmt.Println(err)
		return
	}
	var got *Account
	if err := codec.Unmarshal(data, &got); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Owner, got.balance, got.Partner.Owner, got.Partner.balance)
	fmt.Println("cycle kept:", got.Partner.Partner == got)

	// Interface values keep their concrete type, with no registration.
	data, _ = codec.Marshal([]any{int8(3), "x", &Account{Owner: "cy"}})
	var values []any
	_ = codec.Unmarshal(data, &values)
	fmt.Printf("%T %T %T\n", values[0], values[1], values[2])
	// Output:
	// ada 100 bob -5
	// cycle kept: true
	// int8 string *codec_test.Account
}

type Logger struct {
	Prefix string
	out    *os.File
	mu     sync.Mutex
}

type Job struct {
	Name   string
	Log    Logger
	Done   chan bool
	Inputs map[string]any
}

func ExampleCheck() {
	job := Job{
		Name:   "resize",
		Log:    Logger{out: os.Stderr},
		Done:   make(chan bool),
		Inputs: map[string]any{"size": 640, "lock": new(sync.RWMutex)},
	}
	for _, p := range codec.Check(&job) {
		fmt.Printf("%s: %s\n", p.Path, p.Type)
	}
	_, err := codec.Marshal(&job) // fails with the first problem
	fmt.Println(strings.Contains(err.Error(), "duplicated descriptor"))
	// Output:
	// .Log.out: *os.File
	// .Log.mu: sync.Mutex
	// .Done: chan bool
	// .Inputs["lock"].(*sync.RWMutex): sync.RWMutex
	// true
}

func ExampleDis() {
	type Task struct {
		Name  string
		Sizes []int
		Scale func(float64) float64
	}
	data, err := codec.Marshal(Task{Name: "resize", Sizes: []int{640, 480}, Scale: math.Sqrt})
	if err != nil {
		fmt.Println(err)
		return
	}
	var listing strings.Builder
	if err := codec.Dis(&listing, data); err != nil {
		fmt.Println(err)
		return
	}
	// The listing starts with the header and the type and function
	// definitions, whose offsets and positions depend on the build; print
	// the value's lines without their offset column.
	s := listing.String()
	i := strings.LastIndex(s[:strings.Index(s, "  value ")], "\n") + 1
	for _, line := range strings.Split(strings.TrimRight(s[i:], "\n"), "\n") {
		fmt.Println(strings.TrimRight(line[min(8, len(line)):], " "))
	}
	// Output:
	// value                  codec_test.Task  struct, 3 fields
	//   .Name                string  "resize", 6 bytes by value
	//   .Sizes               []int  2 elements, 16 bytes copied raw (by value)
	//   .Scale               func(float64) float64  func #1 math.Sqrt, by reference
}
