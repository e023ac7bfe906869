package binref

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

func TestFileSHA256(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	content := []byte("not an executable")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if got, err := fileSHA256(path); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Errorf("fileSHA256 = %q, %v", got, err)
	}
	if _, err := fileSHA256(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Errorf("fileSHA256(missing) error = %v, want not exist", err)
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
