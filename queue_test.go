package mproc_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
	"golang.org/x/sys/unix"
)

type produceJob struct {
	Q        *mproc.Queue[int]
	From, To int
}

// produce puts From..To-1 into the queue.
func produce(ctx context.Context, j produceJob) (int, error) {
	for i := j.From; i < j.To; i++ {
		if err := j.Q.Put(ctx, i); err != nil {
			return i, err
		}
	}
	return j.To - j.From, nil
}

// consumeOne takes one item from the queue.
func consumeOne(ctx context.Context, q *mproc.Queue[int]) (int, error) { return q.Get(ctx) }

// consumeAndMark takes one item and marks it done.
func consumeAndMark(ctx context.Context, q *mproc.Queue[int]) (int, error) {
	v, err := q.Get(ctx)
	if err != nil {
		return 0, err
	}
	return v, q.TaskDone()
}

func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestQueueFedByWorkersDrainedByParent(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	before := openFDs(t)
	ctx := deadline(t)
	q := mproc.NewQueue[int](mproc.QueueName("results"))
	jobs := []produceJob{{q, 0, 100}, {q, 100, 200}, {q, 200, 300}}
	if _, err := mproc.Map(ctx, pool, produce, jobs); err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 300 {
		v, err := q.Get(ctx)
		if err != nil {
			t.Fatalf("Get after %d items: %v", len(got), err)
		}
		got = append(got, v)
	}
	slices.Sort(got)
	for i, v := range got {
		if v != i {
			t.Fatalf("items %v...: want each of 0..299 once", got[:i+1])
		}
	}
	// Every producer let go of the queue when its task returned: one more
	// Get can never be satisfied, and says so instead of waiting.
	_, err := q.Get(ctx)
	var qe *mproc.QueueError
	if !errors.As(err, &qe) || !errors.Is(err, mproc.ErrNoWriters) {
		t.Fatalf("Get on the drained queue = %v, want a *QueueError wrapping ErrNoWriters", err)
	}
	for _, want := range []string{`queue "results"`, "Get", "no other process holds it", "fix: Close the queue"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if qe.Pid != os.Getpid() || qe.Owner != os.Getpid() || qe.Queue != "results" || qe.Op != "Get" {
		t.Errorf("QueueError = %+v", qe)
	}
	checkNoFDLeak(t, before)
}

func TestQueueFedByParentDrainedByWorkers(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	q := mproc.NewQueue[int]()
	for i := range 50 {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	qs := make([]*mproc.Queue[int], 50)
	for i := range qs {
		qs[i] = q
	}
	got, err := mproc.Map(ctx, pool, consumeOne, qs)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, inputs(50)) {
		t.Fatalf("workers took %v, want each of 0..49 once", got)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("Len = %d after every item was taken", n)
	}
}

func TestQueuePutRefusesWhatCannotTravel(t *testing.T) {
	type withChan struct {
		N int
		C chan int
	}
	q := mproc.NewQueue[withChan](mproc.QueueName("bad"))
	err := q.Put(context.Background(), withChan{N: 1, C: make(chan int)})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || ue.Path != "item.C" {
		t.Fatalf("Put of a value holding a channel = %v, want an *codec.UnsupportedError at item.C", err)
	}
	if !strings.Contains(err.Error(), `Put on queue "bad"`) {
		t.Errorf("error %q does not name the queue and the operation", err)
	}
	if q.Len() != 0 {
		t.Fatalf("the refused item is in the queue: Len = %d", q.Len())
	}
}

func TestQueueCloseDrainsThenFails(t *testing.T) {
	ctx := deadline(t)
	q := mproc.NewQueue[string]()
	for _, s := range []string{"a", "b"} {
		if err := q.Put(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	if err := q.Put(ctx, "c"); !errors.Is(err, mproc.ErrQueueClosed) {
		t.Fatalf("Put after Close = %v, want ErrQueueClosed", err)
	}
	var got []string
	for v, err := range q.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("All after Close = %q", got)
	}
	if _, err := q.Get(ctx); !errors.Is(err, mproc.ErrQueueClosed) {
		t.Fatalf("Get on a closed, drained queue = %v", err)
	}
}

func TestQueueCapacityBoundsPut(t *testing.T) {
	ctx := deadline(t)
	q := mproc.NewQueue[int](mproc.QueueCapacity(2))
	for i := range 2 {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.Put(short, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put into a full queue = %v, want it to wait until its context ends", err)
	}
	done := make(chan error, 1)
	go func() { done <- q.Put(ctx, 3) }()
	if v, err := q.Get(ctx); err != nil || v != 0 {
		t.Fatalf("Get = %d, %v", v, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Put once there was room = %v", err)
	}
	if n := q.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
}

func TestQueueJoinWaitsForTaskDone(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	q := mproc.NewQueue[int]()
	for i := range 6 {
		q.Put(ctx, i)
	}
	joined := make(chan error, 1)
	go func() { joined <- q.Join(ctx) }()
	qs := []*mproc.Queue[int]{q, q, q, q, q, q}
	if _, err := mproc.Map(ctx, pool, consumeAndMark, qs); err != nil {
		t.Fatal(err)
	}
	if err := <-joined; err != nil {
		t.Fatalf("Join = %v", err)
	}
	if err := q.TaskDone(); err == nil || !strings.Contains(err.Error(), "more times than items were put") {
		t.Fatalf("a seventh TaskDone = %v", err)
	}
}

// takeOneThenDie takes one item through All, which asks for more ahead,
// and kills its process while they are on their way or waiting here.
func takeOneThenDie(ctx context.Context, q *mproc.Queue[int]) (int, error) {
	for v, err := range q.All(ctx) {
		if err != nil {
			return 0, err
		}
		if v != 0 {
			return v, errors.New("the first item is not 0")
		}
		unix.Kill(os.Getpid(), unix.SIGKILL)
	}
	return 0, errors.New("unreachable")
}

func TestQueueConsumerKilledMidGetLosesNothing(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	q := mproc.NewQueue[int]()
	for i := range 100 {
		q.Put(ctx, i)
	}
	_, err := mproc.Submit(ctx, pool, takeOneThenDie, q).Wait(ctx)
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) {
		t.Fatalf("Submit = %v, want the worker's death", err)
	}
	// Item 0 was the dead consumer's; the ones it had been sent ahead
	// (up to 31 more) and never took come back, in their order, when the
	// owner sees its connection close — which may be after this Get
	// starts, so they may come after items never sent to it.
	seen := map[int]bool{}
	last := 0
	for range 99 {
		v, err := q.Get(ctx)
		if err != nil {
			t.Fatalf("Get after %d items: %v", len(seen), err)
		}
		if v == 0 || seen[v] {
			t.Fatalf("item %d again: the dead consumer took it, or it came twice", v)
		}
		seen[v] = true
		if v < 32 {
			if v < last {
				t.Fatalf("item %d after %d: the items given back lost their order", v, last)
			}
			last = v
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after every item but the dead consumer's was taken", q.Len())
	}
}

type bigItem struct {
	Seq  int
	Data []byte
}

// flood puts 1 MiB items for ever, until it is killed.
func flood(ctx context.Context, q *mproc.Queue[bigItem]) (int, error) {
	data := make([]byte, 1<<20)
	for i := 0; ; i++ {
		for k := range data {
			data[k] = byte(i)
		}
		if err := q.Put(ctx, bigItem{i, data}); err != nil {
			return i, err
		}
	}
}

func TestQueueProducerKilledMidPutCorruptsNothing(t *testing.T) {
	ctx := deadline(t)
	q := mproc.NewQueue[bigItem]()
	pr, err := mproc.Start(ctx, flood, q)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := q.Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pr.Kill() // most likely in the middle of writing an item
	pr.Wait()
	next := 5
	for {
		v, err := q.Get(ctx)
		if errors.Is(err, mproc.ErrNoWriters) {
			break
		}
		if err != nil {
			t.Fatalf("Get after the producer's death = %v", err)
		}
		if v.Seq != next || len(v.Data) != 1<<20 || v.Data[0] != byte(next) || v.Data[len(v.Data)-1] != byte(next) {
			t.Fatalf("item %d: seq %d, %d bytes: a torn item", next, v.Seq, len(v.Data))
		}
		next++
	}
}

// ownQueue makes a queue in the worker, puts two items, and hands it to
// the parent.
func ownQueue(ctx context.Context, _ int) (*mproc.Queue[int], error) {
	q := mproc.NewQueue[int](mproc.QueueName("worker's"))
	q.Put(ctx, 1)
	q.Put(ctx, 2)
	return q, nil
}

func exitNow(_ context.Context, _ int) (int, error) {
	os.Exit(3)
	return 0, nil
}

func TestQueueOwnerDeathFailsItsClients(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	q, err := mproc.Submit(ctx, pool, ownQueue, 0).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := q.Get(ctx); err != nil || v != 1 {
		t.Fatalf("Get from the worker's queue = %d, %v", v, err)
	}
	mproc.Submit(ctx, pool, exitNow, 0).Wait(ctx)
	_, err = q.Get(ctx)
	var qe *mproc.QueueError
	if !errors.As(err, &qe) || !errors.Is(err, mproc.ErrQueueOwnerGone) {
		t.Fatalf("Get after the owner's death = %v, want ErrQueueOwnerGone", err)
	}
	if qe.Owner == os.Getpid() || qe.Owner == 0 || !strings.Contains(err.Error(), "keep process") {
		t.Errorf("error %q (owner %d) does not name the owner", err, qe.Owner)
	}
	if err := q.Put(ctx, 3); !errors.Is(err, mproc.ErrQueueOwnerGone) {
		t.Fatalf("Put after the owner's death = %v", err)
	}
	q.Release()
}

func TestQueuePutManyFromAWorker(t *testing.T) {
	ctx := deadline(t)
	q := mproc.NewQueue[int]()
	pr, err := mproc.Start(ctx, putManyN, produceN{q, 1000})
	if err != nil {
		t.Fatal(err)
	}
	for want := range 1000 {
		v, err := q.Get(ctx)
		if err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d: PutMany keeps the order", v, err, want)
		}
	}
	if n, err := pr.Wait(); err != nil || n != 1000 {
		t.Fatalf("producer = %d, %v", n, err)
	}
}

func TestQueuePutManyNamesTheItemThatCannotTravel(t *testing.T) {
	ctx := deadline(t)
	q := mproc.NewQueue[any]()
	err := q.PutMany(ctx, 1, "two", make(chan int), 4)
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || ue.Path != "item[2].(chan int)" || !strings.Contains(err.Error(), "PutMany") {
		t.Fatalf("PutMany = %v, want a refusal at item[2].(chan int)", err)
	}
	if q.Len() != 2 {
		t.Fatalf("Len = %d: the items before the refused one are in the queue", q.Len())
	}
}

type waitArgs struct {
	Ready, Q *mproc.Queue[int]
}

// readyThenGet says it is about to wait, then waits in Get.
func readyThenGet(ctx context.Context, a waitArgs) (int, error) {
	if err := a.Ready.Put(ctx, os.Getpid()); err != nil {
		return 0, err
	}
	return a.Q.Get(ctx)
}

func TestQueueGetInATaskEndsWithItsCall(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	pids := pool.Pids()
	ready := mproc.NewQueue[int]()
	q := mproc.NewQueue[int](mproc.QueueName("never fed"))
	ctx, cancel := context.WithCancel(deadline(t))
	done := make(chan error, 1)
	go func() {
		_, err := mproc.Map(ctx, pool, readyThenGet, []waitArgs{{ready, q}, {ready, q}}, mproc.ChunkSize(1))
		done <- err
	}()
	// Both workers are about to wait in Get: the parent holds the queue,
	// so it may still put. Cancelling the call reaches them through their
	// context.
	for range 2 {
		if _, err := ready.Get(deadline(t)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Map = %v, want context.Canceled", err)
	}
	// The tasks returned when their context ended: no worker was killed.
	if _, err := mproc.Map(deadline(t), pool, square, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := pool.Pids(); !slices.Equal(got, pids) {
		t.Fatalf("worker pids %v, then %v: a task waiting in Get must return when its call is cancelled", pids, got)
	}
}

func echoQueue(_ context.Context, q *mproc.Queue[int]) (*mproc.Queue[int], error) { return q, nil }

func TestQueueComesBackToItsOwner(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	q := mproc.NewQueue[int](mproc.QueueName("round trip"))
	back, err := mproc.Submit(ctx, pool, echoQueue, q).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	if back.Name() != "round trip" {
		t.Fatalf("the queue came back named %q", back.Name())
	}
	if err := back.Put(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if v, err := q.Get(ctx); err != nil || v != 7 {
		t.Fatalf("Get = %d, %v: what the copy that came back put is in the queue", v, err)
	}
}
