package a

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

type Log struct {
	Prefix string
	mu     sync.Mutex
}

type Cfg struct {
	Name string
	Log  Log
}

type Bad struct {
	Cfg Cfg
}

type Job struct {
	Out  *os.File   // a handle: travels through mproc
	Any  any        // known at run time only
	Fn   func() int // travels by reference
	When time.Time  // marshals itself
	Q    *mproc.Queue[int]
}

type WithChan struct {
	N    int
	Done chan bool
}

func square(_ context.Context, x int) (int, error) { return x * x, nil }

func upper(s string) string { return strings.ToUpper(s) }

func run(ctx context.Context, j Job) (int, error) { return 0, nil }

func runBad(ctx context.Context, b Bad) (int, error) { return 0, nil }

type scaler struct{ by int }

func (s scaler) Scale(_ context.Context, x int) (int, error) { return x * s.by, nil }

type locked struct {
	mu sync.Mutex
	by int
}

func (l *locked) Scale(_ context.Context, x int) (int, error) { return x * l.by, nil }

func chans(_ context.Context, w WithChan) (int, error) { return w.N, nil }

func ptrs(_ context.Context, p unsafe.Pointer) (int, error) { return 0, nil }

func bump(n *int, by int) (int, error) { *n += by; return *n, nil }

func calls(ctx context.Context, p *mproc.Pool, q *mproc.Queue[WithChan], pipe *mproc.PipeEnd[map[string]chan int], s *mproc.Shared[int]) {
	k := 3
	// What travels: no report.
	mproc.Map(ctx, p, square, []int{1, 2})
	mproc.Map(ctx, p, mproc.Plain(upper), []string{"a"})
	mproc.Map(ctx, p, func(_ context.Context, x int) (int, error) { return x + 1, nil }, []int{1})
	mproc.Map(ctx, p, scaler{by: 2}.Scale, []int{1})
	mproc.Submit(ctx, p, run, Job{})
	mproc.Start(ctx, run, Job{Out: os.Stdout})
	mproc.Call(ctx, s, bump, 1)
	var f func(context.Context, int) (int, error) = square
	mproc.Map(ctx, p, f, []int{1})

	// What does not.
	mproc.Map(ctx, p, func(_ context.Context, x int) (int, error) { return x * k, nil }, []int{1}) // want `mproc.Map sends this func literal by reference, but it captures k, which would stay in this process; fix: make it a top-level function and pass k in its input`
	mproc.Map(ctx, p, (&locked{by: 2}).Scale, []int{1})                                            // want `mproc.Map sends method value \(&locked\{…\}\).Scale with its receiver, and the receiver at .mu \(a sync.Mutex\) cannot travel: .*; fix: pass the method expression \(\*locked\).Scale`
	mproc.Map(ctx, p, runBad, []Bad{{}})                                                           // want `mproc.Map sends \[\]Bad\{…\} to another process, and it at \[\*\].Cfg.Log.mu \(a sync.Mutex\) cannot travel: a sync.Mutex coordinates goroutines of one process`
	mproc.Submit(ctx, p, chans, WithChan{})                                                        // want `and it at .Done \(a chan bool\) cannot travel: a channel connects goroutines`
	mproc.Submit(ctx, p, ptrs, nil)                                                                // want `it \(a unsafe.Pointer\) cannot travel`
	mproc.Start(ctx, runBad, Bad{})                                                                // want `mproc.Start sends Bad\{\} to another process, and it at .Cfg.Log.mu`
	q.Put(ctx, WithChan{})                                                                         // want `mproc.Queue.Put sends WithChan\{\} to another process, and it at .Done`
	q.PutMany(ctx, WithChan{}, WithChan{})                                                         // want `mproc.Queue.PutMany sends` `mproc.Queue.PutMany sends`
	pipe.Send(ctx, nil)                                                                            // want `mproc.PipeEnd.Send sends nil to another process, and it at \[\*\] \(a chan int\) cannot travel`
	mproc.Initializer(func(_ context.Context, n int) error { return nil }, k)
	mproc.Initializer(func(_ context.Context, n int) error { k = n; return nil }, 1) // want `mproc.Initializer sends this func literal by reference, but it captures k`

	// Shared objects' values travel to their owner.
	var sm *mproc.SharedMap[string, WithChan]
	var sl *mproc.SharedList[chan int]
	var sw *mproc.Shared[WithChan]
	sm.Set(ctx, "k", WithChan{})   // want `mproc.SharedMap.Set sends WithChan\{\} to another process, and it at .Done \(a chan bool\) cannot travel`
	sl.Append(ctx, nil, nil)       // want `mproc.SharedList.Append sends nil` `mproc.SharedList.Append sends nil`
	sl.Set(ctx, 0, make(chan int)) // want `mproc.SharedList.Set sends make\(chan int\) to another process, and it \(a chan int\) cannot travel`
	sw.Store(ctx, WithChan{N: 1})  // want `mproc.Shared.Store sends WithChan\{…\} to another process`
	var fine *mproc.SharedMap[string, int]
	fine.Set(ctx, "k", 1)

	// Bytes cannot carry handles.
	codec.Marshal(Bad{})                  // want `codec.Marshal encodes Bad\{\} to bytes, and it at .Cfg.Log.mu`
	codec.Marshal(Job{})                  // want `codec.Marshal encodes Job\{\} to bytes, and it at .Out \(a \*os.File\) cannot travel: it is a handle`
	codec.Marshal(struct{ F *os.File }{}) // want `it at .F \(a \*os.File\) cannot travel: it is a handle`
	codec.Marshal(42)

	// Imap's inputs come from a sequence: their type is the function's.
	mproc.Imap(ctx, p, square, nil)
	mproc.ImapUnordered(ctx, p, chans, nil) // want `mproc.ImapUnordered sends each input of the sequence to another process, and its type WithChan: it at .Done \(a chan bool\) cannot travel`
}
