package mproc

import (
	"bytes"
	"io"
	"sync"
)

// A prefixWriter starts each line written to it with a prefix. A line is
// written out whole, so lines of different workers do not interleave.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	line   []byte // the unfinished line
}

func newPrefixWriter(w io.Writer, prefix string) *prefixWriter {
	return &prefixWriter{w: w, prefix: []byte(prefix)}
}

func (pw *prefixWriter) Write(p []byte) (int, error) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			pw.line = append(pw.line, p...)
			break
		}
		out := append(append(append([]byte(nil), pw.prefix...), pw.line...), p[:i+1]...)
		pw.line = pw.line[:0]
		p = p[i+1:]
		if _, err := pw.w.Write(out); err != nil {
			return n - len(p), err
		}
	}
	return n, nil
}
