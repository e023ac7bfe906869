package mproc_test

import (
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

// BenchmarkPipeRoundTrip: a Send and the Recv of its answer, to a process
// echoing over the other end.
func BenchmarkPipeRoundTrip(b *testing.B) {
	ctx := context.Background()
	mine, theirs, err := mproc.NewPipe[int]()
	if err != nil {
		b.Fatal(err)
	}
	pr, err := mproc.Start(ctx, echo, theirs)
	if err != nil {
		b.Fatal(err)
	}
	theirs.Close()
	b.ResetTimer()
	for i := range b.N {
		if err := mine.Send(ctx, i); err != nil {
			b.Fatal(err)
		}
		if _, err := mine.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mine.Close()
	pr.Wait()
}
