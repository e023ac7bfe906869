package mprocbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

// The trials of the queues, pipes and shared objects table: mproc's Queue,
// PipeEnd, SharedMap and a handle passed with a task, between processes of
// this binary started with mproc.Start. Every function that runs in another
// process is top-level: functions travel by reference.

// MonotonicNs reads CLOCK_MONOTONIC, which is system-wide on Linux: a
// reading taken in one process can be compared with one taken in another,
// unlike time.Now's monotonic reading, which is private to its process.
// Python's time.monotonic_ns reads the same clock.
func MonotonicNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic("clock_gettime(CLOCK_MONOTONIC): " + err.Error())
	}
	return ts.Nano()
}

// IntsArgs is what the producer and the consumer of small items get: the
// queue and how many items go through it.
type IntsArgs struct {
	Q *mproc.Queue[int]
	N int
}

// PutInts puts a.N ints and closes the queue, so that the consumer knows
// the end. Item 0 is the system-wide monotonic clock read just before the
// first Put, item i the number i.
func PutInts(ctx context.Context, a IntsArgs) (int, error) {
	if a.N < 1 {
		return 0, errors.New("PutInts: no item to put")
	}
	if err := a.Q.Put(ctx, int(MonotonicNs())); err != nil {
		return 0, err
	}
	for i := 1; i < a.N; i++ {
		if err := a.Q.Put(ctx, i); err != nil {
			return i, err
		}
	}
	return a.N, a.Q.Close()
}

// Consumed is what a consumer of PutInts's items found.
type Consumed struct {
	N       int     // items taken
	Seconds float64 // from the first Put to the end of the queue (the Get that reported it closed)
}

// GetInts takes a.Q's items with All until the queue is closed and
// drained, checks them and times them from the first Put.
func GetInts(ctx context.Context, a IntsArgs) (Consumed, error) {
	var first int64
	n := 0
	for v, err := range a.Q.All(ctx) {
		if err != nil {
			return Consumed{N: n}, err
		}
		switch {
		case n == 0:
			first = int64(v)
		case v != n:
			return Consumed{N: n}, fmt.Errorf("item %d is %d, want %d", n, v, n)
		}
		n++
	}
	end := MonotonicNs()
	if n != a.N {
		return Consumed{N: n}, fmt.Errorf("the queue ended after %d items, want %d", n, a.N)
	}
	return Consumed{N: n, Seconds: float64(end-first) / 1e9}, nil
}

// QueueItems measures n ints from a producer process (PutInts) to a
// consumer, in items per second from the first Put to the last Get. The
// consumer is the process that made the queue (its Gets are local) or,
// with between, a second process (GetInts, whose All asks for 32 items
// ahead); the queue's owner then only relays. Each run starts its
// processes and a new queue; their start is not timed.
func QueueItems(n int, between bool) (stats.Trial, error) {
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		q := mproc.NewQueue[int](mproc.QueueName("bench-items"))
		args := IntsArgs{Q: q, N: n}
		var cons *mproc.Process[Consumed]
		if between { // the consumer first, so that it waits when the first item comes
			var err error
			if cons, err = mproc.Start(ctx, GetInts, args); err != nil {
				return 0, err
			}
		}
		prod, err := mproc.Start(ctx, PutInts, args)
		if err != nil {
			if cons != nil {
				cons.Kill()
				cons.Wait()
			}
			return 0, err
		}
		var got Consumed
		if between {
			got, err = cons.Wait()
		} else {
			got, err = GetInts(ctx, args)
		}
		put, perr := prod.Wait()
		what := "mproc queue of ints into the parent"
		if between {
			what = "mproc queue of ints between two processes"
		}
		if err = errors.Join(err, perr); err != nil {
			return 0, expired(ctx, what, fmt.Errorf("%s: %d items put, %d taken: %w", what, put, got.N, err))
		}
		return float64(n) / got.Seconds, nil
	}}, nil
}

