// Command quickstart maps a CPU-bound function over inputs with a pool of
// worker processes, draws a progress bar, prints the results, the serial
// and parallel wall times, and what travelled to the workers: the function
// by reference, the inputs by value, in a few lines; -dis adds the full
// listing of one task's bytes.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -dis
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// countPrimes counts the primes below n by trial division: honest CPU work.
// It is a top-level function, so it travels to the workers by reference.
func countPrimes(n int) int {
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d*d <= i; d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

func main() {
	mproc.Main() // workers serve tasks here; the parent goes on
	dis := flag.Bool("dis", false, "also list every byte of one task as sent to a worker")
	flag.Parse()

	ctx := context.Background()
	inputs := make([]int, 24)
	for i := range inputs {
		inputs[i] = 150_000 + 10_000*i
	}

	start := time.Now()
	serial := make([]int, len(inputs))
	for i, n := range inputs {
		serial[i] = countPrimes(n)
	}
	serialTime := time.Since(start)

	workers := runtime.NumCPU()
	pool, err := mproc.NewPool(mproc.Workers(workers))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	start = time.Now()
	results, err := mproc.Map(ctx, pool, mproc.Plain(countPrimes), inputs,
		mproc.ChunkSize(1), mproc.OnProgress(progressBar))
	if err != nil {
		log.Fatal(err)
	}
	poolTime := time.Since(start)
	fmt.Fprintln(os.Stderr)

	for i, n := range inputs {
		fmt.Printf("primes below %7d: %6d\n", n, results[i])
		if results[i] != serial[i] {
			log.Fatalf("worker result %d differs from serial %d", results[i], serial[i])
		}
	}
	fmt.Printf("\nserial:            %v\n", serialTime.Round(time.Millisecond))
	fmt.Printf("pool (%d workers): %v\n", workers, poolTime.Round(time.Millisecond))
	fmt.Printf("speedup:           %.2fx\n", serialTime.Seconds()/poolTime.Seconds())

	if err := whatWasSent(os.Stdout, inputs, *dis); err != nil {
		log.Fatal(err)
	}
}

// whatWasSent prints what travelled to the workers for each task: the
// function by reference and the input by value, with their sizes, and
// with full, codec.Dis's listing of one task.
func whatWasSent(w io.Writer, inputs []int, full bool) error {
	payload, err := mproc.TaskPayload(mproc.Plain(countPrimes), inputs[:1])
	if err != nil {
		return err
	}
	// An input's own cost is what one more input adds to a chunk's bytes.
	one, err := codec.Marshal(inputs[:1])
	if err != nil {
		return err
	}
	two, err := codec.Marshal(inputs[:2])
	if err != nil {
		return err
	}
	name := runtime.FuncForPC(reflect.ValueOf(countPrimes).Pointer()).Name()
	fmt.Fprintln(w, "\nWhat went to the workers:")
	fmt.Fprintf(w, "  function  %s by reference: its name and place in this binary, no code\n", name)
	fmt.Fprintf(w, "  inputs    %s by value: %d bytes per input\n", "[]int", len(two)-len(one))
	fmt.Fprintf(w, "A task of one input is %d bytes when it is the first to a worker: most of them describe\n", len(payload))
	fmt.Fprintln(w, "the types it uses, once per worker; later tasks refer to those descriptions.")
	if !full {
		fmt.Fprintln(w, "Run with -dis to see every byte of it explained.")
		return nil
	}
	fmt.Fprintln(w, "\nThe task, byte by byte:")
	return codec.Dis(w, payload)
}

// progressBar draws how many inputs are done out of the total on stderr.
func progressBar(pr mproc.Progress) {
	const width = 40
	done := pr.Done + pr.Failed
	filled := width * done / pr.Total
	fmt.Fprintf(os.Stderr, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, pr.Total)
}
