package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A FrameError reports a frame that is not one: the stream is corrupted or
// was cut short, and the connection cannot be used any more.
type FrameError struct {
	Offset int64 // of the frame in the stream
	Msg    string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("wire: bad frame at byte %d: %s", e.Offset, e.Msg)
}

// A FrameWriter buffers what is written to it and sends it as frames on
// Flush, or whenever a frame is full.
type FrameWriter struct {
	w   io.Writer
	buf []byte // header room, then the pending payload
}

// NewFrameWriter returns a FrameWriter sending frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter {
	return &FrameWriter{w: w, buf: make([]byte, frameHeader, frameHeader+64<<10)}
}

// Write buffers p, sending each frame it fills.
func (f *FrameWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(MaxFrame-f.Buffered(), len(p))
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

// Buffered returns the number of bytes written and not yet sent.
func (f *FrameWriter) Buffered() int { return len(f.buf) - frameHeader }

// Flush sends what is buffered as one frame.
func (f *FrameWriter) Flush() error {
	payload := f.buf[frameHeader:]
	if len(payload) == 0 {
		return nil
	}
	f.buf[0] = frameMagic
	binary.LittleEndian.PutUint32(f.buf[1:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(f.buf[5:], crc32.Checksum(payload, castagnoli))
	_, err := f.w.Write(f.buf)
	f.buf = f.buf[:frameHeader]
	return err
}

// A FrameReader reads the payloads of frames as one stream.
type FrameReader struct {
	r   *bufio.Reader
	buf []byte // the current frame's payload, checked
	off int    // read so far from buf
	pos int64  // offset in the stream of the next frame
}

// NewFrameReader returns a FrameReader reading frames from r.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Read reads payload bytes, checking each frame whole before it hands out
// any of it. It returns io.EOF at the end of the stream between frames, and
// a *FrameError for a bad or truncated frame.
func (f *FrameReader) Read(p []byte) (int, error) {
	for f.off == len(f.buf) {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.buf[f.off:])
	f.off += n
	return n, nil
}

func (f *FrameReader) next() error {
	var h [frameHeader]byte
	at := f.pos
	if n, err := io.ReadFull(f.r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return &FrameError{at, fmt.Sprintf("stream ends inside a frame header (%d of %d bytes)", n, frameHeader)}
		}
		return err
	}
	if h[0] != frameMagic {
		return &FrameError{at, fmt.Sprintf("magic byte %#02x, want %#02x", h[0], frameMagic)}
	}
	size := binary.LittleEndian.Uint32(h[1:])
	if size == 0 || size > MaxFrame {
		return &FrameError{at, fmt.Sprintf("payload length %d, want 1 to %d", size, MaxFrame)}
	}
	if cap(f.buf) < int(size) {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if n, err := io.ReadFull(f.r, f.buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return &FrameError{at, fmt.Sprintf("stream ends inside a frame (%d of %d payload bytes)", n, size)}
		}
		return err
	}
	if sum := crc32.Checksum(f.buf, castagnoli); sum != binary.LittleEndian.Uint32(h[5:]) {
		return &FrameError{at, fmt.Sprintf("checksum %#08x, want %#08x: the payload is corrupted", sum, binary.LittleEndian.Uint32(h[5:]))}
	}
	f.off = 0
	f.pos += frameHeader + int64(size)
	return nil
}
