package mproc_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

func newPool(t *testing.T, opts ...mproc.Option) *mproc.Pool {
	t.Helper()
	p, err := mproc.NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func inputs(n int) []int {
	in := make([]int, n)
	for i := range in {
		in[i] = i
	}
	return in
}

func TestMapInOrder(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	for _, chunk := range []int{0, 1, 7, 1000} {
		out, err := mproc.Map(t.Context(), p, square, inputs(100), mproc.ChunkSize(chunk))
		if err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		for i, v := range out {
			if v != i*i {
				t.Fatalf("chunk %d: out[%d] = %d, want %d", chunk, i, v, i*i)
			}
		}
	}
	out, err := mproc.Map(t.Context(), p, square, nil)
	if err != nil || len(out) != 0 {
		t.Errorf("Map of no input = %v, %v", out, err)
	}
}

func TestMapRunsInOtherProcesses(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	out, err := mproc.Map(t.Context(), p, pid, inputs(20), mproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	pids := p.Pids()
	for _, v := range out {
		if !slices.Contains(pids, v) {
			t.Fatalf("task ran in pid %d, not in a worker %v", v, pids)
		}
	}
}

func TestPlain(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	out, err := mproc.Map(t.Context(), p, mproc.Plain(cube), []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []int{1, 8, 27}) {
		t.Errorf("out = %v", out)
	}
}

func TestTaskError(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	_, err := mproc.Map(t.Context(), p, failOdd, []int{0, 2, 4, 5, 6}, mproc.ChunkSize(1))
	var te *mproc.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TaskError", err)
	}
	if te.Index != 3 || te.Panic || te.Type != "*fmt.wrapError" || !slices.Contains(p.Pids(), te.Pid) {
		t.Errorf("TaskError = %+v", te)
	}
	for _, want := range []string{"task 3 failed", "input 5: odd input", "*fmt.wrapError"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}

	_, err = mproc.Map(t.Context(), p, pathError, []string{"/nonexistent/file"})
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/nonexistent/file" {
		t.Errorf("err = %v, want a *fs.PathError for /nonexistent/file", err)
	}
}

func TestCollectErrors(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	out, err := mproc.Map(t.Context(), p, failOdd, inputs(6), mproc.CollectErrors(), mproc.ChunkSize(2))
	if err == nil {
		t.Fatal("no error")
	}
	var idx []int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var te *mproc.TaskError
		if !errors.As(e, &te) {
			t.Fatalf("joined error %v is not a *TaskError", e)
		}
		idx = append(idx, te.Index)
	}
	if !slices.Equal(idx, []int{1, 3, 5}) {
		t.Errorf("failed indexes = %v, want [1 3 5]", idx)
	}
	if !slices.Equal(out, []int{0, 0, 2, 0, 4, 0}) {
		t.Errorf("out = %v, want the even inputs kept", out)
	}
}

func TestPanicIsATaskError(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	before := p.Pids()
	_, err := mproc.Map(t.Context(), p, panicOn3, inputs(5), mproc.ChunkSize(5))
	var te *mproc.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TaskError", err)
	}
	if !te.Panic || te.Index != 3 || !strings.Contains(te.Msg, "index out of range") ||
		!strings.Contains(te.Stack, "panicOn3") {
		t.Errorf("TaskError = %+v", te)
	}
	if !strings.Contains(err.Error(), "task 3 panicked") {
		t.Errorf("message %q does not say which task panicked", err)
	}
	out, err := mproc.Map(t.Context(), p, square, []int{4})
	if err != nil || out[0] != 16 {
		t.Errorf("after a panic: %v, %v", out, err)
	}
	if after := p.Pids(); !slices.Equal(before, after) {
		t.Errorf("workers changed from %v to %v: a panic must not kill the worker", before, after)
	}
}

func TestUnsendableFunction(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	k := 3
	ran := false
	captures := func(_ context.Context, x int) (int, error) { ran = true; return x * k, nil }
	_, err := mproc.Map(t.Context(), p, captures, []int{1})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *codec.UnsupportedError", err)
	}
	if ran {
		t.Error("the function ran")
	}
	fut := mproc.Submit(t.Context(), p, captures, 1)
	if _, err := fut.Wait(t.Context()); !errors.As(err, &ue) {
		t.Fatalf("Submit: err = %v, want *codec.UnsupportedError", err)
	}
}

func TestUnsendableResult(t *testing.T) {
	p := newPool(t, mproc.Workers(1))
	// A result type that can never be sent is refused before anything runs.
	_, err := mproc.Map(t.Context(), p, makeChan, []int{1})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), ".Done") {
		t.Fatalf("err = %v, want *codec.UnsupportedError naming .Done", err)
	}
	// A result whose value cannot be sent fails its task, and the worker goes on.
	_, err = mproc.Map(t.Context(), p, boxChan, []int{1})
	var te *mproc.TaskError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "cannot be sent back") || !strings.Contains(err.Error(), "chan") {
		t.Fatalf("err = %v, want a *TaskError saying the chan result cannot be sent back", err)
	}
	if !errors.As(err, &ue) {
		t.Errorf("err = %v does not carry the codec's *UnsupportedError", err)
	}
	if out, err := mproc.Map(t.Context(), p, square, []int{5}); err != nil || out[0] != 25 {
		t.Errorf("after: %v, %v", out, err)
	}
}

