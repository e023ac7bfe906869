package codec

import (
	"encoding/binary"
	"fmt"
	"sync"
)

var encoderPool = sync.Pool{New: func() any { return new(encoder) }}

// Marshal returns the encoding of v: a stream header and one message, as a
// new Encoder would write it. Decode it with Unmarshal, or with a Decoder.
//
// If v, or anything it reaches, cannot be sent, Marshal returns an
// *UnsupportedError for the first such part (Check lists them all). A value
// nested more than DefaultMaxDepth levels deep is a *DepthError; send it
// with an Encoder made with a larger MaxDepth.
func Marshal(v any) ([]byte, error) {
	e := encoderPool.Get().(*encoder)
	defer func() {
		e.reset()
		encoderPool.Put(e)
	}()
	e.init(buildOptions(nil))
	e.begin(1 << 14)
	if err := e.encodeMessage(v); err != nil {
		return nil, explain(err, v, false)
	}
	n := e.messageLen()
	out := make([]byte, 0, len(magic)+2+len(fingerprint())+binary.MaxVarintLen64+n+e.outsideLen())
	out = appendHeader(out)
	out = binary.AppendUvarint(out, uint64(n))
	out = e.appendMessage(out)
	for _, b := range e.outside {
		out = append(out, b...)
	}
	return out, nil
}

// reset drops the stream state so a pooled encoder starts a new stream,
// keeping the buffers if they are small.
func (e *encoder) reset() {
	clear(e.types)
	clear(e.funcs)
	e.funcFew = [len(e.funcFew)]funcMemo{}
	e.memo.clear()
	clear(e.memoAlt)
	e.memoFew = [len(e.memoFew)]memoKey{}
	e.nmemo = 0
	if cap(e.buf) > 1<<16 {
		e.buf = nil
	}
	clear(e.spans) // they point into the caller's memory
	e.spans = e.spans[:0]
	clear(e.outside)
	e.outside = e.outside[:0]
	clear(e.words)
	e.nwords = 0
	e.ranges = e.ranges[:0]
	clear(e.objs)
	e.objs = e.objs[:0]
	e.keyed = false
	e.typeFew = [len(e.typeFew)]typeMemo{}
}

// Unmarshal decodes data, the output of Marshal, into the value ptr points
// to. The rules are those of Decoder.Decode; data must hold exactly one
// message.
func Unmarshal(data []byte, ptr any) error {
	var d decoder
	return d.unmarshal(data, ptr)
}

func (d *decoder) unmarshal(data []byte, ptr any) error {
	d.init(buildOptions(nil))
	r := newReader(data, 0)
	if len(data) < len(magic) || string(data[:len(magic)]) != magic {
		return &DecodeError{Offset: 0, Msg: fmt.Sprintf("data does not start with the codec's magic %q: not codec output", magic)}
	}
	r.pos = len(magic)
	v, err := r.uvarint("format version")
	if err != nil {
		return err
	}
	at := r.offset()
	fp, err := r.bytes(0, "")
	if err == nil {
		var n int
		if n, err = r.length("fingerprint length", 1); err == nil {
			fp, err = r.bytes(n, "fingerprint")
		}
	}
	if err != nil {
		return err
	}
	if err := d.checkHeader(v, string(fp), at); err != nil {
		return err
	}
	at = r.offset()
	n, err := r.uvarint("message length")
	if err != nil {
		return err
	}
	if n > uint64(r.remaining()) {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("message length %d, but %d bytes follow (Unmarshal takes exactly one message)", n, r.remaining())}
	}
	end := r.pos + int(n)
	d.mem, d.limit = data[end:], len(data)-end
	if err := d.decodeMessage(data[r.pos:end], r.pos, ptr); err != nil {
		return err
	}
	if d.next < len(d.bufs) {
		return &DecodeError{Offset: end, Msg: fmt.Sprintf("the message has %d out-of-band buffers, its value refers to %d", len(d.bufs), d.next)}
	}
	if len(d.mem) > 0 {
		return &DecodeError{Offset: at, Msg: fmt.Sprintf("message length %d, then %d bytes past the message and its buffers (Unmarshal takes exactly one message)", n, len(d.mem))}
	}
	return nil
}
