package queue

import (
	"bytes"
	"fmt"
	"os"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/sock"
)

// An Item is an encoded value and the descriptors passed with it, which
// whoever holds the Item owns.
type Item struct {
	Data  []byte
	Files []int
}

// Encode encodes v as a self-contained message, the form in which pipe
// messages travel between whichever processes hold the ends, and calls on
// shared values: no stream state may be shared. Open files in v travel
// as handles: their duplicated descriptors are the Item's Files.
func Encode(v any) (Item, error) {
	var fb fileBuffer
	if err := codec.NewEncoder(&fb).Encode(v); err != nil {
		sock.CloseFiles(fb.fds)
		return Item{}, err
	}
	return Item{Data: fb.b, Files: fb.fds}, nil
}

// Decode decodes an Item into the value ptr points to. The files the value
// refers to become its own; Decode closes the others, so the Item is spent
// either way.
func Decode(it Item, ptr any) error {
	_, err := DecodeFiles(it, ptr)
	return err
}

// DecodeFiles is Decode, and returns the files the value holds.
func DecodeFiles(it Item, ptr any) ([]*os.File, error) {
	fr := &fileReader{Reader: bytes.NewReader(it.Data), fds: it.Files}
	dec := codec.NewDecoder(fr)
	err := dec.Decode(ptr)
	sock.CloseFiles(fr.fds)
	return dec.Opened(), err
}

// A fileBuffer collects an Encoder's bytes and descriptors.
type fileBuffer struct {
	b   []byte
	fds []int
}

func (f *fileBuffer) Write(p []byte) (int, error) {
	f.b = append(f.b, p...)
	return len(p), nil
}

func (f *fileBuffer) AttachFiles(fds []int) error {
	f.fds = append(f.fds, fds...)
	return nil
}

// A fileReader serves a Decoder an Item's bytes and descriptors.
type fileReader struct {
	*bytes.Reader
	fds []int
}

func (f *fileReader) TakeFiles(n int) ([]int, error) {
	if n > len(f.fds) {
		return nil, fmt.Errorf("%d descriptors expected, the item passed %d", n, len(f.fds))
	}
	fds := f.fds[:n:n]
	f.fds = f.fds[n:]
	return fds, nil
}
