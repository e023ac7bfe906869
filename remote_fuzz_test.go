package mproc

import (
	"bytes"
	"context"
	"testing"

	"github.com/mproc-go/mproc/codec"
)

// remoteJob is a job of a Map of double over three inputs, as a remote
// pool sends it.
func remoteJob() *job {
	c := &call{ctx: context.Background(), run: runCtx[int, int]{}, fn: double, slice: sliceArgs[int]}
	return &job{c: c, id: 1, start: 4, n: 3, args: []int{1, 2, 3}}
}

func remoteResult(t testing.TB, head resultHead, out any) []byte {
	var b bytes.Buffer
	enc := codec.NewEncoder(&b)
	if err := enc.Encode(&head); err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := enc.Encode(out); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// FuzzRemoteResult feeds decodeResult what a node, or anyone on the
// network, could send as a result: it must fail with an error, never
// panic, and never deliver outputs of the wrong number.
func FuzzRemoteResult(f *testing.F) {
	f.Add(remoteResult(f, resultHead{HasOut: true, Took: 5}, []int{2, 4, 6}))
	f.Add(remoteResult(f, resultHead{Errs: []remoteError{{Index: 1, Kind: remoteTask, Msg: "boom", Err: []byte("x")}}, HasOut: true}, []int{2, 0, 6}))
	f.Add(remoteResult(f, resultHead{Errs: []remoteError{{Index: -1, Kind: remoteTimeout, Limit: 5}}}, nil))
	f.Add(remoteResult(f, resultHead{Problem: "cannot"}, nil))
	f.Add(remoteResult(f, resultHead{HasOut: true}, []string{"a"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		j := remoteJob()
		out, errs, _, err := decodeResult(j, data)
		if err != nil {
			return
		}
		if out != nil && len(out.([]int)) != j.n {
			t.Fatalf("decoded %d outputs for %d inputs", len(out.([]int)), j.n)
		}
		for _, e := range errs {
			if e.index < j.start || e.index >= j.start+j.n || e.err == nil {
				t.Fatalf("error %+v outside the job's inputs", e)
			}
			_ = e.err.Error()
		}
	})
}

// FuzzRemoteTask feeds decodeTask what could arrive as a task, in both
// modes: an error or a task with a function and a slice of inputs, never
// a panic.
func FuzzRemoteTask(f *testing.F) {
	payload, err := encodeTask(remoteJob(), false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Add(payload[:len(payload)/2])
	f.Add([]byte("\x89MPC\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, strict := range []bool{false, true} {
			m, args, err := decodeTask(data, strict)
			if err != nil {
				continue
			}
			if m.Run == nil || m.Fn == nil || !args.IsValid() {
				t.Fatalf("decodeTask accepted a task without a function or inputs: %+v", m)
			}
		}
	})
}
