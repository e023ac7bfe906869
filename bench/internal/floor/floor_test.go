package floor

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/mproc-go/mproc/bench/internal/benchtest"
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

func TestFloors(t *testing.T) {
	benchtest.Positive(t, "Start", Start(2), nil, 2)
	tr, err := PingPong(50)
	benchtest.Positive(t, "PingPong", tr, err, 3)
	tr, err = MessageRate(1000, 2)
	benchtest.Positive(t, "MessageRate", tr, err, 2)
	tr, err = StreamRate(100_000, 2)
	benchtest.Positive(t, "StreamRate", tr, err, 2)
	tr, err = Bulk(3<<20 + 5) // not a multiple of any buffer size
	benchtest.Positive(t, "Bulk", tr, err, 2)
	benchtest.Positive(t, "MemCopy", MemCopy(1<<20, time.Millisecond), nil, 2)
	benchtest.Positive(t, "Speedup", Speedup(2, 2), nil, 1)
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
