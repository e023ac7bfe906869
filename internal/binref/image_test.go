package binref

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageLayout(t *testing.T) {
	im, err := loadImage()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    span
		addr uintptr
	}{
		{"text", im.text, anchorPC()},
		{"types", im.types, anchorTypeAddr()},
	} {
		if !c.s.contains(c.addr, 1) {
			t.Errorf("%s span [%#x, %#x) does not contain its anchor %#x", c.name, c.s.start, c.s.end, c.addr)
		}
	}
	if g := anchorGlobalAddr(); !im.data.contains(g, wordSize) && !im.bss.contains(g, wordSize) {
		t.Errorf("neither data nor bss contains the anchor variable %#x", g)
	}
}

func TestReadImageErrors(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"+strings.Repeat("# not an ELF file\n", 8)), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
	}{
		{filepath.Join(t.TempDir(), "missing"), "no such file"},
		{notELF, "bad magic number"},
		// Another executable: its sections are not where this process runs.
		{"/bin/sh", "does not place the text where it runs"},
	}
	for _, tt := range tests {
		im, err := readImage(tt.path)
		if err == nil {
			t.Errorf("readImage(%s) = %+v, want an error", tt.path, im)
			continue
		}
		for _, w := range []string{"binref: reading the layout of the running executable from " + tt.path, tt.want} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("readImage(%s) error %q does not mention %q", tt.path, err, w)
			}
		}
	}
}
