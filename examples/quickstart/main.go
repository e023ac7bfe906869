// Command quickstart maps a CPU-bound function over inputs with a pool of
// worker processes, draws a progress bar, prints the results, the serial
// and parallel wall times, and what one task looks like on the wire.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
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

	payload, err := mproc.TaskPayload(mproc.Plain(countPrimes), inputs[:2])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\nOne task as sent to a worker (%d bytes): the function is a reference, the inputs are values.\n", len(payload))
	if err := codec.Dis(os.Stdout, payload); err != nil {
		log.Fatal(err)
	}
}

// progressBar draws how many inputs are done out of the total on stderr.
func progressBar(pr mproc.Progress) {
	const width = 40
	done := pr.Done + pr.Failed
	filled := width * done / pr.Total
	fmt.Fprintf(os.Stderr, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, pr.Total)
}
