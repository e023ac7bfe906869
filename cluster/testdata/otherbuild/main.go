// Command otherbuild is another build than the cluster's test binary: a
// node of it must not take the test pool's tasks, except a Strict pool's,
// whose functions and types it registered (internal/strictfuncs).
package main

import (
	"fmt"

	"github.com/mproc-go/mproc"
	_ "github.com/mproc-go/mproc/cluster" // makes Main serve as a node
	_ "github.com/mproc-go/mproc/cluster/internal/strictfuncs"
)

func main() {
	mproc.Main()
	fmt.Println("otherbuild: not a node")
}
