package stats

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []float64
		want    Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{3}, Summary{Median: 3, Min: 3, Max: 3, N: 1}},
		{"odd", []float64{5, 1, 3}, Summary{Median: 3, Min: 1, Max: 5, N: 3}},
		{"even", []float64{4, 1, 3, 2}, Summary{Median: 2.5, Min: 1, Max: 4, N: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summarize(tc.samples); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.samples, got, tc.want)
			}
		})
	}
}

func TestSummarizeLeavesInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Summarize reordered its input: %v", in)
	}
}

func TestTimeGrowsUntilBudget(t *testing.T) {
	var calls []int
	op, err := Time(20*time.Millisecond, func(n int) error {
		calls = append(calls, n)
		// Each operation lasts at least 100µs by construction: wait on the clock.
		for end := time.Now().Add(time.Duration(n) * 100 * time.Microsecond); time.Now().Before(end); {
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("op called with %v: want growing n until the budget is reached", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] <= calls[i-1] {
			t.Errorf("n did not grow: %v", calls)
		}
	}
	if op.N != calls[len(calls)-1] {
		t.Errorf("Op.N = %d, want the last n %d", op.N, calls[len(calls)-1])
	}
	if op.Seconds < 100e-6 {
		t.Errorf("Op.Seconds = %v, want at least the 100µs each operation sleeps", op.Seconds)
	}
}

var sink []*[64]byte

func TestTimeCountsAllocations(t *testing.T) {
	op, err := Time(10*time.Millisecond, func(n int) error {
		for range n {
			sink = append(sink[:0], new([64]byte))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One allocation per operation, plus the few of the sink's first growth
	// and of the runtime, spread over thousands of operations.
	if op.Allocs < 1 || op.Allocs > 1.1 {
		t.Errorf("Allocs = %v per op, want 1", op.Allocs)
	}
}

func TestTimeStopsAtError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := Time(time.Second, func(int) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Time = %v after %d calls, want boom after 1", err, calls)
	}
}

func TestTimeRejectsBadBudget(t *testing.T) {
	_, err := Time(0, func(int) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "budget must be positive") {
		t.Errorf("Time(0) = %v, want an error naming the budget", err)
	}
}

func TestNextN(t *testing.T) {
	if got := nextN(1, 0, time.Second); got != 100 {
		t.Errorf("nextN after an unmeasurably short run = %d, want 100", got)
	}
	if got := nextN(10, 100*time.Millisecond, time.Second); got != 120 {
		t.Errorf("nextN(10, 100ms, 1s) = %d, want 120", got)
	}
	if got := nextN(10, 2*time.Second, time.Second); got != 11 {
		t.Errorf("nextN after an over-long run = %d, want n+1", got)
	}
}

func TestInterleaveTakesTurns(t *testing.T) {
	var order []string
	closed := 0
	trial := func(name string, fail bool) Trial {
		n := 0.0
		return Trial{
			Once: func() (float64, error) {
				order = append(order, name)
				n++
				if fail && n == 2 {
					return 0, errors.New(name + " broke")
				}
				return n, nil
			},
			Close: func() error { closed++; return nil },
		}
	}
	samples, errs := Interleave(3, trial("a", false), trial("b", true), Trial{Once: func() (float64, error) { return 7, nil }})
	if got := strings.Join(order, ""); got != "abab"+"a" {
		t.Errorf("order %q, want turns a b a b a (b dropped after failing)", got)
	}
	if len(samples[0]) != 3 || samples[0][2] != 3 || len(samples[1]) != 1 || len(samples[2]) != 3 {
		t.Errorf("samples %v", samples)
	}
	if errs[0] != nil || errs[1] == nil || errs[1].Error() != "b broke" || errs[2] != nil {
		t.Errorf("errs %v, want only b's", errs)
	}
	if closed != 2 {
		t.Errorf("closed %d trials, want both that have a Close", closed)
	}
}

func TestInterleaveReportsCloseError(t *testing.T) {
	_, errs := Interleave(1, Trial{Once: func() (float64, error) { return 1, nil }, Close: func() error { return errors.New("child exit 1") }})
	if errs[0] == nil || errs[0].Error() != "child exit 1" {
		t.Errorf("errs %v, want the Close error", errs)
	}
}
