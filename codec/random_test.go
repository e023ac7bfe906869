package codec

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

type box struct {
	V    any
	Next *box
}

// randomValue builds a value of random shape: nested slices, maps,
// pointers shared with earlier parts, nil and empty containers.
func randomValue(r *rand.Rand, depth int, shared *[]*box) any {
	if depth > 4 {
		return r.IntN(100)
	}
	switch r.IntN(17) {
	case 12:
		return (*box)(nil)
	case 13:
		return [2]any{randomValue(r, depth+1, shared), randomValue(r, depth+1, shared)}
	case 14:
		return map[any]any{Point{r.IntN(3), 0}: randomValue(r, depth+1, shared), r.IntN(3): nil}
	case 15:
		return innerPub{Note: "n", n: r.IntN(50)}
	case 16:
		return ErrSentinel
	case 0:
		return nil
	case 1:
		return r.Float64()
	case 2:
		return string(rune('a' + r.IntN(26)))
	case 3:
		return []any(nil)
	case 4:
		return []any{}
	case 5:
		s := make([]any, r.IntN(4))
		for i := range s {
			s[i] = randomValue(r, depth+1, shared)
		}
		return s
	case 6:
		m := map[string]any{}
		for range r.IntN(3) {
			m[string(rune('a'+r.IntN(26)))] = randomValue(r, depth+1, shared)
		}
		return m
	case 7:
		if len(*shared) > 0 && r.IntN(2) == 0 {
			return (*shared)[r.IntN(len(*shared))]
		}
		b := &box{}
		*shared = append(*shared, b)
		b.V = randomValue(r, depth+1, shared)
		if r.IntN(3) == 0 {
			b.Next = (*shared)[r.IntN(len(*shared))] // may close a cycle
		}
		return b
	case 8:
		return []*Point{}
	case 9:
		return []*Point{{1, 2}, nil}
	case 10:
		return map[int]*box{}
	default:
		return Point{r.IntN(9), -r.IntN(9)}
	}
}

func TestRoundTripRandomShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var shared []*box
		v := []any{randomValue(r, 0, &shared), randomValue(r, 0, &shared), randomValue(r, 0, &shared)}
		got := roundTrip(t, v)
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("value %d: got %#v, want %#v", i, got, v)
		}
	}
}
