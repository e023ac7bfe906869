package workload

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestGraphCopyKeepsSharingAndCycles(t *testing.T) {
	for _, n := range []int{1, 2, 10, 1000} {
		g := NewGraph(n)
		if !g.SameShape(g) {
			t.Fatalf("graph of %d nodes differs from itself", n)
		}
		h := CopyGraph(g)
		if !g.SameShape(h) {
			t.Errorf("CopyGraph(%d nodes) lost the shape", n)
		}
		if n > 0 && h.Nodes[0] == g.Nodes[0] {
			t.Errorf("CopyGraph shares nodes with the original")
		}
		if h.Nodes[0].Parent != h.Nodes[0] || h.Nodes[n-1].Peers[2] != h.Nodes[n-1] {
			t.Errorf("CopyGraph(%d) broke the self cycles", n)
		}
	}
}

func TestSameShapeDetectsDifferences(t *testing.T) {
	g := NewGraph(10)
	for name, spoil := range map[string]func(h *Graph){
		"weight":        func(h *Graph) { h.Nodes[3].Weight++ },
		"parent copied": func(h *Graph) { p := *h.Nodes[4].Parent; h.Nodes[4].Parent = &p },
		"peer":          func(h *Graph) { h.Nodes[5].Peers[0] = h.Nodes[9] },
		"owner":         func(h *Graph) { h.Nodes[6].Owner = g },
		"length":        func(h *Graph) { h.Nodes = h.Nodes[:9] },
	} {
		h := CopyGraph(g)
		spoil(h)
		if g.SameShape(h) {
			t.Errorf("SameShape missed a changed %s", name)
		}
	}
}

func TestSmall(t *testing.T) {
	s := NewSmall()
	c := CopySmall(s)
	if !s.Equal(c) {
		t.Fatal("CopySmall is not Equal")
	}
	c.Tags[0] = "changed"
	if s.Tags[0] == "changed" {
		t.Error("CopySmall shares the Tags array")
	}
	if s.Equal(c) {
		t.Error("Equal missed a changed tag")
	}
	if got := s.RawBytes(); got != 8+4+12+15+8+8+7+8+10+6+5 {
		t.Errorf("RawBytes = %d", got)
	}
}

func TestTasks(t *testing.T) {
	ctx := context.Background()
	if x, err := Trivial(ctx, 41); x != 42 || err != nil {
		t.Errorf("Trivial(41) = %d, %v", x, err)
	}
	a, _ := Spin(ctx, 1000)
	b, _ := Spin(ctx, 1000)
	c, _ := Spin(ctx, 1001)
	if a != b || a == c {
		t.Errorf("Spin is not a deterministic function of its input: %d %d %d", a, b, c)
	}
	if fs := NewFloats(); len(fs) != FloatsLen || fs[1] == fs[2] {
		t.Error("NewFloats: wrong length or repeated values")
	}
}

func TestSpeedupReportsParallelError(t *testing.T) {
	_, err := Speedup(1, func() error { return context.Canceled })
	if err == nil || err.Error() != "speed-up: context canceled" {
		t.Errorf("Speedup = %v, want the parallel run's error wrapped", err)
	}
}

func TestUnevenShape(t *testing.T) {
	d := Uneven(1)
	if len(d) != 61 || d[0] != 2*time.Second || d[1] != 50*time.Millisecond {
		t.Fatalf("Uneven(1) = %d tasks starting %v, %v; want 2 s then 60 of 50 ms", len(d), d[0], d[1])
	}
	if got := Ideal(d, 2); got != 2500*time.Millisecond {
		t.Errorf("Ideal = %v, want 2.5 s", got)
	}
	if got := Uneven(0.1)[0]; got != 200*time.Millisecond {
		t.Errorf("Uneven(0.1)[0] = %v, want 200 ms", got)
	}
}

func TestLognormalShape(t *testing.T) {
	d := Lognormal(1000, 1)
	s := slices.Clone(d)
	slices.Sort(s)
	// Quantiles of the permuted grid: every input of the sequence appears
	// once, so the sorted times are the distribution's quantiles.
	if med := s[500]; med < 1950*time.Microsecond || med > 2050*time.Microsecond {
		t.Errorf("median %v, want 2 ms", med)
	}
	if p99 := s[990]; p99 < 48*time.Millisecond || p99 > 52*time.Millisecond {
		t.Errorf("p99 %v, want 50 ms", p99)
	}
	if slices.IsSorted(d) {
		t.Error("the sequence is sorted: the long tasks must be spread through the call")
	}
	if Ideal(d, 2) != Sum(d)/2 {
		t.Errorf("Ideal %v, want the total over 2 workers %v: no task is that long", Ideal(d, 2), Sum(d)/2)
	}
}

func TestTakeTakesItsTime(t *testing.T) {
	for _, d := range []time.Duration{0, 300 * time.Microsecond, 3 * time.Millisecond} {
		t0 := time.Now()
		got, err := Take(context.Background(), d)
		if took := time.Since(t0); err != nil || got != d || took < d {
			t.Errorf("Take(%v) = %v, %v after %v: want it back after at least that long", d, got, err, took)
		}
	}
}
