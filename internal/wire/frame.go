package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
)

// The codec stream on a control socket travels in frames: a magic byte, the
// payload's length and CRC-32C (both little-endian uint32), the payload. A
// frame is what one flush sends, cut at MaxFrame. A reader that meets a bad
// magic byte, an impossible length or a wrong checksum stops at once with a
// *FrameError instead of waiting for bytes that will never come or handing
// corrupted data to the decoder.
const (
	frameMagic  = 0xF5
	frameHeader = 1 + 4 + 4
	// MaxFrame bounds a frame's payload; larger writes span several frames.
	MaxFrame = 1 << 20
)

// The checksum is CRC-32C. The hardware path of hash/crc32 needs tables
// that take 0.1 to 0.4 ms to build, the first time anything asks for the
// Castagnoli polynomial: at init, that would delay every worker's start.
// Instead, the first FrameWriter or FrameReader builds them on a goroutine
// of its own; until they are ready, frames under hwMin bytes are summed
// with a plain table, built at init in about a microsecond, and larger
// ones wait for the hardware tables.
var (
	plainTable = makePlainTable()
	hwTable    atomic.Pointer[crc32.Table]
	warmOnce   sync.Once
)

const hwMin = 4 << 10

func makePlainTable() *crc32.Table {
	t := new(crc32.Table)
	for i := range t {
		crc := uint32(i)
		for range 8 {
			if crc&1 == 1 {
				crc = crc>>1 ^ crc32.Castagnoli
			} else {
				crc >>= 1
			}
		}
		t[i] = crc
	}
	return t
}

// warmChecksum starts building the hardware tables, once per process.
func warmChecksum() {
	warmOnce.Do(func() {
		go func() { hwTable.Store(crc32.MakeTable(crc32.Castagnoli)) }()
	})
}

// update returns crc updated with the CRC-32C of p.
func update(crc uint32, p []byte) uint32 {
	t := hwTable.Load()
	if t == nil {
		if len(p) < hwMin {
			return crc32.Update(crc, plainTable, p)
		}
		t = crc32.MakeTable(crc32.Castagnoli) // or wait for warmChecksum's
	}
	return crc32.Update(crc, t, p)
}

// A FrameError reports a frame that is not one: the stream is corrupted or
// was cut short, and the connection cannot be used any more.
type FrameError struct {
	Offset    int64 // of the frame in the stream
	Msg       string
	Truncated bool // the stream ended inside the frame
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("wire: bad frame at byte %d: %s", e.Offset, e.Msg)
}

// A FrameWriter buffers what is written to it and sends it as frames on
// Flush, or whenever a frame is full.
type FrameWriter struct {
	w      io.Writer
	buf    []byte // header room, then the pending payload
	frames uint64 // frames sent
	files  []int  // descriptors to pass with the next frame (AttachFiles)

	arenaOK bool   // large writes may go through an arena (UseArena)
	ar      *arena // the arena, once made

	bufs [][]byte // scratch for writeDirect
}

// NewFrameWriter returns a FrameWriter sending frames to w.
//
// If w is a socket, NewFrameWriter raises its send buffer to 4 MiB (the
// kernel caps it at net.core.wmem_max): a Unix stream socket holds no more
// than that in flight, and with the default of about 200 KiB a large
// payload crosses in hundreds of rounds of the writer blocking and the
// reader waking. It is a limit, not memory set aside.
func NewFrameWriter(w io.Writer) *FrameWriter {
	warmChecksum()
	raiseSendBuffer(w)
	return &FrameWriter{w: w, buf: make([]byte, frameHeader, frameHeader+64<<10)}
}

// sendBuffer is the send buffer NewFrameWriter asks for on a socket.
const sendBuffer = 4 << 20

// raiseSendBuffer raises the send buffer of w to sendBuffer if w is a
// socket with a smaller one; it leaves anything else alone.
func raiseSendBuffer(w io.Writer) {
	sc, ok := w.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		cur, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		// Linux reports twice the size asked for: its bookkeeping.
		if err == nil && cur < 2*sendBuffer {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, sendBuffer)
		}
	})
}

// directMin is the size from which Write sends a caller's bytes straight
// from its slice (with writev) instead of copying them into the buffer.
const directMin = 64 << 10

