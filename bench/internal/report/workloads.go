package report

import (
	"fmt"
	"slices"
	"strings"
)

// Workload is one row of the real-workload table: a shape of work (uneven
// task times, a trickling input, stuck tasks) on which mproc and the Python
// pools are measured at their default settings, with the ideal figure when
// one exists.
type Workload struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Unit  Unit   `json:"unit"`
	// Ideal is the figure no scheduler can beat (a makespan's lower bound),
	// in Unit, or 0 when the shape has none.
	Ideal  float64     `json:"ideal,omitempty"`
	Mproc  Cell        `json:"mproc"`
	Others []Contender `json:"others"`
	Notes  []string    `json:"notes,omitempty"`
}

// Contender is one Python peer's cell in a Workload row. An Optional
// contender may be absent from the machine (a package not installed): its
// Skipped cell is accepted by Check.
type Contender struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional,omitempty"`
	Cell     Cell   `json:"cell"`
}

// OfIdeal is mproc's figure over the ideal one, as a time ratio: 1.03
// means 3% slower than ideal. ok is false without both figures.
func (w Workload) OfIdeal() (ratio float64, ok bool) {
	if !w.Mproc.OK() || w.Ideal <= 0 {
		return 0, false
	}
	if w.Unit.HigherIsBetter() {
		return w.Ideal / w.Mproc.Summary.Median, true
	}
	return w.Mproc.Summary.Median / w.Ideal, true
}

// VsBest is how many times better mproc is than the best contender that
// holds a figure, as a speed ratio (above 1x mproc is faster), with that
// contender's name.
func (w Workload) VsBest() (ratio float64, name string, ok bool) {
	best := -1
	for i, c := range w.Others {
		if c.Cell.OK() && (best < 0 || better(w.Unit, c.Cell.Summary.Median, w.Others[best].Cell.Summary.Median)) {
			best = i
		}
	}
	if best < 0 {
		return 0, "", false
	}
	m := Metric{Unit: w.Unit, Mproc: w.Mproc}
	ratio, ok = m.Ratio(w.Others[best].Cell)
	return ratio, w.Others[best].Name, ok
}

// writeWorkloads writes the real-workload table and its notes.
func (r *Report) writeWorkloads(b *strings.Builder) {
	if len(r.Workloads) == 0 {
		return
	}
	header := []string{"workload", "ideal", "mproc"}
	for _, c := range r.Workloads[0].Others {
		header = append(header, c.Name)
	}
	header = append(header, "mproc / ideal", "mproc vs best Python")
	rows := [][]string{header}
	var notes []string
	rowsOf := map[string][]string{} // a note on a cell: the rows it holds for
	var order []string              // the keys of rowsOf in the order met
	for _, w := range r.Workloads {
		ideal := "–"
		if w.Ideal > 0 {
			ideal = Format(w.Unit, w.Ideal)
		}
		// The table shows figures; what each contender ran (its variant)
		// goes to the notes, where it does not widen every column.
		cells := append([]Contender{{Name: "mproc", Cell: w.Mproc}}, w.Others...)
		row := []string{w.Title, ideal}
		for _, c := range cells {
			bare := c.Cell
			bare.Variant = ""
			row = append(row, FormatCell(w.Unit, bare))
		}
		of, ok := w.OfIdeal()
		row = append(row, FormatRatio(of, ok))
		vs, name, ok := w.VsBest()
		best := FormatRatio(vs, ok)
		if ok {
			best += " (" + name + ")"
		}
		rows = append(rows, append(row, best))

		for _, n := range w.Notes {
			notes = append(notes, w.Title+": "+n)
		}
		for _, c := range cells {
			var why string
			switch {
			case !c.Cell.OK() && c.Cell.Reason != "":
				why = fmt.Sprintf("%s: %s — %s", c.Name, FormatCell(w.Unit, c.Cell), c.Cell.Reason)
			case c.Cell.OK() && c.Cell.Variant != "":
				why = fmt.Sprintf("%s ran %s", c.Name, c.Cell.Variant)
			default:
				continue
			}
			if _, seen := rowsOf[why]; !seen {
				order = append(order, why)
			}
			rowsOf[why] = append(rowsOf[why], w.Title)
		}
	}
	// What holds for several rows (a peer absent from all, one variant on
	// three rows) is said once.
	for _, why := range order {
		rows := rowsOf[why]
		if len(rows) == len(r.Workloads) {
			notes = append(notes, "every row: "+why)
		} else {
			notes = append(notes, strings.Join(rows, "; ")+": "+why)
		}
	}
	b.WriteString("\nReal workloads (lower is better; each figure the median of its runs, min–max):\n\n")
	writeRows(b, rows)
	if len(notes) > 0 {
		b.WriteString("\nNotes on the real workloads:\n")
		for _, n := range slices.Compact(notes) {
			b.WriteString("- " + n + "\n")
		}
	}
}

// checkWorkloads adds to problems every real-workload cell without a
// figure that should have one: mproc's and every required contender's.
// An optional contender may be absent (skipped) or fail, with a reason:
// a Python peer that cannot get through a shape — dask's cancel leaves a
// stuck worker busy — is a finding the table's notes report, not a broken
// harness.
func (r *Report) checkWorkloads(look func(where, column string, c Cell)) {
	for _, w := range r.Workloads {
		look(w.Title, "mproc", w.Mproc)
		for _, c := range w.Others {
			if c.Optional && (c.Cell.Status == Skipped || c.Cell.Status == Failed) && c.Cell.Reason != "" {
				continue
			}
			look(w.Title, c.Name, c.Cell)
		}
	}
}
