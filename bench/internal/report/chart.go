package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
)

// chart geometry, in SVG user units.
const (
	chartWidth = 1020
	labelRight = 380 // metric titles end here
	plotLeft   = 395
	plotRight  = 975
	barHeight  = 9
	groupGap   = 14
	headHeight = 74
)

var series = []struct {
	name  string
	color string
	cell  func(Metric) Cell
}{
	{"mproc vs CPython", "#3b78c2", func(m Metric) Cell { return m.CPython }},
	{"mproc vs best Go peer", "#e08a2c", func(m Metric) Cell { return m.Peer }},
	{"mproc vs floor", "#7a7a7a", func(m Metric) Cell { return m.Floor }},
}

// WriteSVG draws the ratios of every metric as horizontal bars on a
// logarithmic axis centred on 1x: a bar to the right of the 1x line means
// mproc is faster than that contender, to the left slower. Missing ratios
// are written as "n/a" so a reader sees the gap instead of a short bar.
func (r *Report) WriteSVG(w io.Writer) error {
	lo, hi := r.ratioDomain()
	x := func(v float64) float64 {
		return plotLeft + (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*(plotRight-plotLeft)
	}
	groupHeight := len(series)*(barHeight+2) + groupGap
	height := headHeight + len(r.Metrics)*groupHeight + 40

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := fmt.Sprintf("mproc speed ratios (median of %d runs; log scale; right of 1x = mproc faster)", r.Runs)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", esc(title))
	m := r.Machine
	fmt.Fprintf(&b, `<text x="10" y="36" fill="#555">%s</text>`+"\n",
		esc(fmt.Sprintf("%s · %s, %d CPUs · %s · Python %s", m.Date.UTC().Format("2006-01-02 15:04 UTC"), m.CPU, m.NumCPU, m.Go, m.Python)))
	for i, s := range series {
		lx := 10 + i*200
		fmt.Fprintf(&b, `<rect x="%d" y="46" width="12" height="10" fill="%s"/><text x="%d" y="55">%s</text>`+"\n", lx, s.color, lx+16, esc(s.name))
	}

	// Decade grid lines and their labels.
	bottom := headHeight + len(r.Metrics)*groupHeight
	for e := math.Round(math.Log10(lo)); e <= math.Round(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		gx := x(d)
		stroke, width := "#ddd", 1
		if e == 0 {
			stroke, width = "#222", 2
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%d"/>`+"\n", gx, headHeight-6, gx, bottom, stroke, width)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%gx</text>`+"\n", gx, bottom+14, d)
	}

	for i, met := range r.Metrics {
		top := headHeight + i*groupHeight
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelRight, top+len(series)*(barHeight+2)/2+4, esc(met.Title))
		for j, s := range series {
			y := top + j*(barHeight+2)
			ratio, ok := met.Ratio(s.cell(met))
			if !ok {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#999" font-size="9">%s</text>`+"\n", x(1)+4, y+barHeight-1, esc(gap(met, s.cell(met))))
				continue
			}
			x0, x1 := x(1), x(math.Min(math.Max(ratio, lo), hi))
			if x1 < x0 {
				x0, x1 = x1, x0
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`+"\n",
				x0, y, math.Max(x1-x0, 1), barHeight, s.color, esc(s.name+": "+FormatRatio(ratio, true)))
			tx, anchor := x1+4, "start"
			if ratio < 1 {
				tx, anchor = x0-4, "end"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" text-anchor="%s">%s</text>`+"\n", tx, y+barHeight-1, anchor, esc(FormatRatio(ratio, true)))
		}
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// ratioDomain returns the powers of ten around every ratio and 1x, at least
// 0.1x to 10x.
func (r *Report) ratioDomain() (lo, hi float64) {
	lo, hi = 0.1, 10
	for _, m := range r.Metrics {
		for _, s := range series {
			if v, ok := m.Ratio(s.cell(m)); ok {
				lo = math.Min(lo, math.Pow(10, math.Floor(math.Log10(v))))
				hi = math.Max(hi, math.Pow(10, math.Ceil(math.Log10(v))))
			}
		}
	}
	return lo, hi
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// gap names why a ratio is missing: the cell without figure, mproc's or the
// contender's.
func gap(m Metric, c Cell) string {
	for _, cell := range []Cell{c, m.Mproc} {
		switch {
		case cell.OK():
			continue
		case cell.Status == Unavailable:
			return "mproc: not built yet"
		case cell.Status == NotApplicable:
			return "n/a"
		}
		return string(cell.Status)
	}
	return "n/a"
}
