package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteTable writes the report as a Markdown table padded to line up in a
// terminal, followed by the notes a reader needs to trust it: what each
// contender measured, why a cell is empty, the losing candidates of each
// "best of" cell, and the reference figures.
func (r *Report) WriteTable(w io.Writer) error {
	rows := [][]string{{"metric", "mproc", "CPython", "best Go peer", "floor",
		"mproc vs CPython", "mproc vs peer", "mproc vs floor"}}
	for _, m := range r.Metrics {
		rc, okc := m.Ratio(m.CPython)
		rp, okp := m.Ratio(m.Peer)
		rf, okf := m.Ratio(m.Floor)
		rows = append(rows, []string{
			m.Title,
			FormatCell(m.Unit, m.Mproc),
			FormatCell(m.Unit, m.CPython),
			FormatCell(m.Unit, m.Peer),
			FormatCell(m.Unit, m.Floor),
			FormatRatio(rc, okc),
			FormatRatio(rp, okp),
			FormatRatio(rf, okf),
		})
	}
	var b strings.Builder
	writeRows(&b, rows)

	fmt.Fprintf(&b, "\nEach figure: median of %d runs (min–max). Ratios compare medians as speeds: above 1x mproc is faster (or allocates less), below 1x slower.\n", r.Runs)
	notes := r.notes()
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range notes {
			b.WriteString("- " + n + "\n")
		}
	}
	r.writeWorkloads(&b)
	r.writeQueues(&b)
	if len(r.References) > 0 {
		b.WriteString("\nReferences (no contender):\n")
		for _, ref := range r.References {
			line := "- " + ref.Title + ": " + FormatCell(ref.Unit, ref.Cell)
			if ref.Note != "" {
				line += " — " + ref.Note
			}
			b.WriteString(line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// notes lists, per metric, what each contender measured, the losing
// candidates and the reason of every cell without figure.
func (r *Report) notes() []string {
	var out []string
	for _, m := range r.Metrics {
		for _, n := range m.Notes {
			out = append(out, m.Title+": "+n)
		}
		if ratio, ok := m.Ratio(m.Floor); ok && ratio > 1.05 {
			out = append(out, fmt.Sprintf("%s: mproc measured %s above the floor, which no program can beat: the load on the machine changed during the run; trust this row only from a quiet machine",
				m.Title, FormatRatio(ratio, true)))
		}
		for _, col := range []struct {
			name string
			c    Cell
		}{{"mproc", m.Mproc}, {"CPython", m.CPython}, {"peer", m.Peer}, {"floor", m.Floor}} {
			if !col.c.OK() && col.c.Reason != "" && col.c.Status != Unavailable {
				out = append(out, fmt.Sprintf("%s, %s: %s — %s", m.Title, col.name, FormatCell(m.Unit, col.c), col.c.Reason))
			}
			if col.c.OK() && len(col.c.Others) > 0 {
				var others []string
				for _, o := range col.c.Others {
					others = append(others, FormatCell(m.Unit, o))
				}
				out = append(out, fmt.Sprintf("%s, %s, other candidates: %s", m.Title, col.name, strings.Join(others, "; ")))
			}
		}
	}
	return out
}

func writeRows(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string) {
		b.WriteString("|")
		for i, cell := range row {
			b.WriteString(" " + cell + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)) + " |")
		}
		b.WriteString("\n")
	}
	line(rows[0])
	sep := make([]string, len(widths))
	for i, wd := range widths {
		sep[i] = strings.Repeat("-", wd)
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}
