package mproc

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// ShutdownOnSignal makes the pool stop on SIGINT or SIGTERM, as a Ctrl-C
// should. The first signal stops new tasks: inputs not started never run,
// the running tasks finish, and each call returns what finished along with
// an *InterruptedError (errors.Is(err, ErrInterrupted)) that names the
// signal and counts the inputs that did not run; then the pool closes, and
// later calls fail with ErrClosed saying why. A second signal kills the
// workers at once and ends the program by that signal, as if no handler
// were installed.
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
		p.log.Info("mproc: stopping the pool: running tasks finish, the others do not run", "signal", sig)
		p.interrupt(sig)
		go p.Close()
		select {
		case sig = <-ch:
		case <-p.finished:
			return
		}
		p.log.Info("mproc: killing the workers and exiting", "signal", sig)
		p.die(sig.(syscall.Signal))
	}()
}

// interrupt stops the pool for signal sig: no job that has not started
// runs, those queued in the pool and those a worker holds and has not
// started (taken back, see Pool.steal), and their calls are told so.
func (p *Pool) interrupt(sig os.Signal) {
	p.mu.Lock()
	p.closing = true
	p.interrupted = sig
	notRun := p.takeAll()
	for w := range p.workers {
		if w.proc == nil {
			continue
		}
		// The first may not have started either: a worker gives back
		// only what it has not started.
		for _, j := range w.inflight {
			if !j.stealing {
				j.stealing = true
				w.steals = append(w.steals, j.id)
			}
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	skip(notRun)
}

// die kills the workers and ends this process by sig. It holds p.mu to
// the end, so that no call completes meanwhile and lets main return and
// exit 0 before the signal is raised.
func (p *Pool) die(sig syscall.Signal) {
	p.stopStarts()
	p.mu.Lock()
	for w := range p.workers {
		if w.proc != nil {
			w.proc.Kill()
		}
	}
	signal.Reset(sig)
	unix.Kill(os.Getpid(), sig)
	select {} // the signal ends the process
}
