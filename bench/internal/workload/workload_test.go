package workload

import (
	"context"
	"testing"
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
