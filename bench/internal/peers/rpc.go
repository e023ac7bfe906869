package peers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

// RoleRPC is the child serving Service with net/rpc on its socket.
const RoleRPC = "peer-netrpc"

func init() { child.Register(RoleRPC, serveRPC) }

// Service is what the net/rpc child offers: the same tasks as the other
// contenders, as net/rpc methods.
type Service struct{}

// Trivial runs workload.Trivial.
func (Service) Trivial(x int, out *int) (err error) {
	*out, err = workload.Trivial(context.Background(), x)
	return err
}

// Batch runs workload.Trivial on every element: a chunk of a map.
func (Service) Batch(xs []int, out *[]int) error {
	res := make([]int, len(xs))
	for i, x := range xs {
		res[i], _ = workload.Trivial(context.Background(), x)
	}
	*out = res
	return nil
}

// Echo returns its argument.
func (Service) Echo(b []byte, out *[]byte) error {
	*out = b
	return nil
}

// Spin runs the CPU-bound task.
func (Service) Spin(iters int, out *uint64) (err error) {
	*out, err = workload.Spin(context.Background(), iters)
	return err
}

func serveRPC(f *os.File) error {
	conn, err := net.FileConn(f)
	if err != nil {
		return err
	}
	srv := rpc.NewServer()
	if err := srv.Register(Service{}); err != nil {
		return err
	}
	srv.ServeConn(conn) // returns at EOF
	return nil
}

// rpcWorker is one net/rpc child and its client.
type rpcWorker struct {
	proc   *child.Process
	client *rpc.Client
}

func startRPC(n int) ([]rpcWorker, error) {
	var ws []rpcWorker
	for range n {
		p, err := child.Start(RoleRPC)
		if err != nil {
			closeRPC(ws)
			return nil, err
		}
		conn, err := net.FileConn(p.Conn)
		if err != nil {
			p.Close()
			closeRPC(ws)
			return nil, err
		}
		ws = append(ws, rpcWorker{proc: p, client: rpc.NewClient(conn)})
	}
	return ws, nil
}

func closeRPC(ws []rpcWorker) error {
	var errs []error
	for _, w := range ws {
		w.client.Close() // closes the dup'ed conn; the child still holds its end
		errs = append(errs, w.proc.Close())
	}
	return errors.Join(errs...)
}

// RPCStart measures starting workers net/rpc children to the first reply
// from any of them, in seconds.
func RPCStart(workers int) stats.Trial {
	return stats.Trial{Once: func() (float64, error) {
		t0 := time.Now()
		ws, err := startRPC(workers)
		if err != nil {
			return 0, err
		}
		first := make(chan error, workers)
		for _, w := range ws {
			go func() {
				var out int
				first <- w.client.Call("Service.Trivial", 1, &out)
			}()
		}
		err = <-first
		elapsed := time.Since(t0)
		for range workers - 1 {
			err = errors.Join(err, <-first)
		}
		if err = errors.Join(err, closeRPC(ws)); err != nil {
			return 0, fmt.Errorf("net/rpc start: %w", err)
		}
		return elapsed.Seconds(), nil
	}}
}

// RPCRoundTrip measures one synchronous call of the trivial task, averaged
// over rounds calls, in seconds per call.
func RPCRoundTrip(rounds int) (stats.Trial, error) {
	ws, err := startRPC(1)
	if err != nil {
		return stats.Trial{}, err
	}
	c := ws[0].client
	call := func() error {
		var out int
		return c.Call("Service.Trivial", 1, &out)
	}
	for range rounds / 10 {
		if err := call(); err != nil {
			closeRPC(ws)
			return stats.Trial{}, fmt.Errorf("net/rpc round trip: %w", err)
		}
	}
	once := func() (float64, error) {
		t0 := time.Now()
		for range rounds {
			if err := call(); err != nil {
				return 0, fmt.Errorf("net/rpc round trip: %w", err)
			}
		}
		return time.Since(t0).Seconds() / float64(rounds), nil
	}
	return stats.Trial{Once: once, Close: func() error { return closeRPC(ws) }}, nil
}

