package mproc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/codec"
)

// A Python initializer's initargs are inherited under fork but pickled
// under spawn, so the same value can work as initarg and fail as a map
// argument (seed question 001). Here both go through the codec: a value
// that cannot be sent fails NewPool with the same error a task argument
// gets, and no worker is left behind.
type logSink struct{ lines chan string }

func sinkInit(_ context.Context, s logSink) error { return nil }

func TestInitializerArgumentNotSendable(t *testing.T) {
	arg := logSink{lines: make(chan string)}
	_, err := mproc.NewPool(mproc.Workers(1), mproc.Initializer(sinkInit, arg))
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("NewPool = %v, want a *codec.UnsupportedError", err)
	}
	for _, want := range []string{"initializer fn", "parameter 2", "logSink (at .lines, a chan string)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	p := newPool(t, mproc.Workers(1))
	_, taskErr := mproc.Submit(t.Context(), p, sinkTask, arg).Wait(t.Context())
	if !errors.As(taskErr, &ue) {
		t.Fatalf("Submit = %v, want a *codec.UnsupportedError as for the initializer", taskErr)
	}
	if !strings.Contains(taskErr.Error(), "chan string") {
		t.Errorf("Submit's message %q does not name the chan type", taskErr)
	}
}

// With a sendable signature the argument itself is checked, and its path
// starts at the initializer's argument.
func TestInitializerArgumentPath(t *testing.T) {
	arg := map[string]any{"lines": make(chan string)}
	_, err := mproc.NewPool(mproc.Workers(1), mproc.Initializer(anyInit, any(arg)))
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("NewPool = %v, want a *codec.UnsupportedError", err)
	}
	if want := `initializer arg["lines"].(chan string)`; ue.Path != want {
		t.Errorf("Path = %q, want %q", ue.Path, want)
	}
	if !strings.Contains(err.Error(), "cannot send "+ue.Path+": chan string") {
		t.Errorf("message %q does not name the path and the type", err)
	}
}

func anyInit(context.Context, any) error { return nil }

func sinkTask(_ context.Context, s logSink) (int, error) { return 0, nil }
