package wire

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Large writes through shared memory.
//
// A 64 MiB slice sent over the socket is copied by the kernel on each side
// and summed by CRC-32C on each side: those were 78% of a round trip's CPU
// time in a profile. A FrameWriter with an arena (UseArena) instead copies
// a write of arenaMin bytes or more into memory it shares with the reader —
// a memfd mapped once, prefaulted, and reused as a ring — and sends a small
// arena frame saying where the bytes are; the reader copies them out, into
// the decoder's own buffer, and hands the space back. Two memory copies,
// no system call per megabyte, no checksum: the bytes never leave this
// machine's memory. The arena is announced, its descriptor passed with the
// announcing frame (SCM_RIGHTS), the first time it is needed, sized for the
// largest write so far (twice it, rounded up to a power of two) and
// replaced by a larger one when a larger write comes once the old is
// drained. A write that does not fit in the free space goes through the
// socket as before, so a reader that stops reading never blocks a writer on
// the arena.
const (
	arenaMagic    = 0xF6 // header, then the payload's offset and end in the arena ring
	announceMagic = 0xF7 // header (length: 0), the arena's descriptor passed with it
	arenaFrame    = frameHeader + 16
	// arenaMin is the smallest write that goes through the arena.
	// Measured on the 2-core VM (a []byte echoed by a worker, 300 round
	// trips, two rounds alternating builds): with 128 KiB instead, writes
	// of 128-512 KiB ran 0.76-1.24 GB/s against the socket's 0.58-0.82,
	// but those of 1 and 4 MiB fell from 1.16-1.97 to 0.88-1.63 GB/s, for
	// a reason not found yet (the rings are the same by then); until it
	// is, the threshold stays where the large writes win.
	arenaMin = 1 << 20
	// arenaHead is the room before the ring for the reader's tail.
	arenaHead = 64
	arenaMax  = 1 << 30
)

// An arena is one side's mapping of a ring of shared memory. The writer
// owns head; the reader stores tail, the end of what it has copied out, in
// the arena's first word.
type arena struct {
	mem  []byte
	fd   int
	cap  uint64 // bytes in the ring
	head uint64 // the writer's: end of what it wrote (absolute)
}

func (a *arena) tail() *uint64 { return (*uint64)(unsafe.Pointer(&a.mem[0])) }

func (a *arena) ring() []byte { return a.mem[arenaHead:] }

func (a *arena) close() {
	if a == nil {
		return
	}
	unix.Munmap(a.mem)
	if a.fd >= 0 {
		unix.Close(a.fd)
	}
}