// PingArgs is what the producer of the latency trial gets: the queue it
// puts stamps on, the queue its answers come back on, and the rounds.
type PingArgs struct {
	Q, Back *mproc.Queue[int]
	N       int
}

// PutStamped puts the system-wide monotonic clock a.N times, each after
// the answer to the previous item came back on a.Back.
func PutStamped(ctx context.Context, a PingArgs) (int, error) {
	for i := range a.N {
		if err := a.Q.Put(ctx, int(MonotonicNs())); err != nil {
			return i, err
		}
		if _, err := a.Back.Get(ctx); err != nil {
			return i, err
		}
	}
	return a.N, nil
}

// QueueLatency measures the one-way latency of an item from a producer
// process to the process that made the queue: the producer puts the
// system-wide monotonic clock, the parent reads it again when its Get
// returns and answers on a second queue, and the producer puts the next
// item only then, so that no item waits behind another. The first tenth
// of the rounds warms up and is not counted. The trial's samples are each
// run's median in seconds; p99 receives each run's 99th percentile
// (nearest rank).
func QueueLatency(rounds int) (trial stats.Trial, p99 *[]float64, err error) {
	p99 = new([]float64)
	warm := rounds / 10
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		q, back := mproc.NewQueue[int](mproc.QueueName("bench-stamps")), mproc.NewQueue[int](mproc.QueueName("bench-answers"))
		prod, err := mproc.Start(ctx, PutStamped, PingArgs{Q: q, Back: back, N: warm + rounds})
		if err != nil {
			return 0, err
		}
		lat := make([]float64, 0, rounds)
		for i := range warm + rounds {
			sent, gerr := q.Get(ctx)
			now := MonotonicNs()
			if gerr == nil {
				gerr = back.Put(ctx, 0)
			}
			if gerr != nil {
				err = gerr
				break
			}
			if i >= warm {
				lat = append(lat, float64(now-int64(sent))/1e9)
			}
		}
		if err != nil {
			prod.Kill()
		}
		if _, perr := prod.Wait(); err == nil && perr != nil {
			err = perr
		}
		if err != nil {
			return 0, expired(ctx, "mproc queue latency", fmt.Errorf("mproc queue latency: %w", err))
		}
		med, tail := Latencies(lat)
		*p99 = append(*p99, tail)
		return med, nil
	}}, p99, nil
}

// MiB is the size of the items of the large-item trial.
const MiB = 1 << 20

// MiBArgs is what the producer of 1 MiB items gets.
type MiBArgs struct {
	Q *mproc.Queue[[]byte]
	N int
}

// PutMiB puts a.N items of 1 MiB and closes the queue. The first 8 bytes
// of item 0 are the system-wide monotonic clock read just before the
// first Put; the items' last byte is their number (mod 256).
func PutMiB(ctx context.Context, a MiBArgs) (int, error) {
	data := make([]byte, MiB)
	for i := range a.N {
		if i == 0 {
			binary.LittleEndian.PutUint64(data, uint64(MonotonicNs()))
		}
		data[MiB-1] = byte(i)
		if err := a.Q.Put(ctx, data); err != nil {
			return i, err
		}
	}
	return a.N, a.Q.Close()
}

// QueueCapacityMiB bounds the queue of the large-item trial, as
// multiprocessing.Queue(maxsize=8) does on the CPython side: the
// producer cannot run ahead of the consumer by more than 8 MiB.
const QueueCapacityMiB = 8

