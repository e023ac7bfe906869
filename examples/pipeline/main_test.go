package main

import (
	"context"
	"testing"

	"github.com/mproc-go/mproc"
)

func TestMain(m *testing.M) {
	mproc.Main()
	m.Run()
}

func TestPipelineCountsEveryPrime(t *testing.T) {
	if got := primesIn(span{0, 10_000}); got != 1229 {
		t.Fatalf("primesIn(0, 10000) = %d, want 1229", got)
	}
	// 1229 primes below 10,000, spread over spans of 5,000 and 3 consumers.
	if err := run(context.Background(), 10_000, 3); err != nil {
		t.Fatal(err)
	}
}
