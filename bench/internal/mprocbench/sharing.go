package mprocbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/stats"
)

// The shared-memory rows of the queues, pipes and shared objects table:
// an Event's hop between two processes, and a SharedMemory segment made
// and handed to a worker.

// EventArgs is what the echoing process gets: the event it waits on, the
// one it answers on, and how many rounds.
type EventArgs struct {
	Ping, Pong *mproc.Event
	N          int
}

// EchoEvent waits for a.Ping, clears it and sets a.Pong, a.N times.
func EchoEvent(ctx context.Context, a EventArgs) (int, error) {
	for i := range a.N {
		if err := a.Ping.Wait(ctx); err != nil {
			return i, err
		}
		a.Ping.Clear()
		a.Pong.Set()
	}
	return a.N, nil
}

// EventHop measures an Event's set→wake between two processes, in
// seconds: half the round trip of Set on one event and Wait on the other,
// a process started with mproc.Start answering; per run the median of the
// rounds after the first tenth.
func EventHop(rounds int) (stats.Trial, error) {
	if rounds < 10 {
		return stats.Trial{}, errors.New("EventHop: at least 10 rounds")
	}
	return stats.Trial{Once: func() (float64, error) {
		ctx, cancel := bounded()
		defer cancel()
		ping, err := mproc.NewEvent()
		if err != nil {
			return 0, err
		}
		defer ping.Close()
		pong, err := mproc.NewEvent()
		if err != nil {
			return 0, err
		}
		defer pong.Close()
		pr, err := mproc.Start(ctx, EchoEvent, EventArgs{Ping: ping, Pong: pong, N: rounds})
		if err != nil {
			return 0, err
		}
		half := make([]float64, 0, rounds)
		for range rounds {
			t0 := time.Now()
			ping.Set()
			if err := pong.Wait(ctx); err != nil {
				pr.Kill()
				pr.Wait()
				return 0, fmt.Errorf("mproc Event hop: %w", err)
			}
			pong.Clear()
			half = append(half, time.Since(t0).Seconds()/2)
		}
		if n, err := pr.Wait(); err != nil || n != rounds {
			return 0, fmt.Errorf("mproc Event echo: %d rounds, %v", n, err)
		}
		return median(slices.Clone(half[rounds/10:])), nil
	}}, nil
}

// TouchShared writes 7 at the last byte of m and returns its length: it
// proves the worker mapped the segment it was handed.
func TouchShared(_ context.Context, m *mproc.SharedMemory) (int, error) {
	b := m.Bytes()
	b[len(b)-1] = 7
	return len(b), nil
}

// ShmShare measures making a SharedMemory segment of size bytes and
// handing it to a worker of a warm pool of one, which writes its last
// byte, in seconds: NewSharedMemory plus Submit+Wait, the parent checking
// the byte afterwards.
func ShmShare(size int) (stats.Trial, error) {
	if size < 1 {
		return stats.Trial{}, errors.New("ShmShare: no bytes to share")
	}
	return warmPooled(1, func(ctx context.Context, p *mproc.Pool) (float64, error) {
		t0 := time.Now()
		m, err := mproc.NewSharedMemory(size)
		if err != nil {
			return 0, err
		}
		defer m.Close()
		n, err := mproc.Submit(ctx, p, TouchShared, m).Wait(ctx)
		elapsed := time.Since(t0)
		if err != nil {
			return 0, expired(ctx, "mproc SharedMemory share", err)
		}
		if n != size || m.Bytes()[size-1] != 7 {
			return 0, fmt.Errorf("mproc SharedMemory share: the worker saw %d bytes and the parent reads %d at the end", n, m.Bytes()[size-1])
		}
		return elapsed.Seconds(), nil
	})
}