// QueueMiB measures n items of 1 MiB from a producer process (PutMiB) to
// the process that made the queue, bounded to QueueCapacityMiB items, in
// bytes per second from the first Put to the last Get.
func QueueMiB(n int) (stats.Trial, error) {
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		q := mproc.NewQueue[[]byte](mproc.QueueName("bench-mib"), mproc.QueueCapacity(QueueCapacityMiB))
		prod, err := mproc.Start(ctx, PutMiB, MiBArgs{Q: q, N: n})
		if err != nil {
			return 0, err
		}
		var first int64
		got := 0
		for v, gerr := range q.All(ctx) {
			if gerr == nil && (len(v) != MiB || v[MiB-1] != byte(got)) {
				gerr = fmt.Errorf("item %d: %d bytes ending in %d, want %d ending in %d", got, len(v), v[len(v)-1], MiB, byte(got))
			}
			if gerr != nil {
				err = gerr
				break
			}
			if got == 0 {
				first = int64(binary.LittleEndian.Uint64(v))
			}
			got++
		}
		end := MonotonicNs()
		if err == nil && got != n {
			err = fmt.Errorf("the queue ended after %d items, want %d", got, n)
		}
		if err != nil {
			prod.Kill()
		}
		put, perr := prod.Wait()
		if err == nil && perr != nil {
			err = perr
		}
		if err != nil {
			return 0, expired(ctx, "mproc queue of 1 MiB items", fmt.Errorf("mproc queue of 1 MiB items: %d put, %d taken: %w", put, got, err))
		}
		return float64(n) * MiB / (float64(end-first) / 1e9), nil
	}}, nil
}

// EchoPipe sends back every int it receives on end until the other end is
// closed everywhere, and returns how many it echoed.
func EchoPipe(ctx context.Context, end *mproc.PipeEnd[int]) (int, error) {
	for n := 0; ; n++ {
		v, err := end.Recv(ctx)
		if errors.Is(err, mproc.ErrPipeClosed) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := end.Send(ctx, v); err != nil {
			return n, err
		}
	}
}

// PipeRoundTrip measures a Send and the Recv of its answer, to a process
// echoing over the other end of a pipe (EchoPipe), averaged over rounds
// round trips, in seconds per round trip. The process lives as long as
// the trial; it is warmed with rounds/10 round trips first.
func PipeRoundTrip(rounds int) (stats.Trial, error) {
	ctx := context.Background()
	mine, theirs, err := mproc.NewPipe[int]()
	if err != nil {
		return stats.Trial{}, err
	}
	pr, err := mproc.Start(ctx, EchoPipe, theirs)
	theirs.Close() // the process has its own copy
	if err != nil {
		mine.Close()
		return stats.Trial{}, err
	}
	round := func(ctx context.Context, i int) error {
		if err := mine.Send(ctx, i); err != nil {
			return err
		}
		v, err := mine.Recv(ctx)
		if err == nil && v != i {
			err = fmt.Errorf("the echo sent back %d, want %d", v, i)
		}
		return err
	}
	stop := func() error {
		mine.Close()
		n, err := pr.Wait()
		if err != nil {
			return fmt.Errorf("mproc pipe echo process (%d echoed): %w", n, err)
		}
		return nil
	}
	warm := true
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		if warm {
			warm = false
			for i := range rounds / 10 {
				if err := round(ctx, i); err != nil {
					return 0, expired(ctx, "mproc pipe round trip", fmt.Errorf("mproc pipe round trip: %w", err))
				}
			}
		}
		t0 := time.Now()
		for i := range rounds {
			if err := round(ctx, i); err != nil {
				return 0, expired(ctx, "mproc pipe round trip", fmt.Errorf("mproc pipe round trip: %w", err))
			}
		}
		return time.Since(t0).Seconds() / float64(rounds), nil
	}, Close: stop}, nil
}

// SetArgs is what the process setting a shared map's keys gets.
type SetArgs struct {
	M *mproc.SharedMap[int, int]
	N int
}

// SetKeys sets key -1 once (not timed: the connection's first call
// describes its types), then keys 0 to a.N-1, one call after the other,
// and returns the seconds those a.N sets took.
func SetKeys(ctx context.Context, a SetArgs) (float64, error) {
	if err := a.M.Set(ctx, -1, -1); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for i := range a.N {
		if err := a.M.Set(ctx, i, i); err != nil {
			return 0, fmt.Errorf("set %d: %w", i, err)
		}
	}
	return time.Since(t0).Seconds(), nil
}

