// Package strictfuncs holds what the Strict tests run: functions and types
// registered by name in the cluster's test binary and in another build,
// testdata/otherbuild, whose nodes run them.
package strictfuncs

import (
	"context"
	"errors"

	"github.com/mproc-go/mproc/codec"
)

// A Point is a named type both builds know by name.
type Point struct{ X, Y int }

// ErrNegative is what Scale returns for a negative factor.
var ErrNegative = errors.New("negative factor")

// Scale multiplies p by its own X, and fails for a negative one.
func Scale(_ context.Context, p Point) (Point, error) {
	if p.X < 0 {
		return Point{}, ErrNegative
	}
	return Point{p.X * p.X, p.Y * p.X}, nil
}

func init() { codec.Register(Scale, Point{}) }
