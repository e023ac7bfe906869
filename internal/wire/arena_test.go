package wire

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/mproc-go/mproc/internal/sock"
)

// TestArenaCarriesLargeWrites sends writes of many sizes, large and small,
// through a FrameWriter with an arena while a reader reads them: every byte
// arrives in order, through the ring's wrap-around, its growth and the
// socket when the ring is full.
func TestArenaCarriesLargeWrites(t *testing.T) {
	a, b, err := sock.Pair("test")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	fw := NewFrameWriter(a)
	fw.UseArena()
	fr := NewFrameReader(b)
	defer fr.CloseArena()
	rng := rand.New(rand.NewPCG(1, 2))
	var writes [][]byte
	for i := range 40 {
		size := 1 + rng.IntN(100)
		switch i % 4 {
		case 1:
			size = arenaMin + rng.IntN(3<<20)
		case 3:
			size = (i/4 + 1) << 20 // growing: the arena is replaced
		}
		w := make([]byte, size)
		for k := range w {
			w[k] = byte(i + k*7)
		}
		writes = append(writes, w)
	}
	done := make(chan error, 1)
	go func() {
		for _, w := range writes {
			if _, err := fw.Write(w); err != nil {
				done <- err
				return
			}
			if err := fw.Flush(); err != nil {
				done <- err
				return
			}
		}
		fw.CloseArena()
		done <- a.CloseWrite()
	}()
	for i, w := range writes {
		got := make([]byte, len(w))
		if _, err := io.ReadFull(fr, got); err != nil {
			t.Fatalf("write %d (%d bytes): %v", i, len(w), err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("write %d (%d bytes) arrived changed", i, len(w))
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, err := fr.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the last write: %d, %v; want io.EOF", n, err)
	}
	if fr.ar == nil {
		t.Fatal("no arena was announced: the large writes went through the socket")
	}
}

func TestArenaFrameOutOfBoundsIsRefused(t *testing.T) {
	fr := &FrameReader{ar: &arena{cap: 1 << 20}}
	fr.hdr = [frameHeader]byte{arenaMagic}
	if err := fr.checkArena(0, 1<<19, 1<<20); err == nil {
		t.Fatal("an arena frame running past the ring: want a *FrameError")
	}
}
