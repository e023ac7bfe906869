// Command nomain is a program that forgot to call mproc.Main: the test
// TestForgotMain builds and runs it to check that the mistake is reported
// and never becomes a fork bomb.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/mproc-go/mproc"
)

func main() {
	// Here mproc.Main() should come first.
	if len(os.Args) > 1 && os.Args[1] == "busy" && os.Getenv("MPROC_WORKER") != "" {
		// A child that keeps running the user's main, as a server would.
		time.Sleep(time.Minute)
	}
	timeout := 10 * time.Second
	if len(os.Args) > 2 {
		timeout, _ = time.ParseDuration(os.Args[2])
	}
	pool, err := mproc.NewPool(mproc.Workers(1), mproc.StartTimeout(timeout))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	pool.Close()
	fmt.Println("no error")
}