// Write buffers p, sending each frame it fills. Large writes are sent
// straight from p, together with what is buffered, without a copy.
func (f *FrameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if f.arenaOK && len(p) >= arenaMin {
			sent, err := f.writeArena(p)
			if err != nil {
				return n - len(p), err
			}
			if sent {
				return n, nil
			}
		}
		k := min(MaxFrame-f.Buffered(), len(p))
		if k >= directMin {
			m, err := f.writeDirect(p)
			p = p[m:]
			if err != nil {
				return n - len(p), err
			}
			continue
		}
		f.buf = append(f.buf, p[:k]...)
		p = p[k:]
		if f.Buffered() == MaxFrame {
			if err := f.Flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// writeDirect sends what is buffered and a prefix of p as one frame with
// one writev, p's bytes straight from the caller's memory, and returns how
// much of p it sent. One frame per writev keeps the checksum just ahead of
// the kernel's copy: both read p from the cache, and the reader gets the
// first bytes without waiting for a batch to be summed.
func (f *FrameWriter) writeDirect(p []byte) (int, error) {
	payload := f.buf[frameHeader:]
	k := min(MaxFrame-len(payload), len(p))
	f.buf[0] = frameMagic
	binary.LittleEndian.PutUint32(f.buf[1:], uint32(len(payload)+k))
	binary.LittleEndian.PutUint32(f.buf[5:], update(update(0, payload), p[:k]))
	f.bufs = append(f.bufs[:0], f.buf, p[:k])
	err := f.send(f.bufs)
	clear(f.bufs[:2]) // they point into the caller's memory
	f.buf = f.buf[:frameHeader]
	if err != nil {
		return 0, err
	}
	f.frames++
	return k, nil
}

// A RightsWriter writes several buffers at once and passes descriptors
// with their first byte (SCM_RIGHTS), as sock.Conn does. A FrameWriter on
// one can carry open files (codec.FileWriter).
type RightsWriter interface {
	WritevRights(bufs [][]byte, fds []int) (int, error)
}

// AttachFiles hands over descriptors to pass with the next frame sent,
// which holds the bytes buffered now and those written next, so they reach
// the reader no later than those bytes (codec.FileWriter). The FrameWriter
// closes them once sent, or when sending fails. It refuses them, closing
// them, unless it writes to a RightsWriter.
func (f *FrameWriter) AttachFiles(fds []int) error {
	if _, ok := f.w.(RightsWriter); !ok {
		closeAll(fds)
		return fmt.Errorf("wire: %T cannot pass descriptors", f.w)
	}
	f.files = append(f.files, fds...)
	return nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// send writes bufs, with the pending descriptors if there are any.
func (f *FrameWriter) send(bufs [][]byte) error {
	if len(f.files) > 0 {
		fds := f.files
		f.files = nil
		_, err := f.w.(RightsWriter).WritevRights(bufs, fds)
		closeAll(fds)
		return err
	}
	if len(bufs) == 1 {
		_, err := f.w.Write(bufs[0])
		return err
	}
	if vw, ok := f.w.(VectorWriter); ok {
		_, err := vw.Writev(bufs)
		return err
	}
	for _, b := range bufs {
		if _, err := f.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// A VectorWriter writes several buffers at once, with one writev system
// call when it can, as sock.Conn does. A FrameWriter on one sends a large
// write's header and payload together without copying the payload.
type VectorWriter interface {
	Writev(bufs [][]byte) (int, error)
}

// Buffered returns the number of bytes written and not yet sent.
func (f *FrameWriter) Buffered() int { return len(f.buf) - frameHeader }

// Pending returns the bytes written and not yet sent, which the next
// Flush sends as frame number Frames(). The slice is valid until the next
// Write or Flush.
func (f *FrameWriter) Pending() []byte { return f.buf[frameHeader:] }

// Frames returns the number of frames sent so far.
func (f *FrameWriter) Frames() uint64 { return f.frames }

// Flush sends what is buffered as one frame.
func (f *FrameWriter) Flush() error {
	payload := f.buf[frameHeader:]
	if len(payload) == 0 {
		return nil
	}
	f.buf[0] = frameMagic
	binary.LittleEndian.PutUint32(f.buf[1:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(f.buf[5:], update(0, payload))
	var err error
	if len(f.files) == 0 {
		_, err = f.w.Write(f.buf)
	} else {
		f.bufs = append(f.bufs[:0], f.buf)
		err = f.send(f.bufs)
		f.bufs[0] = nil
	}
	f.buf = f.buf[:frameHeader]
	if err == nil {
		f.frames++
	}
	return err
}

// A FrameReader reads the payloads of frames as one stream.
type FrameReader struct {
	r      *bufio.Reader
	files  fileTaker // the underlying reader, if it receives descriptors
	buf    []byte    // the current frame's payload, checked
	off    int       // read so far from buf
	pos    int64     // offset in the stream of the next frame
	hdr    [frameHeader]byte
	frames uint64 // frames read whole

	rest   func(frame uint64) []byte // see OnEnd
	rested bool

	// The writer's arena, once announced, and the arena frame whose
	// header was read last (arSize 0: none).
	ar     *arena
	arOff  uint64
	arEnd  uint64
	arSize uint32
}

// OnEnd sets rest to be called once, when the stream ends between frames
// or inside one: if it returns the payload of the frame the stream ended
// before (frame counts the frames read whole), the reader serves it as
// that frame, then the end. A worker's parent uses it to recover what the
// worker had written but not sent when it died (spawn.Slot.Stashed).
func (f *FrameReader) OnEnd(rest func(frame uint64) []byte) { f.rest = rest }

// end handles the end of the stream, err being what reading said: it
// serves the payload rest gives, if any, or returns err.
func (f *FrameReader) end(err error) error {
	var fe *FrameError
	ended := errors.Is(err, io.EOF) || errors.As(err, &fe) && fe.Truncated
	if f.rest == nil || f.rested || !ended {
		return err
	}
	f.rested = true
	p := f.rest(f.frames)
	if len(p) == 0 {
		return err
	}
	f.buf, f.off = p, 0
	f.frames++
	return nil
}

// NewFrameReader returns a FrameReader reading frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	warmChecksum()
	ft, _ := r.(fileTaker)
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10), files: ft}
}

type fileTaker interface {
	TakeFiles(n int) ([]int, error)
}

// TakeFiles returns the next n descriptors passed with the stream
// (codec.FileReader), which the caller then owns; a frame's descriptors
// arrive with its first byte or earlier, so they are there once the bytes
// that refer to them have been read.
func (f *FrameReader) TakeFiles(n int) ([]int, error) {
	if f.files == nil {
		return nil, errors.New("wire: the stream cannot carry descriptors")
	}
	return f.files.TakeFiles(n)
}

// Read reads payload bytes, checking each frame whole before it hands out
// any of it. It returns io.EOF at the end of the stream between frames, and
// a *FrameError for a bad or truncated frame.
func (f *FrameReader) Read(p []byte) (int, error) {
	if f.off == len(f.buf) && len(p) >= directMin && !f.rested {
		// A frame that fits in p is read straight into it and checked
		// there; p is scratch space until the checksum matches.
		size, err := f.header()
		if err != nil {
			if err = f.end(err); err != nil {
				return 0, err
			}
		} else if int(size) <= len(p) {
			if err := f.payload(p[:size]); err != nil {
				if err = f.end(err); err != nil {
					return 0, err
				}
			} else {
				f.frames++
				return int(size), nil
			}
		} else {
			if cap(f.buf) < int(size) {
				f.buf = make([]byte, size)
			}
			f.buf = f.buf[:size]
			f.off = 0
			if err := f.payload(f.buf); err != nil {
				f.buf = f.buf[:0]
				if err = f.end(err); err != nil {
					return 0, err
				}
			} else {
				f.frames++
			}
		}
	}
	for f.off == len(f.buf) {
		if f.rested {
			return 0, io.EOF // the stream ended; what it lacked was served
		}
		if err := f.next(); err != nil {
			if err = f.end(err); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, f.buf[f.off:])
	f.off += n
	return n, nil
}

func (f *FrameReader) next() error {
	size, err := f.header()
	if err != nil {
		return err
	}
	if cap(f.buf) < int(size) {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if err := f.payload(f.buf); err != nil {
		f.buf, f.off = f.buf[:0], 0
		return err
	}
	f.off = 0
	f.frames++
	return nil
}

// header reads and checks the next frame's header, keeping its checksum
// for payload, and returns the payload's length.
func (f *FrameReader) header() (uint32, error) {
	for {
		h := &f.hdr
		at := f.pos
		if n, err := io.ReadFull(f.r, h[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, &FrameError{at, fmt.Sprintf("stream ends inside a frame header (%d of %d bytes)", n, frameHeader), true}
			}
			return 0, err
		}
		size := binary.LittleEndian.Uint32(h[1:])
		switch h[0] {
		case frameMagic:
			if size == 0 || size > MaxFrame {
				return 0, &FrameError{Offset: at, Msg: fmt.Sprintf("payload length %d, want 1 to %d", size, MaxFrame)}
			}
			return size, nil
		case announceMagic:
			if err := f.mapAnnounced(at); err != nil {
				return 0, err
			}
			f.pos += frameHeader
			continue
		case arenaMagic:
			if size == 0 || size > arenaMax {
				return 0, &FrameError{Offset: at, Msg: fmt.Sprintf("arena payload length %d, want 1 to %d", size, arenaMax)}
			}
			if err := f.readArenaFrame(at, size); err != nil {
				return 0, err
			}
			return size, nil
		}
		return 0, &FrameError{Offset: at, Msg: fmt.Sprintf("magic byte %#02x, want %#02x", h[0], frameMagic)}
	}
}

// payload reads the payload of the frame whose header was just read into
// dst (of the length the header gives) and checks it.
func (f *FrameReader) payload(dst []byte) error {
	if f.arSize > 0 {
		f.copyArena(dst)
		f.pos += arenaFrame
		return nil
	}
	at := f.pos
	if n, err := io.ReadFull(f.r, dst); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &FrameError{at, fmt.Sprintf("stream ends inside a frame (%d of %d payload bytes)", n, len(dst)), true}
		}
		return err
	}
	want := binary.LittleEndian.Uint32(f.hdr[5:])
	if sum := update(0, dst); sum != want {
		return &FrameError{Offset: at, Msg: fmt.Sprintf("checksum %#08x, want %#08x: the payload is corrupted", sum, want)}
	}
	f.pos += frameHeader + int64(len(dst))
	return nil
}
