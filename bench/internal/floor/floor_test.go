package floor

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

func TestMain(m *testing.M) {
	child.Serve()
	code := m.Run()
	if n := child.Live(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "floor tests left %d process(es) running\n", n)
		child.CloseAll()
		code = 1
	}
	os.Exit(code)
}

// positive runs trial runs times and checks one positive sample per run
// and that no child is left afterwards.
func positive(t *testing.T, name string, trial stats.Trial, err error, runs int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	samples, errs := stats.Interleave(runs, trial)
	if errs[0] != nil {
		t.Fatalf("%s: %v", name, errs[0])
	}
	if len(samples[0]) != runs {
		t.Fatalf("%s: %d samples, want one per run (%d)", name, len(samples[0]), runs)
	}
	for _, s := range samples[0] {
		if !(s > 0) {
			t.Errorf("%s: sample %v is not positive", name, s)
		}
	}
	if child.Live() != 0 {
		t.Errorf("%s left %d children running", name, child.Live())
	}
}

func TestFloors(t *testing.T) {
	positive(t, "Start", Start(2), nil, 2)
	tr, err := PingPong(50)
	positive(t, "PingPong", tr, err, 3)
	tr, err = MessageRate(1000, 2)
	positive(t, "MessageRate", tr, err, 2)
	tr, err = StreamRate(100_000, 2)
	positive(t, "StreamRate", tr, err, 2)
	tr, err = Bulk(3<<20 + 5) // not a multiple of any buffer size
	positive(t, "Bulk", tr, err, 2)
	positive(t, "MemCopy", MemCopy(1<<20, time.Millisecond), nil, 2)
	positive(t, "Speedup", Speedup(2, 2), nil, 1)
}

func TestEchoEndsCleanlyAtEOF(t *testing.T) {
	p, err := child.Start(RoleEcho)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("echo child exit: %v, want a clean exit at EOF", err)
	}
}
