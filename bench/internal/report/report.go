// Package report holds the results of one comparison run: one Metric per row,
// one Cell per contender (mproc, CPython, the best Go peer, the physical
// floor), and renders them as a text table, JSON and an SVG chart of ratios.
package report

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mproc-go/mproc/bench/internal/stats"
)

// Unit is the unit every sample of a metric is expressed in.
type Unit string

const (
	Seconds      Unit = "s"      // seconds per operation; lower is better
	PerSecond    Unit = "ops/s"  // operations per second; higher is better
	BytesPerSec  Unit = "B/s"    // bytes per second; higher is better
	Times        Unit = "x"      // a speed-up factor; higher is better
	AllocsPerOp  Unit = "allocs" // heap allocations per operation; lower is better
	MessagesRate Unit = "msg/s"  // messages per second; higher is better
	OfSize       Unit = "×size"  // memory as a multiple of a size (a shared table's); lower is better
)

// HigherIsBetter reports whether a larger figure in unit u means faster or
// cheaper.
func (u Unit) HigherIsBetter() bool {
	switch u {
	case Seconds, AllocsPerOp, OfSize:
		return false
	}
	return true
}

// Status says whether a cell holds a figure, and if not, why.
type Status string

const (
	// OK: the cell holds measured samples.
	OK Status = "ok"
	// Unsupported: the contender cannot do this at all (gob and cycles);
	// the reason says why. Accepted by Check.
	Unsupported Status = "unsupported"
	// NotApplicable: no comparable quantity exists (CPython has no
	// allocation count per operation). Accepted by Check.
	NotApplicable Status = "n/a"
	// Unavailable: the mproc API this metric needs is not built yet.
	// Accepted by Check only in the mproc column, with a loud warning.
	Unavailable Status = "not built yet"
	// Skipped: the contender could not run here (python3 missing).
	Skipped Status = "skipped"
	// Failed: the measurement returned an error, kept in Reason.
	Failed Status = "failed"
)

// Cell is one contender's figure for one metric.
type Cell struct {
	Status  Status        `json:"status"`
	Variant string        `json:"variant,omitempty"` // e.g. "fork", "msgpack/v5", "net/rpc"
	Reason  string        `json:"reason,omitempty"`  // why a cell holds no figure
	Samples []float64     `json:"samples,omitempty"` // one per run, in Unit
	Summary stats.Summary `json:"summary"`
	// Others are the candidates that lost to this one when the cell is the
	// best of several (the Go peers, CPython's start methods).
	Others []Cell `json:"others,omitempty"`
}

// Measured returns an OK cell for samples.
func Measured(variant string, samples []float64) Cell {
	return Cell{Status: OK, Variant: variant, Samples: samples, Summary: stats.Summarize(samples)}
}

// Missing returns a cell without figure for the given status and reason.
func Missing(status Status, variant, reason string) Cell {
	return Cell{Status: status, Variant: variant, Reason: reason}
}

// FromErr returns a Failed cell naming err, or the measured cell when err is nil.
func FromErr(variant string, samples []float64, err error) Cell {
	if err != nil {
		return Missing(Failed, variant, err.Error())
	}
	return Measured(variant, samples)
}

// OK reports whether the cell holds a usable, positive figure.
func (c Cell) OK() bool { return c.Status == OK && len(c.Samples) > 0 && c.Summary.Min > 0 }

// Best returns the best OK candidate for unit u, with the others kept in
// Others. When no candidate is OK, it returns a cell that says why for each:
// Unsupported when every candidate is unsupported, Failed when any failed.
func Best(u Unit, candidates ...Cell) Cell {
	best := -1
	for i, c := range candidates {
		if !c.OK() {
			continue
		}
		if best < 0 || better(u, c.Summary.Median, candidates[best].Summary.Median) {
			best = i
		}
	}
	if best < 0 {
		status := Unsupported
		var reasons []string
		for _, c := range candidates {
			if c.Status != Unsupported && c.Status != NotApplicable {
				status = c.Status
			}
			r := c.Reason
			if c.Variant != "" {
				r = c.Variant + ": " + r
			}
			if !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
		reason := strings.Join(reasons, "; ")
		return Cell{Status: status, Reason: reason, Others: candidates}
	}
	out := candidates[best]
	for i, c := range candidates {
		if i != best {
			out.Others = append(out.Others, c)
		}
	}
	return out
}

func better(u Unit, a, b float64) bool {
	if u.HigherIsBetter() {
		return a > b
	}
	return a < b
}

// Metric is one row of the table.
type Metric struct {
	Key     string   `json:"key"`
	Title   string   `json:"title"`
	Unit    Unit     `json:"unit"`
	Mproc   Cell     `json:"mproc"`
	CPython Cell     `json:"cpython"`
	Peer    Cell     `json:"peer"`
	Floor   Cell     `json:"floor"`
	Notes   []string `json:"notes,omitempty"` // what each contender measured
}

// Ratio is how many times better mproc is than c on this metric: above 1
// mproc is faster (or allocates less), below 1 it is slower. ok is false when
// either cell holds no figure.
func (m Metric) Ratio(c Cell) (ratio float64, ok bool) {
	if !m.Mproc.OK() || !c.OK() {
		return 0, false
	}
	if m.Unit.HigherIsBetter() {
		return m.Mproc.Summary.Median / c.Summary.Median, true
	}
	return c.Summary.Median / m.Mproc.Summary.Median, true
}

// Machine describes where the figures were taken.
type Machine struct {
	Date   time.Time `json:"date"`
	CPU    string    `json:"cpu"`
	NumCPU int       `json:"num_cpu"`
	OS     string    `json:"os"`
	Go     string    `json:"go"`
	Python string    `json:"python"`
}

// Report is the outcome of one run of the harness.
type Report struct {
	Machine Machine  `json:"machine"`
	Quick   bool     `json:"quick"`
	Runs    int      `json:"runs"`
	Metrics []Metric `json:"metrics"`
	// References are single figures with nothing to compare against,
	// shown below the table: mproc's in-process backend (no IPC), memory
	// copy bandwidth.
	References []Reference `json:"references,omitempty"`
	// Workloads are the rows of the real-workload table, measured beside
	// the Python pools: uneven tasks, a trickling input, stuck tasks.
	Workloads []Workload `json:"workloads,omitempty"`
	// Queues are the rows of the queues, pipes and shared objects table:
	// mproc's Queue, PipeEnd, SharedMap and handles beside CPython's
	// multiprocessing.
	Queues []QueueRow `json:"queues,omitempty"`
}

// Reference is a single figure that puts the table in context.
type Reference struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Unit  Unit   `json:"unit"`
	Cell  Cell   `json:"cell"`
	Note  string `json:"note,omitempty"`
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
