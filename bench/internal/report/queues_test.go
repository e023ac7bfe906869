package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func queueReport() *Report {
	r := workloadReport(Measured("", []float64{1}))
	floor := Measured("", []float64{14e-6, 13e-6, 15e-6})
	base := Measured("", []float64{20e-6})
	r.Queues = []QueueRow{
		{Key: "queue_items", Title: "queue of ints", Unit: PerSecond, Target: &Target{Value: 2e6},
			Mproc:   Best(PerSecond, Measured("parent consumer", []float64{300e3, 290e3, 310e3}), Measured("consumer process", []float64{150e3})),
			CPython: Best(PerSecond, Measured("Queue", []float64{150e3}), Measured("SimpleQueue", []float64{200e3, 190e3, 210e3})),
			Notes:   []string{"items/s from the first put"}},
		{Key: "pipe", Title: "pipe round trip", Unit: Seconds, Target: &Target{Value: 1.3, OfFloor: true},
			Mproc: Measured("", []float64{18e-6, 17e-6, 19e-6}), CPython: Measured("Pipe", []float64{36e-6}), Floor: &floor},
		{Key: "handle_task", Title: "handle with a task", Unit: Seconds, Target: &Target{Value: 20e-6, OverBase: true},
			Mproc: Measured("", []float64{25e-6}), Base: &base,
			CPython: Missing(Unsupported, "Pool.apply", "TypeError: cannot pickle '_io.BufferedReader' object")},
	}
	return r
}

func TestQueueTable(t *testing.T) {
	var b bytes.Buffer
	if err := queueReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Queues, pipes and shared objects",
		"| queues, pipes and shared objects ", "| mproc vs floor ", "| issue 13 target ",
		"parent consumer: 300k/s (290–310k/s)", // the best variant names itself
		"SimpleQueue: 200k/s (190–210k/s)",
		"| 1.50x ",                              // 300k / 200k
		"≥ 2.00M/s: not met",                    // 300k/s
		"| 18.0 µs (17.0–19.0 µs) ",             // a single cell hides its variant
		"| 14.0 µs (13.0–15.0 µs) ",             // the floor
		"| 2.00x ",                              // 36 / 18
		"| 0.778x ",                             // 14 / 18, as a speed
		"≤ 1.30x the floor's time: met (1.29x)", // 18 / 14
		"≤ +20.0 µs over the base: met (+5.00 µs)",
		"handle with a task: the base, the same call without it, in the same runs: 20.0 µs",
		"queue of ints: items/s from the first put",
		"queue of ints, mproc: the best of its variants; the other: consumer process: 150k/s",
		"queue of ints, CPython: the best of its variants; the other: Queue: 150k/s",
		"handle with a task, CPython: Pool.apply: unsupported — TypeError: cannot pickle",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The pipe row has a floor, the others a dash.
	for _, l := range strings.Split(out, "\n") {
		cols := strings.Split(l, "|")
		if strings.HasPrefix(l, "| handle with a task") && (len(cols) < 5 || strings.TrimSpace(cols[4]) != "–") {
			t.Errorf("handle row without its floor dash: %s", l)
		}
	}
	lines := strings.Split(out[strings.Index(out, "| queues, pipes"):], "\n")
	for _, l := range lines[1:5] {
		if len([]rune(l)) != len([]rune(lines[0])) {
			t.Errorf("queue table rows are not aligned:\n%s\n%s", lines[0], l)
		}
	}
}

func TestQueueTargetWithoutFigures(t *testing.T) {
	q := QueueRow{Unit: Seconds, Target: &Target{Value: 1.3, OfFloor: true}, Mproc: Measured("", []float64{1})}
	if got := q.FormatTarget(); got != "≤ 1.30x the floor's time" {
		t.Errorf("target without a floor = %q", got)
	}
	q = QueueRow{Unit: BytesPerSec, Target: &Target{Value: 1e9}, Mproc: Measured("", []float64{2e9})}
	if got := q.FormatTarget(); got != "≥ 1.00 GB/s: met" {
		t.Errorf("bandwidth target = %q", got)
	}
	if got := (QueueRow{Unit: Seconds}).FormatTarget(); got != "–" {
		t.Errorf("no target = %q", got)
	}
}

func TestQueueTargetOverBase(t *testing.T) {
	base := Measured("", []float64{30e-6})
	q := QueueRow{Unit: Seconds, Target: &Target{Value: 20e-6, OverBase: true}, Mproc: Measured("", []float64{55e-6}), Base: &base}
	if got := q.FormatTarget(); got != "≤ +20.0 µs over the base: not met (+25.0 µs)" {
		t.Errorf("target exceeded = %q", got)
	}
	// Noise may put the call with the handle below the one without: the
	// target is met, and the row says the cost was not resolved.
	q.Mproc = Measured("", []float64{29e-6})
	if met, fig, ok := q.Met(); !met || !ok || fig >= 0 {
		t.Errorf("Met below the base = %v, %v, %v, want met with a negative difference", met, fig, ok)
	}
	if got := q.FormatTarget(); got != "≤ +20.0 µs over the base: met (-1.00 µs: below this machine's resolution in this run)" {
		t.Errorf("target below the base = %q", got)
	}
	q.Base = nil
	if got := q.FormatTarget(); got != "≤ +20.0 µs over the base" {
		t.Errorf("target without a base = %q", got)
	}
}

func TestCheckOfQueues(t *testing.T) {
	if _, err := queueReport().Check(); err != nil {
		t.Errorf("Check = %v, want nil: CPython's unsupported handle row says why", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(r *Report)
		want  string
	}{
		{"skipped CPython", func(r *Report) { r.Queues[1].CPython = Missing(Skipped, "", "-nopython given") }, "pipe round trip, CPython: skipped: -nopython given"},
		{"failed mproc", func(r *Report) { r.Queues[1].Mproc = Missing(Failed, "", "pipe torn") }, "pipe round trip, mproc: failed: pipe torn"},
		{"failed floor", func(r *Report) { f := Missing(Failed, "", "echo died"); r.Queues[1].Floor = &f }, "pipe round trip, floor: failed: echo died"},
		{"failed base", func(r *Report) { f := Missing(Failed, "", "worker died"); r.Queues[2].Base = &f }, "handle with a task, base: failed: worker died"},
		{"failed variant behind the best", func(r *Report) {
			r.Queues[0].Mproc = Best(PerSecond, Measured("parent consumer", []float64{1}), Missing(Failed, "consumer process", "Get hung"))
		}, "queue of ints, mproc (consumer process): failed: Get hung"},
		{"unsupported without a reason", func(r *Report) { r.Queues[2].CPython = Missing(Unsupported, "", "") }, "handle with a task, CPython: unsupported without a reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := queueReport()
			tc.spoil(r)
			_, err := r.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want it to say %q", err, tc.want)
			}
		})
	}
	r := queueReport()
	r.Queues[0].Mproc = Missing(Unavailable, "", "Queue not built")
	warnings, err := r.Check()
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "queue of ints") {
		t.Errorf("Check with an unbuilt mproc API = %v, %q, want one warning", err, warnings)
	}
}

func TestQueuesRoundTripJSON(t *testing.T) {
	var b bytes.Buffer
	if err := queueReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Queues) != 3 || back.Queues[0].Floor != nil || back.Queues[1].Floor == nil || !back.Queues[1].Target.OfFloor ||
		back.Queues[2].Base == nil || !back.Queues[2].Target.OverBase ||
		back.Queues[0].Mproc.Variant != "parent consumer" || len(back.Queues[0].Mproc.Others) != 1 {
		t.Errorf("JSON lost data: %+v", back.Queues)
	}
}
