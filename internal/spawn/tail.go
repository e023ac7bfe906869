package spawn

import (
	"bytes"
	"sync"
)

// tailSize bounds the bytes of a worker's stderr kept for its exit error.
// It is large because a Go crash report lists every goroutine after the
// line that matters; tailShown bounds what the report shows of the end.
const (
	tailSize  = 64 << 10
	tailShown = 2 << 10
	headLines = 12
)

// crashMarkers start the first line of a Go crash report or a signal report.
var crashMarkers = [][]byte{
	[]byte("fatal error: "), []byte("panic: "), []byte("SIG"), []byte("unexpected signal"), []byte("runtime: "), []byte("runtime/cgo: "),
}

// A Tail keeps the last 64 KiB written to it: a process's stderr, for the
// error that reports how it ended. Its zero value is ready to use.
type Tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= tailSize {
		t.buf = append(t.buf[:0], p[len(p)-tailSize:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// String returns the last lines kept, about tailShown bytes. When a crash
// report begins before them, its first lines come first, so that the
// reason ("fatal error: stack overflow", "SIGSEGV: segmentation
// violation") is not lost behind the goroutine dump that follows it.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := bytes.TrimRight(t.buf, "\n")
	if len(t.buf) == tailSize {
		b = afterNewline(b)
	}
	if len(b) <= tailShown {
		return string(b)
	}
	end := afterNewline(b[len(b)-tailShown:])
	start := len(b) - len(end)
	at := crashStart(b[:start])
	if at < 0 {
		return string(end)
	}
	head := b[at:start]
	for i, n := 0, 0; i < len(head); i++ {
		if head[i] == '\n' {
			if n++; n == headLines {
				head = head[:i]
				break
			}
		}
	}
	return string(bytes.TrimRight(head, "\n")) + "\n[...]\n" + string(end)
}

// afterNewline drops b's first, partial line.
func afterNewline(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

// crashStart returns the offset of the first line of b that starts a crash
// report, or -1.
func crashStart(b []byte) int {
	for off := 0; off < len(b); {
		line := b[off:]
		for _, m := range crashMarkers {
			if bytes.HasPrefix(line, m) {
				return off
			}
		}
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	return -1
}
