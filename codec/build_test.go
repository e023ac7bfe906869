package codec

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBuilds sends functions (generic instantiations included), interface
// values and a sentinel error between two processes of one executable,
// built the default way, as a position-independent executable and
// stripped of its symbol tables.
func TestBuilds(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the test program: %v", err)
	}
	builds := []struct {
		name  string
		flags []string
	}{
		{"default", nil},
		{"pie", []string{"-buildmode=pie"}},
		{"stripped", []string{"-ldflags=-s -w"}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			exe := filepath.Join(t.TempDir(), "crossbuild")
			args := append(append([]string{"build", "-o", exe}, b.flags...), "./testdata/crossbuild")
			if out, err := exec.CommandContext(ctx, gocmd, args...).CombinedOutput(); err != nil {
				t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			payload, err := exec.CommandContext(ctx, exe, "send").Output()
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			recv := exec.CommandContext(ctx, exe, "recv")
			recv.Stdin = bytes.NewReader(payload)
			out, err := recv.CombinedOutput()
			if err != nil {
				t.Fatalf("recv: %v\n%s", err, out)
			}
			if got, want := strings.TrimSpace(string(out)), "42 abab 6 true {1 1}"; got != want {
				t.Fatalf("the receiving process printed %q, want %q", got, want)
			}
			// Another build refuses the payload rather than misread it.
			var v buildsTask
			err = Unmarshal(payload, &v)
			if err == nil || !strings.Contains(err.Error(), "different binary") {
				t.Fatalf("this test binary decoding the program's payload: %v", err)
			}
		})
	}
}

type buildsTask struct{ N int }
