package mproc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/queue"
	"github.com/mproc-go/mproc/internal/sock"
)

// A Queue is a first-in, first-out queue of values of type T shared by
// processes: the one that made it, and every process it is handed to — as
// part of any task input or result, a Start or Initializer argument, or an
// item of another Queue. It is a handle: it travels as a connection, passed
// as a descriptor (SCM_RIGHTS), not as data, so it can go to processes of
// this machine only; codec.Marshal refuses it.
//
// Every item travels through the codec, so a Put of a value the codec
// cannot send fails in Put itself, with the path. Put returns once the item
// is in the queue — written whole into the kernel on its way to the
// process that made the queue, which holds the items — so a process may
// exit right after it. A process killed in the middle of a Put or a Get
// corrupts nothing: a half-written item is dropped with its connection,
// and an item on its way to a consumer that died goes back to the front of
// the queue. A Get that can never be satisfied fails instead of waiting:
// in the process that made the queue, when it is empty, it was handed to
// other processes and every one of them has exited or let go of it, and no
// Map, Imap or Submit of this process that might still hand it out is in
// flight (ErrNoWriters); anywhere,
// when it is closed and empty (ErrQueueClosed), or when the process that
// made it has exited (ErrQueueOwnerGone).
//
// A queue handed to a task with its input lasts as long as the task: the
// worker closes its handle when the task returns. Hand it to a worker's
// Initializer, or to a Process, to keep it there.
//
// The zero Queue is an unbounded queue made by the process that first uses
// it. A Queue is safe for concurrent use.
//
// Every Get returns a copy of what was put, as in Python: through the
// codec, which duplicates the files an item holds, so the caller of Put
// may change or close what it refers to once Put returns. Between
// processes each connection is a codec stream of its own, so types are
// described once; in the process that made the queue, an item of a type
// without pointers (strings apart) is kept as it is, at the cost of a
// channel send.
//
// Costs (docs/performance.md): in the owner a Put and a Get of such an item
// are a lock and a slice, other items an encode and a decode more;
// elsewhere a Put is an encode and one write, a Get a round trip to the
// owner (All asks ahead and avoids it).
type Queue[T any] struct {
	once   sync.Once
	name   string
	cap    int
	owner  int              // pid of the process that made it
	broker *queue.Broker[T] // in that process
	client *queue.Client[T] // in the others
	// byValue: every T can be sent and holds no pointers (strings
	// apart), so a Put in the owner keeps v itself: nothing it refers to
	// can change.
	byValue bool
}

// A QueueOption configures a Queue.
type QueueOption func(*queueConfig)

type queueConfig struct {
	name     string
	capacity int
}

// QueueCapacity bounds the queue to n items: a Put waits for room. The
// default is no bound.
func QueueCapacity(n int) QueueOption {
	return func(c *queueConfig) {
		if n > 0 {
			c.capacity = n
		}
	}
}

// QueueName names the queue in errors; the default is "queue-<pid>-<n>".
func QueueName(name string) QueueOption {
	return func(c *queueConfig) { c.name = name }
}

var queueSeq atomic.Int64

// NewQueue returns an empty queue owned by this process.
func NewQueue[T any](opts ...QueueOption) *Queue[T] {
	var cfg queueConfig
	for _, o := range opts {
		o(&cfg)
	}
	q := &Queue[T]{}
	q.once.Do(func() { q.makeOwner(cfg) })
	return q
}

func (q *Queue[T]) makeOwner(cfg queueConfig) {
	if cfg.name == "" {
		cfg.name = fmt.Sprintf("queue-%d-%d", os.Getpid(), queueSeq.Add(1))
	}
	q.name, q.cap, q.owner = cfg.name, cfg.capacity, os.Getpid()
	q.broker = queue.NewBroker[T](cfg.name, cfg.capacity)
	static, _ := codec.SendableType(reflect.TypeFor[T]())
	q.byValue = static && pointerFree(reflect.TypeFor[T]())
}

// pointerFree reports whether values of t hold no pointers but strings'.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return false
	}
	return true
}

// init makes the zero Queue this process's own.
func (q *Queue[T]) init() { q.once.Do(func() { q.makeOwner(queueConfig{}) }) }

// Name returns the queue's name.
func (q *Queue[T]) Name() string { q.init(); return q.name }

// Put adds v at the end of the queue, waiting for room in a bounded queue.
// It returns once the item is in the queue. An error is a *QueueError: the
// codec's refusal of v (with its path), ErrQueueClosed, ErrQueueOwnerGone,
// or ctx's error.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	q.init()
	if q.broker != nil {
		if q.byValue {
			return q.fail("Put", q.broker.Put(ctx, v, nil))
		}
		// A copy through the codec, as another process would get: the
		// caller may change or close what v refers to once Put returns,
		// and what cannot travel fails here.
		var b box[T]
		it, err := queue.Encode(box[T]{V: v})
		if err != nil {
			return q.fail("Put", itemPath(err))
		}
		files, err := queue.DecodeFiles(it, &b)
		if err != nil {
			closeFiles(files)
			return q.fail("Put", err)
		}
		return q.fail("Put", q.broker.Put(ctx, b.V, files))
	}
	return q.fail("Put", itemPath(q.client.Put(ctx, v)))
}