// inFlight is how many calls each worker has outstanding during a map: enough
// to keep both ends busy, as a pool's dispatcher would.
const inFlight = 16

// RPCMap maps the trivial task over n inputs on workers net/rpc children,
// chunk inputs per call (the Batch method when chunk > 1), with inFlight
// calls outstanding per worker. Samples are tasks per second.
func RPCMap(n, workers, chunk int) (stats.Trial, error) {
	ws, err := startRPC(workers)
	if err != nil {
		return stats.Trial{}, err
	}
	inputs := make([]int, n)
	for i := range inputs {
		inputs[i] = i
	}
	once := func() (float64, error) {
		results := make([]int, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		var errMu sync.Mutex
		var firstErr error
		t0 := time.Now()
		for _, w := range ws {
			for range inFlight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						lo := int(next.Add(int64(chunk))) - chunk
						if lo >= n {
							return
						}
						hi := min(lo+chunk, n)
						var err error
						if chunk == 1 {
							err = w.client.Call("Service.Trivial", inputs[lo], &results[lo])
						} else {
							var out []int
							err = w.client.Call("Service.Batch", inputs[lo:hi], &out)
							copy(results[lo:hi], out)
						}
						if err != nil {
							errMu.Lock()
							firstErr = errors.Join(firstErr, err)
							errMu.Unlock()
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		elapsed := time.Since(t0)
		if firstErr != nil {
			return 0, fmt.Errorf("net/rpc map: %w", firstErr)
		}
		for i, r := range results {
			if r != inputs[i]+1 {
				return 0, fmt.Errorf("net/rpc map: result %d is %d, want %d", i, r, inputs[i]+1)
			}
		}
		return float64(n) / elapsed.Seconds(), nil
	}
	return stats.Trial{Once: once, Close: func() error { return closeRPC(ws) }}, nil
}

// RPCBulk sends size bytes to a net/rpc child and back. Samples are bytes
// per second, counting size once.
func RPCBulk(size int) (stats.Trial, error) {
	ws, err := startRPC(1)
	if err != nil {
		return stats.Trial{}, err
	}
	arg := make([]byte, size)
	warm := workload.BulkWarm
	once := func() (float64, error) {
		var out []byte
		for ; warm > 0; warm-- {
			if err := ws[0].client.Call("Service.Echo", arg, &out); err != nil {
				return 0, fmt.Errorf("net/rpc %d bytes (warming up): %w", size, err)
			}
		}
		t0 := time.Now()
		if err := ws[0].client.Call("Service.Echo", arg, &out); err != nil {
			return 0, fmt.Errorf("net/rpc %d bytes: %w", size, err)
		}
		elapsed := time.Since(t0)
		if len(out) != size {
			return 0, fmt.Errorf("net/rpc %d bytes: got %d back", size, len(out))
		}
		return float64(size) / elapsed.Seconds(), nil
	}
	return stats.Trial{Once: once, Close: func() error { return closeRPC(ws) }}, nil
}

// RPCSpeedup runs tasks CPU-bound tasks serially in this process, then on
// workers net/rpc children, and returns serial time over parallel time.
func RPCSpeedup(tasks, workers int) (stats.Trial, error) {
	ws, err := startRPC(workers)
	if err != nil {
		return stats.Trial{}, err
	}
	once := func() (float64, error) {
		return workload.Speedup(tasks, func() error {
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make([]error, len(ws))
			for i, w := range ws {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(tasks) {
						var out uint64
						if err := w.client.Call("Service.Spin", workload.SpinIters, &out); err != nil {
							errs[i] = err
							return
						}
					}
				}()
			}
			wg.Wait()
			return errors.Join(errs...)
		})
	}
	return stats.Trial{Once: once, Close: func() error { return closeRPC(ws) }}, nil
}
