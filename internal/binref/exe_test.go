package binref

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

// TestParseExeMatchesDebugELF reads this test binary, and a C program
// when there is one, both ways.
func TestParseExeMatchesDebugELF(t *testing.T) {
	paths := []string{exePath}
	if _, err := os.Stat("/bin/sh"); err == nil {
		paths = append(paths, "/bin/sh")
	}
	for _, path := range paths {
		e, err := readExe(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if e.typ != uint16(f.Type) || e.entry != f.Entry {
			t.Errorf("%s: type %d, entry %#x; debug/elf says %d, %#x", path, e.typ, e.entry, f.Type, f.Entry)
		}
		if len(e.sections) != len(f.Sections) {
			t.Fatalf("%s: %d sections; debug/elf says %d", path, len(e.sections), len(f.Sections))
		}
		for i, s := range f.Sections {
			want := exeSection{name: s.Name, typ: uint32(s.Type), flags: uint64(s.Flags), addr: s.Addr, offset: s.Offset, size: s.Size}
			if e.sections[i] != want {
				t.Errorf("%s: section %d: %+v; debug/elf says %+v", path, i, e.sections[i], want)
			}
		}
		if hasGoNote := f.Section(".note.go.buildid") != nil; (e.buildID != "") != hasGoNote {
			t.Errorf("%s: build ID %q, but the Go note is there: %v", path, e.buildID, hasGoNote)
		}
	}
}

// testELF lays out a minimal ELF file: a header, then the contents of the
// section names and of a build ID note, then the section headers (null,
// .shstrtab, .note.go.buildid).
func testELF(buildID string) []byte {
	le := binary.LittleEndian
	names := "\x00.shstrtab\x00.note.go.buildid\x00"
	note := buildIDNote("Go\x00\x00", 4, buildID)
	b := make([]byte, ehdrSize)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], etExec)
	le.PutUint64(b[24:], 0x401000)
	namesAt := uint64(len(b))
	b = append(b, names...)
	noteAt := uint64(len(b))
	b = append(b, note...)
	shoff := uint64(len(b))
	le.PutUint64(b[40:], shoff)
	le.PutUint16(b[58:], shdrSize)
	le.PutUint16(b[60:], 3)
	le.PutUint16(b[62:], 1)
	sh := func(name, typ uint32, off, size uint64) {
		h := make([]byte, shdrSize)
		le.PutUint32(h, name)
		le.PutUint32(h[4:], typ)
		le.PutUint64(h[24:], off)
		le.PutUint64(h[32:], size)
		b = append(b, h...)
	}
	sh(0, 0, 0, 0)
	sh(1, 3, namesAt, uint64(len(names)))
	sh(11, 7, noteAt, uint64(len(note)))
	return b
}

func TestParseExe(t *testing.T) {
	e, err := parseExe(bytes.NewReader(testELF("abc/def")))
	if err != nil {
		t.Fatal(err)
	}
	if e.buildID != "abc/def" || e.typ != etExec || e.entry != 0x401000 {
		t.Errorf("build ID %q, type %d, entry %#x", e.buildID, e.typ, e.entry)
	}
	var got []string
	for _, s := range e.sections {
		got = append(got, s.name)
	}
	if want := ",.shstrtab,.note.go.buildid"; strings.Join(got, ",") != want {
		t.Errorf("sections %q, want %q", got, want)
	}
}

func TestParseExeErrors(t *testing.T) {
	le := binary.LittleEndian
	good := testELF("abc")
	edit := func(f func(b []byte)) []byte {
		b := bytes.Clone(good)
		f(b)
		return b
	}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "reading the ELF header: EOF"},
		{"not ELF", []byte(strings.Repeat("#!/bin/sh\n", 8)), "bad magic number"},
		{"32-bit", edit(func(b []byte) { b[4] = 1 }), "not a 64-bit little-endian ELF executable"},
		{"big-endian", edit(func(b []byte) { b[5] = 2 }), "not a 64-bit little-endian ELF executable"},
		{"no section headers", edit(func(b []byte) { le.PutUint64(b[40:], 0) }), "no section headers"},
		{"header size", edit(func(b []byte) { le.PutUint16(b[58:], 40) }), "section header size 40"},
		{"names index", edit(func(b []byte) { le.PutUint16(b[62:], 3) }), "3 sections, names in section 3"},
		{"headers past the end", edit(func(b []byte) { le.PutUint64(b[40:], 1<<40) }), "reading the section headers"},
		{"headers wrap around", edit(func(b []byte) { le.PutUint64(b[40:], ^uint64(0)-64) }), "section headers out of the file"},
		{"huge count", edit(func(b []byte) { le.PutUint16(b[60:], 0); le.PutUint64(b[len(b)-3*shdrSize+32:], 1<<40) }), "1099511627776 sections"},
		{"names too long", edit(func(b []byte) { le.PutUint64(b[len(b)-2*shdrSize+32:], 1<<30) }), "reading the section names: section of 1073741824 bytes"},
		{"names past the end", edit(func(b []byte) { le.PutUint64(b[len(b)-2*shdrSize+24:], 1<<20) }), "reading the section names: EOF"},
		{"names in no bits", edit(func(b []byte) { le.PutUint32(b[len(b)-2*shdrSize+4:], shtNobits) }), "no contents in the file"},
	}
	for _, tt := range tests {
		e, err := parseExe(bytes.NewReader(tt.file))
		if err == nil {
			t.Errorf("%s: parseExe = %+v, want an error", tt.name, e)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.want)
		}
	}
	// A note that does not parse leaves the build ID empty; it is no error.
	e, err := parseExe(bytes.NewReader(edit(func(b []byte) { le.PutUint64(b[len(b)-shdrSize+32:], 5) })))
	if err != nil || e.buildID != "" {
		t.Errorf("truncated note: build ID %q, error %v; want none, nil", e.buildID, err)
	}
}

func FuzzParseExe(f *testing.F) {
	f.Add(testELF("abc/def"))
	if b, err := os.ReadFile("/bin/true"); err == nil && len(b) < 1<<20 {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		e, err := parseExe(bytes.NewReader(file))
		if err != nil {
			return
		}
		if len(e.sections) > maxSections {
			t.Fatalf("%d sections", len(e.sections))
		}
		if e.buildID != "" && !bytes.Contains(file, []byte(e.buildID)) {
			t.Fatalf("build ID %q is not in the file", e.buildID)
		}
	})
}