// MapSets measures a process (SetKeys) setting n keys of a SharedMap the
// parent owns, through its proxy, in sets per second. Each run starts a
// new map and process; the parent checks every key afterwards.
func MapSets(n int) (stats.Trial, error) {
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		m := mproc.NewSharedMap[int, int]()
		pr, err := mproc.Start(ctx, SetKeys, SetArgs{M: m, N: n})
		if err != nil {
			return 0, err
		}
		secs, err := pr.Wait()
		if err != nil {
			return 0, expired(ctx, "mproc shared map sets", fmt.Errorf("mproc shared map sets: %w", err))
		}
		items, err := m.Items(ctx)
		if err != nil {
			return 0, fmt.Errorf("mproc shared map sets: reading the map back: %w", err)
		}
		if len(items) != n+1 {
			return 0, fmt.Errorf("mproc shared map sets: the map holds %d keys, want %d", len(items), n+1)
		}
		for k, v := range items {
			if k != v {
				return 0, fmt.Errorf("mproc shared map sets: key %d holds %d", k, v)
			}
		}
		return float64(n) / secs, nil
	}}, nil
}

// HandleInput is the input of UseHandle: with F set it carries an open
// file, which travels as a handle (a duplicated descriptor); with F nil
// it is the same type and size without one.
type HandleInput struct {
	F *os.File
	N int
}

// UseHandle returns N+2 when a file arrived and N+1 when none did, so
// that the caller sees the file arrive without a system call on it. The
// worker closes its copy of the file when the task returns.
func UseHandle(_ context.Context, in HandleInput) (int, error) {
	if in.F != nil {
		return in.N + 2, nil
	}
	return in.N + 1, nil
}

// HandleCost measures what an *os.File in a task's input adds to a
// Submit+Wait on a warm pool of one worker: per run, rounds pairs of
// calls of UseHandle, one with os.DevNull (opened once) in its input and
// one without, their order alternating from pair to pair. The trial's
// sample is the median call with the file, in seconds; without receives
// each run's median call without it, the base the cost is read against.
// Their difference is the cost, and on a loaded machine it may come out
// at or below zero: that is a measurement (below what the machine
// resolves in the run), not a failure.
func HandleCost(rounds int) (trial stats.Trial, without *[]float64, err error) {
	without = new([]float64)
	f, err := os.Open(os.DevNull)
	if err != nil {
		return stats.Trial{}, nil, err
	}
	inner, err := warmPooled(1, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		call := func(in HandleInput) (float64, error) {
			t0 := time.Now()
			out, err := mproc.Submit(ctx, p, UseHandle, in).Wait(ctx)
			d := time.Since(t0).Seconds()
			want := in.N + 1
			if in.F != nil {
				want++
			}
			if err == nil && out != want {
				err = fmt.Errorf("the task returned %d, want %d (with a file: %v)", out, want, in.F != nil)
			}
			return d, expired(ctx, "mproc Submit+Wait with a handle", err)
		}
		ws, wos := make([]float64, 0, rounds), make([]float64, 0, rounds)
		for i := range rounds {
			order := []*os.File{f, nil}
			if i%2 == 1 {
				order = []*os.File{nil, f}
			}
			for _, file := range order {
				d, err := call(HandleInput{F: file, N: i})
				if err != nil {
					return 0, fmt.Errorf("mproc handle with a task: %w", err)
				}
				if file != nil {
					ws = append(ws, d)
				} else {
					wos = append(wos, d)
				}
			}
		}
		*without = append(*without, median(wos))
		return median(ws), nil
	})
	if err != nil {
		f.Close()
		return stats.Trial{}, nil, err
	}
	return stats.Trial{Once: inner.Once, Close: func() error { return errors.Join(inner.Close(), f.Close()) }}, without, nil
}

func median(xs []float64) float64 {
	m, _ := Latencies(xs)
	return m
}