// newArena makes and prefaults an arena for a ring of size bytes.
func newArena(size uint64) (*arena, error) {
	fd, err := unix.MemfdCreate("mproc-arena", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	total := int(size) + arenaHead
	if err := unix.Ftruncate(fd, int64(total)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL)
	mem, err := unix.Mmap(fd, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Fault the pages in now, once, rather than in the middle of copies:
	// page faults, not copies, are what large transfers pay here.
	unix.Madvise(mem, unix.MADV_POPULATE_WRITE)
	return &arena{mem: mem, fd: fd, cap: size}, nil
}

// UseArena lets large writes go through shared memory; it needs a writer
// that passes descriptors (a RightsWriter), and does nothing otherwise.
func (f *FrameWriter) UseArena() {
	if _, ok := f.w.(RightsWriter); ok {
		f.arenaOK = true
	}
}

// CloseArena unmaps the writer's arena; the writer must not be used after.
func (f *FrameWriter) CloseArena() {
	f.ar.close()
	f.ar = nil
	f.arenaOK = false
}

// writeArena sends p through the arena and reports whether it could: false
// means nothing was sent, and p goes through the socket.
func (f *FrameWriter) writeArena(p []byte) (bool, error) {
	n := uint64(len(p))
	if n > arenaMax/2 {
		return false, nil
	}
	var announce bool
	if f.ar == nil || f.ar.cap < 2*n {
		if f.ar != nil && atomic.LoadUint64(f.ar.tail()) != f.ar.head {
			return false, nil // the old one is not drained yet
		}
		size := uint64(1) << bits.Len64(2*n-1)
		a, err := newArena(size)
		if err != nil {
			return false, nil
		}
		f.ar.close() // drained: the reader maps the new one next
		f.ar, announce = a, true
	}
	a := f.ar
	pos := a.head % a.cap
	gap := uint64(0)
	if pos+n > a.cap {
		gap = a.cap - pos
		pos = 0
	}
	if a.head+gap+n-atomic.LoadUint64(a.tail()) > a.cap {
		return false, nil // full: the reader is behind
	}
	parallelCopy(a.ring()[pos:], p)
	a.head += gap + n

	// One send: what was buffered, as a frame, the announcement if any,
	// then the arena frame.
	bufs := f.bufs[:0]
	if payload := f.buf[frameHeader:]; len(payload) > 0 {
		f.buf[0] = frameMagic
		binary.LittleEndian.PutUint32(f.buf[1:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(f.buf[5:], update(0, payload))
		bufs = append(bufs, f.buf)
		f.frames++
	}
	var hdr [frameHeader + arenaFrame]byte
	h := hdr[:0]
	if announce {
		dup, err := unix.FcntlInt(uintptr(a.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return false, err
		}
		f.files = append(f.files, dup)
		h = append(h, announceMagic, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	h = append(h, arenaMagic)
	h = binary.LittleEndian.AppendUint32(h, uint32(n))
	h = binary.LittleEndian.AppendUint32(h, 0)
	h = binary.LittleEndian.AppendUint64(h, pos)
	h = binary.LittleEndian.AppendUint64(h, a.head)
	bufs = append(bufs, h)
	err := f.send(bufs)
	clear(bufs)
	f.buf = f.buf[:frameHeader]
	if err != nil {
		return true, err
	}
	f.frames++
	return true, nil
}

// The reader's side.

// readArenaFrame reads the rest of an arena frame's header, whose first
// frameHeader bytes are in f.hdr, and returns where its payload is.
func (f *FrameReader) readArenaFrame(at int64, size uint32) error {
	var ext [16]byte
	if _, err := readFull(f, ext[:]); err != nil {
		return &FrameError{at, fmt.Sprintf("stream ends inside an arena frame header: %v", err), true}
	}
	if f.ar == nil {
		return &FrameError{Offset: at, Msg: "an arena frame before any arena was announced"}
	}
	off, end := binary.LittleEndian.Uint64(ext[:]), binary.LittleEndian.Uint64(ext[8:])
	if err := f.checkArena(at, off, size); err != nil {
		return err
	}
	f.arOff, f.arEnd, f.arSize = off, end, size
	return nil
}

// checkArena refuses an arena frame that does not lie inside the ring.
func (f *FrameReader) checkArena(at int64, off uint64, size uint32) error {
	if uint64(size) > f.ar.cap || off > f.ar.cap-uint64(size) {
		return &FrameError{Offset: at, Msg: fmt.Sprintf("arena frame of %d bytes at %d in an arena of %d", size, off, f.ar.cap)}
	}
	return nil
}

// mapAnnounced maps the arena whose descriptor came with an announcing
// frame.
func (f *FrameReader) mapAnnounced(at int64) error {
	if f.files == nil {
		return &FrameError{Offset: at, Msg: "an arena announced on a stream that cannot pass descriptors"}
	}
	fds, err := f.files.TakeFiles(1)
	if err != nil {
		return &FrameError{Offset: at, Msg: "an arena announced without its descriptor: " + err.Error()}
	}
	fd := fds[0]
	defer syscall.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Size <= arenaHead || st.Size > arenaMax+arenaHead {
		return &FrameError{Offset: at, Msg: fmt.Sprintf("an arena of %d bytes (%v)", st.Size, err)}
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return &FrameError{Offset: at, Msg: "mapping the announced arena: " + err.Error()}
	}
	f.ar.close()
	f.ar = &arena{mem: mem, fd: -1, cap: uint64(st.Size) - arenaHead}
	return nil
}

// copyArena copies the current arena frame's payload into dst and hands
// its space back to the writer.
func (f *FrameReader) copyArena(dst []byte) {
	parallelCopy(dst, f.ar.ring()[f.arOff:f.arOff+uint64(f.arSize)])
	atomic.StoreUint64(f.ar.tail(), f.arEnd)
	f.arSize = 0
}

// CloseArena unmaps the writer's arena this reader mapped.
func (f *FrameReader) CloseArena() {
	f.ar.close()
	f.ar = nil
}

func readFull(f *FrameReader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// parallelCopy copies src into dst, in halves on two goroutines when it is
// large: while one process copies, the other waits for it, so a second
// core is there to share the copy.
func parallelCopy(dst, src []byte) {
	n := min(len(dst), len(src))
	if n < parallelMin || runtime.GOMAXPROCS(0) < 2 {
		copy(dst, src[:n])
		return
	}
	half := n / 2 &^ 4095
	done := make(chan struct{})
	go func() {
		copy(dst[half:n], src[half:n])
		close(done)
	}()
	copy(dst[:half], src[:half])
	<-done
}

// parallelMin is the size from which parallelCopy uses two goroutines.
const parallelMin = 8 << 20
