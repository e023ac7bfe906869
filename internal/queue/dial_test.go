package queue

import (
	"context"
	"testing"
	"time"

	"github.com/mproc-go/mproc/internal/sock"
)

func TestDialThroughAClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := NewBroker[int]("t", 0)
	c1, err := b.Connect()
	if err != nil {
		t.Fatal(err)
	}
	a := NewClient[int]("t", 0, c1)
	c2, err := a.Dial()
	if err != nil {
		t.Fatal(err)
	}
	f := c2.File()
	c2b, err := sock.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	bc := NewClient[int]("t", 0, c2b)
	a.Release()
	if err := bc.Put(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx); err != nil || v != 5 {
		t.Fatalf("Get = %d, %v", v, err)
	}
}
