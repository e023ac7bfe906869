package report

import (
	"fmt"
	"strings"
)

// CheckError lists every figure Check found missing, each naming the metric,
// the column and why.
type CheckError struct {
	Problems []string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("bench: %d figure(s) missing or not positive:\n  %s",
		len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Check verifies that every cell of every metric and reference holds a
// positive figure. It accepts, without figure, cells that say explicitly
// why none can exist (Unsupported, NotApplicable) and mproc cells whose API
// is not built yet (Unavailable); the latter come back as warnings so that
// the caller can print them loudly. Anything else — a failed measurement, a
// skipped CPython, an Unavailable peer or floor — is a *CheckError.
//
// Real-workload rows need mproc's and CPython's figures; an optional Python
// peer that is not installed is accepted (its cell says so). Rows of the
// queues, pipes and shared objects table need mproc's and CPython's
// figures, and the floor's where the row has one; a variant that failed
// behind the best of a cell is refused too.
//
// Check looks at presence only, never at speed: CI machines are too noisy
// for timing thresholds.
func (r *Report) Check() (warnings []string, err error) {
	var problems []string
	look := func(where, column string, c Cell) {
		switch {
		case c.OK():
			return
		case c.Status == Unsupported || c.Status == NotApplicable:
			if c.Reason == "" {
				problems = append(problems, fmt.Sprintf("%s, %s: %s without a reason", where, column, c.Status))
			}
			return
		case c.Status == Unavailable && column == "mproc":
			warnings = append(warnings, fmt.Sprintf("%s: mproc figure unavailable (%s)", where, c.Reason))
			return
		case c.Status == OK:
			problems = append(problems, fmt.Sprintf("%s, %s: no positive samples (%v)", where, column, c.Samples))
		default:
			problems = append(problems, fmt.Sprintf("%s, %s: %s: %s", where, column, c.Status, c.Reason))
		}
	}
	if len(r.Metrics) == 0 {
		problems = append(problems, "the report has no metrics")
	}
	for _, m := range r.Metrics {
		look(m.Title, "mproc", m.Mproc)
		look(m.Title, "CPython", m.CPython)
		look(m.Title, "peer", m.Peer)
		look(m.Title, "floor", m.Floor)
	}
	r.checkWorkloads(look)
	r.checkQueues(look)
	for _, ref := range r.References {
		column := "reference"
		if strings.HasPrefix(ref.Key, "mproc") {
			column = "mproc"
		}
		look(ref.Title, column, ref.Cell)
	}
	if len(problems) > 0 {
		return warnings, &CheckError{Problems: problems}
	}
	return warnings, nil
}
