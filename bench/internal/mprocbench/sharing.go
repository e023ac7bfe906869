package mprocbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

// The shared-memory rows of the queues, pipes and shared objects table:
// an Event's hop between two processes, and a SharedMemory segment made
// and handed to a worker.

// EventArgs is what the echoing process gets: the event it waits on, the
// one it answers on, and how many rounds.
type EventArgs struct {
	Ping, Pong *mproc.Event
	N          int
}

// EchoEvent waits for a.Ping, clears it and sets a.Pong, a.N times.
func EchoEvent(ctx context.Context, a EventArgs) (int, error) {
	for i := range a.N {
		if err := a.Ping.Wait(ctx); err != nil {
			return i, err
		}
		a.Ping.Clear()
		a.Pong.Set()
	}
	return a.N, nil
}

// EventHop measures an Event's set→wake between two processes, in
// seconds: half the round trip of Set on one event and Wait on the other,
// a process started with mproc.Start answering; per run the median of the
// rounds after the first tenth.
func EventHop(rounds int) (stats.Trial, error) {
	if rounds < 10 {
		return stats.Trial{}, errors.New("EventHop: at least 10 rounds")
	}
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		ping, err := mproc.NewEvent()
		if err != nil {
			return 0, err
		}
		defer ping.Close()
		pong, err := mproc.NewEvent()
		if err != nil {
			return 0, err
		}
		defer pong.Close()
		pr, err := mproc.Start(ctx, EchoEvent, EventArgs{Ping: ping, Pong: pong, N: rounds})
		if err != nil {
			return 0, err
		}
		half := make([]float64, 0, rounds)
		for range rounds {
			t0 := time.Now()
			ping.Set()
			if err := pong.Wait(ctx); err != nil {
				pr.Kill()
				pr.Wait()
				return 0, fmt.Errorf("mproc Event hop: %w", err)
			}
			pong.Clear()
			half = append(half, time.Since(t0).Seconds()/2)
		}
		if n, err := pr.Wait(); err != nil || n != rounds {
			return 0, fmt.Errorf("mproc Event echo: %d rounds, %v", n, err)
		}
		return median(slices.Clone(half[rounds/10:])), nil
	}}, nil
}

// TouchShared writes 7 at the last byte of m and returns its length: it
// proves the worker mapped the segment it was handed.
func TouchShared(_ context.Context, m *mproc.SharedMemory) (int, error) {
	b := m.Bytes()
	b[len(b)-1] = 7
	return len(b), nil
}

// ShmShare measures making a SharedMemory segment of size bytes and
// handing it to a worker of a warm pool of one, which writes its last
// byte, in seconds: NewSharedMemory plus Submit+Wait, the parent checking
// the byte afterwards.
func ShmShare(size int) (stats.Trial, error) {
	if size < 1 {
		return stats.Trial{}, errors.New("ShmShare: no bytes to share")
	}
	return warmPooled(1, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		t0 := time.Now()
		m, err := mproc.NewSharedMemory(size)
		if err != nil {
			return 0, err
		}
		defer m.Close()
		n, err := mproc.Submit(ctx, p, TouchShared, m).Wait(ctx)
		elapsed := time.Since(t0)
		if err != nil {
			return 0, expired(ctx, "mproc SharedMemory share", err)
		}
		if n != size || m.Bytes()[size-1] != 7 {
			return 0, fmt.Errorf("mproc SharedMemory share: the worker saw %d bytes and the parent reads %d at the end", n, m.Bytes()[size-1])
		}
		return elapsed.Seconds(), nil
	})
}

// SliceArgs is what a task reading a shared slice gets: the slice and
// which element to read.
type SliceArgs struct {
	S *mproc.SharedSlice[byte]
	I int
}

// SliceTasks is how many tasks a run of SharedSliceTrip times.
const SliceTasks = 50

// ReadShared returns element a.I of the shared slice, read in the worker.
func ReadShared(_ context.Context, a SliceArgs) (byte, error) { return a.S.Slice()[a.I], nil }

