package mproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/remote"
)

// loopExecutor is the smallest remote executor: it runs every task on a
// pool of worker processes of this machine through remote.Run, the way a
// cluster node does, so that the seam is tested without a network.
type loopExecutor struct {
	local    *mproc.Pool
	slots    int
	strict   bool
	executed atomic.Int64
	closed   atomic.Bool
}

func (e *loopExecutor) Slots() int { return e.slots }

func (e *loopExecutor) Execute(ctx context.Context, t *remote.Task) ([]byte, error) {
	e.executed.Add(1)
	return remote.Run(ctx, e.local, t.Payload, "node-a", e.strict), nil
}

func (e *loopExecutor) Strict() bool { return e.strict }

func (e *loopExecutor) Close() error {
	e.closed.Store(true)
	return e.local.Close()
}

func newRemotePool(t *testing.T) (*mproc.Pool, *loopExecutor) {
	t.Helper()
	local, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	e := &loopExecutor{local: local, slots: 3}
	p, err := mproc.NewPool(mproc.Remote(e))
	if err != nil {
		local.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, e
}

var errSeven = errors.New("seven is refused")

func refuseSeven(_ context.Context, x int) (int, error) {
	if x == 7 {
		return 0, errSeven
	}
	return 2 * x, nil
}

func TestRemotePoolRunsMapSubmitImap(t *testing.T) {
	p, e := newRemotePool(t)
	ctx := context.Background()
	in := make([]int, 200)
	for i := range in {
		in[i] = i + 10
	}
	out, err := mproc.Map(ctx, p, refuseSeven, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 2*in[i] {
			t.Fatalf("out[%d] = %d, want %d", i, v, 2*in[i])
		}
	}
	if v, err := mproc.Submit(ctx, p, refuseSeven, 21).Wait(ctx); err != nil || v != 42 {
		t.Fatalf("Submit = %d, %v; want 42", v, err)
	}
	n := 0
	for v, err := range mproc.Imap(ctx, p, mproc.Plain(strings.ToUpper), func(yield func(string) bool) {
		for _, s := range []string{"a", "b", "c"} {
			if !yield(s) {
				return
			}
		}
	}) {
		if err != nil || v != string(rune('A'+n)) {
			t.Fatalf("Imap item %d = %q, %v", n, v, err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("Imap gave %d items, want 3", n)
	}
	if e.executed.Load() == 0 {
		t.Fatal("the executor ran nothing: the tasks did not go through the seam")
	}
	p.Close()
	if !e.closed.Load() {
		t.Fatal("Close did not close the executor")
	}
}

func TestRemoteTaskErrorNamesInputAndNode(t *testing.T) {
	p, _ := newRemotePool(t)
	_, err := mproc.Map(context.Background(), p, refuseSeven, []int{1, 2, 3, 4, 5, 6, 7, 8})
	var te *mproc.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want a *TaskError", err, err)
	}
	if te.Index != 6 || te.Node != "node-a" || te.Pid == 0 || te.Msg != errSeven.Error() {
		t.Fatalf("TaskError = %+v; want input 6, node node-a, a worker's pid, message %q", te, errSeven)
	}
	if te.Err == nil || te.Err.Error() != errSeven.Error() {
		t.Fatalf("TaskError.Err = %v, want the task's error rebuilt", te.Err)
	}
	for _, want := range []string{"task 6 failed", "on node node-a", "seven is refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func blockUntilCancelled(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func TestRemoteTimeoutIsEnforcedOnTheNode(t *testing.T) {
	p, _ := newRemotePool(t)
	_, err := mproc.Map(context.Background(), p, blockUntilCancelled, []int{1}, mproc.Timeout(50*time.Millisecond))
	var to *mproc.TimeoutError
	if !errors.As(err, &to) || !errors.Is(err, mproc.ErrTimeout) {
		t.Fatalf("err = %v (%T), want a *TimeoutError", err, err)
	}
	if to.Index != 0 || to.Node != "node-a" || to.Limit != 50*time.Millisecond {
		t.Fatalf("TimeoutError = %+v", to)
	}
	if !strings.Contains(err.Error(), "on node node-a") {
		t.Errorf("error %q does not name the node", err)
	}
}

func readFile(_ context.Context, f *os.File) (string, error) { return f.Name(), nil }

func TestRemotePoolRefusesHandles(t *testing.T) {
	p, e := newRemotePool(t)
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = mproc.Map(context.Background(), p, readFile, []*os.File{f})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want a *codec.UnsupportedError", err, err)
	}
	if ue.Path != "args[0]" || !strings.Contains(ue.Reason, "cluster pool") || !strings.Contains(ue.Fix, "local pool") {
		t.Fatalf("refusal = %+v; want the path args[0], why a cluster cannot carry it, and the fix", ue)
	}
	if n := e.executed.Load(); n != 0 {
		t.Fatalf("the executor ran %d tasks of a refused call", n)
	}
}

func TestRemoteCancelStopsTheNodesTask(t *testing.T) {
	p, _ := newRemotePool(t)
	ctx, cancel := context.WithCancel(context.Background())
	fut := mproc.Submit(ctx, p, blockUntilCancelled, 1)
	cancel()
	if _, err := fut.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
	}
}

func init() { codec.Register(refuseSeven) }

func TestRemoteStrictTaskRunsByName(t *testing.T) {
	local, err := mproc.NewPool(mproc.Workers(1))
	if err != nil {
		t.Fatal(err)
	}
	e := &loopExecutor{local: local, slots: 2, strict: true}
	p, err := mproc.NewPool(mproc.Remote(e))
	if err != nil {
		local.Close()
		t.Fatal(err)
	}
	defer p.Close()
	out, err := mproc.Map(context.Background(), p, refuseSeven, []int{1, 2, 3})
	if err != nil || out[2] != 6 {
		t.Fatalf("strict Map = %v, %v", out, err)
	}
	_, err = mproc.Map(context.Background(), p, refuseSeven, []int{6, 7})
	var te *mproc.TaskError
	if !errors.As(err, &te) || te.Index != 1 || te.Msg != errSeven.Error() {
		t.Fatalf("strict Map's error = %v, want input 1's TaskError", err)
	}
	// A function nobody registered does not resolve by name.
	_, err = mproc.Map(context.Background(), p, blockUntilCancelled, []int{1})
	if err == nil || !strings.Contains(err.Error(), "not registered") || !strings.Contains(err.Error(), "codec.Register") {
		t.Fatalf("an unregistered function in strict mode: %v, want the codec's refusal naming Register", err)
	}
}
