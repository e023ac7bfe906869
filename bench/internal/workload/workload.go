// Package workload defines what every contender is measured on: the data
// shapes for codec round trips (a small struct, 1e5 float64, a graph with
// sharing and cycles), the trivial and CPU-bound tasks, and hand-written deep
// copies of each shape that serve as the floor for the codec rows. The
// Python script builds the same shapes (bench/python/bench.py).
package workload

import (
	"context"
	"fmt"
	"time"
)

// BulkWarm is how many untimed round trips every contender of the bulk
// row makes first (bench.py's --bulk-warm too): the first ones land in
// memory new to both processes, where page faults, not the transfer, take
// most of the time (mprocbench.BulkCold measures that case apart).
const BulkWarm = 3

// Inner is the nested struct of Small.
type Inner struct {
	ID    int64
	Label string
	Score float64
}

// Small is a typical task argument: ints, strings, a time and a nested
// struct. Fields are exported so that every Go peer can encode it.
type Small struct {
	ID      int64
	Count   int32
	Name    string
	Email   string
	Tags    []string
	Created time.Time
	Owner   Inner
}

// NewSmall returns the small value every codec round-trips.
func NewSmall() *Small {
	return &Small{
		ID:      1234567,
		Count:   42,
		Name:    "Ada Lovelace",
		Email:   "ada@example.org",
		Tags:    []string{"analytical", "engine", "notes"},
		Created: time.Date(2026, 11, 22, 2, 30, 0, 123456789, time.UTC),
		Owner:   Inner{ID: 7, Label: "Babbage", Score: 0.875},
	}
}

// RawBytes is the size of the value's data — 8 bytes per int, float and
// time, plus string bytes — the numerator of bytes/s for every contender,
// whatever its encoding.
func (s *Small) RawBytes() int {
	n := 8 + 4 + len(s.Name) + len(s.Email) + 8 + 8 + len(s.Owner.Label) + 8
	for _, t := range s.Tags {
		n += len(t)
	}
	return n
}

// Equal reports whether two values hold the same data (time by instant).
func (s *Small) Equal(o *Small) bool {
	if s.ID != o.ID || s.Count != o.Count || s.Name != o.Name || s.Email != o.Email ||
		!s.Created.Equal(o.Created) || s.Owner != o.Owner || len(s.Tags) != len(o.Tags) {
		return false
	}
	for i := range s.Tags {
		if s.Tags[i] != o.Tags[i] {
			return false
		}
	}
	return true
}

// CopySmall is the floor of a small-struct round trip: a hand-written deep
// copy, the least work that yields an equal, independent value.
func CopySmall(s *Small) *Small {
	c := *s
	c.Tags = append([]string(nil), s.Tags...)
	return &c
}

// FloatsLen is the length of the []float64 shape: 800 kB of data.
const FloatsLen = 100_000

// NewFloats returns FloatsLen distinct float64 values.
func NewFloats() []float64 {
	xs := make([]float64, FloatsLen)
	for i := range xs {
		xs[i] = float64(i) * 1.0000001
	}
	return xs
}

// CopyFloats is the floor of a []float64 round trip: allocate and copy.
func CopyFloats(xs []float64) []float64 {
	return append([]float64(nil), xs...)
}

// Node is one vertex of the graph shape.
type Node struct {
	ID     int64
	Weight float64
	Parent *Node   // an earlier node, or itself for the first: shared and cyclic
	Peers  []*Node // two earlier nodes and the node itself
	Owner  *Graph  // back to the root: every node closes a cycle
}

// Graph is the graph shape: a slice of nodes that point at each other and
// back at the graph. Every pointer target is either the graph or a node at
// an earlier or equal index, so an encoder that memoises pointers recurses
// only a few levels deep whatever the size: the shape tests sharing and
// cycles, not the depth limit.
type Graph struct {
	Nodes []*Node
}

