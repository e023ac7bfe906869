package floor

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mproc-go/mproc/bench/internal/child"
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

func positive(t *testing.T, name string, samples []float64, err error, runs int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(samples) != runs {
		t.Fatalf("%s: %d samples, want one per run (%d)", name, len(samples), runs)
	}
	for _, s := range samples {
		if !(s > 0) {
			t.Errorf("%s: sample %v is not positive", name, s)
		}
	}
	if child.Live() != 0 {
		t.Errorf("%s left %d children running", name, child.Live())
	}
}

func TestFloors(t *testing.T) {
	s, err := Start(2, 2)
	positive(t, "Start", s, err, 2)
	s, err = PingPong(3, 50)
	positive(t, "PingPong", s, err, 3)
	s, err = MessageRate(2, 1000, 2)
	positive(t, "MessageRate", s, err, 2)
	s, err = StreamRate(2, 100_000, 2)
	positive(t, "StreamRate", s, err, 2)
	s, err = Bulk(2, 3<<20+5) // not a multiple of any buffer size
	positive(t, "Bulk", s, err, 2)
	s, err = MemCopy(2, 1<<20, time.Millisecond)
	positive(t, "MemCopy", s, err, 2)
}

func TestSpeedup(t *testing.T) {
	s, err := Speedup(1, 2, 2)
	positive(t, "Speedup", s, err, 1)
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
