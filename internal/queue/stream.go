package queue

import (
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/sock"
	"github.com/mproc-go/mproc/internal/wire"
)

// An envelope is one message on a queue's connection: a record kind, a
// number, an item for P and I, a connection for N.
type envelope[T any] struct {
	Kind byte
	Arg  uint64
	V    T
	F    *os.File
}

// A stream is a codec stream each way on one connection, so that types are
// described once per connection, not once per item: an item of an int
// costs a few bytes and well under a microsecond, where a self-contained
// message costs 166 bytes and 3 µs (BenchmarkEncodeDecodeInt).
type stream[T any] struct {
	c   *sock.Conn
	dec *codec.Decoder // the reading goroutine's

	wmu sync.Mutex
	fw  *wire.FrameWriter
	enc *codec.Encoder
}

func newStream[T any](c *sock.Conn) *stream[T] {
	fw := wire.NewFrameWriter(c)
	return &stream[T]{c: c, fw: fw, enc: codec.NewEncoder(fw), dec: codec.NewDecoder(wire.NewFrameReader(c))}
}

// send writes messages and flushes them with one write: when it returns,
// they are in the kernel. On an *codec.UnsupportedError, ms[:sent] were
// sent, ms[sent] was not, nor any after it, and the stream is intact.
func (s *stream[T]) send(ms ...envelope[T]) (sent int, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for i := range ms {
		if err := s.enc.Encode(&ms[i]); err != nil {
			if i > 0 {
				if ferr := s.fw.Flush(); ferr != nil {
					return 0, ferr
				}
			}
			return i, err
		}
	}
	return len(ms), s.fw.Flush()
}

// isRefusal reports an encoder's refusal of a value, after which the
// stream is intact.
func isRefusal(err error) bool {
	var ue *codec.UnsupportedError
	return errors.As(err, &ue)
}

// recv reads the next message and the files its value holds.
func (s *stream[T]) recv() (envelope[T], []*os.File, error) {
	var m envelope[T]
	err := s.dec.Decode(&m)
	return m, s.dec.Opened(), err
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
