package wire

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func frames(t testing.TB, chunks ...[]byte) []byte {
	var buf bytes.Buffer
	fw := NewFrameWriter(&buf)
	for _, c := range chunks {
		if _, err := fw.Write(c); err != nil {
			t.Fatal(err)
		}
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestFramesRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), MaxFrame/4) // spans 3 frames
	data := frames(t, []byte("hello "), []byte("world"), big)
	got, err := io.ReadAll(NewFrameReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte("hello world"), big...); !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, want %d", len(got), len(want))
	}
	if n := bytes.Count(data, []byte{frameMagic}); n < 5 {
		t.Errorf("%d magic bytes: the big write should span several frames", n)
	}
}

func TestBadFrames(t *testing.T) {
	good := frames(t, []byte("payload"))
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x40
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"magic", flip(0), "magic byte 0xb5, want 0xf5"},
		{"length", append([]byte{frameMagic, 0xff, 0xff, 0xff, 0x7f}, good[5:]...), "payload length 2147483647, want 1 to 1048576"},
		{"zero length", append([]byte{frameMagic, 0, 0, 0, 0}, good[5:]...), "payload length 0"},
		{"checksum", flip(len(good) - 1), "the payload is corrupted"},
		{"short header", good[:4], "stream ends inside a frame header (4 of 9 bytes)"},
		{"short payload", good[:len(good)-2], "stream ends inside a frame (5 of 7 payload bytes)"},
		{"second frame", append(bytes.Clone(good), 'x'), "bad frame at byte 16: stream ends inside a frame header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := io.ReadAll(NewFrameReader(bytes.NewReader(tc.data)))
			var fe *FrameError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a *FrameError containing %q", err, tc.want)
			}
		})
	}
}

// FuzzFrameReader reads arbitrary bytes as frames: it must end with io.EOF
// or a *FrameError, never panic, and hand out only checked payloads.
func FuzzFrameReader(f *testing.F) {
	f.Add(frames(f, []byte("hello"), []byte("world")))
	f.Add([]byte{frameMagic, 1, 0, 0, 0, 0, 0, 0, 0, 'x'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(NewFrameReader(bytes.NewReader(data)))
		var fe *FrameError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("error %v is not a *FrameError", err)
		}
		if len(got) > len(data) {
			t.Fatalf("read %d payload bytes from %d bytes", len(got), len(data))
		}
		if err == nil && len(data) > 0 && len(got) == 0 {
			t.Fatalf("%d bytes read as no frame and no error", len(data))
		}
	})
}

func TestFrameWriterRaisesSendBuffer(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "parent end")
	defer f.Close()
	defer syscall.Close(fds[1])
	if err := syscall.SetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF, 64<<10); err != nil {
		t.Fatal(err)
	}
	sndbuf := func() int {
		n, err := syscall.GetsockoptInt(fds[0], syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := sndbuf()
	NewFrameWriter(f)
	after := sndbuf()
	// The kernel doubles what it is asked for, capped at net.core.wmem_max.
	want := 2 * sendBuffer
	if b, err := os.ReadFile("/proc/sys/net/core/wmem_max"); err == nil {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			want = 2 * min(sendBuffer, max)
		}
	}
	if after < max(before, want) {
		t.Errorf("send buffer %d bytes after NewFrameWriter (%d before), want %d", after, before, want)
	}
	// Not a socket: left alone, no error.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	NewFrameWriter(w)
}

func TestChecksumTables(t *testing.T) {
	hw := crc32.MakeTable(crc32.Castagnoli)
	p := make([]byte, 3*hwMin)
	for i := range p {
		p[i] = byte(i*31 + i>>7)
	}
	for _, n := range []int{0, 1, 7, 64, 1000, hwMin - 1, hwMin, 3 * hwMin} {
		want := crc32.Checksum(p[:n], hw)
		if got := crc32.Checksum(p[:n], plainTable); got != want {
			t.Errorf("plain table, %d bytes: %#08x, want %#08x", n, got, want)
		}
		if got := update(update(0, p[:n/3]), p[n/3:n]); got != want {
			t.Errorf("update in two parts, %d bytes: %#08x, want %#08x", n, got, want)
		}
	}
}
