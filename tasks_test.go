package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
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

// hang never returns for x == 2, whatever its context says.
func hang(_ context.Context, x int) (int, error) {
	if x == 2 {
		select {}
	}
	return x, nil
}

// dieOnce kills its worker the first time it runs for a directory, and
// succeeds when run again.
func dieOnce(_ context.Context, dir string) (string, error) {
	marker := dir + "/ran"
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, nil, 0o600)
		unix.Kill(os.Getpid(), unix.SIGKILL)
	}
	return "second run", nil
}

// hoard allocates and keeps memory until the worker dies.
func hoard(_ context.Context, mib int) (int, error) {
	var keep [][]byte
	for i := range mib {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = byte(i)
		}
		keep = append(keep, b)
	}
	return len(keep), nil
}

// chaos is the task of the chaos test with faults: some inputs hang, some
// panic, the others double.
func chaos(_ context.Context, x int) (int, error) {
	switch {
	case x%997 == 1:
		select {}
	case x%89 == 3:
		panic(fmt.Sprintf("chaos %d", x))
	}
	return 2 * x, nil
}

func waitForCancel(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// busySquare squares x after about 50 µs of work, so that a map of many
// inputs lasts long enough to be disturbed.
func busySquare(_ context.Context, x int) (int, error) {
	v := uint64(x) + 1
	for range 20_000 {
		v ^= v << 13
		v ^= v >> 7
		v ^= v << 17
	}
	if v == 0 {
		return -1, nil // never: keeps the loop from being optimised away
	}
	return x * x, nil
}

// corrupt writes garbage to the worker's control socket, as a bug in C code
// scribbling on a file descriptor would, then waits to be killed.
func corrupt(_ context.Context, _ int) (int, error) {
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if strings.HasPrefix(target, "socket:") {
			fd, _ := strconv.Atoi(e.Name())
			unix.Write(fd, []byte("\xff\xfe garbage \x00\x01\x02 that is no codec message"))
		}
	}
	select {}
}

// unloadable is an argument that a worker cannot decode, like a task whose
// function or type the worker cannot resolve.
type unloadable struct{ N int }

func (u unloadable) MarshalCodec() (any, error) { return u.N, nil }

func (u *unloadable) UnmarshalCodec(state any) error {
	return fmt.Errorf("unloadable %v cannot be rebuilt here", state)
}

func useUnloadable(_ context.Context, u unloadable) (int, error) { return u.N, nil }
