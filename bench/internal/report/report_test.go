package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBestFollowsDirection(t *testing.T) {
	slow, fast := Measured("slow", []float64{2, 2, 2}), Measured("fast", []float64{1, 1, 1})
	if got := Best(Seconds, slow, fast); got.Variant != "fast" || len(got.Others) != 1 || got.Others[0].Variant != "slow" {
		t.Errorf("Best(Seconds) = %q with others %v, want fast with slow as other", got.Variant, got.Others)
	}
	if got := Best(PerSecond, slow, fast); got.Variant != "slow" {
		t.Errorf("Best(PerSecond) = %q, want the higher rate", got.Variant)
	}
	if got := Best(AllocsPerOp, slow, fast); got.Variant != "fast" {
		t.Errorf("Best(AllocsPerOp) = %q, want fewer allocations", got.Variant)
	}
}

func TestBestSkipsCellsWithoutFigure(t *testing.T) {
	ok := Measured("msgpack", []float64{5})
	got := Best(BytesPerSec, Missing(Unsupported, "gob", "no cycles"), ok, Missing(Failed, "json", "broke"))
	if got.Variant != "msgpack" || len(got.Others) != 2 {
		t.Errorf("Best = %+v, want msgpack with two others", got)
	}
}

func TestBestOfNothingSaysWhy(t *testing.T) {
	got := Best(BytesPerSec, Missing(Unsupported, "gob", "no cycles"), Missing(Unsupported, "json", "refuses cycles"))
	if got.Status != Unsupported || !strings.Contains(got.Reason, "gob: no cycles") || !strings.Contains(got.Reason, "json: refuses cycles") {
		t.Errorf("Best of unsupported = %s %q, want unsupported naming each peer's reason", got.Status, got.Reason)
	}
	got = Best(BytesPerSec, Missing(Unsupported, "gob", "no cycles"), Missing(Failed, "json", "broke"))
	if got.Status != Failed {
		t.Errorf("Best with a failure = %s, want failed: a broken peer must not pass as unsupported", got.Status)
	}
}

func TestCellOKNeedsPositiveSamples(t *testing.T) {
	for _, c := range []Cell{
		Measured("", nil),
		Measured("", []float64{1, 0, 2}),
		Measured("", []float64{-1}),
		Missing(Unsupported, "gob", "x"),
	} {
		if c.OK() {
			t.Errorf("%+v reports OK", c)
		}
	}
	if c := FromErr("x", []float64{1}, errors.New("boom")); c.Status != Failed || c.Reason != "boom" {
		t.Errorf("FromErr with error = %+v, want failed with the message", c)
	}
}

func TestRatioIsMprocAdvantage(t *testing.T) {
	m := Metric{Unit: Seconds, Mproc: Measured("", []float64{10e-6})}
	if r, ok := m.Ratio(Measured("", []float64{30e-6})); !ok || r != 3 {
		t.Errorf("time ratio = %v %v, want 3 (mproc 3x faster)", r, ok)
	}
	m = Metric{Unit: PerSecond, Mproc: Measured("", []float64{100})}
	if r, ok := m.Ratio(Measured("", []float64{400})); !ok || r != 0.25 {
		t.Errorf("rate ratio = %v %v, want 0.25 (mproc at a quarter)", r, ok)
	}
	if _, ok := m.Ratio(Missing(Unsupported, "gob", "x")); ok {
		t.Error("ratio against a cell without figure reported ok")
	}
	m.Mproc = Missing(Unavailable, "", "not built")
	if _, ok := m.Ratio(Measured("", []float64{1})); ok {
		t.Error("ratio of an unavailable mproc figure reported ok")
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		u    Unit
		v    float64
		want string
	}{
		{Seconds, 12.34e-9, "12.3 ns"},
		{Seconds, 8.5e-6, "8.50 µs"},
		{Seconds, 0.0031, "3.10 ms"},
		{Seconds, 2, "2.00 s"},
		{BytesPerSec, 2.41e9, "2.41 GB/s"},
		{BytesPerSec, 512e6, "512 MB/s"},
		{PerSecond, 310e3, "310k/s"},
		{PerSecond, 12.5e6, "12.5M/s"},
		{Times, 1.934, "1.93x"},
		{AllocsPerOp, 3, "3 allocs"},
		{AllocsPerOp, 2.5, "2.50 allocs"},
		{OfSize, 1.002, "1.00× the table"},
	} {
		if got := Format(tc.u, tc.v); got != tc.want {
			t.Errorf("Format(%s, %v) = %q, want %q", tc.u, tc.v, got, tc.want)
		}
	}
}

