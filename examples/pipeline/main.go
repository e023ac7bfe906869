// Command pipeline is a producer process, a pool of consumers and a
// results queue, the shape of most multiprocessing programs:
//
//	go run ./examples/pipeline            # numbers up to 200,000, 2 consumers
//	go run ./examples/pipeline -n 1000000 -consumers 4
//
// The producer is a Process started with the jobs queue; the consumers are
// pool tasks, each holding both queues; the parent reads the results queue.
// Every queue is a handle: a connection to the process that made it, passed
// to the others as a descriptor. Nothing is inherited at start, nothing is
// pickled: a queue goes to a process whenever a value holding it does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/mproc-go/mproc"
)

// A span asks a consumer to count the primes in [From, To).
type span struct{ From, To int }

// A count is a consumer's answer for one span.
type count struct {
	Span   span
	Primes int
	Pid    int
}

type producerArgs struct {
	Jobs  *mproc.Queue[span]
	N     int
	Width int
}

// produce puts the spans covering [0, N) into the jobs queue, then closes
// it: the consumers' loops end once it is drained.
func produce(ctx context.Context, a producerArgs) (int, error) {
	n := 0
	for from := 0; from < a.N; from += a.Width {
		if err := a.Jobs.Put(ctx, span{from, min(from+a.Width, a.N)}); err != nil {
			return n, err
		}
		n++
	}
	return n, a.Jobs.Close()
}

type consumerArgs struct {
	Jobs    *mproc.Queue[span]
	Results *mproc.Queue[count]
}

// consume counts primes in spans until the jobs queue is closed and empty.
func consume(ctx context.Context, a consumerArgs) (int, error) {
	done := 0
	for s, err := range a.Jobs.All(ctx) {
		if err != nil {
			return done, err
		}
		if err := a.Results.Put(ctx, count{s, primesIn(s), os.Getpid()}); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

func primesIn(s span) int {
	n := 0
	for x := max(s.From, 2); x < s.To; x++ {
		prime := true
		for d := 2; d*d <= x; d++ {
			if x%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			n++
		}
	}
	return n
}

func main() {
	mproc.Main() // a worker serves here and exits; the parent returns at once
	n := flag.Int("n", 200_000, "count primes below n")
	consumers := flag.Int("consumers", 2, "consumer processes")
	flag.Parse()
	if err := run(context.Background(), *n, *consumers); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, consumers int) error {
	start := time.Now()
	jobs := mproc.NewQueue[span](mproc.QueueName("jobs"), mproc.QueueCapacity(64))
	results := mproc.NewQueue[count](mproc.QueueName("results"))

	producer, err := mproc.Start(ctx, produce, producerArgs{Jobs: jobs, N: n, Width: 5_000})
	if err != nil {
		return err
	}
	pool, err := mproc.NewPool(mproc.Workers(consumers))
	if err != nil {
		return err
	}
	defer pool.Close()
	args := make([]consumerArgs, consumers)
	for i := range args {
		args[i] = consumerArgs{Jobs: jobs, Results: results}
	}
	consumed := make(chan error, 1)
	go func() {
		_, err := mproc.Map(ctx, pool, consume, args, mproc.ChunkSize(1))
		consumed <- err
	}()
	// The loop ends once the results queue is drained and no consumer
	// holds it any more: each let go of it when its task returned.
	total, spans := 0, 0
	byPid := map[int]int{}
	for c, err := range results.All(ctx) {
		if err != nil {
			return err
		}
		total += c.Primes
		spans++
		byPid[c.Pid]++
	}
	if err := <-consumed; err != nil {
		return err
	}
	sent, err := producer.Wait()
	if err != nil {
		return err
	}
	fmt.Printf("%d primes below %d, in %d spans: the producer (pid %d) sent %d\n", total, n, spans, producer.Pid(), sent)
	pids := make([]int, 0, len(byPid))
	for pid := range byPid {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		fmt.Printf("  consumer pid %d counted %d spans\n", pid, byPid[pid])
	}
	fmt.Printf("%v in all\n", time.Since(start).Round(time.Millisecond))
	return nil
}
