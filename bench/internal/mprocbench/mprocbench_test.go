package mprocbench

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/benchtest"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

func TestMain(m *testing.M) {
	mproc.Main()
	os.Exit(m.Run())
}

func TestPoolTrials(t *testing.T) {
	tr, err := Start(2)
	benchtest.Positive(t, "Start", tr, err, 2)
	tr, err = RoundTrip(20)
	benchtest.Positive(t, "RoundTrip", tr, err, 2)
	tr, err = Map(1001, 2, 1)
	benchtest.Positive(t, "Map chunk 1", tr, err, 2)
	tr, err = Map(1001, 2, 0)
	benchtest.Positive(t, "Map automatic", tr, err, 2)
	tr, err = Bulk(1 << 20)
	benchtest.Positive(t, "Bulk", tr, err, 2)
	tr, err = Speedup(2, 2)
	benchtest.Positive(t, "Speedup", tr, err, 1)
	tr, err = InProcessRoundTrip(20)
	benchtest.Positive(t, "InProcessRoundTrip", tr, err, 2)
	tr, err = InProcessMap(1001, 2)
	benchtest.Positive(t, "InProcessMap", tr, err, 2)
}

func TestCodecShapes(t *testing.T) {
	floats := workload.NewFloats()
	sameFloats := func(a, b *[]float64) bool {
		if len(*a) != len(*b) {
			return false
		}
		for i := range *a {
			if (*a)[i] != (*b)[i] {
				return false
			}
		}
		return true
	}
	ops := map[string]func() (func(int) error, error){
		"small":  func() (func(int) error, error) { return Codec(workload.NewSmall(), (*workload.Small).Equal) },
		"floats": func() (func(int) error, error) { return Codec(&floats, sameFloats) },
		"graph":  func() (func(int) error, error) { return Codec(workload.NewGraph(500), (*workload.Graph).SameShape) },
	}
	for name, mk := range ops {
		op, err := mk()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := op(3); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCodecReportsAChangedValue(t *testing.T) {
	_, err := Codec(workload.NewSmall(), func(a, b *workload.Small) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "round trip of *workload.Small changed the value") {
		t.Errorf("Codec = %v, want the changed-value error naming the type", err)
	}
}

func TestCodecReportsAnUnsendableValue(t *testing.T) {
	type withChan struct{ C chan int }
	_, err := Codec(&withChan{C: make(chan int)}, func(a, b *withChan) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "mproc codec encode") || !strings.Contains(err.Error(), "chan") {
		t.Errorf("Codec(chan) = %v, want the codec's refusal naming the channel", err)
	}
}

func TestExpiredNamesTheHungCall(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := expired(ctx, "mproc Map of 7 trivial tasks", ctx.Err())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "mproc Map of 7 trivial tasks: no result within 1m0s, the pool hung") {
		t.Errorf("expired = %v", err)
	}
	boom := errors.New("boom")
	if got := expired(context.Background(), "x", boom); got != boom {
		t.Errorf("expired without a deadline = %v, want the error unchanged", got)
	}
}
