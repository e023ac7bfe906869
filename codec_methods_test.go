package mproc_test

import (
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

type scaleBy struct {
	K    int
	name string
}

func (s scaleBy) Scale(_ context.Context, x int) (int, error) { return x * s.K, nil }

type accumulator struct{ base int }

func (a *accumulator) Add(_ context.Context, x int) (int, error) { return a.base + x, nil }

func doubleIt[T int | float64](_ context.Context, x T) (T, error) { return 2 * x, nil }

// mapDouble is a generic wrapper around Map: inside it, doubleIt[T] is a
// function the compiler makes over the instantiation's dictionary.
func mapDouble[T int | float64](ctx context.Context, p *mproc.Pool, xs []T) ([]T, error) {
	return mproc.Map(ctx, p, doubleIt[T], xs)
}

// Issue 12, cases 1 and 2, where functions are accepted: a method value
// (value and pointer receiver) and a function made in generic code run in
// workers.
func TestMethodValuesAndGenericFunctionsInWorkers(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	s := scaleBy{K: 3, name: "s"}
	out, err := mproc.Map(ctx, p, s.Scale, []int{1, 2, 3})
	if err != nil || len(out) != 3 || out[0] != 3 || out[2] != 9 {
		t.Fatalf("Map(s.Scale) = %v, %v; want [3 6 9]", out, err)
	}
	a := &accumulator{base: 10}
	v, err := mproc.Submit(ctx, p, a.Add, 5).Wait(ctx)
	if err != nil || v != 15 {
		t.Fatalf("Submit(a.Add, 5) = %v, %v; want 15", v, err)
	}
	ds, err := mapDouble(ctx, p, []int{4, 5})
	if err != nil || len(ds) != 2 || ds[0] != 8 || ds[1] != 10 {
		t.Fatalf("mapDouble = %v, %v; want [8 10]", ds, err)
	}
	fs, err := mapDouble(ctx, p, []float64{1.5})
	if err != nil || len(fs) != 1 || fs[0] != 3 {
		t.Fatalf("mapDouble[float64] = %v, %v; want [3]", fs, err)
	}
}
