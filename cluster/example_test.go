package cluster_test

import (
	"context"
	"fmt"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
)

func square(_ context.Context, x int) (int, error) { return x * x, nil }

// A Map on two nodes of this executable, through an embedded server.
// Every node runs its tasks in a worker process of its own.
func Example() {
	ctx := context.Background()
	c, err := cluster.New(ctx, cluster.LocalNodes(2), cluster.NodeWorkers(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	out, err := mproc.Map(ctx, c.Pool, square, []int{1, 2, 3, 4}, mproc.Retries(2))
	fmt.Println(out, err)
	// Output: [1 4 9 16] <nil>
}
