package binref

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"os"
	"sync"
)

// Fingerprint identifies the running executable, so that two processes can
// check that they run the same build before exchanging references.
//
// It is "go:" followed by the Go build ID (which the go command derives
// from the binary's content) when the executable has one, in the
// .note.go.buildid ELF note that stripping keeps; otherwise "sha256:"
// followed by the SHA-256 of the executable's bytes. A parent and the
// children it starts from the same executable get the same fingerprint; a
// rebuilt program gets another.
//
// Cost: computed once, on first use (reading the note takes microseconds;
// hashing, only for binaries without a build ID, about a millisecond per
// megabyte), then a string return. It is "" if /proc/self/exe cannot be
// read, which matches nothing but itself: compare with != "" in mind.
func Fingerprint() string {
	return fingerprint()
}

var fingerprint = sync.OnceValue(func() string {
	if e, err := loadExe(); err == nil && e.buildID != "" {
		return "go:" + e.buildID
	}
	sum, err := fileSHA256(exePath)
	if err != nil {
		return ""
	}
	return "sha256:" + sum
})

// goBuildID returns the Go build ID from the ELF note of the executable
// at path, or "" if it has none: a note of type 4 named "Go", whose
// descriptor is the ID, in the section .note.go.buildid.
func goBuildID(path string) string {
	e, err := readExe(path)
	if err != nil {
		return ""
	}
	return e.buildID
}

// parseBuildIDNote extracts the ID from the bytes of a Go build ID note:
// namesz, descsz and type as 32-bit words, then the name and the
// descriptor, each padded to 4 bytes.
func parseBuildIDNote(note []byte) string {
	const goNoteType = 4
	if len(note) < 12 {
		return ""
	}
	namesz := binary.LittleEndian.Uint32(note[0:])
	descsz := binary.LittleEndian.Uint32(note[4:])
	typ := binary.LittleEndian.Uint32(note[8:])
	rest := note[12:]
	nameEnd := (uint64(namesz) + 3) &^ 3
	if typ != goNoteType || namesz != 4 || uint64(len(rest)) < nameEnd+uint64(descsz) {
		return ""
	}
	if !bytes.Equal(rest[:namesz], []byte("Go\x00\x00")) {
		return ""
	}
	return string(rest[nameEnd : nameEnd+uint64(descsz)])
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