func TestSubmit(t *testing.T) {
	p := newPool(t, mproc.Workers(2))
	f := mproc.Submit(t.Context(), p, square, 9)
	<-f.Done()
	if v, err := f.Wait(t.Context()); v != 81 || err != nil {
		t.Errorf("Wait = %d, %v", v, err)
	}
	f = mproc.Submit(t.Context(), p, failOdd, 1)
	var te *mproc.TaskError
	if _, err := f.Wait(t.Context()); !errors.As(err, &te) || te.Index != 0 || !strings.Contains(err.Error(), "input 1: odd input") {
		t.Errorf("Wait = %v, want a TaskError for input 1", err)
	}
}

func TestInitializer(t *testing.T) {
	initialized = "" // TestInProcess sets it in this process; -count=N runs it before
	p := newPool(t, mproc.Workers(2), mproc.Initializer(setInit, "warm"))
	out, err := mproc.Map(t.Context(), p, readInit, inputs(8), mproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out {
		if v != "warm" {
			t.Fatalf("worker saw %q, want the initializer's value", v)
		}
	}
	if initialized != "" {
		t.Error("the initializer ran in the parent")
	}
}

func TestInitializerError(t *testing.T) {
	_, err := mproc.NewPool(mproc.Workers(2), mproc.Initializer(failInit, "orders.db"))
	var ie *mproc.InitError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *InitError", err)
	}
	if !strings.Contains(err.Error(), `cannot open database "orders.db"`) || !strings.Contains(err.Error(), "initializer failed in worker") {
		t.Errorf("message %q lacks the worker's error", err)
	}
}

func TestEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, mproc.Workers(1), mproc.Env([]string{"MPROC_TEST_VAR=blue"}), mproc.Dir(dir))
	v, err := mproc.Submit(t.Context(), p, getenv, "MPROC_TEST_VAR").Wait(t.Context())
	if err != nil || v != "blue" {
		t.Errorf("worker env MPROC_TEST_VAR = %q, %v", v, err)
	}
	marker, err := mproc.Submit(t.Context(), p, getenv, "MPROC_WORKER").Wait(t.Context())
	if err != nil || marker != "" {
		t.Errorf("worker still sees the worker marker %q, %v", marker, err)
	}
	wd, err := mproc.Submit(t.Context(), p, getwd, 0).Wait(t.Context())
	if err != nil || wd != dir {
		t.Errorf("worker dir = %q, %v; want %q", wd, err, dir)
	}
}

func TestMaxTasksPerWorker(t *testing.T) {
	p := newPool(t, mproc.Workers(2), mproc.MaxTasksPerWorker(3))
	out, err := mproc.Map(t.Context(), p, pid, inputs(30), mproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for _, v := range out {
		count[v]++
	}
	if len(count) < 10 {
		t.Errorf("30 tasks ran in %d workers; with 3 tasks each there should be 10", len(count))
	}
	for pid, n := range count {
		if n > 3 {
			t.Errorf("worker %d ran %d tasks, more than 3", pid, n)
		}
	}
}

func TestClosedPool(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close()
	p.Terminate()
	if _, err := mproc.Map(t.Context(), p, square, []int{1}); !errors.Is(err, mproc.ErrClosed) {
		t.Errorf("Map after Close: %v, want ErrClosed", err)
	}
	if _, err := mproc.Submit(t.Context(), p, square, 1).Wait(t.Context()); !errors.Is(err, mproc.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
}

func TestInProcess(t *testing.T) {
	p := newPool(t, mproc.Workers(2), mproc.InProcess(), mproc.Initializer(setInit, "here"))
	out, err := mproc.Map(t.Context(), p, square, inputs(50))
	if err != nil || out[7] != 49 {
		t.Fatalf("Map = %v, %v", out, err)
	}
	_, err = mproc.Map(t.Context(), p, panicOn3, inputs(5))
	var te *mproc.TaskError
	if !errors.As(err, &te) || !te.Panic || te.Index != 3 {
		t.Errorf("panic in process: %v", err)
	}
	if len(p.Pids()) != 0 {
		t.Errorf("an in-process pool has worker pids %v", p.Pids())
	}
}

func TestRoundTripFindsUnsendable(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.RoundTrip())
	var te *mproc.TaskError
	if out, err := mproc.Map(t.Context(), p, failOdd, []int{2, 3}, mproc.CollectErrors()); !errors.As(err, &te) || te.Index != 1 || out[0] != 2 {
		t.Errorf("Map = %v, %v; want 2 and a TaskError for input 1", out, err)
	}
	_, err := mproc.Map(t.Context(), p, boxChan, []int{1})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *codec.UnsupportedError for the chan in the result", err)
	}
}

func TestMainInParentAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, mproc.Main); n != 0 {
		t.Errorf("mproc.Main allocates %v times per call in the parent, want 0", n)
	}
}