// PutMany puts vs in order, like as many Puts, but sends them to the
// process that made the queue with one write instead of one each: where a
// single producer's items are small, the write is what a Put costs. It
// returns once every item is in the queue; if vs[i] cannot travel, vs[:i]
// are in the queue and the error's path starts at item[i]. In a bounded
// queue it is a loop of Puts.
func (q *Queue[T]) PutMany(ctx context.Context, vs ...T) error {
	q.init()
	if q.broker != nil || q.cap > 0 {
		for i, v := range vs {
			if err := q.Put(ctx, v); err != nil {
				return indexed(err, i)
			}
		}
		return nil
	}
	for len(vs) > 0 {
		n := min(len(vs), putManyBatch)
		sent, err := q.client.PutMany(ctx, vs[:n])
		if err != nil {
			return indexed(q.fail("Put", itemPath(err)), sent)
		}
		vs = vs[n:]
	}
	return nil
}

// putManyBatch bounds the items PutMany encodes before it writes.
const putManyBatch = 1024

// indexed rewrites the path of a refusal of item i of a PutMany.
func indexed(err error, i int) error {
	var qe *QueueError
	if !errors.As(err, &qe) {
		return err
	}
	qe.Op = "PutMany"
	qe.Err = userPath(qe.Err, func(path string) (string, bool) {
		rest, ok := strings.CutPrefix(path, "item")
		return fmt.Sprintf("item[%d]%s", i, rest), ok
	})
	return err
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// itemPath rewrites a refusal's path to start at the item.
func itemPath(err error) error {
	return userPath(err, func(path string) (string, bool) {
		for _, prefix := range []string{".V", ".V.V"} {
			if rest, ok := strings.CutPrefix(path, prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				return "item" + rest, true
			}
		}
		return "", false
	})
}

// box carries a T through the codec whatever T is (an interface too).
type box[T any] struct{ V T }

// Get removes and returns the value at the front of the queue, waiting
// for one. See the type's documentation for the errors that end the wait.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	return q.get(ctx, 1)
}

func (q *Queue[T]) get(ctx context.Context, window int) (T, error) {
	q.init()
	var v T
	var err error
	if q.broker != nil {
		v, err = q.broker.Get(ctx)
	} else {
		v, err = q.client.Get(ctx, window)
	}
	return v, q.fail("Get", err)
}

// allWindow is how many items All asks for ahead of the loop, in a process
// other than the one that made the queue: a round trip per item would cap
// a consumer at its latency, and prefetched items not taken when the loop
// ends stay this process's until its next Get or until it lets go of the
// queue, when they go back to the front.
const allWindow = 32

// All returns the queue's values as they come, until no more can come: the
// queue is closed and drained, or, in the process that made it, drained
// with no other process holding it any more (every producer returned or
// died: their own errors say which). All then ends without an error; any
// other failure of a Get is yielded, and ends it. In a process other than the one that made the queue it
// asks for up to 32 items ahead; use Get where items are slow to process
// and other consumers should have them.
func (q *Queue[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := q.get(ctx, allWindow)
			if errors.Is(err, ErrQueueClosed) || errors.Is(err, ErrNoWriters) {
				return
			}
			if !yield(v, err) || err != nil {
				return
			}
		}
	}
}

