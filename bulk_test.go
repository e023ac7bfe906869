package mproc_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

// reversed returns b's bytes in reverse order, so a result that came back
// without crossing to the worker and back would not pass for one that did.
func reversed(_ context.Context, b []byte) ([]byte, error) {
	out := make([]byte, len(b))
	for i, c := range b {
		out[len(b)-1-i] = c
	}
	return out, nil
}

// Arguments and results larger than a frame (1 MiB) and than the socket's
// buffer (4 MiB) cross whole and in order, several at once, both ways.
func TestLargeValuesCrossWhole(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var in [][]byte
	for _, size := range []int{1<<20 - 1, 1 << 20, 1<<20 + 1, 5<<20 + 3, 12 << 20} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*31 + size)
		}
		in = append(in, b)
	}
	out, err := mproc.Map(ctx, p, reversed, in, mproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range in {
		want, _ := reversed(ctx, b)
		if !bytes.Equal(out[i], want) {
			t.Errorf("input %d (%d bytes): the result differs from its input reversed", i, len(b))
		}
	}
}
