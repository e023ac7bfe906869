package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// Tasks used by the tests. They are top-level functions: they travel by
// reference.

func square(_ context.Context, x int) (int, error) { return x * x, nil }

func cube(x int) int { return x * x * x }

func pid(_ context.Context, _ int) (int, error) { return os.Getpid(), nil }

var errOdd = errors.New("odd input")

func failOdd(_ context.Context, x int) (int, error) {
	if x%2 == 1 {
		return 0, fmt.Errorf("input %d: %w", x, errOdd)
	}
	return x, nil
}

func pathError(_ context.Context, name string) (int, error) {
	_, err := os.Open(name)
	return 0, err
}

func panicOn3(_ context.Context, x int) (int, error) {
	if x == 3 {
		var s []int
		return s[x], nil
	}
	return x, nil
}

// die ends the worker in the way named by how when x is 3.
func die(_ context.Context, x int) (int, error) {
	if x != 3 {
		return x, nil
	}
	fmt.Fprintf(os.Stderr, "worker about to die by %s\n", how)
	switch how {
	case "exit":
		os.Exit(7)
	case "sigkill":
		unix.Kill(os.Getpid(), unix.SIGKILL)
	case "sigsegv":
		unix.Kill(os.Getpid(), unix.SIGSEGV)
	case "fatal":
		debug.SetMaxStack(1 << 16)
		recurse(0)
	}
	select {}
}

// how is set in each worker by the initializer dieInit.
var how string

func dieInit(_ context.Context, h string) error { how = h; return nil }

func recurse(n int) int {
	var pad [64]byte
	return recurse(n+1) + int(pad[n%64])
}

// initialized is set in each worker by setInit.
var initialized string

func setInit(_ context.Context, v string) error {
	initialized = v
	return nil
}

func readInit(_ context.Context, _ int) (string, error) { return initialized, nil }

func failInit(_ context.Context, v string) error {
	return fmt.Errorf("cannot open database %q", v)
}

func getenv(_ context.Context, key string) (string, error) { return os.Getenv(key), nil }

func getwd(_ context.Context, _ int) (string, error) { return os.Getwd() }

func echoLine(_ context.Context, s string) (int, error) {
	fmt.Println(s)
	fmt.Fprintln(os.Stderr, s+" on stderr")
	return len(s), nil
}

// waitCancel tells the test through the fifo at path that it started, waits
// for its context to be cancelled, and says so.
func waitCancel(ctx context.Context, path string) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fmt.Fprintln(f, "started")
	<-ctx.Done()
	fmt.Fprintln(f, "cancelled:", ctx.Err())
	return 0, ctx.Err()
}

type sendsChan struct {
	Name string
	Done chan int
}

func makeChan(_ context.Context, n int) (sendsChan, error) {
	return sendsChan{Name: "c", Done: make(chan int, n)}, nil
}

// boxChan returns a value whose type can be sent but whose content cannot.
func boxChan(_ context.Context, n int) (any, error) { return make(chan int, n), nil }

func spin(_ context.Context, n int) (int, error) {
	x := uint64(n)
	for range 2_000_000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return int(x & 0xff), nil
}

func exitCode(_ context.Context, code int) (int, error) {
	if code >= 0 {
		os.Exit(code)
	}
	select {}
}

func readEOF(_ context.Context, s string) (int, error) {
	return strings.NewReader(s).Read(make([]byte, 1))
}
