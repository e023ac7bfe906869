package codec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The child side of TestAcrossProcesses: decode a task from stdin, run it,
// encode the result to stdout.
func init() {
	if os.Getenv("CODEC_TEST_CHILD") != "1" {
		return
	}
	dec := NewDecoder(os.Stdin)
	enc := NewEncoder(os.Stdout)
	for {
		var task crossTask
		if err := dec.Decode(&task); err != nil {
			if err == io.EOF {
				os.Exit(0)
			}
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		res := crossResult{Out: task.Fn(task.Arg)}
		if task.Arg < 0 {
			res.Err = fmt.Errorf("negative %d: %w", task.Arg, ErrSentinel)
		}
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(4)
		}
	}
}

type crossTask struct {
	Fn  func(int) int
	Arg int
}

type crossResult struct {
	Out int
	Err error
}

// TestAcrossProcesses sends functions and values to another process of the
// same executable (this test binary, started again) and reads back results
// and a sentinel error: positions and the fingerprint hold across processes.
func TestAcrossProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "CODEC_TEST_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v: %s", err, stderr.String())
		}
	}()
	enc := NewEncoder(stdin)
	dec := NewDecoder(stdout)
	tasks := []struct {
		task crossTask
		want int
	}{
		{crossTask{square, 7}, 49},
		{crossTask{twice[int], 5}, 10},
		{crossTask{func(x int) int { return x - 1 }, 10}, 9},
		{crossTask{square, -2}, 4},
	}
	for _, tc := range tasks {
		if err := enc.Encode(tc.task); err != nil {
			t.Fatal(err)
		}
		var res crossResult
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("%v; child stderr: %s", err, stderr.String())
		}
		if res.Out != tc.want {
			t.Errorf("f(%d) = %d in the child, want %d", tc.task.Arg, res.Out, tc.want)
		}
		if tc.task.Arg < 0 && !errors.Is(res.Err, ErrSentinel) {
			t.Errorf("error from the child %v does not match the sentinel", res.Err)
		}
	}
}

func twice[T ~int](x T) T { return 2 * x }

func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				v := []any{Point{i, j}, &node{Name: strings.Repeat("x", j)}, square, time.Duration(j)}
				data, err := Marshal(v)
				if err != nil {
					errs <- err
					return
				}
				var out []any
				if err := Unmarshal(data, &out); err != nil {
					errs <- err
					return
				}
				if out[0].(Point) != (Point{i, j}) {
					errs <- fmt.Errorf("got %v", out[0])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
