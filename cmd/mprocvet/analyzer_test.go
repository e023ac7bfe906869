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

// userModule writes a module that uses this repository's mproc, with
// mainGo as its main.go, and returns its directory.
func userModule(t *testing.T, mainGo string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module user\n\ngo 1.26.0\n\nrequire github.com/mproc-go/mproc v0.0.0\n\nreplace github.com/mproc-go/mproc => " + root + "\n",
		"main.go": mainGo,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestVetToolReports runs go vet -vettool=mprocvet over a module that
// uses mproc with a mistake, and checks the report.
func TestVetToolReports(t *testing.T) {
	bin := build(t)
	dir := userModule(t, `package main

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

// TestSuggestedFixes applies every suggested fix to testdata/src/fixes
// and compares the result with fixes.go.golden: the reports without a fix
// (a capture the literal assigns, a sequence, a receiver of local
// variables, generic code) leave their lines as they are.
func TestSuggestedFixes(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), Analyzer, "fixes")
}

// TestFixedProgramRuns applies mprocvet -fix to a program whose calls mproc
// refuses at run time, then builds and runs it: the fixed program sends
// what it meant to, its worker processes compute the results, and
// mprocvet finds nothing more.
func TestFixedProgramRuns(t *testing.T) {
	bin := build(t)
	dir := userModule(t, `package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/mproc-go/mproc"
)

type locked struct {
	mu sync.Mutex
	by int
}

func (l *locked) Scale(_ context.Context, x int) (int, error) { return x * l.by, nil }

func main() {
	mproc.Main()
	ctx := context.Background()
	pool, err := mproc.NewPool(mproc.Workers(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	factor := 3
	out, err := mproc.Map(ctx, pool, func(_ context.Context, x int) (int, error) { return x * factor, nil }, []int{1, 2, 3})
	fmt.Println("map:", out, err)
	sep := "-"
	s, err := mproc.Submit(ctx, pool, func(_ context.Context, parts []string) (string, error) {
		return strings.Join(parts, sep), nil
	}, []string{"a", "b"}).Wait(ctx)
	fmt.Println("submit:", s, err)
	scaled, err := mproc.Map(ctx, pool, (&locked{by: 2}).Scale, []int{1, 2})
	fmt.Println("method:", scaled, err)
}
`)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("go", "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	// Before the fix, mproc refuses each call when it runs.
	out, err := run("go", "run", ".")
	if err != nil || strings.Count(out, "<nil>") != 0 {
		t.Fatalf("the program before the fix: %v\n%s\nwant three refusals", err, out)
	}
	if out, err := run(bin, "."); err == nil || strings.Count(out, "cannot travel")+strings.Count(out, "captures") != 3 {
		t.Fatalf("mprocvet before -fix: %v\n%s\nwant three reports", err, out)
	}
	if out, err := run(bin, "-fix", "."); err != nil {
		t.Fatalf("mprocvet -fix: %v\n%s", err, out)
	}
	if out, err := run(bin, "."); err != nil || out != "" {
		t.Fatalf("mprocvet after -fix: %v\n%s\nwant nothing left to report", err, out)
	}
	out, err = run("go", "run", ".")
	if err != nil {
		t.Fatalf("the fixed program: %v\n%s", err, out)
	}
	for _, want := range []string{"map: [3 6 9] <nil>", "submit: a-b <nil>", "method: [2 4] <nil>"} {
		if !strings.Contains(out, want) {
			t.Errorf("the fixed program printed\n%s\nwant a line %q", out, want)
		}
	}
	if t.Failed() {
		fixed, _ := os.ReadFile(filepath.Join(dir, "main.go"))
		t.Logf("main.go after -fix:\n%s", fixed)
	}
}
