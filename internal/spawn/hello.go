package spawn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"
	"runtime"
)

// helloSize is the size of the fixed-format hello a worker writes first on
// its control socket, before any codec stream: it lets the parent tell a
// worker that reached mproc.Main from a child running the user's main.
const helloSize = 4 + 2 + 2 + 4 + 8

var helloMagic = [4]byte{'M', 'P', 'R', 'C'}

// protocolVersion changes whenever the messages after the hello change.
const protocolVersion = 1

// hello is the first message on a control socket, sent by the worker.
type hello struct {
	Version     uint16
	Pid         int
	Fingerprint uint64
}

func (h hello) appendTo(b []byte) []byte {
	b = append(b, helloMagic[:]...)
	b = binary.LittleEndian.AppendUint16(b, h.Version)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Pid))
	return binary.LittleEndian.AppendUint64(b, h.Fingerprint)
}

var errBadHello = errors.New("bad hello")

func readHello(r io.Reader) (hello, error) {
	var b [helloSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return hello{}, err
	}
	if [4]byte(b[:4]) != helloMagic {
		return hello{}, fmt.Errorf("%w: magic %q", errBadHello, b[:4])
	}
	return hello{
		Version:     binary.LittleEndian.Uint16(b[4:]),
		Pid:         int(binary.LittleEndian.Uint32(b[8:])),
		Fingerprint: binary.LittleEndian.Uint64(b[12:]),
	}, nil
}

// fingerprint identifies this build of this executable: the distance between
// two functions' entry points does not move with address-space layout
// randomisation but changes with almost any rebuild.
var fingerprint = func() uint64 {
	h := fnv.New64a()
	d := reflect.ValueOf(readHello).Pointer() - reflect.ValueOf(exitOf).Pointer()
	fmt.Fprint(h, runtime.Version(), runtime.GOARCH, d)
	return h.Sum64()
}()
