package codec

import (
	"fmt"
)

// A DecodeError reports malformed or unexpected input: where it was found
// and what was expected there.
type DecodeError struct {
	Offset int    // byte offset from the start of the stream (Marshal output: of the data)
	Msg    string // what was expected, or why the input cannot be used
	Err    error  // the reader's error when reading failed, such as os.ErrDeadlineExceeded; nil for bad data
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("codec: decoding at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the reader's error, so errors.Is(err, os.ErrDeadlineExceeded)
// tells a read that timed out from a stream that was corrupt.
func (e *DecodeError) Unwrap() error { return e.Err }

// An UnsupportedError reports a value that cannot be sent to another process,
// where it is and what to do instead. Marshal and Encode return it for the
// first such value; Check lists them all as Problems.
type UnsupportedError struct {
	Path   string // from the root: .Cfg.Log.out, [3], ["key"], .(*pkg.T).field; "" is the root
	Type   string // the Go type that cannot be sent
	Reason string // why it cannot travel
	Fix    string // what to write instead
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("codec: cannot send %s: %s: %s; fix: %s", displayPath(e.Path), e.Type, e.Reason, e.Fix)
}

// A Problem is one part of a value that cannot be sent (see Check).
type Problem struct {
	Path   string // from the root, as in UnsupportedError
	Type   string
	Reason string
	Fix    string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s: %s; fix: %s", displayPath(p.Path), p.Type, p.Reason, p.Fix)
}

func (p Problem) err() *UnsupportedError {
	return &UnsupportedError{Path: p.Path, Type: p.Type, Reason: p.Reason, Fix: p.Fix}
}

func displayPath(p string) string {
	if p == "" {
		return "the value"
	}
	return p
}

// A FingerprintError reports a stream written by a different binary than
// the one decoding it, when positions in the binary are needed.
type FingerprintError struct {
	Stream, Local string
}

func (e *FingerprintError) Error() string {
	return fmt.Sprintf("codec: stream was written by a different binary (fingerprint %s, this binary %s): "+
		"functions and types travel by position in the binary, so both ends must run the same executable; "+
		"fix: run the same build on both ends, or decode with codec.Strict() and codec.Register the types and functions", e.Stream, e.Local)
}

// A DepthError reports a value nested more deeply than the MaxDepth option allows.
type DepthError struct {
	Limit int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("codec: value nested more than %d levels deep (pointers, interfaces, slices and maps); "+
		"a linked list is as deep as it is long: raise the limit with codec.MaxDepth or send the list as a slice", e.Limit)
}
