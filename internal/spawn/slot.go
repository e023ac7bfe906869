package spawn

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe" // for go:linkname too

	"golang.org/x/sys/unix"
)

// A Slot is memory shared by a worker and its parent. The worker records in
// it which task and which item it is running; the parent reads it after the
// worker died to tell which task killed it and which never started.
// Updating it costs an atomic store, not a message.
//
// After its first page comes the stash: a copy of what the worker has
// written to its control stream and not yet sent (see Stash). The kernel
// keeps the memory while the parent maps it, so results a worker buffered
// outlive a crash. Pages of the stash cost nothing until written.
type Slot struct {
	mem []byte
}

const (
	slotPage  = 4096
	stashSize = 1 << 20 // wire.MaxFrame: a FrameWriter never holds more
	slotSize  = slotPage + stashSize
)

// Field offsets in the slot; each is an aligned 64-bit word.
const (
	offStarted  = 0  // ID of the task the worker started last
	offItem     = 8  // index within that task of the item being run
	offFinished = 16 // ID of the task the worker finished last
	offStartNs  = 24 // CLOCK_MONOTONIC time the last task started, in ns
	offBeats    = 32 // heartbeats so far
	offStash    = 40 // the stash: frame index << stashLenBits | bytes
)

const stashLenBits = 24

// Now returns the CLOCK_MONOTONIC time in nanoseconds, the clock a worker
// stamps its tasks with; it is the same clock in every process. It is the
// runtime's clock, read through the vDSO: a system call per task would
// cost about a microsecond.
func Now() int64 { return nanotime() }

//go:linkname nanotime runtime.nanotime
func nanotime() int64

func newSlot() (*Slot, *os.File, error) {
	fd, err := unix.MemfdCreate("mproc-slot", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "mproc-slot")
	if err := unix.Ftruncate(fd, slotSize); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("ftruncate memfd: %w", err)
	}
	s, err := mapSlot(fd)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return s, f, nil
}

func mapSlot(fd int) (*Slot, error) {
	mem, err := unix.Mmap(fd, 0, slotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap slot: %w", err)
	}
	return &Slot{mem: mem}, nil
}

func (s *Slot) word(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&s.mem[off]))
}

// Start records that the task with the given ID is starting.
func (s *Slot) Start(id uint64) {
	s.word(offItem).Store(0)
	s.word(offStartNs).Store(uint64(Now()))
	s.word(offStarted).Store(id)
}

// Started returns the ID of the task the worker started last and when (see
// Now), unless it has finished it.
func (s *Slot) Started() (id uint64, at int64, ok bool) {
	id = s.word(offStarted).Load()
	at = int64(s.word(offStartNs).Load())
	if id == 0 || id == s.word(offFinished).Load() {
		return 0, 0, false
	}
	return id, at, true
}

// Beat records a heartbeat.
func (s *Slot) Beat() { s.word(offBeats).Add(1) }

// Beats returns the number of heartbeats so far.
func (s *Slot) Beats() uint64 { return s.word(offBeats).Load() }

// Item returns the word that holds the index of the item being run, for a
// task runner to update as it goes.
func (s *Slot) Item() *atomic.Uint64 { return s.word(offItem) }

// Finish records that the task with the given ID has finished running.
func (s *Slot) Finish(id uint64) { s.word(offFinished).Store(id) }

// Running reports the task and item the worker was running, and ok=false
// when it was between tasks.
func (s *Slot) Running() (id uint64, item int, ok bool) {
	started, finished := s.word(offStarted).Load(), s.word(offFinished).Load()
	if started == 0 || started == finished {
		return 0, 0, false
	}
	return started, int(s.word(offItem).Load()), true
}

// Stash records that the first len(pending) bytes of the stash hold the
// payload of the worker's frame number frame (counting from 0), not sent
// yet. It copies pending[from:] only, what the stash does not hold yet.
func (s *Slot) Stash(frame uint64, pending []byte, from int) {
	if len(pending) > stashSize || from > len(pending) {
		return // cannot happen: a FrameWriter holds at most MaxFrame
	}
	copy(s.mem[slotPage+from:], pending[from:])
	s.word(offStash).Store(frame<<stashLenBits | uint64(len(pending)))
}

// Stashed returns a copy of the stash if it holds the payload of frame
// number frame, nil otherwise; the parent calls it once the worker is
// gone, for the frame its stream ended before.
func (s *Slot) Stashed(frame uint64) []byte {
	w := s.word(offStash).Load()
	n := int(w & (1<<stashLenBits - 1))
	if w>>stashLenBits != frame || n == 0 || n > stashSize {
		return nil
	}
	return append([]byte(nil), s.mem[slotPage:slotPage+n]...)
}

// Finished returns the ID of the task the worker finished last.
func (s *Slot) Finished() uint64 { return s.word(offFinished).Load() }

func (s *Slot) close() {
	if s.mem != nil {
		unix.Munmap(s.mem)
		s.mem = nil
	}
}
