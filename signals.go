package mproc

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// ShutdownOnSignal makes the pool stop on SIGINT or SIGTERM, as a Ctrl-C
// should: the first signal fails the tasks still queued with ErrClosed,
// lets the running ones finish and then stops the workers; a second signal
// kills the workers at once and ends the program with that signal's
// default action.
//
// Without it the pool installs no handler: the program's own, or the
// default that ends it, decides. Either way workers print nothing: they
// run in a process group of their own, so the terminal's Ctrl-C reaches
// only the parent, and they exit when they see it go. InProcess pools
// ignore it: goroutines cannot be killed.
func ShutdownOnSignal() Option { return func(c *config) { c.signals = true } }

// handleSignals serves ShutdownOnSignal until the pool is closed.
func (p *Pool) handleSignals() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(ch)
		var sig os.Signal
		select {
		case sig = <-ch:
		case <-p.finished:
			return
		}
		p.log.Info("mproc: stopping the pool", "signal", sig)
		go p.drain()
		select {
		case sig = <-ch:
		case <-p.finished:
			return
		}
		p.log.Info("mproc: killing the workers", "signal", sig)
		p.Terminate()
		signal.Reset(sig)
		unix.Kill(os.Getpid(), sig.(syscall.Signal))
	}()
}

// drain fails the tasks that have not started with ErrClosed, those in
// the queue and those sent to a worker but waiting there, then closes the
// pool, which waits for the running ones.
func (p *Pool) drain() {
	p.mu.Lock()
	p.closing = true
	queue := p.queue
	p.queue = nil
	for w := range p.workers {
		if w.proc == nil {
			continue
		}
		// Task IDs grow in the order tasks are sent; a worker runs them in
		// that order, so those past the one it started last are waiting.
		last := w.proc.Slot.Finished()
		if id, _, ok := w.proc.Slot.Started(); ok {
			last = max(last, id)
		}
		for _, j := range w.inflight {
			if j.id > last && !j.dropped {
				// Answered now; the worker skips it when it gets there, and
				// its result, which must still arrive in order, is dropped.
				j.dropped = true
				w.cancels = append(w.cancels, j.id)
				queue = append(queue, j)
			}
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, j := range queue {
		j.failAll(ErrClosed)
	}
	p.Close()
}
