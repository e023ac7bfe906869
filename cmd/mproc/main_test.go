package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mproc-go/mproc/codec"
)

type payload struct {
	Name string
	N    []int
}

func TestDis(t *testing.T) {
	data, err := codec.Marshal(payload{"x", []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"file", []string{"dis", path}, nil},
		{"stdin", []string{"dis", "-"}, data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, bytes.NewReader(tc.stdin), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			for _, w := range []string{"header", "main.payload", ".Name", `"x"`, "[]int  2 elements"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestDisStreamWithBuffers(t *testing.T) {
	// A saved Encoder stream whose large slices travel after each message.
	var stream bytes.Buffer
	enc := codec.NewEncoder(&stream)
	for _, v := range []any{bytes.Repeat([]byte("ab"), 20000), "after"} {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"dis", "-"}, bytes.NewReader(stream.Bytes()), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, w := range []string{"[]uint8  40000 elements in out-of-band buffer #0", "buffer", "#0, 40000 bytes of raw data after message #1", `"after"`} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"no command", nil, "", 2, "usage:"},
		{"unknown command", []string{"frob"}, "", 2, `unknown command "frob"`},
		{"dis without file", []string{"dis"}, "", 2, "usage:"},
		{"missing file", []string{"dis", missing}, "", 1, missing},
		{"not a payload", []string{"dis", "-"}, "hello", 1, "not codec output"},
		{"empty input", []string{"dis", "-"}, "", 1, "empty input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, strings.NewReader(tc.stdin), &out, &errOut); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("stderr %q lacks %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "fingerprint go:") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}
