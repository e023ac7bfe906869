package floor

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mproc-go/mproc/bench/internal/child"
	"github.com/mproc-go/mproc/bench/internal/stats"
	"github.com/mproc-go/mproc/bench/internal/workload"
)

// MessageSize is the size of one message in the round-trip and message-rate
// floors: about a trivial task's frame (header, function reference, an int).
const MessageSize = 16

// startEchoes starts n echo children; on error it closes those it started.
func startEchoes(n int) ([]*child.Process, error) {
	var ps []*child.Process
	for range n {
		p, err := child.Start(RoleEcho)
		if err != nil {
			closeAll(ps)
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func closeAll(ps []*child.Process) error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Start measures how long it takes to start workers processes of this
// binary and get the first reply from any of them: the floor of a pool's
// start to first result. Samples are in seconds.
func Start(workers int) stats.Trial {
	return stats.Trial{Once: func() (float64, error) {
		t0 := time.Now()
		ps, err := startEchoes(workers)
		if err != nil {
			return 0, err
		}
		first := make(chan error, workers)
		for _, p := range ps {
			go func() { first <- pingOnce(p) }()
		}
		err = <-first
		elapsed := time.Since(t0)
		for range workers - 1 {
			err = errors.Join(err, <-first)
		}
		if err = errors.Join(err, closeAll(ps)); err != nil {
			return 0, fmt.Errorf("floor start: %w", err)
		}
		return elapsed.Seconds(), nil
	}}
}

func pingOnce(p *child.Process) error {
	var msg [MessageSize]byte
	if _, err := p.Conn.Write(msg[:]); err != nil {
		return err
	}
	_, err := io.ReadFull(p.Conn, msg[:])
	return err
}

// PingPong measures the round trip of one MessageSize message to an echo
// child and back, averaged over rounds round trips. Samples are seconds per
// round trip.
func PingPong(rounds int) (stats.Trial, error) {
	ps, err := startEchoes(1)
	if err != nil {
		return stats.Trial{}, err
	}
	p := ps[0]
	for range rounds / 10 { // warm up the scheduler and the child
		if err := pingOnce(p); err != nil {
			closeAll(ps)
			return stats.Trial{}, fmt.Errorf("floor ping-pong: %w", err)
		}
	}
	return stats.Trial{
		Once: func() (float64, error) {
			t0 := time.Now()
			for range rounds {
				if err := pingOnce(p); err != nil {
					return 0, fmt.Errorf("floor ping-pong: %w", err)
				}
			}
			return time.Since(t0).Seconds() / float64(rounds), nil
		},
		Close: func() error { return closeAll(ps) },
	}, nil
}

// MessageRate measures pipelined messages per second through workers echo
// children: the harness writes each MessageSize message with its own write
// system call, as a dispatcher sending one task per message does, while a
// reader drains the echoes. msgs messages per run are spread evenly.
func MessageRate(msgs, workers int) (stats.Trial, error) {
	return pipelined(msgs, workers, MessageSize, MessageSize)
}

// StreamRate measures items per second when 8-byte items (an int argument,
// an int result) stream through workers echo children in 64 KiB writes: the
// floor of a map of trivial tasks sent in chunks.
func StreamRate(items, workers int) (stats.Trial, error) {
	return pipelined(items, workers, 8, 64<<10)
}

// pipelined sends n items of itemSize bytes through the workers in writes of
// writeSize bytes; samples are items per second.
func pipelined(n, workers, itemSize, writeSize int) (stats.Trial, error) {
	ps, err := startEchoes(workers)
	if err != nil {
		return stats.Trial{}, err
	}
	per := n / workers
	bytesPer := per * itemSize
	out := make([]byte, writeSize)
	once := func() (float64, error) {
		t0 := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 2*workers)
		for i, p := range ps {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for sent := 0; sent < bytesPer; {
					k := min(writeSize, bytesPer-sent)
					if _, err := p.Conn.Write(out[:k]); err != nil {
						errs[2*i] = err
						return
					}
					sent += k
				}
			}()
			go func() {
				defer wg.Done()
				_, errs[2*i+1] = io.CopyN(io.Discard, p.Conn, int64(bytesPer))
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return 0, fmt.Errorf("floor pipelined: %w", err)
		}
		return float64(per*workers) / time.Since(t0).Seconds(), nil
	}
	return stats.Trial{Once: once, Close: func() error { return closeAll(ps) }}, nil
}

// Bulk measures the round trip of size bytes to an echo child and back,
// through preallocated buffers. Samples are bytes per second, counting size
// once (the payload, as for an argument round trip).
func Bulk(size int) (stats.Trial, error) {
	ps, err := startEchoes(1)
	if err != nil {
		return stats.Trial{}, err
	}
	p := ps[0]
	out, in := make([]byte, size), make([]byte, size)
	trip := func() error {
		werr := make(chan error, 1)
		go func() {
			_, err := p.Conn.Write(out)
			werr <- err
		}()
		_, rerr := io.ReadFull(p.Conn, in)
		if err := errors.Join(rerr, <-werr); err != nil {
			return fmt.Errorf("floor bulk %d bytes: %w", size, err)
		}
		return nil
	}
	warm := workload.BulkWarm
	once := func() (float64, error) {
		for ; warm > 0; warm-- {
			if err := trip(); err != nil {
				return 0, err
			}
		}
		t0 := time.Now()
		if err := trip(); err != nil {
			return 0, err
		}
		return float64(size) / time.Since(t0).Seconds(), nil
	}
	return stats.Trial{Once: once, Close: func() error { return closeAll(ps) }}, nil
}
