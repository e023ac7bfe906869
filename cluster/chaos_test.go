package cluster_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
)

func triple(_ context.Context, x int) (int, error) { return 3 * x, nil }

// TestChaos runs 10,000 inputs over three nodes while nodes are SIGKILLed
// at random moments (and replaced) and the server restarts once: every
// input must get its output, and every task exactly one result.
func TestChaos(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(3), cluster.NodeWorkers(1), cluster.AckWait(500*time.Millisecond))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	in := make([]int, 10_000)
	for i := range in {
		in[i] = i
	}
	// Disturbances at random points of the run, in order: four kills and
	// one restart of the server.
	type event struct {
		at      int // inputs done
		restart bool
	}
	var events []event
	for range 4 {
		events = append(events, event{at: 500 + rng.IntN(8500)})
	}
	events = append(events, event{at: 500 + rng.IntN(8500), restart: true})
	slices.SortFunc(events, func(a, b event) int { return a.at - b.at })

	var (
		chaos   sync.WaitGroup
		errs    = make(chan error, len(events))
		next    int
		mu      sync.Mutex
		killed  int
		restart bool
	)
	out, err := mproc.Map(context.Background(), c.Pool, triple, in, mproc.ChunkSize(10), mproc.Retries(10),
		mproc.OnProgress(func(p mproc.Progress) {
			for next < len(events) && p.Done >= events[next].at {
				ev := events[next]
				next++
				chaos.Go(func() {
					if ev.restart {
						errs <- cluster.RestartServer(c)
						mu.Lock()
						restart = true
						mu.Unlock()
						return
					}
					nodes := c.Nodes()
					var live []*cluster.LocalNode
					for _, n := range nodes {
						select {
						case <-n.Exited():
						default:
							live = append(live, n)
						}
					}
					mu.Lock()
					victim := live[rng.IntN(len(live))]
					mu.Unlock()
					victim.Kill()
					<-victim.Exited()
					mu.Lock()
					killed++
					mu.Unlock()
					_, err := c.StartNode()
					errs <- err
				})
			}
		}))
	chaos.Wait()
	close(errs)
	for e := range errs {
		if e != nil {
			t.Fatal(e)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 3*i {
			t.Fatalf("out[%d] = %d, want %d", i, v, 3*i)
		}
	}
	st := c.Stats()
	t.Logf("nodes killed %d, server restarted %v, stats %+v", killed, restart, st)
	if killed != 4 || !restart {
		t.Fatalf("the chaos did not happen: %d kills, restart %v", killed, restart)
	}
	if st.Results != st.Published {
		t.Fatalf("%d tasks published, %d results delivered: one was lost or delivered twice", st.Published, st.Results)
	}
}
