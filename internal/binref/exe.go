package binref

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// This file reads the little binref needs from the executable's ELF
// headers: the file header, the section headers with their names, and the
// Go build ID note. It replaces debug/elf, which reads and decodes much
// more (the program headers, every section's name, the dynamic symbols'
// metadata) and whose package initialisation, with debug/dwarf and the
// decompressors it imports, every process of the program would pay: a
// worker needs these headers before its first result.

// An exeSection is a section header, with the fields binref uses.
type exeSection struct {
	name   string
	typ    uint32
	flags  uint64
	addr   uint64
	offset uint64
	size   uint64
}

// ELF constants from <elf.h>.
const (
	etExec = 2 // e_type of a position-dependent executable

	shfWrite = 0x1   // writable at run time
	shfAlloc = 0x2   // occupies memory at run time
	shfTLS   = 0x400 // thread-local storage template

	shtNobits = 8 // occupies no space in the file (.bss)

	shnXindex = 0xffff // e_shstrndx is in the first section header

	ehdrSize = 64 // ELF64 file header
	shdrSize = 64 // ELF64 section header
)

// Bounds on what a header may make us read, so that a corrupt file costs
// an error, not memory. Go executables have a few dozen sections and
// their names fit in a few hundred bytes.
const (
	maxSections     = 1 << 16
	maxSectionNames = 1 << 20
	maxBuildIDNote  = 1 << 12
)

// An exeFile is what binref knows of an ELF executable.
type exeFile struct {
	typ      uint16 // e_type: etExec, or ET_DYN for a PIE
	entry    uint64 // e_entry, the entry point before relocation
	sections []exeSection
	buildID  string // the Go build ID, "" if the file has none
}

// loadExe is the running executable's headers, read once; the fingerprint
// and the layout share them.
var loadExe = sync.OnceValues(func() (*exeFile, error) {
	return readExe(exePath)
})

// readExe reads the headers of the ELF executable at path: an open, and
// four reads of a few kilobytes in all.
func readExe(path string) (*exeFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseExe(f)
}

// parseExe reads an ELF file's headers from r. It accepts only 64-bit
// little-endian files, and checks every count and size before it reads or
// allocates, so corrupt input yields an error.
func parseExe(r io.ReaderAt) (*exeFile, error) {
	var h [ehdrSize]byte
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("reading the ELF header: %w", err)
	}
	if string(h[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("bad magic number %q", h[:4])
	}
	if h[4] != 2 || h[5] != 1 { // ELFCLASS64, ELFDATA2LSB
		return nil, errors.New("not a 64-bit little-endian ELF executable")
	}
	le := binary.LittleEndian
	e := &exeFile{typ: le.Uint16(h[16:]), entry: le.Uint64(h[24:])}
	shoff := le.Uint64(h[40:])
	shentsize := le.Uint16(h[58:])
	shnum := uint64(le.Uint16(h[60:]))
	shstrndx := uint64(le.Uint16(h[62:]))
	if shoff == 0 {
		return nil, errors.New("no section headers")
	}
	if shentsize != shdrSize {
		return nil, fmt.Errorf("section header size %d, want %d", shentsize, shdrSize)
	}
	// Files with many sections keep their count, and the index of the
	// section names, in the first section header.
	if shnum == 0 || shstrndx == shnXindex {
		s0, err := readSectionHeader(r, shoff)
		if err != nil {
			return nil, err
		}
		if shnum == 0 {
			shnum = s0.size
		}
		if shstrndx == shnXindex {
			shstrndx = uint64(le.Uint32(s0.raw[40:]))
		}
	}
	if shnum > maxSections || shstrndx >= shnum {
		return nil, fmt.Errorf("%d sections, names in section %d", shnum, shstrndx)
	}
	if shoff > shoff+shnum*shdrSize {
		return nil, errors.New("section headers out of the file")
	}
	raw := make([]byte, shnum*shdrSize)
	if _, err := r.ReadAt(raw, int64(shoff)); err != nil {
		return nil, fmt.Errorf("reading the section headers: %w", err)
	}
	e.sections = make([]exeSection, shnum)
	nameOffs := make([]uint32, shnum)
	for i := range e.sections {
		b := raw[i*shdrSize:]
		nameOffs[i] = le.Uint32(b)
		e.sections[i] = exeSection{
			typ:    le.Uint32(b[4:]),
			flags:  le.Uint64(b[8:]),
			addr:   le.Uint64(b[16:]),
			offset: le.Uint64(b[24:]),
			size:   le.Uint64(b[32:]),
		}
	}
	names, err := readSection(r, e.sections[shstrndx], maxSectionNames)
	if err != nil {
		return nil, fmt.Errorf("reading the section names: %w", err)
	}
	for i := range e.sections {
		if off := uint64(nameOffs[i]); off < uint64(len(names)) {
			n := names[off:]
			for j, c := range n {
				if c == 0 {
					n = n[:j]
					break
				}
			}
			e.sections[i].name = string(n)
		}
	}
	for _, s := range e.sections {
		if s.name == ".note.go.buildid" {
			if note, err := readSection(r, s, maxBuildIDNote); err == nil {
				e.buildID = parseBuildIDNote(note)
			}
			break
		}
	}
	return e, nil
}

// A rawSectionHeader is a section header as read, for the fields that
// parseExe needs from the first one only.
type rawSectionHeader struct {
	raw  [shdrSize]byte
	size uint64
}

func readSectionHeader(r io.ReaderAt, off uint64) (rawSectionHeader, error) {
	var s rawSectionHeader
	if off > 1<<62 {
		return s, errors.New("section headers out of the file")
	}
	if _, err := r.ReadAt(s.raw[:], int64(off)); err != nil {
		return s, fmt.Errorf("reading the first section header: %w", err)
	}
	s.size = binary.LittleEndian.Uint64(s.raw[32:])
	return s, nil
}

// readSection returns the contents of s, at most max bytes long.
func readSection(r io.ReaderAt, s exeSection, max uint64) ([]byte, error) {
	if s.typ == shtNobits {
		return nil, errors.New("the section has no contents in the file")
	}
	if s.size > max || s.offset > 1<<62 {
		return nil, fmt.Errorf("section of %d bytes at %#x", s.size, s.offset)
	}
	b := make([]byte, s.size)
	if _, err := r.ReadAt(b, int64(s.offset)); err != nil {
		return nil, err
	}
	return b, nil
}
