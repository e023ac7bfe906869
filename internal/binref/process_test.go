package binref

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOtherProcess builds testdata/refprog, which sends a function, two
// instantiations of a generic function, a type and a sentinel error by
// reference to a re-executed copy of itself, and checks what the copy
// resolved. It covers the build modes whose layouts differ: the default
// (fixed addresses), PIE (the kernel moves the image at every start) and
// stripped (no symbol table, no DWARF, no build ID, so the fingerprint is
// a hash of the file), and, when a C compiler is at hand, external linking
// (the system linker lays out the sections and mixes C data with Go's).
func TestOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three programs; skipped with -short")
	}
	gocmd := goCommand(t)
	modes := []struct {
		name        string
		flags       []string
		fingerprint string
		moves       bool
		needsCC     bool
	}{
		{"default", nil, "go", false, false},
		{"pie", []string{"-buildmode=pie"}, "go", true, false},
		{"stripped", []string{"-ldflags=-s -w -buildid="}, "crc64", false, false},
		{"external-pie", []string{"-buildmode=pie", "-ldflags=-linkmode=external"}, "go", true, true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.needsCC {
				if cc, err := exec.Command(gocmd, "env", "CC").Output(); err != nil || !haveCommand(strings.TrimSpace(string(cc))) {
					t.Skipf("external linking needs a C compiler; go env CC = %q is not installed", strings.TrimSpace(string(cc)))
				}
			}
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			prog := filepath.Join(t.TempDir(), "refprog")
			args := append([]string{"build", "-o", prog}, mode.flags...)
			build := exec.CommandContext(ctx, gocmd, append(args, "./testdata/refprog")...)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go %s: %v\n%s", strings.Join(build.Args[1:], " "), err, out)
			}
			out, err := exec.CommandContext(ctx, prog).CombinedOutput()
			report := string(out)
			if err != nil {
				t.Fatalf("refprog (%s) failed: %v\n%s", mode.name, err, report)
			}
			for _, want := range []string{
				"fingerprint same: true\n",
				"fingerprint kind: " + mode.fingerprint + "\n",
				"square(7) = 49\n",
				"describe[int](3) = int:3\n",
				"describe[string](a) = string:a\n",
				"bogus offset refused: true binref: function \"main.square\"",
				"inside main.square, not at its start",
				"payload type: main.Payload true\n",
				"sentinel: true true\n",
			} {
				if !strings.Contains(report, want) {
					t.Errorf("report lacks %q:\n%s", want, report)
				}
			}
			var parentPC, childPC uintptr
			for line := range strings.Lines(report) {
				if _, err := fmt.Sscanf(line, "square pc parent=%v child=%v", &parentPC, &childPC); err == nil {
					break
				}
			}
			if parentPC == 0 || childPC == 0 {
				t.Fatalf("report lacks the square pcs:\n%s", report)
			}
			if mode.moves && aslr() && parentPC == childPC {
				t.Errorf("PIE build: square at %#x in both processes; the test does not exercise relocation", parentPC)
			}
			if !mode.moves && parentPC != childPC {
				t.Errorf("fixed-address build: square at %#x and %#x", parentPC, childPC)
			}
		})
	}
}

// aslr reports whether the kernel randomises where PIE binaries load.
func aslr() bool {
	b, err := os.ReadFile("/proc/sys/kernel/randomize_va_space")
	return err != nil || strings.TrimSpace(string(b)) != "0"
}

// goCommand returns the go command that runs the test: go test puts its
// GOROOT/bin first in the PATH.
func goCommand(t *testing.T) string {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command in PATH to build the test program: %v", err)
	}
	return gocmd
}

func haveCommand(name string) bool {
	fields := strings.Fields(name)
	if len(fields) == 0 {
		return false
	}
	_, err := exec.LookPath(fields[0])
	return err == nil
}
