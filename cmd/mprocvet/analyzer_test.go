package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), Analyzer, "a")
}

// build compiles mprocvet into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mprocvet")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestExamplesAreClean runs mprocvet, standalone and as go vet's tool,
// over the repository's examples: they send only what travels.
func TestExamplesAreClean(t *testing.T) {
	bin := build(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{bin, "./examples/..."}, {"go", "vet", "-vettool=" + bin, "./examples/..."}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestVetToolReports runs go vet -vettool=mprocvet over a module that
// uses mproc with a mistake, and checks the report.
func TestVetToolReports(t *testing.T) {
	bin := build(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module user\n\ngo 1.26.0\n\nrequire github.com/mproc-go/mproc v0.0.0\n\nreplace github.com/mproc-go/mproc => "+root+"\n")
	write("main.go", `package main

import (
	"context"

	"github.com/mproc-go/mproc"
)

func main() {
	mproc.Main()
	ctx := context.Background()
	pool, _ := mproc.NewPool()
	factor := 3
	mproc.Map(ctx, pool, func(_ context.Context, x int) (int, error) { return x * factor, nil }, []int{1, 2})
}
`)
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = dir
	if out, err := tidy.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	cmd := exec.Command("go", "vet", "-vettool="+bin, ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet -vettool=mprocvet found nothing:\n%s", out)
	}
	for _, want := range []string{"main.go:14:", "mproc.Map sends this func literal by reference, but it captures factor", "pass factor in its input"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go vet output lacks %q:\n%s", want, out)
		}
	}
}