// Len returns the number of values queued now. In a process other than
// the one that made the queue it asks that process (a round trip, bounded
// by 10 s) and returns 0 if it cannot.
func (q *Queue[T]) Len() int {
	q.init()
	if q.broker != nil {
		return q.broker.Len()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, _ := q.client.Len(ctx)
	return n
}

// Close closes the queue for every process: Puts fail with ErrQueueClosed
// from then on (a Put racing with Close may still land, and is delivered),
// and Gets take what is left, then fail with ErrQueueClosed (All ends).
func (q *Queue[T]) Close() error {
	q.init()
	if q.broker != nil {
		q.broker.Close()
		return nil
	}
	return q.fail("Close", q.client.Close())
}

// TaskDone marks one value taken from the queue as processed, for Join
// (Python's JoinableQueue). Called more times than values were put, it
// fails in the process that made the queue, and is ignored elsewhere.
func (q *Queue[T]) TaskDone() error {
	q.init()
	if q.broker != nil {
		return q.fail("TaskDone", q.broker.TaskDone(1))
	}
	return q.fail("TaskDone", q.client.TaskDone(1))
}

// Join waits until every value put has been marked processed by TaskDone.
func (q *Queue[T]) Join(ctx context.Context) error {
	q.init()
	if q.broker != nil {
		return q.fail("Join", q.broker.Join(ctx))
	}
	return q.fail("Join", q.client.Join(ctx))
}

// queueHandle is what a Queue sends of itself: a connection to the
// process that made it, and what errors and Puts need to know.
type queueHandle struct {
	Conn  *os.File
	Name  string
	Cap   int
	Owner int
}

// MarshalHandle gives the receiver a connection of its own to the process
// that made the queue (codec.HandleMarshaler). It is called only when the
// queue is really sent to another process.
func (q *Queue[T]) MarshalHandle() (any, []*os.File, error) {
	q.init()
	var c *sock.Conn
	var err error
	if q.broker != nil {
		c, err = q.broker.Connect()
	} else {
		c, err = q.client.Dial()
	}
	if err != nil {
		return nil, nil, q.fail("send", err)
	}
	f := c.File()
	return queueHandle{Conn: f, Name: q.name, Cap: q.cap, Owner: q.owner}, []*os.File{f}, nil
}

// UnmarshalHandle makes the queue received a client of the process that
// made it (codec.HandleUnmarshaler).
func (q *Queue[T]) UnmarshalHandle(state any) error {
	h, ok := state.(queueHandle)
	if !ok || h.Conn == nil {
		return fmt.Errorf("mproc: a Queue's handle is a %T", state)
	}
	c, err := sock.FileConn(h.Conn)
	if err != nil {
		return fmt.Errorf("mproc: queue %q: %w", h.Name, err)
	}
	q.once.Do(func() {})
	q.name, q.cap, q.owner = h.Name, h.Cap, h.Owner
	q.client = queue.NewClient[T](h.Name, h.Cap, c)
	return nil
}

// Release lets go of a queue received from another process: the process
// that made it takes back what was on its way here and not taken, and no
// longer counts this process among those that may put. It does nothing in
// the process that made the queue. The worker releases the queues of a
// task's input when the task returns.
func (q *Queue[T]) Release() error {
	q.init()
	if q.client == nil {
		return nil
	}
	return q.client.Release()
}

// Errors a queue operation may wrap in its *QueueError.
var (
	// ErrQueueClosed: the queue was closed; Gets fail once it is empty.
	ErrQueueClosed = queue.ErrClosed
	// ErrNoWriters: a Get in the process that made the queue found it
	// empty, with every process it was handed to gone or let go of it.
	ErrNoWriters = queue.ErrNoWriters
	// ErrQueueOwnerGone: the process that made the queue, which holds its
	// items, exited.
	ErrQueueOwnerGone = queue.ErrOwnerGone
	// ErrQueueReleased: this process closed its handle of the queue
	// (Release, or the end of the task whose input brought it).
	ErrQueueReleased = queue.ErrReleased
)

// A QueueError reports a queue operation that failed: which queue, which
// operation, in which process, and why (Err, for errors.Is and errors.As:
// ErrQueueClosed, ErrNoWriters, ErrQueueOwnerGone, ErrQueueReleased, a
// *codec.UnsupportedError, or a context's error).
type QueueError struct {
	Queue string // the queue's name
	Op    string // "Put", "Get", "Close", "TaskDone", "Join" or "send"
	Pid   int    // the process the operation ran in
	Owner int    // the process that made the queue
	Err   error
}

func (e *QueueError) Error() string {
	where := fmt.Sprintf("in process %d", e.Pid)
	if e.Pid == e.Owner {
		where = fmt.Sprintf("in process %d, which made it", e.Pid)
	}
	msg := fmt.Sprintf("mproc: %s on queue %q %s: %v", e.Op, e.Queue, where, e.Err)
	switch {
	case errors.Is(e.Err, ErrNoWriters):
		msg += "; fix: Close the queue once its producers are done (Get then reports ErrQueueClosed), and check that they did not die"
	case errors.Is(e.Err, ErrQueueOwnerGone):
		msg += fmt.Sprintf("; fix: keep process %d alive while other processes use its queue", e.Owner)
	case errors.Is(e.Err, ErrQueueReleased):
		msg += "; fix: a queue that came with a task's input lasts as long as the task: pass it to Initializer or Start to keep it"
	}
	return msg
}

func (e *QueueError) Unwrap() error { return e.Err }

// fail wraps err, if any, in a *QueueError.
func (q *Queue[T]) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	return &QueueError{Queue: q.name, Op: op, Pid: os.Getpid(), Owner: q.owner, Err: err}
}

// CloseHandle lets go of the queue in this process (codec.HandleCloser):
// Release.
func (q *Queue[T]) CloseHandle() error { return q.Release() }
