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

// links returns the pages a page links to: here, page n links to 2n and
// 2n+1 below 16.
func links(_ context.Context, page int) ([]int, error) {
	var out []int
	for _, next := range []int{2 * page, 2*page + 1} {
		if next < 16 {
			out = append(out, next)
		}
	}
	return out, nil
}

// A work list fed by the results, as a crawler's is: Imap reads its input
// on a goroutine of its own, so the loop body may add inputs while the
// sequence waits for them.
func ExampleImapUnordered_workList() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	todo := make(chan int, 16)
	todo <- 1
	pending := 1 // inputs sent and not answered
	seq := func(yield func(int) bool) {
		for page := range todo {
			if !yield(page) {
				return
			}
		}
	}
	seen := []int{1}
	for found, err := range mproc.ImapUnordered(ctx, pool, links, seq) {
		if err != nil {
			log.Fatal(err)
		}
		pending--
		for _, page := range found {
			seen = append(seen, page)
			pending++
			todo <- page
		}
		if pending == 0 {
			close(todo) // nothing in flight, nothing to add: the sequence ends
		}
	}
	slices.Sort(seen)
	fmt.Println(len(seen), seen[0], seen[len(seen)-1])
	// Output: 15 1 15
}

// OnProgress counts the inputs that succeeded and those that failed apart.
func ExampleOnProgress() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	in := []string{"1", "2", "x", "4"}
	var last mproc.Progress
	_, err = mproc.Map(ctx, pool, parse, in, mproc.CollectErrors(),
		mproc.OnProgress(func(pr mproc.Progress) { last = pr }))
	fmt.Printf("done %d, failed %d of %d\n", last.Done, last.Failed, last.Total)
	fmt.Println(err != nil)
	// Output:
	// done 3, failed 1 of 4
	// true
}
