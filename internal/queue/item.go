package queue

import (
	"os"

	"github.com/mproc-go/mproc/codec"
)

// An Item is an encoded value and the descriptors passed with it, which
// whoever holds the Item owns.
type Item struct {
	Data  []byte
	Files []int
}

// Encode encodes v as a self-contained message, the form in which pipe
// messages travel between whichever processes hold the ends, and calls on
// shared values: no stream state may be shared. Open files in v travel as
// handles: their duplicated descriptors are the Item's Files.
func Encode(v any) (Item, error) {
	data, fds, err := codec.MarshalFiles(v)
	return Item{Data: data, Files: fds}, err
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
	return codec.UnmarshalFiles(it.Data, it.Files, ptr)
}
