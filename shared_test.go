package mproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

type counters struct {
	Total int
	ByKey map[string]int
}

func addOne(c *counters, key string) (int, error) {
	c.Total++
	c.ByKey[key]++
	return c.Total, nil
}

func bump(ctx context.Context, s *mproc.Shared[counters]) (int, error) {
	return mproc.Call(ctx, s, addOne, "worker")
}

func TestSharedCallsAreSerializedInTheOwner(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	before := openFDs(t)
	s := mproc.NewShared(counters{ByKey: map[string]int{}})
	in := make([]*mproc.Shared[counters], 200)
	for i := range in {
		in[i] = s
	}
	if _, err := mproc.Map(ctx, pool, bump, in, mproc.ChunkSize(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := mproc.Call(ctx, s, addOne, "parent"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The nested map's mutations, made in other processes, are there.
	if got.Total != 201 || got.ByKey["worker"] != 200 || got.ByKey["parent"] != 1 {
		t.Fatalf("after 200 increments in workers and 1 here: %+v", got)
	}
	checkNoFDLeak(t, before)
}

func setSquare(ctx context.Context, a struct {
	M *mproc.SharedMap[int, int]
	K int
}) (int, error) {
	return a.K, a.M.Set(ctx, a.K, a.K*a.K)
}

func TestSharedMapSetInWorkers(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	m := mproc.NewSharedMap[int, int]()
	var in []struct {
		M *mproc.SharedMap[int, int]
		K int
	}
	for k := range 20 {
		in = append(in, struct {
			M *mproc.SharedMap[int, int]
			K int
		}{m, k})
	}
	if _, err := mproc.Map(ctx, pool, setSquare, in); err != nil {
		t.Fatal(err)
	}
	items, err := m.Items(ctx)
	if err != nil || len(items) != 20 || items[7] != 49 {
		t.Fatalf("Items = %v, %v", items, err)
	}
	if v, ok, err := m.Get(ctx, 19); v != 361 || !ok || err != nil {
		t.Fatalf("Get(19) = %d, %v, %v", v, ok, err)
	}
	m.Delete(ctx, 19)
	if n, _ := m.Len(ctx); n != 19 {
		t.Fatalf("Len after Delete = %d", n)
	}
}

func boom(_ *counters, _ int) (int, error) { panic("boom in the owner") }

func getFromWorker(ctx context.Context, l *mproc.SharedList[string]) (string, error) {
	return l.Get(ctx, 5)
}

func callBoom(ctx context.Context, s *mproc.Shared[counters]) (int, error) {
	return mproc.Call(ctx, s, boom, 1)
}

func TestSharedErrorsComeBackTyped(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	l := mproc.NewSharedList("a", "b")
	_, err := mproc.Submit(ctx, pool, getFromWorker, l).Wait(ctx)
	var ie *mproc.IndexError
	if !errors.As(err, &ie) || ie.Index != 5 || ie.Len != 2 {
		t.Fatalf("Get(5) from a worker = %v, want an *IndexError that travelled back", err)
	}
	s := mproc.NewShared(counters{ByKey: map[string]int{}})
	_, err = mproc.Submit(ctx, pool, callBoom, s).Wait(ctx)
	if err == nil || !strings.Contains(err.Error(), "boom in the owner") || !strings.Contains(err.Error(), "panicked in the owner") {
		t.Fatalf("a call that panics = %v", err)
	}
	// The owner survived it.
	if n, err := mproc.Call(ctx, s, addOne, "after"); err != nil || n != 1 {
		t.Fatalf("Call after the panic = %d, %v", n, err)
	}
}

func ownMap(ctx context.Context, _ int) (*mproc.SharedMap[string, int], error) {
	m := mproc.NewSharedMap[string, int]()
	return m, m.Set(ctx, "made in", os.Getpid())
}

func TestSharedOwnerDeathFailsCalls(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	m, err := mproc.Submit(ctx, pool, ownMap, 0).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner, ok, err := m.Get(ctx, "made in")
	if err != nil || !ok || owner == os.Getpid() {
		t.Fatalf("Get = %d, %v, %v", owner, ok, err)
	}
	mproc.Submit(ctx, pool, exitNow, 0).Wait(ctx)
	err = m.Set(ctx, "x", 1)
	var se *mproc.SharedError
	if !errors.As(err, &se) || !errors.Is(err, mproc.ErrSharedOwnerGone) || se.Owner != owner {
		t.Fatalf("Set after the owner's death = %v, want ErrSharedOwnerGone naming pid %d", err, owner)
	}
	if !strings.Contains(err.Error(), "keep process") {
		t.Errorf("error %q gives no fix", err)
	}
	m.S.Release()
}

func echoMap(_ context.Context, m *mproc.SharedMap[string, int]) (*mproc.SharedMap[string, int], error) {
	return m, nil
}

func TestSharedMapComesBackToItsOwner(t *testing.T) {
	pool := newPool(t, mproc.Workers(1))
	ctx := deadline(t)
	m := mproc.NewSharedMap[string, int]()
	back, err := mproc.Submit(ctx, pool, echoMap, m).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer back.S.Release()
	if err := back.Set(ctx, "through the copy", 1); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := m.Get(ctx, "through the copy"); err != nil || !ok || v != 1 {
		t.Fatalf("Get = %d, %v, %v", v, ok, err)
	}
}

var workerMap *mproc.SharedMap[int, int]

func keepMap(_ context.Context, m *mproc.SharedMap[int, int]) error {
	workerMap = m
	return nil
}

func setFromInitializer(ctx context.Context, k int) (int, error) {
	return k, workerMap.Set(ctx, k, k*10)
}

func TestSharedMapGivenToInitializerOutlivesTasks(t *testing.T) {
	m := mproc.NewSharedMap[int, int]()
	pool := newPool(t, mproc.Workers(2), mproc.Initializer(keepMap, m))
	ctx := deadline(t)
	for round := range 3 {
		if _, err := mproc.Map(ctx, pool, setFromInitializer, []int{round*2 + 0, round*2 + 1}, mproc.ChunkSize(1)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if n, err := m.Len(ctx); err != nil || n != 6 {
		t.Fatalf("Len = %d, %v: every task's Set through the initializer's handle", n, err)
	}
}
