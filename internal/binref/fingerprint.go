package binref

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc64"
	"io"
	"os"
	"sync"
)

// Fingerprint identifies the running executable, so that two processes can
// check that they run the same build before exchanging references.
//
// It is "go:" followed by the Go build ID (which the go command derives
// from the binary's content) when the executable has one, in the
// .note.go.buildid ELF note that stripping keeps; otherwise "crc64:"
// followed by two CRC-64s of the executable's bytes (ECMA and ISO, 128 bits
// in all): enough to tell builds apart, which is all it is for. The
// fingerprint is a consistency check between processes of one program,
// not a defence: a Strict decoder is that. A checksum rather than SHA-256
// keeps package crypto out of every program that imports mproc (180 KB of
// a 5 MB binary, and its initialisation in every worker). A parent and the
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
	sum, err := fileChecksum(exePath)
	if err != nil {
		return ""
	}
	return "crc64:" + sum
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

// fileChecksum returns the CRC-64 ECMA and ISO of the file at path, in hex.
func fileChecksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	ecma, iso := crc64.New(crc64.MakeTable(crc64.ECMA)), crc64.New(crc64.MakeTable(crc64.ISO))
	if _, err := io.Copy(io.MultiWriter(ecma, iso), f); err != nil {
		return "", err
	}
	return hex.EncodeToString(iso.Sum(ecma.Sum(nil))), nil
}
