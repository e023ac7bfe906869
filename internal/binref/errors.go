package binref

import "fmt"

// A ResolveError reports a reference that does not resolve in this process:
// it points outside the executable, at something other than what it names,
// or at a value of another type. Between processes of the same build this
// does not happen, so the usual cause is a sender running a different build.
type ResolveError struct {
	What   string // "function", "type" or "global"
	Name   string // the name the sender gave, if any
	Offset int64  // the offset the sender gave
	Reason string
}

func (e *ResolveError) Error() string {
	name := ""
	if e.Name != "" {
		name = fmt.Sprintf(" %q", e.Name)
	}
	return fmt.Sprintf("binref: %s%s at offset %#x does not resolve: %s (is the sender the same build? compare binref.Fingerprint)",
		e.What, name, e.Offset, e.Reason)
}
