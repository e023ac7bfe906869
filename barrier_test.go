package mproc_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/mproc-go/mproc"
	"golang.org/x/sys/unix"
)

type meet struct {
	B  *mproc.Barrier
	WG *mproc.WaitGroup
}

// meetTwice waits at the barrier twice, then marks itself done.
func meetTwice(ctx context.Context, m meet) (int, error) {
	defer m.WG.Done()
	for range 2 {
		if _, err := m.B.Wait(ctx); err != nil {
			return 0, err
		}
	}
	return os.Getpid(), nil
}

func TestBarrierAndWaitGroupAcrossProcesses(t *testing.T) {
	pool := newPool(t, mproc.Workers(2))
	ctx := deadline(t)
	b, err := mproc.NewBarrier(3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wg, err := mproc.NewWaitGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer wg.Close()
	wg.Add(2)
	done := make(chan error, 1)
	go func() {
		_, err := mproc.Map(ctx, pool, meetTwice, []meet{{b, wg}, {b, wg}}, mproc.ChunkSize(1))
		done <- err
	}()
	for round := range 2 {
		if _, err := b.Wait(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if err := wg.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitThenDie arrives at the barrier from a goroutine and kills its
// process while that goroutine waits.
func waitThenDie(ctx context.Context, b *mproc.Barrier) (int, error) {
	arrived := make(chan struct{})
	go func() {
		close(arrived)
		b.Wait(ctx)
	}()
	<-arrived
	for b.Waiting() == 0 {
	}
	unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}

func TestBarrierBreaksWhenAPartyDies(t *testing.T) {
	ctx := deadline(t)
	b, err := mproc.NewBarrier(3)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pr, err := mproc.Start(ctx, waitThenDie, b)
	if err != nil {
		t.Fatal(err)
	}
	pid := pr.Pid()
	pr.Wait()
	_, err = b.Wait(ctx)
	var be *mproc.BarrierError
	if !errors.As(err, &be) || !errors.Is(err, mproc.ErrBarrierBroken) || be.Pid != pid {
		t.Fatalf("Wait with a party (pid %d) dead at the barrier = %v", pid, err)
	}
	b.Reset()
	if n := b.Waiting(); n != 0 {
		t.Fatalf("Waiting = %d after Reset", n)
	}
}

type handoff struct {
	C *mproc.Condition
	V *mproc.SharedValue[int64]
}

// produceUnderCondition sets the value to 1..5, each after the consumer
// took the previous one (set it back to 0).
func produceUnderCondition(ctx context.Context, h handoff) (int, error) {
	p := h.V.Ptr()
	for i := int64(1); i <= 5; i++ {
		h.C.L.Lock()
		for *p != 0 {
			if err := h.C.Wait(ctx); err != nil {
				h.C.L.Unlock()
				return 0, err
			}
		}
		*p = i
		h.C.NotifyAll()
		h.C.L.Unlock()
	}
	return 5, nil
}

func TestConditionHandsValuesBetweenProcesses(t *testing.T) {
	ctx := deadline(t)
	c, err := mproc.NewCondition()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := mproc.NewSharedValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	pr, err := mproc.Start(ctx, produceUnderCondition, handoff{c, v})
	if err != nil {
		t.Fatal(err)
	}
	p := v.Ptr()
	for want := int64(1); want <= 5; want++ {
		c.L.Lock()
		for *p == 0 {
			if err := c.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if *p != want {
			t.Fatalf("took %d, want %d", *p, want)
		}
		*p = 0
		c.NotifyAll()
		c.L.Unlock()
	}
	if n, err := pr.Wait(); err != nil || n != 5 {
		t.Fatalf("producer = %d, %v", n, err)
	}
}
