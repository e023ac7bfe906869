package mproc_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mproc-go/mproc"
)

// blockInit is an initializer that never returns.
func blockInit(context.Context, int) error { select {} }

// NewPool gives up on an initializer that runs past InitTimeout, kills its
// worker and says which worker, which pid and which limit.
func TestInitTimeout(t *testing.T) {
	const limit = 200 * time.Millisecond
	p, err := mproc.NewPool(mproc.Workers(2), mproc.Initializer(blockInit, 0), mproc.InitTimeout(limit))
	if err == nil {
		p.Terminate()
		t.Fatal("NewPool succeeded with an initializer that never returns")
	}
	var ie *mproc.InitError
	if !errors.As(err, &ie) || !errors.Is(err, mproc.ErrTimeout) {
		t.Fatalf("NewPool = %v (%T); want an *InitError matching ErrTimeout", err, err)
	}
	if ie.Limit != limit || ie.Pid <= 0 || ie.Worker <= 0 || ie.Err != nil {
		t.Errorf("InitError = %+v; want Limit %v, a worker and its pid, no Err", ie, limit)
	}
	for _, want := range []string{fmt.Sprintf("worker %d ", ie.Worker), fmt.Sprintf("pid %d", ie.Pid), limit.String(), "InitTimeout", "killed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The worker was killed and reaped: its pid names no process of ours.
	if err := syscall.Kill(ie.Pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v after NewPool failed; want ESRCH, the worker gone", ie.Pid, err)
	}
}

// An initializer that returns within InitTimeout is not disturbed by it,
// nor are tasks later on, however long they take.
func TestInitTimeoutMet(t *testing.T) {
	p := newPool(t, mproc.Workers(1), mproc.Initializer(setInit, "ready"), mproc.InitTimeout(time.Minute))
	ctx := context.Background()
	if v, err := mproc.Submit(ctx, p, readInit, 0).Wait(ctx); v != "ready" || err != nil {
		t.Fatalf("task after the initializer = %q, %v; want \"ready\", nil", v, err)
	}
}

// An initializer error is not a timeout.
func TestInitErrorIsNotTimeout(t *testing.T) {
	p, err := mproc.NewPool(mproc.Workers(1), mproc.Initializer(failInit, "no"), mproc.InitTimeout(time.Minute))
	if err == nil {
		p.Terminate()
		t.Fatal("NewPool succeeded with a failing initializer")
	}
	var ie *mproc.InitError
	if !errors.As(err, &ie) || errors.Is(err, mproc.ErrTimeout) || ie.Err == nil {
		t.Fatalf("NewPool = %v; want an *InitError with the initializer's error, not ErrTimeout", err)
	}
}
