package mproc_test

import (
	"errors"
	"io"
	"testing"

	"github.com/mproc-go/mproc"
)

// Sentinel errors of this binary keep their identity across the trip, so
// errors.Is works on a task's error as it would in-process.
func TestSentinelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []mproc.Option
	}{{"process", nil}, {"roundtrip", []mproc.Option{mproc.RoundTrip()}}} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, append(tc.opts, mproc.Workers(1))...)
			_, err := mproc.Map(t.Context(), p, failOdd, []int{1})
			if !errors.Is(err, errOdd) {
				t.Errorf("errors.Is(%v, errOdd) = false", err)
			}
			_, err = mproc.Submit(t.Context(), p, readEOF, "").Wait(t.Context())
			if !errors.Is(err, io.EOF) {
				t.Errorf("errors.Is(%v, io.EOF) = false", err)
			}
		})
	}
}