func TestFormatCell(t *testing.T) {
	c := Measured("fork", []float64{9.1e-3, 8.8e-3, 9.5e-3})
	if got, want := FormatCell(Seconds, c), "fork: 9.10 ms (8.80–9.50 ms)"; got != want {
		t.Errorf("FormatCell = %q, want %q", got, want)
	}
	if got := FormatCell(Seconds, Missing(Unavailable, "", "x")); got != "n/a (not built yet)" {
		t.Errorf("unavailable cell = %q", got)
	}
	if got := FormatCell(Seconds, Missing(Unsupported, "gob", "x")); got != "gob: unsupported" {
		t.Errorf("unsupported cell = %q", got)
	}
}

func sample() *Report {
	return &Report{
		Machine: Machine{Date: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC), CPU: "Test CPU <1>", NumCPU: 2, Go: "go1.26", Python: "3.11"},
		Runs:    5,
		Metrics: []Metric{
			{Key: "rt", Title: "round trip", Unit: Seconds,
				Mproc:   Measured("", []float64{10e-6, 11e-6, 12e-6}),
				CPython: Measured("fork", []float64{300e-6}),
				Peer:    Measured("net/rpc", []float64{40e-6}),
				Floor:   Measured("ping-pong", []float64{8e-6})},
			{Key: "graph", Title: "graph & cycles", Unit: BytesPerSec,
				Mproc:   Missing(Unavailable, "", "codec not built"),
				CPython: Measured("pickle", []float64{1e8}),
				Peer:    Missing(Unsupported, "gob", "no shared references"),
				Floor:   Measured("deep copy", []float64{3e8})},
		},
		References: []Reference{{Key: "memcopy", Title: "memory copy", Unit: BytesPerSec, Cell: Measured("", []float64{5e9})}},
	}
}

func TestCheckAcceptsExplainedGaps(t *testing.T) {
	warnings, err := sample().Check()
	if err != nil {
		t.Fatalf("Check = %v, want success: unsupported peers and unbuilt mproc APIs are explained", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "graph & cycles") || !strings.Contains(warnings[0], "codec not built") {
		t.Errorf("warnings = %q, want one naming the metric and why", warnings)
	}
}

func TestCheckRejectsMissingFigures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(r *Report)
		want  string
	}{
		{"skipped CPython", func(r *Report) { r.Metrics[0].CPython = Missing(Skipped, "", "python3 not found") }, "round trip, CPython: skipped: python3 not found"},
		{"failed peer", func(r *Report) { r.Metrics[0].Peer = Missing(Failed, "net/rpc", "broken pipe") }, "round trip, peer: failed: broken pipe"},
		{"unavailable floor", func(r *Report) { r.Metrics[0].Floor = Missing(Unavailable, "", "later") }, "round trip, floor: not built yet: later"},
		{"zero sample", func(r *Report) { r.Metrics[0].Mproc = Measured("", []float64{0}) }, "round trip, mproc: no positive samples"},
		{"unsupported without reason", func(r *Report) { r.Metrics[1].Peer = Missing(Unsupported, "gob", "") }, "graph & cycles, peer: unsupported without a reason"},
		{"failed reference", func(r *Report) { r.References[0].Cell = Missing(Failed, "", "oom") }, "memory copy, reference: failed: oom"},
		{"no metrics", func(r *Report) { r.Metrics = nil }, "no metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			tc.spoil(r)
			_, err := r.Check()
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CheckError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| metric ", "| mproc ", "| CPython ", "| best Go peer ", "| floor ", "| mproc vs CPython ", "| mproc vs peer ", "| mproc vs floor ",
		"| 11.0 µs (10.0–12.0 µs) ", // median with min–max
		"| 27.3x ",                  // 300/11
		"| 3.64x ",                  // 40/11
		"| 0.727x ",                 // 8/11
		"n/a (not built yet)",
		"gob: unsupported — no shared references",
		"median of 5 runs",
		"memory copy: 5.00 GB/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	width := len([]rune(lines[0]))
	for _, l := range lines[1:4] {
		if len([]rune(l)) != width {
			t.Errorf("table rows are not aligned:\n%s\n%s", lines[0], l)
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	r := sample()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Metrics) != 2 || back.Metrics[0].Mproc.Summary.Median != 11e-6 || back.Metrics[1].Peer.Status != Unsupported ||
		back.Machine.CPU != "Test CPU <1>" || len(back.References) != 1 {
		t.Errorf("JSON lost data: %+v", back)
	}
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	// It must be well-formed XML whatever the labels hold ("<1>", "&").
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	rects, texts := 0, []string{}
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, b.String())
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText = el.Name.Local == "text"
			if el.Name.Local == "rect" {
				rects++
			}
		case xml.CharData:
			if inText {
				texts = append(texts, string(el))
			}
		case xml.EndElement:
			inText = false
		}
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"round trip", "graph & cycles", "27.3x", "3.64x", "0.727x", "mproc: not built yet", "Test CPU <1>"} {
		if !strings.Contains(all, want) {
			t.Errorf("chart text lacks %q: %s", want, all)
		}
	}
	// Background, three legend swatches, three bars of the first metric;
	// the second has no ratio at all (mproc not built).
	if rects != 1+3+3 {
		t.Errorf("chart has %d rects, want 7", rects)
	}
}

