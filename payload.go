package mproc

import (
	"context"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/wire"
)

// TaskPayload returns the bytes a pool sends to a worker to run fn over
// inputs, as the first message of a connection (with the descriptions of
// the types it uses). It is for looking at what travels, with codec.Dis:
// the function and the runner are references into the binary, the inputs
// are values.
func TaskPayload[In, Out any](fn func(context.Context, In) (Out, error), inputs []In) ([]byte, error) {
	run, f := runnerFor(fn)
	return codec.Marshal(&wire.Msg{Kind: wire.KindTask, ID: 1, Run: run, Fn: f, Args: inputs})
}
