package sock

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"
)

// A Record is the unit queues and pipes exchange on a Conn: a kind, a
// number whose meaning the kind gives, a payload and the descriptors
// passed with it.
//
// On the wire: kind (1 byte), the count of descriptors (1 byte), arg and
// the payload's length (uvarints), the payload; the descriptors travel
// with the record's first byte.
type Record struct {
	Kind  byte
	Arg   uint64
	Data  []byte
	Files []int
}

// growChunk is the most a RecordReader allocates for a payload before its
// bytes arrive.
const growChunk = 1 << 20

// MaxRecord bounds a record's payload: a peer announcing more is broken or
// hostile, and the reader stops rather than allocate it.
const MaxRecord = 1 << 30

// A RecordWriter writes records to a Conn, each with one system call when
// the socket's buffer has room. It is safe for concurrent use: records are
// written whole, one at a time.
type RecordWriter struct {
	c   *Conn
	mu  sync.Mutex
	hdr [2 + 2*binary.MaxVarintLen64]byte
	bb  [2][]byte
}

// NewRecordWriter returns a RecordWriter on c.
func NewRecordWriter(c *Conn) *RecordWriter { return &RecordWriter{c: c} }

// Write sends r. Its descriptors are duplicated into the receiver; Write
// does not close them. When Write returns, the whole record is in the
// kernel: the process may exit and the peer still reads it.
func (w *RecordWriter) Write(r Record) error {
	if len(r.Files) > 250 {
		return fmt.Errorf("sock: a record passes at most 250 descriptors, not %d", len(r.Files))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hdr[:0]
	h = append(h, r.Kind, byte(len(r.Files)))
	h = binary.AppendUvarint(h, r.Arg)
	h = binary.AppendUvarint(h, uint64(len(r.Data)))
	if len(r.Data) == 0 && len(r.Files) == 0 {
		_, err := w.c.Write(h)
		return err
	}
	w.bb[0], w.bb[1] = h, r.Data
	bufs := w.bb[:]
	if len(r.Data) == 0 {
		bufs = bufs[:1]
	}
	_, err := w.c.WritevRights(bufs, r.Files)
	w.bb[1] = nil
	return err
}

// A RecordReader reads records from a Conn. A Read interrupted by the
// Conn's read deadline keeps what it had read, and the next Read goes on
// with the same record: a deadline loses nothing.
type RecordReader struct {
	c  *Conn
	br *bufio.Reader

	// The record being read.
	started bool
	rec     Record
	nfds    int
	size    int
	got     int
}

// NewRecordReader returns a RecordReader on c.
func NewRecordReader(c *Conn) *RecordReader {
	return &RecordReader{c: c, br: bufio.NewReaderSize(c, 64<<10)}
}

// Read returns the next record; its Files are the caller's to close. It
// returns io.EOF when the stream ends between records, and
// io.ErrUnexpectedEOF when it ends inside one.
func (r *RecordReader) Read() (Record, error) {
	if !r.started {
		if err := r.header(); err != nil {
			return Record{}, err
		}
	}
	for r.got < r.size {
		if len(r.rec.Data) == cap(r.rec.Data) {
			grown := make([]byte, len(r.rec.Data), min(r.size, 2*cap(r.rec.Data)))
			copy(grown, r.rec.Data)
			r.rec.Data = grown
		}
		n, err := r.br.Read(r.rec.Data[r.got:cap(r.rec.Data)])
		r.got += n
		r.rec.Data = r.rec.Data[:r.got]
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Record{}, err
		}
	}
	if r.nfds > 0 {
		fds, err := r.c.TakeFiles(r.nfds)
		if err != nil {
			return Record{}, err
		}
		r.rec.Files = fds
	}
	rec := r.rec
	r.started, r.rec = false, Record{}
	return rec, nil
}

// header reads a record's header, or waits for it whole: a deadline in
// the middle leaves the bytes read in the buffer.
func (r *RecordReader) header() error {
	need := 4 // kind, count, and two one-byte uvarints at least
	for {
		b, err := r.br.Peek(need)
		if len(b) >= 2 {
			if done, size, arg, n := parseHeader(b); done {
				if size > MaxRecord {
					return fmt.Errorf("sock: record of %d bytes, more than %d: the stream is corrupted", size, MaxRecord)
				}
				r.br.Discard(n)
				r.rec = Record{Kind: b[0], Arg: arg}
				r.nfds = int(b[1])
				r.size, r.got = int(size), 0
				if size > 0 {
					// Grown as bytes arrive: a peer that announces a
					// gigabyte and sends nothing costs nothing.
					r.rec.Data = make([]byte, 0, min(size, growChunk))
				}
				r.started = true
				return nil
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				return io.ErrUnexpectedEOF
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return errors.New("sock: a record header longer than the buffer: the stream is corrupted")
			}
			return err
		}
		need++
	}
}

// parseHeader parses a complete header at the start of b.
func parseHeader(b []byte) (ok bool, size, arg uint64, n int) {
	arg, k := binary.Uvarint(b[2:])
	if k <= 0 {
		return false, 0, 0, 0
	}
	size, m := binary.Uvarint(b[2+k:])
	if m <= 0 {
		return false, 0, 0, 0
	}
	return true, size, arg, 2 + k + m
}

// CloseFiles closes descriptors, as a record's receiver does with those it
// does not keep.
func CloseFiles(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Pair returns the two ends of a new socketpair.
func Pair(name string) (a, b *Conn, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	a, err = NewConn(fds[0], name)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err = NewConn(fds[1], name)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}
