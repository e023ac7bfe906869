package report

import (
	"fmt"
	"slices"
	"strings"
)

// QueueRow is one row of the queues, pipes and shared objects table:
// mproc's Queue, PipeEnd, SharedMap or a handle passed with a task beside
// CPython's multiprocessing on the same shape, with the physical floor
// where one exists and the target of issue 13.
type QueueRow struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	Unit    Unit   `json:"unit"`
	Mproc   Cell   `json:"mproc"`
	CPython Cell   `json:"cpython"`
	// Floor is what no program can beat on the shape (the socketpair
	// ping-pong for the pipe), or nil when the row has none.
	Floor *Cell `json:"floor,omitempty"`
	// Base is the same operation without what the row adds (the task
	// without a file, for the handle row), measured in the same run,
	// call for call; nil when the row has none. Unlike a floor it is no
	// bound: mproc is above it by the cost the row is about.
	Base   *Cell    `json:"base,omitempty"`
	Target *Target  `json:"target,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// Target is the figure issue 13 asks of mproc on a row: at most Value
// for a time, at least Value for a rate or a bandwidth; with OfFloor,
// Value is a multiple of the floor's time (1.3: at most 1.3 times the
// floor's round trip); with OverBase, Value is the most mproc's median
// may exceed the base's (a handle adds at most 20 µs to its task), and a
// difference at or below zero, which a noisy machine may measure, meets it.
type Target struct {
	Value    float64 `json:"value"`
	OfFloor  bool    `json:"of_floor,omitempty"`
	OverBase bool    `json:"over_base,omitempty"`
}

// Met reports whether mproc's median meets the target, and the figure it
// was judged on (mproc's median, its time over the floor's, or its
// median minus the base's). ok is false without the figures.
func (q QueueRow) Met() (met bool, figure float64, ok bool) {
	t := q.Target
	if t == nil || !q.Mproc.OK() {
		return false, 0, false
	}
	m := q.Mproc.Summary.Median
	if t.OverBase {
		if q.Base == nil || !q.Base.OK() {
			return false, 0, false
		}
		added := m - q.Base.Summary.Median
		return added <= t.Value, added, true
	}
	if t.OfFloor {
		if q.Floor == nil || !q.Floor.OK() {
			return false, 0, false
		}
		ratio := m / q.Floor.Summary.Median // a time ratio: 1.3 is 30% slower
		if q.Unit.HigherIsBetter() {
			ratio = q.Floor.Summary.Median / m
		}
		return ratio <= t.Value, ratio, true
	}
	if q.Unit.HigherIsBetter() {
		return m >= t.Value, m, true
	}
	return m <= t.Value, m, true
}

// FormatTarget renders the target and whether mproc met it: "≥ 2.00M/s:
// not met", "≤ 1.30x the floor's time: met (1.28x)", "≤ +20.0 µs over
// the base: met (+4.90 µs)".
func (q QueueRow) FormatTarget() string {
	t := q.Target
	if t == nil {
		return "–"
	}
	op := "≥ "
	if !q.Unit.HigherIsBetter() || t.OfFloor {
		op = "≤ "
	}
	s := op + Format(q.Unit, t.Value)
	if t.OfFloor {
		s = op + num(t.Value) + "x the floor's time"
	}
	if t.OverBase {
		s = op + "+" + Format(q.Unit, t.Value) + " over the base"
	}
	met, fig, ok := q.Met()
	verdict := "met"
	if !met {
		verdict = "not met"
	}
	switch {
	case !ok:
		return s
	case t.OverBase && fig <= 0:
		return fmt.Sprintf("%s: met (%s: below this machine's resolution in this run)", s, signed(q.Unit, fig))
	case t.OverBase:
		return fmt.Sprintf("%s: %s (%s)", s, verdict, signed(q.Unit, fig))
	case t.OfFloor:
		return fmt.Sprintf("%s: %s (%sx)", s, verdict, num(fig))
	}
	return s + ": " + verdict
}

// signed renders a difference with its sign: "+4.90 µs", "-1.20 µs".
func signed(u Unit, d float64) string {
	if d < 0 {
		return "-" + Format(u, -d)
	}
	return "+" + Format(u, d)
}

// queueCell renders a cell of the table: the figure, with the variant
// that won before it when the cell is the best of several; what each
// contender ran goes to the notes.
func queueCell(u Unit, c Cell) string {
	if len(c.Others) == 0 {
		c.Variant = ""
	}
	return FormatCell(u, c)
}

// writeQueues writes the queues, pipes and shared objects table and its
// notes.
func (r *Report) writeQueues(b *strings.Builder) {
	if len(r.Queues) == 0 {
		return
	}
	rows := [][]string{{"queues, pipes and shared objects", "mproc", "CPython", "floor",
		"mproc vs CPython", "mproc vs floor", "issue 13 target"}}
	var notes []string
	for _, q := range r.Queues {
		m := Metric{Unit: q.Unit, Mproc: q.Mproc}
		rc, okc := m.Ratio(q.CPython)
		floor, vsFloor := "–", "–"
		if q.Floor != nil {
			floor = queueCell(q.Unit, *q.Floor)
			vsFloor = FormatRatio(m.Ratio(*q.Floor))
		}
		rows = append(rows, []string{q.Title, queueCell(q.Unit, q.Mproc), queueCell(q.Unit, q.CPython), floor,
			FormatRatio(rc, okc), vsFloor, q.FormatTarget()})

		for _, n := range q.Notes {
			notes = append(notes, q.Title+": "+n)
		}
		cols := []struct {
			name string
			c    Cell
		}{{"mproc", q.Mproc}, {"CPython", q.CPython}}
		if q.Floor != nil {
			cols = append(cols, struct {
				name string
				c    Cell
			}{"floor", *q.Floor})
		}
		if q.Base != nil {
			cols = append(cols, struct {
				name string
				c    Cell
			}{"base", *q.Base})
			if q.Base.OK() {
				notes = append(notes, fmt.Sprintf("%s: the base, the same call without it, in the same runs: %s", q.Title, FormatCell(q.Unit, *q.Base)))
			}
		}
		for _, col := range cols {
			c := col.c
			if !c.OK() && c.Reason != "" {
				notes = append(notes, fmt.Sprintf("%s, %s: %s — %s", q.Title, col.name, FormatCell(q.Unit, c), c.Reason))
			}
			if c.OK() && len(c.Others) > 0 {
				var others []string
				for _, o := range c.Others {
					s := FormatCell(q.Unit, o)
					if !o.OK() && o.Reason != "" {
						s += " (" + o.Reason + ")"
					}
					others = append(others, s)
				}
				notes = append(notes, fmt.Sprintf("%s, %s: the best of its variants; the other: %s", q.Title, col.name, strings.Join(others, "; ")))
			}
		}
		if ratio, ok := m.Ratio(derefOr(q.Floor)); ok && ratio > 1.05 {
			notes = append(notes, fmt.Sprintf("%s: mproc measured %s above the floor, which no program can beat: the load on the machine changed during the run; trust this row only from a quiet machine",
				q.Title, FormatRatio(ratio, true)))
		}
	}
	b.WriteString("\nQueues, pipes and shared objects (each figure the median of its runs, min–max; ratios are speeds, above 1x mproc is faster):\n\n")
	writeRows(b, rows)
	if len(notes) > 0 {
		b.WriteString("\nNotes on queues, pipes and shared objects:\n")
		for _, n := range slices.Compact(notes) {
			b.WriteString("- " + n + "\n")
		}
	}
}

func derefOr(c *Cell) Cell {
	if c == nil {
		return Cell{}
	}
	return *c
}

// checkQueues adds to problems every cell of the queues table without a
// figure that should have one: mproc's, CPython's and the floor's where
// the row has one. A variant that failed behind the best one is a problem
// too: its reason would otherwise hide in the notes.
func (r *Report) checkQueues(look func(where, column string, c Cell)) {
	each := func(where, column string, c Cell) {
		look(where, column, c)
		if !c.OK() {
			return // its reason names every candidate already
		}
		for _, o := range c.Others {
			if o.Status == Failed || o.Status == Skipped {
				look(where, column+" ("+o.Variant+")", o)
			}
		}
	}
	for _, q := range r.Queues {
		each(q.Title, "mproc", q.Mproc)
		each(q.Title, "CPython", q.CPython)
		if q.Floor != nil {
			each(q.Title, "floor", *q.Floor)
		}
		if q.Base != nil {
			each(q.Title, "base", *q.Base)
		}
	}
}
