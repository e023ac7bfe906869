package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// words puts each word of a line into the queue, in a process of its own,
// then closes the queue.
func words(ctx context.Context, a struct {
	Q    *mproc.Queue[string]
	Line string
}) (int, error) {
	fs := strings.Fields(a.Line)
	for _, w := range fs {
		if err := a.Q.Put(ctx, w); err != nil {
			return 0, err
		}
	}
	return len(fs), a.Q.Close()
}

func ExampleQueue() {
	ctx := context.Background()
	q := mproc.NewQueue[string]()
	// The queue goes to the new process inside its argument, as a handle.
	pr, err := mproc.Start(ctx, words, struct {
		Q    *mproc.Queue[string]
		Line string
	}{q, "to be or not to be"})
	if err != nil {
		log.Fatal(err)
	}
	var got []string
	for w, err := range q.All(ctx) { // ends once the producer closed it and it is drained
		if err != nil {
			log.Fatal(err)
		}
		got = append(got, w)
	}
	n, err := pr.Wait()
	fmt.Println(strings.Join(got, " "))
	fmt.Println("sent", n, err)
	// Output:
	// to be or not to be
	// sent 6 <nil>
}

func ExampleQueue_notBytes() {
	q := mproc.NewQueue[int]()
	// A queue is a connection, not data: bytes cannot hold it.
	_, err := codec.Marshal(struct{ Jobs *mproc.Queue[int] }{q})
	fmt.Println(err)
	// Output:
	// codec: cannot send .Jobs: *mproc.Queue[int]: it owns operating-system descriptors (it is a handle), which only a connection between processes of this machine can pass; bytes cannot carry them; fix: pass it to a worker through mproc (Map, Submit, Start, Initializer, Queue.Put, Pipe.Send), which sends it as a handle
}

// upper answers every line it receives with the line in capitals and its
// pid, until the other end closes.
func upper(ctx context.Context, p *mproc.PipeEnd[string]) (int, error) {
	n := 0
	for {
		s, err := p.Recv(ctx)
		if err != nil {
			return n, nil // the other end closed
		}
		p.Send(ctx, strings.ToUpper(s))
		n++
	}
}

func ExampleNewPipe() {
	ctx := context.Background()
	mine, theirs, err := mproc.NewPipe[string]()
	if err != nil {
		log.Fatal(err)
	}
	pr, err := mproc.Start(ctx, upper, theirs)
	if err != nil {
		log.Fatal(err)
	}
	theirs.Close() // the process holds its own copy
	for _, s := range []string{"ping", "pong"} {
		mine.Send(ctx, s)
		back, err := mine.Recv(ctx)
		fmt.Println(back, err)
	}
	mine.Close()
	fmt.Println(pr.Wait())
	// Output:
	// PING <nil>
	// PONG <nil>
	// 2 <nil>
}

// tally records in the shared map which process saw which word.
func tally(ctx context.Context, a struct {
	Seen *mproc.SharedMap[string, bool]
	Word string
}) (int, error) {
	return os.Getpid(), a.Seen.Set(ctx, a.Word, true)
}

func ExampleSharedMap() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	seen := mproc.NewSharedMap[string, bool]()
	type arg = struct {
		Seen *mproc.SharedMap[string, bool]
		Word string
	}
	if _, err := mproc.Map(ctx, pool, tally, []arg{{seen, "a"}, {seen, "b"}, {seen, "c"}}); err != nil {
		log.Fatal(err)
	}
	items, err := seen.Items(ctx) // set in the workers, read here
	fmt.Println(slices.Sorted(maps.Keys(items)), err)
	// Output: [a b c] <nil>
}

type squares struct {
	S        *mproc.SharedSlice[int64]
	From, To int
}

// fillSquares writes its part of a slice the parent shares: no copy goes
// either way.
func fillSquares(_ context.Context, a squares) (int, error) {
	s := a.S.Slice()
	for i := a.From; i < a.To; i++ {
		s[i] = int64(i * i)
	}
	return a.To - a.From, nil
}

func ExampleSharedSlice() {
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	s, err := mproc.NewSharedSlice[int64](8)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if _, err := mproc.Map(ctx, pool, fillSquares, []squares{{s, 0, 4}, {s, 4, 8}}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Slice())
	// Output: [0 1 4 9 16 25 36 49]
}

// grabAndDie takes the lock and dies holding it.
func grabAndDie(ctx context.Context, l *mproc.Lock) (int, error) {
	l.Lock()
	os.Exit(1)
	return 0, nil
}

func ExampleLock_ownerDied() {
	ctx := context.Background()
	l, err := mproc.NewLock()
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	pr, err := mproc.Start(ctx, grabAndDie, l)
	if err != nil {
		log.Fatal(err)
	}
	pr.Wait()
	// Python's Lock would block here for ever.
	err = l.Acquire(ctx)
	fmt.Println(errors.Is(err, mproc.ErrOwnerDied), l.Owner() == os.Getpid())
	l.Unlock()
	// Output: true true
}
