package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strconv"

	"github.com/mproc-go/mproc"
)

func double(x int) int { return 2 * x }

func parse(_ context.Context, s string) (int, error) { return strconv.Atoi(s) }

func Example() {
	// In main: mproc.Main() first (here TestMain calls it).
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	out, err := mproc.Map(ctx, pool, mproc.Plain(double), []int{1, 2, 3, 4})
	fmt.Println(out, err)
	// Output: [2 4 6 8] <nil>
}

func ExampleMap_errors() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	_, err = mproc.Map(ctx, pool, parse, []string{"1", "2", "three"})
	var te *mproc.TaskError
	if errors.As(err, &te) {
		fmt.Println("input", te.Index, "failed:", te.Msg)
	}
	var ne *strconv.NumError
	fmt.Println("the error is still a *strconv.NumError:", errors.As(err, &ne))
	// Output:
	// input 2 failed: strconv.Atoi: parsing "three": invalid syntax
	// the error is still a *strconv.NumError: true
}

func ExampleImap() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// The input is read only as results drain: it may be endless.
	for v, err := range mproc.Imap(ctx, pool, mproc.Plain(double), slices.Values([]int{5, 6, 7})) {
		fmt.Println(v, err)
	}
	// Output:
	// 10 <nil>
	// 12 <nil>
	// 14 <nil>
}

func ExampleSubmit() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	f := mproc.Submit(ctx, pool, parse, "42")
	v, err := f.Wait(ctx)
	fmt.Println(v, err)
	// Output: 42 <nil>
}

func ExampleStart() {
	ctx := context.Background()
	p, err := mproc.Start(ctx, parse, "7")
	if err != nil {
		log.Fatal(err)
	}
	v, err := p.Wait()
	fmt.Println(v, err)
	// Output: 7 <nil>
}

func ExampleInProcess() {
	// The same calls on goroutines, with every value round-tripped through
	// the codec so that what could not be sent shows up in development.
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2), mproc.RoundTrip())
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	out, err := mproc.Map(ctx, pool, mproc.Plain(double), []int{10, 20})
	fmt.Println(out, err)
	// Output: [20 40] <nil>
}