// SharedSliceTrip measures a task whose input is a shared slice of size
// bytes, made once per trial, in seconds: Submit+Wait on a warm pool of
// one, the worker reading one element (a different one each time), which
// the parent wrote before; per run the median of SliceTasks tasks.
func SharedSliceTrip(size int) (stats.Trial, error) {
	if size < 1 {
		return stats.Trial{}, errors.New("SharedSliceTrip: no bytes to share")
	}
	s, err := mproc.NewSharedSlice[byte](size)
	if err != nil {
		return stats.Trial{}, err
	}
	k := 0
	tr, err := warmPooled(1, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		took := make([]float64, 0, SliceTasks)
		for range SliceTasks {
			k++
			i := (k * 7919 * 4096) % size
			s.Slice()[i] = byte(k)
			t0 := time.Now()
			v, err := mproc.Submit(ctx, p, ReadShared, SliceArgs{S: s, I: i}).Wait(ctx)
			elapsed := time.Since(t0)
			if err != nil {
				return 0, expired(ctx, "mproc SharedSlice task", err)
			}
			if v != byte(k) {
				return 0, fmt.Errorf("mproc SharedSlice task: the worker read %d at %d, the parent wrote %d", v, i, byte(k))
			}
			took = append(took, elapsed.Seconds())
		}
		return median(took), nil
	})
	if err != nil {
		s.Close()
		return tr, err
	}
	closePool := tr.Close
	tr.Close = func() error { return errors.Join(closePool(), s.Close()) }
	return tr, nil
}

// table is a worker's view of the shared table of TablePSS, kept from
// its initializer.
var table *mproc.SharedSlice[uint64]

// KeepTable is TablePSS's initializer: the worker keeps the table.
func KeepTable(_ context.Context, t *mproc.SharedSlice[uint64]) error {
	table = t
	return nil
}

// SumTable reads the whole table in the worker.
func SumTable(_ context.Context, _ int) (uint64, error) {
	var s uint64
	for _, x := range table.Slice() {
		s += x
	}
	return s, nil
}

// TablePSS measures what 4 workers reading one shared table of size
// bytes cost the machine: per run a new table filled by the parent and a
// new pool of 4 whose Initializer hands it over; every worker reads all
// of it (a Map of 4 tasks, one each); the sample is the proportional set
// size of the 5 processes together (from /proc/PID/smaps_rollup), less
// what they held before the table was made, over the table's size: 1.0
// means the table exists once, 5.0 a copy in every process.
func TablePSS(size int) (stats.Trial, error) {
	if size < 8 {
		return stats.Trial{}, errors.New("TablePSS: a table of at least 8 bytes")
	}
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		base, err := pss(os.Getpid())
		if err != nil {
			return 0, err
		}
		t, err := mproc.NewSharedSlice[uint64](size / 8)
		if err != nil {
			return 0, err
		}
		defer t.Close()
		var want uint64
		for i, xs := 0, t.Slice(); i < len(xs); i++ {
			xs[i] = uint64(i)
			want += uint64(i)
		}
		p, err := mproc.NewPool(mproc.Workers(4), mproc.Initializer(KeepTable, t))
		if err != nil {
			return 0, err
		}
		defer p.Close()
		var workersBase int64
		for _, pid := range p.Pids() {
			v, err := pss(pid)
			if err != nil {
				return 0, err
			}
			workersBase += v
		}
		sums, err := mproc.Map(ctx, p, SumTable, []int{0, 1, 2, 3}, mproc.ChunkSize(1))
		if err != nil {
			return 0, expired(ctx, "mproc TablePSS Map", err)
		}
		for _, s := range sums {
			if s != want {
				return 0, fmt.Errorf("mproc TablePSS: a worker summed %d, want %d", s, want)
			}
		}
		total, err := pss(os.Getpid())
		if err != nil {
			return 0, err
		}
		total -= base
		for _, pid := range p.Pids() {
			v, err := pss(pid)
			if err != nil {
				return 0, err
			}
			total += v
		}
		// The workers' own memory before they read the table (runtime,
		// heap, binary) is not the table's.
		total -= workersBase
		return float64(total) / float64(size), nil
	}}, nil
}

// pss returns a process's proportional set size in bytes.
func pss(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no Pss line in /proc/%d/smaps_rollup", pid)
}
