// Package stream is a connection between two processes carrying a codec
// stream each way, so that types are described once per connection, not
// once per message, with open files passed as handles. Queues and shared
// values talk over it.
package stream

import (
	"errors"
	"os"
	"sync"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/sock"
	"github.com/mproc-go/mproc/internal/wire"
)

// A Stream carries messages of type M each way on one connection. An
// int-sized message costs a few bytes and well under a microsecond, where
// a self-contained one (codec.MarshalFiles) costs 166 bytes and 2 µs to
// encode and decode.
type Stream[M any] struct {
	c   *sock.Conn
	dec *codec.Decoder // the reading goroutine's

	wmu sync.Mutex
	fw  *wire.FrameWriter
	enc *codec.Encoder
}

// New returns a Stream on c, which it then owns.
func New[M any](c *sock.Conn) *Stream[M] {
	fw := wire.NewFrameWriter(c)
	return &Stream[M]{c: c, fw: fw, enc: codec.NewEncoder(fw), dec: codec.NewDecoder(wire.NewFrameReader(c))}
}

// Conn returns the connection.
func (s *Stream[M]) Conn() *sock.Conn { return s.c }

// Send writes messages and flushes them with one write: when it returns,
// they are in the kernel. On an *codec.UnsupportedError, ms[:sent] were
// sent, ms[sent] was not, nor any after it, and the stream is intact.
func (s *Stream[M]) Send(ms ...M) (sent int, err error) {
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

// IsRefusal reports an encoder's refusal of a value, after which the
// stream is intact.
func IsRefusal(err error) bool {
	var ue *codec.UnsupportedError
	return errors.As(err, &ue)
}

// Recv reads the next message and the files it holds, which are the
// message's. One goroutine at a time may call it.
func (s *Stream[M]) Recv() (M, []*os.File, error) {
	var m M
	err := s.dec.Decode(&m)
	return m, s.dec.Opened(), err
}

// CloseAll closes files.
func CloseAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
