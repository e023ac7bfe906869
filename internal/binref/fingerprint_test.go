package binref

import (
	"encoding/binary"
	"encoding/hex"
	"hash/crc64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFingerprintIsBuildID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goCommand(t), "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	want := "go:" + strings.TrimSpace(string(out))
	if got := Fingerprint(); got != want {
		t.Errorf("Fingerprint() = %q, want %q", got, want)
	}
	if Fingerprint() != Fingerprint() {
		t.Error("Fingerprint changes between calls")
	}
}

func TestFileChecksum(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "f"), filepath.Join(dir, "g")
	content := []byte("not an executable")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("not an executablf"), 0o600); err != nil {
		t.Fatal(err)
	}
	ecma := binary.BigEndian.AppendUint64(nil, crc64.Checksum(content, crc64.MakeTable(crc64.ECMA)))
	iso := binary.BigEndian.AppendUint64(nil, crc64.Checksum(content, crc64.MakeTable(crc64.ISO)))
	want := hex.EncodeToString(append(ecma, iso...))
	got, err := fileChecksum(path)
	if err != nil || got != want || len(got) != 32 {
		t.Errorf("fileChecksum = %q, %v; want %q (128 bits)", got, err, want)
	}
	if g, _ := fileChecksum(other); g == got {
		t.Errorf("files that differ in one byte have the same checksum %q", g)
	}
	if _, err := fileChecksum(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("fileChecksum(missing) error = %v, want not exist", err)
	}
	if id := goBuildID(path); id != "" {
		t.Errorf("goBuildID(non-ELF) = %q, want empty", id)
	}
}

// buildIDNote lays out a note as the linker does.
func buildIDNote(name string, typ uint32, desc string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(name)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, name...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return append(b, desc...)
}

func TestParseBuildIDNote(t *testing.T) {
	good := buildIDNote("Go\x00\x00", 4, "abc/def")
	tests := []struct {
		name string
		note []byte
		want string
	}{
		{"good", good, "abc/def"},
		{"wrong type", buildIDNote("Go\x00\x00", 1, "abc"), ""},
		{"wrong owner", buildIDNote("GNU\x00", 4, "abc"), ""},
		{"truncated descriptor", good[:len(good)-1], ""},
		{"truncated header", good[:7], ""},
		{"huge sizes", append([]byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0}, "Go\x00\x00"...), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		if got := parseBuildIDNote(tt.note); got != tt.want {
			t.Errorf("%s: parseBuildIDNote = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseBuildIDNote(f *testing.F) {
	f.Add(buildIDNote("Go\x00\x00", 4, "abc/def"))
	f.Add([]byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, note []byte) {
		id := parseBuildIDNote(note)
		if id != "" && !strings.Contains(string(note), id) {
			t.Fatalf("ID %q is not in the note", id)
		}
	})
}
