package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

func TestMain(m *testing.M) {
	mproc.Main()
	os.Exit(m.Run())
}

func TestKilledNodesTasksFinishElsewhere(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, 90, true); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"3 nodes up", "SIGKILL node-2", "90 squares in", "node-1:", "node-3:", "duplicate results dropped"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
