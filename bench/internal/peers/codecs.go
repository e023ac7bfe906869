// Package peers measures what a Go programmer would use instead of mproc:
// encoding/gob (a long-lived Encoder/Decoder pair, type information sent
// once), encoding/json and msgpack/v5 for the codec rows, and net/rpc to a
// subprocess over a socketpair — the cost of go-plugin style isolation — for
// the round-trip, map, bulk and speed-up rows.
package peers

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Each codec constructor returns an operation that encodes v and decodes it
// into a fresh T, n times. Before returning it round-trips once and checks
// the result with same, so a misconfigured codec is reported, not measured.

// GobStream round-trips through one long-lived gob Encoder/Decoder pair over
// a buffer, the way a worker connection would use gob: type information
// crosses once, every later message carries only values.
func GobStream[T any](v *T, same func(a, b *T) bool) (func(n int) error, error) {
	var buf bytes.Buffer
	enc, dec := gob.NewEncoder(&buf), gob.NewDecoder(&buf)
	op := func(n int) error {
		for range n {
			if err := enc.Encode(v); err != nil {
				return fmt.Errorf("gob encode %T: %w", v, err)
			}
			out := new(T)
			if err := dec.Decode(out); err != nil {
				return fmt.Errorf("gob decode %T: %w", v, err)
			}
		}
		return nil
	}
	return verified(v, same, op, func() (*T, error) {
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		out := new(T)
		return out, dec.Decode(out)
	})
}

// JSON round-trips with json.Marshal and json.Unmarshal.
func JSON[T any](v *T, same func(a, b *T) bool) (func(n int) error, error) {
	once := func() (*T, error) {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("json encode %T: %w", v, err)
		}
		out := new(T)
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("json decode %T: %w", v, err)
		}
		return out, nil
	}
	return verified(v, same, repeat(once), once)
}

// Msgpack round-trips with msgpack.Marshal and msgpack.Unmarshal.
func Msgpack[T any](v *T, same func(a, b *T) bool) (func(n int) error, error) {
	once := func() (*T, error) {
		data, err := msgpack.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("msgpack encode %T: %w", v, err)
		}
		out := new(T)
		if err := msgpack.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("msgpack decode %T: %w", v, err)
		}
		return out, nil
	}
	return verified(v, same, repeat(once), once)
}

func repeat[T any](once func() (*T, error)) func(n int) error {
	return func(n int) error {
		for range n {
			if _, err := once(); err != nil {
				return err
			}
		}
		return nil
	}
}

func verified[T any](v *T, same func(a, b *T) bool, op func(int) error, once func() (*T, error)) (func(int) error, error) {
	out, err := once()
	if err != nil {
		return nil, err
	}
	if !same(v, out) {
		return nil, fmt.Errorf("round trip of %T changed the value", v)
	}
	return op, nil
}