// NewGraph returns a graph of n nodes.
func NewGraph(n int) *Graph {
	g := &Graph{Nodes: make([]*Node, n)}
	for i := range g.Nodes {
		nd := &Node{ID: int64(i), Weight: float64(i) / 3, Owner: g}
		g.Nodes[i] = nd
		nd.Parent = nd
		if i > 0 {
			nd.Parent = g.Nodes[(i-1)/2]
		}
		nd.Peers = []*Node{g.Nodes[i*7%(i+1)], g.Nodes[i/3], nd}
	}
	return g
}

// RawBytes counts 8 bytes per int, float and pointer of the graph.
func (g *Graph) RawBytes() int {
	n := 8 * len(g.Nodes)
	for _, nd := range g.Nodes {
		n += 8*4 + 8*len(nd.Peers)
	}
	return n
}

// SameShape reports whether h has g's nodes, weights and links, with the
// links pointing into h itself (sharing and cycles preserved, not copied).
func (g *Graph) SameShape(h *Graph) bool {
	if len(g.Nodes) != len(h.Nodes) {
		return false
	}
	index := make(map[*Node]int64, len(h.Nodes))
	for _, nd := range h.Nodes {
		index[nd] = nd.ID
	}
	for i, a := range g.Nodes {
		b := h.Nodes[i]
		if a.ID != b.ID || a.Weight != b.Weight || b.Owner != h || len(a.Peers) != len(b.Peers) {
			return false
		}
		if id, ok := index[b.Parent]; !ok || id != a.Parent.ID {
			return false
		}
		for j := range a.Peers {
			if id, ok := index[b.Peers[j]]; !ok || id != a.Peers[j].ID {
				return false
			}
		}
	}
	return true
}

// CopyGraph is the floor of a graph round trip: a deep copy that keeps
// identity with a map from old to new nodes, as any general copier must.
func CopyGraph(g *Graph) *Graph {
	h := &Graph{Nodes: make([]*Node, len(g.Nodes))}
	seen := make(map[*Node]*Node, len(g.Nodes))
	var dup func(*Node) *Node
	dup = func(nd *Node) *Node {
		if c, ok := seen[nd]; ok {
			return c
		}
		c := &Node{ID: nd.ID, Weight: nd.Weight, Owner: h}
		seen[nd] = c
		c.Parent = dup(nd.Parent)
		c.Peers = make([]*Node, len(nd.Peers))
		for i, p := range nd.Peers {
			c.Peers[i] = dup(p)
		}
		return c
	}
	for i, nd := range g.Nodes {
		h.Nodes[i] = dup(nd)
	}
	return h
}

// Trivial is the task of the round-trip and map rows: as little work as a
// task can do, so that the figures measure the pool's overhead.
func Trivial(_ context.Context, x int) (int, error) { return x + 1, nil }

// SpinIters is the CPU-bound task's size: about 20–30 ms on current
// hardware, long enough that IPC costs vanish beside it.
const SpinIters = 20_000_000

// Spin is the CPU-bound task: a dependent chain of multiplications that no
// compiler can vectorise or skip.
func Spin(_ context.Context, iters int) (uint64, error) {
	x := uint64(iters)
	for range iters {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x, nil
}

// Echo returns its argument: the task of the 64 MiB round trip.
func Echo(_ context.Context, b []byte) ([]byte, error) { return b, nil }

// spinSink keeps serial Spin results alive so the compiler cannot drop them.
var spinSink uint64

// Speedup times tasks calls of Spin serially on this goroutine before and
// after parallel(), which must run the same tasks its own way, and returns
// the mean serial time over the parallel time. Timing the serial run on both
// sides cancels most of the drift when other load on the machine comes or
// goes during the measurement.
func Speedup(tasks int, parallel func() error) (float64, error) {
	serial := func() time.Duration {
		t0 := time.Now()
		for range tasks {
			x, _ := Spin(context.Background(), SpinIters)
			spinSink += x
		}
		return time.Since(t0)
	}
	before := serial()
	t1 := time.Now()
	if err := parallel(); err != nil {
		return 0, fmt.Errorf("speed-up: %w", err)
	}
	par := time.Since(t1)
	after := serial()
	return (before + after).Seconds() / 2 / par.Seconds(), nil
}
