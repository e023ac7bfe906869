// Command cluster runs one Map on three nodes of a NATS JetStream cluster:
// an embedded server and three node processes of this same binary on this
// machine, stand-ins for three machines.
//
//	go run ./examples/cluster         # 300 tasks over 3 nodes, with progress
//	go run ./examples/cluster -kill   # SIGKILL a node a third of the way in
//
// With -kill, the killed node's tasks come back to the stream once AckWait
// (here 1 s) has passed without a sign of life from it, and the two nodes
// left run them: every input still gets its output, once.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
)

// A Square is a task's output: the square, and the process of the node
// that computed it (its worker's parent).
type Square struct {
	N, Square int
	NodePid   int
}

// square takes about 10 ms, as real work would.
func square(ctx context.Context, n int) (Square, error) {
	select {
	case <-ctx.Done():
		return Square{}, ctx.Err()
	case <-time.After(10 * time.Millisecond):
	}
	return Square{N: n, Square: n * n, NodePid: os.Getppid()}, nil
}

func main() {
	mproc.Main() // a node, or a node's worker, serves here and never returns
	kill := flag.Bool("kill", false, "SIGKILL a node a third of the way in, to see its tasks finish elsewhere")
	tasks := flag.Int("n", 300, "inputs to square")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *tasks, *kill); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, tasks int, kill bool) error {
	start := time.Now()
	c, err := cluster.New(ctx, cluster.LocalNodes(3), cluster.NodeWorkers(1), cluster.AckWait(time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	nodes := c.Nodes()
	names := map[int]string{}
	for _, n := range nodes {
		names[n.Pid()] = n.Name
	}
	fmt.Fprintf(w, "embedded server at %s, %d nodes up in %v\n", c.URL(), len(nodes), time.Since(start).Round(time.Millisecond))

	in := make([]int, tasks)
	for i := range in {
		in[i] = i
	}
	killed := ""
	nextReport := 0
	progress := func(p mproc.Progress) {
		if p.Done*10 >= nextReport*p.Total {
			fmt.Fprintf(w, "  %3d%%  %d of %d done\n", 100*p.Done/p.Total, p.Done, p.Total)
			nextReport = p.Done*10/p.Total + 1
		}
		if kill && killed == "" && p.Done*3 >= p.Total {
			victim := nodes[1]
			if err := victim.Kill(); err == nil {
				killed = victim.Name
				fmt.Fprintf(w, "  SIGKILL %s (pid %d): its tasks go to the others after AckWait\n", victim.Name, victim.Pid())
			}
		}
	}
	mapStart := time.Now()
	out, err := mproc.Map(ctx, c.Pool, square, in, mproc.Retries(2), mproc.OnProgress(progress))
	if err != nil {
		return err
	}
	took := time.Since(mapStart)

	perNode := map[string]int{}
	for i, s := range out {
		if s.N != i || s.Square != i*i {
			return fmt.Errorf("output %d is %+v", i, s)
		}
		perNode[names[s.NodePid]]++
	}
	fmt.Fprintf(w, "%d squares in %v; computed by:\n", len(out), took.Round(time.Millisecond))
	keys := make([]string, 0, len(perNode))
	for k := range perNode {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		note := ""
		if k == killed {
			note = " (before it was killed)"
		}
		fmt.Fprintf(w, "  %s: %d%s\n", k, perNode[k], note)
	}
	st := c.Stats()
	fmt.Fprintf(w, "tasks published %d, results delivered %d, duplicate results dropped %d\n", st.Published, st.Results, st.Duplicates)
	return nil
}
