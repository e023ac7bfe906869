// Command cgo runs tasks that fault inside C code, for cgo_faults_test.go:
// "cgo segv" maps inputs 0, 1, 2 with a function that writes through a
// null pointer in C for input 1; "cgo deadlock" with one that locks a
// pthread mutex it already holds, under a 500 ms heartbeat and a 2 s
// timeout. Each prints on stdout one JSON Report: the errors the call
// returned and whether the next Map on the same pool worked. The workers'
// stderr goes to its stderr.
package main

/*
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void segv(void) {
	fprintf(stderr, "C: about to write through a null pointer\n");
	fflush(stderr);
	*(volatile int *)0 = 1;
}

// deadlock locks mu twice: a default (PTHREAD_MUTEX_NORMAL) mutex
// deadlocks its own holder, in C, for ever.
static void deadlock(void) {
	pthread_mutex_lock(&mu);
	pthread_mutex_lock(&mu);
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mproc-go/mproc"
)

// crashAt crashes in C for input 1 and doubles the others.
func crashAt(_ context.Context, i int) (int, error) {
	if i == 1 {
		C.segv()
	}
	return 2 * i, nil
}

// hangAt deadlocks in C for input 1 and doubles the others.
func hangAt(_ context.Context, i int) (int, error) {
	if i == 1 {
		C.deadlock()
	}
	return 2 * i, nil
}

// Report is what a case prints.
type Report struct {
	Err     string  // the faulty call's error
	Faults  []Fault // the errors it joins (CollectErrors), in input order
	Out     []int   // the faulty call's results
	Next    []int   // the next Map's results on the same pool
	NextErr string
}

// A Fault describes one of the joined errors.
type Fault struct {
	Msg        string
	WorkerExit bool   // errors.As(err, *mproc.WorkerExitError)
	Timeout    bool   // errors.Is(err, mproc.ErrTimeout)
	Index      int    // the input it names
	Lost       bool   // WorkerExitError.Lost
	Signal     string // WorkerExitError.Signal
	Code       int    // WorkerExitError.Code
	Stderr     string // WorkerExitError.Stderr
}

func describe(err error) []Fault {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var fs []Fault
	for _, err := range errs {
		f := Fault{Msg: err.Error(), Timeout: errors.Is(err, mproc.ErrTimeout), Index: -1}
		var we *mproc.WorkerExitError
		var te *mproc.TimeoutError
		switch {
		case errors.As(err, &we):
			f.WorkerExit = true
			f.Index, f.Lost, f.Signal, f.Code, f.Stderr = we.Index, we.Lost, we.Signal, we.Code, we.Stderr
		case errors.As(err, &te):
			f.Index = te.Index
		}
		fs = append(fs, f)
	}
	return fs
}

func main() {
	mproc.Main()
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cgo segv|deadlock")
		os.Exit(2)
	}
	var (
		opts  []mproc.Option
		fn    func(context.Context, int) (int, error)
		copts = []mproc.CallOption{mproc.ChunkSize(1), mproc.CollectErrors()}
	)
	switch os.Args[1] {
	case "segv":
		fn = crashAt
	case "deadlock":
		// The heartbeat, if anything stopped it, would fire well before
		// the timeout.
		opts = []mproc.Option{mproc.Heartbeat(500 * time.Millisecond)}
		fn = hangAt
		copts = append(copts, mproc.Timeout(2*time.Second))
	default:
		fmt.Fprintln(os.Stderr, "unknown case", os.Args[1])
		os.Exit(2)
	}
	pool, err := mproc.NewPool(append(opts, mproc.Workers(1))...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer pool.Close()
	ctx := context.Background()
	var r Report
	r.Out, err = mproc.Map(ctx, pool, fn, []int{0, 1, 2}, copts...)
	if err != nil {
		r.Err = err.Error()
	}
	r.Faults = describe(err)
	r.Next, err = mproc.Map(ctx, pool, fn, []int{3, 4})
	if err != nil {
		r.NextErr = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(r)
}
