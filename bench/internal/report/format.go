package report

import (
	"fmt"
	"math"
)

// Format renders v in unit u with a scaled suffix: "12.3 µs", "2.41 GB/s",
// "310k/s", "1.93x", "3 allocs".
func Format(u Unit, v float64) string {
	switch u {
	case Seconds:
		switch {
		case v < 1e-6:
			return num(v*1e9) + " ns"
		case v < 1e-3:
			return num(v*1e6) + " µs"
		case v < 1:
			return num(v*1e3) + " ms"
		}
		return num(v) + " s"
	case BytesPerSec:
		switch {
		case v >= 1e9:
			return num(v/1e9) + " GB/s"
		case v >= 1e6:
			return num(v/1e6) + " MB/s"
		case v >= 1e3:
			return num(v/1e3) + " kB/s"
		}
		return num(v) + " B/s"
	case PerSecond, MessagesRate:
		suffix := "/s"
		if u == MessagesRate {
			suffix = " msg/s"
		}
		switch {
		case v >= 1e9:
			return num(v/1e9) + "G" + suffix
		case v >= 1e6:
			return num(v/1e6) + "M" + suffix
		case v >= 1e3:
			return num(v/1e3) + "k" + suffix
		}
		return num(v) + suffix
	case Times:
		return num(v) + "x"
	case OfSize:
		return num(v) + "× the table"
	case AllocsPerOp:
		if math.Abs(v-math.Round(v)) < 0.05 {
			return fmt.Sprintf("%.0f allocs", v)
		}
		return num(v) + " allocs"
	}
	return num(v) + " " + string(u)
}

// span renders the min–max range of a summary in the unit's scale without
// repeating the suffix when both ends share it.
func span(u Unit, lo, hi float64) string {
	a, b := Format(u, lo), Format(u, hi)
	if sa, sb := suffixOf(a), suffixOf(b); sa == sb && sa != "" {
		return a[:len(a)-len(sa)] + "–" + b
	}
	return a + "–" + b
}

func suffixOf(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if (c >= '0' && c <= '9') || c == '.' {
			return s[i+1:]
		}
	}
	return ""
}

// num prints three significant digits, without exponent for the ranges
// benchmarks produce.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// FormatCell renders a cell for the table: "fork: 9.1 ms (8.8–9.5)" when it
// holds a figure, else its status and reason.
func FormatCell(u Unit, c Cell) string {
	if !c.OK() {
		if c.Status == OK {
			return "missing (no positive samples)"
		}
		s := string(c.Status)
		if c.Status == Unavailable {
			s = "n/a (not built yet)"
		}
		if c.Variant != "" && c.Status != Unavailable {
			s = c.Variant + ": " + s
		}
		return s
	}
	s := Format(u, c.Summary.Median) + " (" + span(u, c.Summary.Min, c.Summary.Max) + ")"
	if c.Variant != "" {
		s = c.Variant + ": " + s
	}
	return s
}

// FormatRatio renders a ratio as "3.2x" or "0.41x", or "–" when absent.
func FormatRatio(r float64, ok bool) string {
	if !ok {
		return "–"
	}
	return num(r) + "x"
}
