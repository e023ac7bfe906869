package mproc_test

import (
	"context"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
)

// TestRepeatedMapsNeverStall runs many short Maps of single-task chunks on
// fresh pools: a sender that is not woken when its worker may take more work
// leaves a Map waiting for ever. The deadline only turns such a stall into a
// failure; a healthy run takes milliseconds per Map.
func TestRepeatedMapsNeverStall(t *testing.T) {
	inputs := make([]int, 1000)
	for i := range inputs {
		inputs[i] = i
	}
	for pool := range 60 {
		p, err := mproc.NewPool(mproc.Workers(2))
		if err != nil {
			t.Fatal(err)
		}
		for call := range 4 {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := mproc.Map(ctx, p, square, inputs, mproc.ChunkSize(1))
			cancel()
			if err != nil {
				p.Terminate()
				t.Fatalf("pool %d, Map %d: %v", pool, call, err)
			}
			for k, v := range out {
				if v != k*k {
					p.Terminate()
					t.Fatalf("pool %d, Map %d: out[%d] = %d, want %d", pool, call, k, v, k*k)
				}
			}
		}
		if err := p.Close(); err != nil {
			t.Fatalf("pool %d: Close: %v", pool, err)
		}
	}
}
