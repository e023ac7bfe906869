package mproc_test

import (
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

type setLoop struct {
	M *mproc.SharedMap[int, int]
	N int
}

func setMany(ctx context.Context, a setLoop) (int, error) {
	for i := range a.N {
		if err := a.M.Set(ctx, i, i); err != nil {
			return i, err
		}
	}
	return a.N, nil
}

// BenchmarkSharedMapSet: a process sets b.N keys of a map the parent owns,
// one call after the other.
func BenchmarkSharedMapSet(b *testing.B) {
	ctx := context.Background()
	m := mproc.NewSharedMap[int, int]()
	b.ResetTimer()
	pr, err := mproc.Start(ctx, setMany, setLoop{m, b.N})
	if err != nil {
		b.Fatal(err)
	}
	if n, err := pr.Wait(); err != nil || n != b.N {
		b.Fatal(n, err)
	}
}
