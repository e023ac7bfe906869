package mproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mproc-go/mproc"
	"golang.org/x/sys/unix"
)

// memfdMaps counts this process's mappings of mproc's shared memory.
func memfdMaps() (int, error) {
	b, err := os.ReadFile("/proc/self/maps")
	return strings.Count(string(b), "memfd:mproc:"), err
}

type fill struct {
	S    *mproc.SharedSlice[int64]
	From int
	N    int
}

// fillAndCount writes its part of the slice and adds to element 0 with
// sync/atomic, which works across processes on shared memory.
func fillAndCount(_ context.Context, f fill) (int, error) {
	s := f.S.Slice()
	for i := f.From; i < f.From+f.N; i++ {
		s[i] = int64(i * i)
	}
	for range 10_000 {
		atomic.AddInt64(&s[0], 1)
	}
	return os.Getpid(), nil
}

func countMaps(_ context.Context, _ int) (int, error) { return memfdMaps() }

// allStarted is an initializer that does nothing: with one, NewPool returns
// only once every worker is up, so that no worker's descriptors open after
// the test counts them.
func allStarted(context.Context, int) error { return nil }

func TestSharedSliceIsWrittenInPlaceByWorkers(t *testing.T) {
	pool := newPool(t, mproc.Workers(2), mproc.Initializer(allStarted, 0))
	ctx := deadline(t)
	fdsBefore := openFDs(t)
	mapsBefore, _ := memfdMaps()
	s, err := mproc.NewSharedSlice[int64](1001)
	if err != nil {
		t.Fatal(err)
	}
	jobs := []fill{{s, 1, 500}, {s, 501, 500}}
	if _, err := mproc.Map(ctx, pool, fillAndCount, jobs, mproc.ChunkSize(1)); err != nil {
		t.Fatal(err)
	}
	got := s.Slice()
	if got[0] != 20_000 {
		t.Fatalf("element 0 = %d after 2 x 10,000 atomic adds in two processes", got[0])
	}
	for i := 1; i <= 1000; i++ {
		if got[i] != int64(i*i) {
			t.Fatalf("element %d = %d, want %d: written by a worker, seen here without a copy", i, got[i], i*i)
		}
	}
	// The workers unmapped it when their tasks returned.
	counts, err := mproc.Map(ctx, pool, countMaps, []int{0, 0}, mproc.ChunkSize(1))
	if err != nil || counts[0] != 0 || counts[1] != 0 {
		t.Fatalf("workers' mappings of shared memory after their tasks: %v, %v", counts, err)
	}
	s.Close()
	if n, _ := memfdMaps(); n != mapsBefore {
		t.Errorf("%d mappings of shared memory here, %d before", n, mapsBefore)
	}
	checkNoFDLeak(t, fdsBefore)
}

func TestSharedSliceRefusesPointers(t *testing.T) {
	type withPtr struct {
		N    int
		Next *int
	}
	_, err := mproc.NewSharedSlice[withPtr](4)
	if err == nil || !strings.Contains(err.Error(), "holds pointers") || !strings.Contains(err.Error(), ".Next") {
		t.Fatalf("NewSharedSlice of a type with a pointer = %v", err)
	}
	if _, err := mproc.NewSharedSlice[string](4); err == nil {
		t.Fatal("NewSharedSlice[string]: want a refusal: a string points to its bytes")
	}
}

type locked struct {
	L *mproc.Lock
	V *mproc.SharedValue[int64]
	N int
}

// addUnderLock increments a plain (non-atomic) shared counter under the
// lock.
func addUnderLock(ctx context.Context, a locked) (int, error) {
	p := a.V.Ptr()
	for range a.N {
		if err := a.L.Acquire(ctx); err != nil {
			return 0, err
		}
		*p = *p + 1
		a.L.Unlock()
	}
	return a.N, nil
}

func TestLockExcludesAcrossProcesses(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	l, err := mproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	v, err := mproc.NewSharedValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := mproc.Map(ctx, pool, addUnderLock, []locked{{l, v, 20_000}, {l, v, 20_000}}, mproc.ChunkSize(1)); err != nil {
		t.Fatal(err)
	}
	if got := *v.Ptr(); got != 40_000 {
		t.Fatalf("counter = %d after 2 x 20,000 increments under the lock: the lock did not exclude", got)
	}
	if l.Owner() != 0 {
		t.Fatalf("Owner = %d after every Unlock", l.Owner())
	}
}

// holdAndDie takes the lock and kills its own process.
func holdAndDie(ctx context.Context, l *mproc.Lock) (int, error) {
	if err := l.Acquire(ctx); err != nil {
		return 0, err
	}
	unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}

func TestLockOfADeadOwnerIsTakenOverWithAnError(t *testing.T) {
	ctx := deadline(t)
	l, err := mproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pr, err := mproc.Start(ctx, holdAndDie, l)
	if err != nil {
		t.Fatal(err)
	}
	pid := pr.Pid()
	pr.Wait()
	err = l.Acquire(ctx)
	var od *mproc.OwnerDiedError
	if !errors.As(err, &od) || !errors.Is(err, mproc.ErrOwnerDied) || od.Pid != pid {
		t.Fatalf("Acquire after the owner (pid %d) was killed holding the lock = %v", pid, err)
	}
	if l.Owner() != os.Getpid() {
		t.Fatalf("Owner = %d: the lock is this process's after the takeover", l.Owner())
	}
	if !strings.Contains(err.Error(), "half-updated") {
		t.Errorf("error %q does not warn about what the lock guards", err)
	}
	l.Unlock()
	if err := l.Acquire(ctx); err != nil {
		t.Fatalf("Acquire of the free lock = %v", err)
	}
	l.Unlock()
}

func TestLockAcquireEndsWithItsContext(t *testing.T) {
	l, err := mproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Lock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Acquire(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire of a held lock whose context ended = %v", err)
	}
	l.Unlock()
}

// writeHalfThenDie writes the first half of the slice and kills its
// process in the middle of the second.
func writeHalfThenDie(_ context.Context, s *mproc.SharedSlice[int64]) (int, error) {
	xs := s.Slice()
	for i := range xs {
		if i == len(xs)/2 {
			unix.Kill(os.Getpid(), unix.SIGKILL)
		}
		xs[i] = 7
	}
	return 0, nil
}

func TestSharedSliceOutlivesAWriterKilledMidWrite(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	s, err := mproc.NewSharedSlice[int64](1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = mproc.Submit(ctx, pool, writeHalfThenDie, s).Wait(ctx)
	var we *mproc.WorkerExitError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "SIGKILL") {
		t.Fatalf("Submit = %v, want the worker's death by SIGKILL", err)
	}
	xs := s.Slice()
	half := len(xs) / 2
	for i, x := range xs {
		if i < half && x != 7 || i >= half && x != 0 {
			t.Fatalf("element %d = %d: the dead writer's half is there, the rest untouched", i, x)
		}
	}
	// The memory is still this process's to use, and to hand on.
	if _, err := mproc.Submit(ctx, pool, fillAndCount, fill{s, 1, 10}).Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
