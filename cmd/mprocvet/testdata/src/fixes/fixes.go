package fixes

import (
	"context"
	"strings"
	"sync"

	"github.com/mproc-go/mproc"
)

type locked struct {
	mu sync.Mutex
	by int
}

func (l *locked) Scale(_ context.Context, x int) (int, error) { return x * l.by, nil }

type logger struct {
	mu     sync.Mutex
	prefix string
}

func (l logger) Tag(_ context.Context, s string) (string, error) { return l.prefix + s, nil }

var std = logger{prefix: "std: "}

type counter struct{ n int }

func scale(ctx context.Context, p *mproc.Pool, xs []int) {
	factor, offset := 3, 1
	// A literal sent with a slice of inputs: the captures join each input.
	mproc.Map(ctx, p, func(_ context.Context, x int) (int, error) { return x*factor + offset, nil }, xs) // want `mproc.Map sends this func literal by reference, but it captures factor, offset`

	// One input: it joins the captures in one struct.
	sep := ", "
	mproc.Submit(ctx, p, func(ctx context.Context, parts []string) (string, error) { // want `mproc.Submit sends this func literal by reference, but it captures sep`
		return strings.Join(parts, sep), ctx.Err()
	}, []string{"a", "b"})

	// An unnamed input, through Plain.
	suffix := "!"
	mproc.Map(ctx, p, mproc.Plain(func(string) string { return suffix }), []string{"a"}) // want `captures suffix`

	// A shared object's call.
	var s *mproc.Shared[counter]
	mproc.Call(ctx, s, func(c *counter, by int) (int, error) { c.n += by * factor; return c.n, nil }, 2) // want `mproc.Call sends this func literal by reference, but it captures factor`

	// A receiver of constants, and a package-level one, are built again
	// in the worker.
	mproc.Map(ctx, p, (&locked{by: 2}).Scale, xs) // want `mproc.Map sends method value \(&locked\{…\}\).Scale with its receiver`
	mproc.Map(ctx, p, std.Tag, []string{"x"})     // want `mproc.Map sends method value std.Tag with its receiver`
}

// No fix where the rewrite would change what the code means.
func noFixes(ctx context.Context, p *mproc.Pool, seq func(func(int) bool)) {
	total := 0
	// The literal assigns its capture: a copy would not come back.
	mproc.Map(ctx, p, func(_ context.Context, x int) (int, error) { total += x; return total, nil }, []int{1}) // want `captures total`
	// A sequence of inputs: nothing to fold the capture into.
	mproc.Imap(ctx, p, func(_ context.Context, x int) (int, error) { return x + total, nil }, seq) // want `captures total`
	// A receiver made of a local variable.
	l := &locked{by: total}
	mproc.Map(ctx, p, l.Scale, []int{1}) // want `mproc.Map sends method value l.Scale`
}

// Generic code: a top-level declaration could not name T.
func generic[T any](ctx context.Context, p *mproc.Pool, v T) {
	mproc.Submit(ctx, p, func(_ context.Context, x int) (T, error) { return v, nil }, 1) // want `captures v`
}
