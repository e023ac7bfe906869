package mproc

import (
	"sync"
	"time"
)

// progressEvery is the longest a call's progress goes unreported while it
// changes; progressStep, in hundredths of the inputs, the most it may
// advance between two reports.
const (
	progressEvery = 50 * time.Millisecond
	progressStep  = 100
)

// A reporter calls an OnProgress function for one call. The pool's
// goroutines note every change as results come (note); whenever the
// inputs finished have advanced by 1% of the total since the last
// snapshot, or progressEvery has passed, the change is kept as a snapshot,
// and the caller's goroutine reports the snapshots in order (flush). So a
// report comes at least every 1% however quickly results arrive, on the
// goroutine the documentation promises. The zero reporter does nothing.
type reporter struct {
	fn   func(Progress)
	step int // inputs between snapshots, 0 for an unknown total

	mu     sync.Mutex
	cur    Progress   // the progress now
	last   Progress   // as last kept
	lastAt time.Time  // when it was kept
	snaps  []Progress // kept and not reported yet

	timer *time.Timer // the caller's: keeps cur once progressEvery has passed
	armed bool
}

func newReporter(fn func(Progress), total int) *reporter {
	r := &reporter{fn: fn, cur: Progress{Total: total}, last: Progress{Total: total}, lastAt: time.Now()}
	if total > 0 {
		r.step = max(1, total/progressStep)
	}
	return r
}

// note records the progress now; any goroutine may call it.
func (r *reporter) note(pr Progress) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur = pr
	moved := pr.Done + pr.Failed - r.last.Done - r.last.Failed
	if r.step > 0 && moved >= r.step || moved > 0 && time.Since(r.lastAt) >= progressEvery {
		r.keepLocked()
	}
}

func (r *reporter) keepLocked() {
	r.snaps = append(r.snaps, r.cur)
	r.last, r.lastAt = r.cur, time.Now()
}

// flush reports the snapshots kept, on the caller's goroutine, and sets
// the timer for a change not kept yet.
func (r *reporter) flush() {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	snaps := r.snaps
	r.snaps = nil
	waiting := r.cur != r.last
	wait := progressEvery - time.Since(r.lastAt)
	r.mu.Unlock()
	for _, pr := range snaps {
		r.fn(pr)
	}
	if waiting && !r.armed {
		if r.timer == nil {
			r.timer = time.NewTimer(wait)
		} else {
			r.timer.Reset(wait)
		}
		r.armed = true
	}
}

// due returns a channel that receives when a change not kept has waited
// progressEvery; nil (never) when none waits.
func (r *reporter) due() <-chan time.Time {
	if !r.armed {
		return nil
	}
	return r.timer.C
}

// tick keeps and reports the change that waited for the timer.
func (r *reporter) tick() {
	r.armed = false
	r.mu.Lock()
	if r.cur != r.last {
		r.keepLocked()
	}
	r.mu.Unlock()
	r.flush()
}

// final reports what is left to report, and the progress at the end
// whether or not it changed since the last report.
func (r *reporter) final() {
	if r.fn == nil {
		return
	}
	r.stop()
	r.mu.Lock()
	if len(r.snaps) == 0 || r.cur != r.snaps[len(r.snaps)-1] {
		r.keepLocked()
	}
	snaps := r.snaps
	r.snaps = nil
	r.mu.Unlock()
	for _, pr := range snaps {
		r.fn(pr)
	}
}

// stop stops the timer.
func (r *reporter) stop() {
	if r.armed {
		r.timer.Stop()
		r.armed = false
	}
}