func TestGapNamesTheMissingCell(t *testing.T) {
	ok := Measured("", []float64{1})
	for _, tc := range []struct {
		mproc, other Cell
		want         string
	}{
		{ok, Missing(Unsupported, "gob", "x"), "unsupported"},
		{ok, Missing(NotApplicable, "pickle", "x"), "n/a"},
		{ok, Missing(Failed, "json", "x"), "failed"},
		{Missing(Unavailable, "", "x"), ok, "mproc: not built yet"},
	} {
		if got := gap(Metric{Mproc: tc.mproc}, tc.other); got != tc.want {
			t.Errorf("gap = %q, want %q", got, tc.want)
		}
	}
}

func TestTableFlagsAFigureAboveTheFloor(t *testing.T) {
	r := sample()
	r.Metrics[0].Floor = Measured("ping-pong", []float64{20e-6}) // mproc at 11µs beats it
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "round trip: mproc measured 1.82x above the floor") {
		t.Errorf("table does not flag mproc above the floor:\n%s", b.String())
	}
	b.Reset()
	sample().WriteTable(&b)
	if strings.Contains(b.String(), "above the floor") {
		t.Errorf("table flags a row below the floor:\n%s", b.String())
	}
}

func workloadReport(peer Cell) *Report {
	return &Report{Runs: 3, Metrics: []Metric{{Title: "m", Unit: Seconds, Mproc: Measured("", []float64{1}),
		CPython: Measured("", []float64{1}), Peer: Measured("", []float64{1}), Floor: Measured("", []float64{1})}},
		Workloads: []Workload{{Key: "uneven", Title: "uneven", Unit: Seconds, Ideal: 2.5,
			Mproc: Measured("", []float64{2.6, 2.55, 2.7}),
			Others: []Contender{
				{Name: "CPython Pool", Cell: Measured("fork", []float64{2.6, 2.61, 2.62})},
				{Name: "dask.distributed", Optional: true, Cell: peer},
			}}}}
}

func TestWorkloadTableShowsIdealAndBestPeer(t *testing.T) {
	r := workloadReport(Measured("", []float64{5.1, 5.2, 5.3}))
	w := r.Workloads[0]
	if of, ok := w.OfIdeal(); !ok || of < 1.039 || of > 1.041 {
		t.Errorf("OfIdeal = %v, %v, want 2.6/2.5", of, ok)
	}
	if vs, name, ok := w.VsBest(); !ok || name != "CPython Pool" || vs < 1.003 || vs > 1.005 {
		t.Errorf("VsBest = %v %q %v, want 2.61/2.6 against CPython Pool", vs, name, ok)
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Real workloads", "| uneven", "2.50 s", "2.60 s (2.55–2.70 s)", "1.04x", "1.00x (CPython Pool)", "dask.distributed", "| 2.61 s (2.60–2.62 s) |", "CPython Pool ran fork"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestCheckOfWorkloads(t *testing.T) {
	absent := Missing(Skipped, "", "python3-distributed is not installed (ModuleNotFoundError: No module named 'distributed')")
	r := workloadReport(absent)
	if _, err := r.Check(); err != nil {
		t.Errorf("Check with an absent optional peer = %v, want nil", err)
	}
	var b bytes.Buffer
	r.WriteTable(&b)
	if !strings.Contains(b.String(), "python3-distributed") {
		t.Errorf("the table does not say how to install the absent peer:\n%s", b.String())
	}

	r = workloadReport(Missing(Failed, "", "the next call did not complete within 30 s"))
	if _, err := r.Check(); err != nil {
		t.Errorf("Check with an optional peer that failed the shape = %v, want nil: the notes report it", err)
	}
	r = workloadReport(Missing(Failed, "", ""))
	if _, err := r.Check(); err == nil || !strings.Contains(err.Error(), "uneven, dask.distributed: failed") {
		t.Errorf("Check with an optional peer failed without a reason = %v, want it refused", err)
	}

	r = workloadReport(absent)
	r.Workloads[0].Others[0].Cell = Missing(Skipped, "", "python3 not found")
	if _, err := r.Check(); err == nil || !strings.Contains(err.Error(), "uneven, CPython Pool: skipped") {
		t.Errorf("Check with CPython skipped = %v, want it refused: CPython is required", err)
	}
	r = workloadReport(absent)
	r.Workloads[0].Mproc = Missing(Failed, "", "pool hung")
	if _, err := r.Check(); err == nil || !strings.Contains(err.Error(), "uneven, mproc: failed: pool hung") {
		t.Errorf("Check with mproc failed = %v, want it refused", err)
	}
}
