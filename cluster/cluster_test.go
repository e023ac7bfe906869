package cluster_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
	"github.com/mproc-go/mproc/codec"
)

func TestMain(m *testing.M) {
	mproc.Main() // a node, and a node's worker, serve here and exit
	os.Exit(m.Run())
}

// newCluster starts an embedded server and nodes of this test binary.
func newCluster(t *testing.T, opts ...cluster.Option) *cluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if testing.Verbose() {
		opts = append(opts, cluster.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	}
	c, err := cluster.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

var errSeven = errors.New("seven is refused")

func double(_ context.Context, x int) (int, error) {
	if x == 7 {
		return 0, errSeven
	}
	return 2 * x, nil
}

func TestMapSubmitImapOnNodes(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1))
	ctx := context.Background()
	in := make([]int, 1000)
	for i := range in {
		in[i] = 10 + i
	}
	var last mproc.Progress
	out, err := mproc.Map(ctx, c.Pool, double, in, mproc.OnProgress(func(p mproc.Progress) { last = p }))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 2*in[i] {
			t.Fatalf("out[%d] = %d, want %d", i, v, 2*in[i])
		}
	}
	if last.Done != len(in) {
		t.Errorf("last progress %+v, want %d done", last, len(in))
	}
	if v, err := mproc.Submit(ctx, c.Pool, double, 21).Wait(ctx); err != nil || v != 42 {
		t.Fatalf("Submit = %d, %v", v, err)
	}
	var got []string
	for v, err := range mproc.Imap(ctx, c.Pool, mproc.Plain(strings.ToUpper), func(yield func(string) bool) {
		for _, s := range []string{"a", "b", "c"} {
			if !yield(s) {
				return
			}
		}
	}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if strings.Join(got, "") != "ABC" {
		t.Fatalf("Imap = %q, want A B C", got)
	}
	st := c.Stats()
	if st.Published == 0 || st.Results != st.Published || st.Duplicates != 0 || st.Malformed != 0 {
		t.Fatalf("stats %+v: want every published task answered once", st)
	}
}

func TestTaskErrorNamesInputAndNode(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1))
	_, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2, 3, 4, 5, 6, 7, 8})
	var te *mproc.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want a *mproc.TaskError", err, err)
	}
	if te.Index != 6 || te.Node != "node-1" || te.Pid == 0 || te.Err == nil || te.Err.Error() != errSeven.Error() {
		t.Fatalf("TaskError %+v: want input 6 on node-1 with the task's error", te)
	}
	if !strings.Contains(err.Error(), "task 6 failed") || !strings.Contains(err.Error(), "on node node-1") {
		t.Fatalf("error %q does not name the input and the node", err)
	}
}

func blockUntilCancelled(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func TestTimeoutKillsOnTheNode(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1))
	_, err := mproc.Map(context.Background(), c.Pool, blockUntilCancelled, []int{1}, mproc.Timeout(100*time.Millisecond))
	var to *mproc.TimeoutError
	if !errors.As(err, &to) || !errors.Is(err, mproc.ErrTimeout) {
		t.Fatalf("err = %v (%T), want a *mproc.TimeoutError", err, err)
	}
	if to.Node != "node-1" || to.Limit != 100*time.Millisecond || to.Pid == 0 {
		t.Fatalf("TimeoutError %+v", to)
	}
	// The node replaced its worker and goes on.
	if out, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2}); err != nil || out[1] != 4 {
		t.Fatalf("after a timeout: %v, %v", out, err)
	}
}

func TestCancelReachesTheNode(t *testing.T) {
	// One node with one worker: if the cancelled task kept running there,
	// the next call would wait behind it.
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1), cluster.Slots(1))
	ctx, cancel := context.WithCancel(context.Background())
	fut := mproc.Submit(ctx, c.Pool, blockUntilCancelled, 1)
	cancel()
	if _, err := fut.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	out, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2})
	if err != nil || out[1] != 4 {
		t.Fatalf("the call after a cancelled one: %v, %v", out, err)
	}
}

func sizeOf(_ context.Context, b []byte) ([]byte, error) {
	out := make([]byte, 2*len(b))
	for i := range out {
		out[i] = b[i%len(b)] ^ 0x5a
	}
	return out, nil
}

func TestPayloadsOverMaxPayloadGoThroughTheStore(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1))
	in := make([]byte, 3<<20) // over the server's 1 MiB max payload, both ways
	for i := range in {
		in[i] = byte(i * 7)
	}
	out, err := mproc.Submit(context.Background(), c.Pool, sizeOf, in).Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2*len(in) || out[12345] != in[12345]^0x5a || out[len(in)+99] != in[99]^0x5a {
		t.Fatalf("a %d-byte output of a %d-byte input came back wrong", len(out), len(in))
	}
}

func fileName(_ context.Context, f *os.File) (string, error) { return f.Name(), nil }

func TestHandlesAreRefusedUpFront(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1))
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = mproc.Map(context.Background(), c.Pool, fileName, []*os.File{f})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || ue.Path != "args[0]" || !strings.Contains(ue.Reason, "cluster pool") {
		t.Fatalf("err = %v, want a *codec.UnsupportedError at args[0] saying a cluster cannot carry it", err)
	}
	if st := c.Stats(); st.Published != 0 {
		t.Fatalf("%d tasks of a refused call were published", st.Published)
	}
}

func TestListenBeyondLoopbackNeedsTLS(t *testing.T) {
	_, err := cluster.New(context.Background(), cluster.Listen("0.0.0.0:0"))
	if err == nil || !strings.Contains(err.Error(), "without TLS") || !strings.Contains(err.Error(), "cluster.TLS") {
		t.Fatalf("New(Listen(0.0.0.0:0)) = %v, want a refusal naming the fix", err)
	}
}

func TestAckWaitTooShortIsRefused(t *testing.T) {
	_, err := cluster.New(context.Background(), cluster.AckWait(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "AckWait(1ms)") {
		t.Fatalf("New(AckWait(1ms)) = %v, want a refusal naming it", err)
	}
}
