package codec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
)

var ErrSentinel = errors.New("codec test sentinel")

type codeError struct {
	Code int
	msg  string
}

func (e *codeError) Error() string { return fmt.Sprintf("code %d: %s", e.Code, e.msg) }

func TestRoundTripErrors(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		is    []error // errors.Is must still match these
		check func(*testing.T, error)
	}{
		{name: "errors.New", err: errors.New("plain")},
		{name: "sentinel", err: ErrSentinel, is: []error{ErrSentinel}},
		{name: "standard library sentinel", err: io.EOF, is: []error{io.EOF}},
		{name: "%w chain to a sentinel", err: fmt.Errorf("outer: %w", fmt.Errorf("middle: %w", ErrSentinel)), is: []error{ErrSentinel}},
		{name: "two %w", err: fmt.Errorf("both: %w and %w", io.ErrUnexpectedEOF, ErrSentinel), is: []error{io.ErrUnexpectedEOF, ErrSentinel}},
		{name: "errors.Join", err: errors.Join(ErrSentinel, errors.New("other")), is: []error{ErrSentinel}},
		{name: "concrete type through %w", err: fmt.Errorf("ctx: %w", &codeError{Code: 7, msg: "private"}),
			check: func(t *testing.T, err error) {
				var ce *codeError
				if !errors.As(err, &ce) || ce.Code != 7 || ce.msg != "private" {
					t.Errorf("errors.As(*codeError) failed on %v", err)
				}
			}},
		{name: "fs.PathError wrapping a sentinel", err: &fs.PathError{Op: "open", Path: "/nope", Err: fs.ErrNotExist}, is: []error{fs.ErrNotExist, os.ErrNotExist},
			check: func(t *testing.T, err error) {
				var pe *fs.PathError
				if !errors.As(err, &pe) || pe.Path != "/nope" {
					t.Errorf("errors.As(*fs.PathError) failed on %v", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, struct{ Err error }{tc.err}).Err
			if got == nil || got.Error() != tc.err.Error() {
				t.Fatalf("message %q, want %q", got, tc.err)
			}
			for _, target := range tc.is {
				if !errors.Is(got, target) {
					t.Errorf("errors.Is(%v, %v) = false after the round trip", got, target)
				}
			}
			if tc.check != nil {
				tc.check(t, got)
			}
			// At the top level too, into an error variable.
			data, err := Marshal(tc.err)
			if err != nil {
				t.Fatal(err)
			}
			var top error
			if err := Unmarshal(data, &top); err != nil {
				t.Fatal(err)
			}
			for _, target := range tc.is {
				if !errors.Is(top, target) {
					t.Errorf("top level: errors.Is(%v, %v) = false", top, target)
				}
			}
		})
	}
}

// A sentinel not stored in any package-level variable is sent by value: the
// message survives, identity cannot.
func TestErrorNotAGlobalTravelsByValue(t *testing.T) {
	local := errors.New("made at run time")
	got := roundTrip(t, local)
	if got.Error() != local.Error() {
		t.Fatalf("got %q", got)
	}
	if errors.Is(got, local) {
		t.Fatal("a run-time error decoded to the same pointer: it was not a global")
	}
	var sb strings.Builder
	data, _ := Marshal(ErrSentinel)
	if err := Dis(&sb, data); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "sentinel *errors.errorString: by reference") {
		t.Errorf("Dis does not show the sentinel reference:\n%s", sb.String())
	}
}
