package codec_test

import (
	"sync"
	"testing"

	"github.com/mproc-go/mproc/codec"
)

// TestConcurrentInterfaceDecode decodes values held in predeclared
// interface types from many goroutines at once: the predeclared wire types
// are shared by every decoder, so nothing may be cached on them unguarded
// (go test -race).
func TestConcurrentInterfaceDecode(t *testing.T) {
	data, err := codec.Marshal([]any{1, "two", 3.0, []any{4}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				var v []any
				if err := codec.Unmarshal(data, &v); err != nil {
					t.Error(err)
					return
				}
				if len(v) != 4 || v[0] != 1 || v[1] != "two" {
					t.Errorf("decoded %#v", v)
					return
				}
			}
		})
	}
	wg.Wait()
}
