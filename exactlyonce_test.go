package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// A countedInput names the file that counts its executions.
type countedInput struct {
	Dir  string
	N    int
	Exit int  // the input that ends its worker with os.Exit(7)
	Once bool // only the first time it runs
}

// counted appends "x" to Dir/N, so that the file's length is the number of
// times the input ran, and ends its worker when N is Exit.
func counted(_ context.Context, in countedInput) (int, error) {
	path := filepath.Join(in.Dir, strconv.Itoa(in.N))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	if _, err := f.WriteString("x"); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if in.N == in.Exit {
		if b, _ := os.ReadFile(path); !in.Once || len(b) == 1 {
			os.Exit(7)
		}
	}
	return in.N * 10, nil
}

func runs(t *testing.T, dir string, n int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(n)))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func countedInputs(dir string, n, exit int, once bool) []countedInput {
	in := make([]countedInput, n)
	for i := range in {
		in[i] = countedInput{Dir: dir, N: i, Exit: exit, Once: once}
	}
	return in
}

// Without Retries no input runs twice: those that ran before their worker
// died fail with a WorkerExitError saying their result was lost, the one
// that killed it fails with a WorkerExitError for it, and those that never
// started run on a replacement.
func TestExactlyOnceWithoutRetries(t *testing.T) {
	for _, chunk := range []int{1, 4} {
		t.Run(fmt.Sprintf("chunk%d", chunk), func(t *testing.T) {
			p := newPool(t, mproc.Workers(1))
			dir := t.TempDir()
			out, err := mproc.Map(t.Context(), p, counted, countedInputs(dir, 4, 2, false), mproc.ChunkSize(chunk), mproc.CollectErrors())
			if err == nil {
				t.Fatal("Map succeeded; want input 2 to fail")
			}
			failed := map[int]error{}
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var we *mproc.WorkerExitError
				if !errors.As(e, &we) {
					t.Fatalf("unexpected error %v, want a *WorkerExitError", e)
				}
				if _, dup := failed[we.Index]; dup {
					t.Errorf("input %d failed twice", we.Index)
				}
				failed[we.Index] = e
			}
			for i := range 4 {
				if n := runs(t, dir, i); n != 1 {
					t.Errorf("input %d ran %d times, want once", i, n)
				}
			}
			var we *mproc.WorkerExitError
			if e := failed[2]; !errors.As(e, &we) || we.Lost || we.Code != 7 || !strings.Contains(e.Error(), "died running task 2: exit status 7") {
				t.Errorf("input 2: %v, want a WorkerExitError for its exit", e)
			}
			// In one chunk, inputs 0 and 1 are answered if the chunk
			// passed on their outcome before input 2 ran (every 100 µs of
			// its running), and fail as lost otherwise: either way, once.
			for i := range 2 {
				e := failed[i]
				if e == nil {
					if out[i] != i*10 {
						t.Errorf("out[%d] = %d", i, out[i])
					}
					continue // its result came back before the worker died
				}
				var we *mproc.WorkerExitError
				errors.As(e, &we)
				want := fmt.Sprintf("task %d ran but its result was lost when worker %d (pid %d) died running input 2", i, we.Worker, we.Pid)
				if !we.Lost || we.Running != 2 || we.Code != 7 || we.Pid == 0 || !strings.Contains(e.Error(), want) ||
					!strings.Contains(e.Error(), "not run again without Retries") {
					t.Errorf("input %d: %v (%+v), want a lost-result WorkerExitError containing %q", i, e, we, want)
				}
			}
			if failed[3] != nil || out[3] != 30 {
				t.Errorf("input 3 never started, must run on a replacement: %v, %v", out[3], failed[3])
			}
		})
	}
}

// With Retries the inputs that ran may run again, and every result comes
// back once.
func TestExactlyOnceResultsWithRetries(t *testing.T) {
	for _, chunk := range []int{1, 4} {
		t.Run(fmt.Sprintf("chunk%d", chunk), func(t *testing.T) {
			p := newPool(t, mproc.Workers(1))
			dir := t.TempDir()
			out, err := mproc.Map(t.Context(), p, counted, countedInputs(dir, 4, 2, true), mproc.ChunkSize(chunk), mproc.Retries(1))
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				if v != i*10 {
					t.Errorf("out[%d] = %d", i, v)
				}
			}
			if n := runs(t, dir, 2); n != 2 {
				t.Errorf("input 2 ran %d times, want twice", n)
			}
			if n := runs(t, dir, 3); n != 1 {
				t.Errorf("input 3 ran %d times, want once", n)
			}
		})
	}
}

func anyOne(_ context.Context, v any) (int, error) { return 1, nil }

// An input that cannot be sent is named as the caller knows it: args[i],
// i its index in the caller's slice, whatever the chunk; a function that
// cannot be sent is fn. The error is still a *codec.UnsupportedError.
func TestUnsendablePaths(t *testing.T) {
	k := 3
	capturing := func(_ context.Context, v any) (int, error) { return k, nil }
	in := []any{1, 2, 3, make(chan int), 5}
	for _, tc := range []struct {
		name string
		opts []mproc.Option
	}{
		{"process", []mproc.Option{mproc.Workers(1)}},
		{"roundtrip", []mproc.Option{mproc.RoundTrip()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, tc.opts...)
			out, err := mproc.Map(t.Context(), p, anyOne, in, mproc.ChunkSize(2), mproc.CollectErrors())
			var ue *codec.UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a *codec.UnsupportedError", err)
			}
			msg := err.Error()
			for _, want := range []string{"cannot send args[3]", "chan int", ue.Fix, "send the values instead of the channel"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q lacks %q", msg, want)
				}
			}
			for _, bad := range []string{".Args", ".V.", "[]interface {}"} {
				if strings.Contains(msg, bad) {
					t.Errorf("%q shows the internal %q", msg, bad)
				}
			}
			if out[0] != 1 || out[1] != 1 || out[4] != 1 {
				t.Errorf("out = %v: the inputs that can be sent run", out)
			}

			_, err = mproc.Submit(t.Context(), p, anyOne, any(make(chan int))).Wait(t.Context())
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot send args[0]") {
				t.Errorf("Submit: %v, want a *codec.UnsupportedError for args[0]", err)
			}

			_, err = mproc.Map(t.Context(), p, capturing, in[:2])
			checkFnPath(t, "Map", err)
			_, err = mproc.Submit(t.Context(), p, capturing, any(1)).Wait(t.Context())
			checkFnPath(t, "Submit", err)
		})
	}
	_, err := mproc.Start(t.Context(), anyOne, any(make(chan int)))
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot send args[0]: chan int") {
		t.Errorf("Start: %v, want a *codec.UnsupportedError for args[0]", err)
	}
}

func checkFnPath(t *testing.T, what string, err error) {
	t.Helper()
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("%s: err = %v, want a *codec.UnsupportedError", what, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot send fn: ") || !strings.Contains(msg, "TestUnsendablePaths.func1") ||
		!strings.Contains(msg, "captures variables") {
		t.Errorf("%s: %q does not name fn and the closure", what, msg)
	}
	if strings.Contains(msg, ".V.") || strings.Contains(msg, ".Fn") {
		t.Errorf("%s: %q shows the internal path", what, msg)
	}
}
