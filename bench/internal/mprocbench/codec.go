package mprocbench

import (
	"bytes"
	"fmt"

	"github.com/mproc-go/mproc/codec"
)

// Codec returns an operation that round-trips v n times through one
// long-lived codec Encoder/Decoder pair over a buffer, the way a worker
// connection uses it: type descriptions cross once, later messages carry
// only values. v travels as a pointer, so a graph whose nodes point back at
// its root keeps that identity; each decode allocates a fresh value. Before
// returning, it round-trips once and checks the result with same.
func Codec[T any](v *T, same func(a, b *T) bool) (func(n int) error, error) {
	var buf bytes.Buffer
	enc, dec := codec.NewEncoder(&buf), codec.NewDecoder(&buf)
	once := func() (*T, error) {
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("mproc codec encode %T: %w", v, err)
		}
		var out *T
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("mproc codec decode %T: %w", v, err)
		}
		return out, nil
	}
	out, err := once()
	if err != nil {
		return nil, err
	}
	if out == nil || !same(v, out) {
		return nil, fmt.Errorf("mproc codec: round trip of %T changed the value", v)
	}
	return func(n int) error {
		for range n {
			if _, err := once(); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
