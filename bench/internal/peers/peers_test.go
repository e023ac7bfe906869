package peers

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mproc-go/mproc/bench/internal/benchtest"
	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

func TestMain(m *testing.M) {
	child.Serve()
	code := m.Run()
	if n := child.Live(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "peers tests left %d process(es) running\n", n)
		child.CloseAll()
		code = 1
	}
	os.Exit(code)
}

func TestCodecsRoundTripTheShapes(t *testing.T) {
	floats := workload.NewFloats()
	sameFloats := func(a, b *[]float64) bool {
		for i := range *a {
			if (*a)[i] != (*b)[i] {
				return false
			}
		}
		return len(*a) == len(*b)
	}
	for name, rt := range map[string]func() (func(int) error, error){
		"gob small":      func() (func(int) error, error) { return GobStream(workload.NewSmall(), (*workload.Small).Equal) },
		"json small":     func() (func(int) error, error) { return JSON(workload.NewSmall(), (*workload.Small).Equal) },
		"msgpack small":  func() (func(int) error, error) { return Msgpack(workload.NewSmall(), (*workload.Small).Equal) },
		"gob floats":     func() (func(int) error, error) { return GobStream(&floats, sameFloats) },
		"json floats":    func() (func(int) error, error) { return JSON(&floats, sameFloats) },
		"msgpack floats": func() (func(int) error, error) { return Msgpack(&floats, sameFloats) },
	} {
		op, err := rt()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := op(3); err != nil {
			t.Errorf("%s: op: %v", name, err)
		}
	}
}

func TestCodecReportsAChangedValue(t *testing.T) {
	never := func(a, b *workload.Small) bool { return false }
	for name, rt := range map[string]func(*workload.Small, func(a, b *workload.Small) bool) (func(int) error, error){
		"gob": GobStream[workload.Small], "json": JSON[workload.Small], "msgpack": Msgpack[workload.Small],
	} {
		_, err := rt(workload.NewSmall(), never)
		if err == nil || !strings.Contains(err.Error(), "round trip of *workload.Small changed the value") {
			t.Errorf("%s: %v, want the changed-value error naming the type", name, err)
		}
	}
}

func TestJSONRefusesTheGraph(t *testing.T) {
	g := workload.NewGraph(10)
	_, err := JSON(g, (*workload.Graph).SameShape)
	if err == nil || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "json encode *workload.Graph") {
		t.Errorf("JSON(graph) = %v, want a cycle error naming the type", err)
	}
}

func TestRPC(t *testing.T) {
	benchtest.Positive(t, "RPCStart", RPCStart(2), nil, 2)
	tr, err := RPCRoundTrip(20)
	benchtest.Positive(t, "RPCRoundTrip", tr, err, 2)
	tr, err = RPCMap(1001, 2, 1)
	benchtest.Positive(t, "RPCMap chunk 1", tr, err, 2)
	tr, err = RPCMap(1001, 2, 100)
	benchtest.Positive(t, "RPCMap chunk 100", tr, err, 2)
	tr, err = RPCBulk(1 << 20)
	benchtest.Positive(t, "RPCBulk", tr, err, 2)
	tr, err = RPCSpeedup(2, 2)
	benchtest.Positive(t, "RPCSpeedup", tr, err, 1)
}

func TestService(t *testing.T) {
	var out []int
	if err := (Service{}).Batch([]int{1, 2, 3}, &out); err != nil || fmt.Sprint(out) != "[2 3 4]" {
		t.Errorf("Batch = %v, %v", out, err)
	}
	var one int
	if err := (Service{}).Trivial(1, &one); err != nil || one != 2 {
		t.Errorf("Trivial = %v, %v", one, err)
	}
}
