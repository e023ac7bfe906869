package codec_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mproc-go/mproc/codec"
	"golang.org/x/sys/unix"
)

// fileStream is an in-memory FileWriter and FileReader: the bytes and the
// descriptors an Encoder hands it, in order, as a Unix socket would carry
// them.
type fileStream struct {
	bytes.Buffer
	fds []int
}

func (s *fileStream) AttachFiles(fds []int) error {
	s.fds = append(s.fds, fds...)
	return nil
}

func (s *fileStream) TakeFiles(n int) ([]int, error) {
	if n > len(s.fds) {
		return nil, fmt.Errorf("%d descriptors expected, %d here", n, len(s.fds))
	}
	fds := s.fds[:n:n]
	s.fds = s.fds[n:]
	return fds, nil
}

type logTo struct {
	Name string
	Out  *os.File
	Err  *os.File
	None *os.File
}

func TestFilesTravelAsHandles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s fileStream
	enc := codec.NewEncoder(&s)
	if err := enc.Encode(logTo{Name: "job", Out: w, Err: w}); err != nil {
		t.Fatal(err)
	}
	w.Close() // the stream holds a duplicate
	if len(s.fds) != 1 {
		t.Fatalf("the message passes %d descriptors, want 1: the same file twice is one handle", len(s.fds))
	}
	var dis strings.Builder
	if err := codec.Dis(&dis, s.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 open file passed beside message #1", `#1 "|1"`, "file #1", "a handle: its descriptor is passed"} {
		if !strings.Contains(dis.String(), want) {
			t.Errorf("Dis lacks %q:\n%s", want, dis.String())
		}
	}
	if err := codec.Unmarshal(s.Bytes(), new(logTo)); err == nil || !strings.Contains(err.Error(), "passes 1 open files, and this decoder reads bytes that cannot carry them") {
		t.Errorf("Unmarshal of a message with files = %v", err)
	}
	dec := codec.NewDecoder(&s)
	var got logTo
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Out == nil || got.Out != got.Err || got.None != nil || got.Name != "job" {
		t.Fatalf("decoded %+v: want one file in Out and Err, None nil", got)
	}
	if opened := dec.Opened(); len(opened) != 1 || opened[0] != got.Out {
		t.Fatalf("Opened = %v", opened)
	}
	got.Out.WriteString("through the handle")
	got.Out.Close()
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "through the handle" {
		t.Fatalf("read %q, %v: the pipe's last writer is closed, all must arrive", b, err)
	}
}

func TestFilesRefusedWhereBytesAreTheDestination(t *testing.T) {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf)
	err := enc.Encode(logTo{Out: os.Stdout})
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) || ue.Path != ".Out" || !strings.Contains(ue.Reason, "bytes cannot carry it") {
		t.Fatalf("Encode of a file to a bytes.Buffer = %v", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("the refused message wrote %d bytes", buf.Len())
	}
	// A nil file is just nil.
	if err := enc.Encode(logTo{Name: "no files"}); err != nil {
		t.Fatal(err)
	}
	var got logTo
	if err := codec.NewDecoder(&buf).Decode(&got); err != nil || got.Name != "no files" {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	if ps := codec.Check(logTo{Out: os.Stdout}); len(ps) != 1 || ps[0].Path != ".Out" {
		t.Fatalf("Check = %v, want the file reported, as Marshal refuses it", ps)
	}
	if err := codec.Sendable(logTo{Out: os.Stdout}); err != nil {
		t.Fatalf("Sendable = %v, want nil: mproc passes files", err)
	}
}

// conn is a handle: it owns a file, and each send moves a fresh duplicate.
type conn struct {
	Label string
	f     *os.File
	sent  int
}

type connState struct {
	Label string
	F     *os.File
}

func (c *conn) MarshalHandle() (any, []*os.File, error) {
	c.sent++
	fd, err := unix.Dup(int(c.f.Fd()))
	if err != nil {
		return nil, nil, err
	}
	fresh := os.NewFile(uintptr(fd), c.f.Name())
	return connState{c.Label, fresh}, []*os.File{fresh}, nil
}

func (c *conn) UnmarshalHandle(state any) error {
	s, ok := state.(connState)
	if !ok {
		return fmt.Errorf("state is a %T", state)
	}
	c.Label, c.f = s.Label, s.F
	return nil
}

func TestHandleMarshalerIsCalledOnlyWhenSent(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &conn{Label: "devnull", f: f}
	if _, err := codec.Marshal(struct{ C *conn }{c}); err == nil || !strings.Contains(err.Error(), "it is a handle") {
		t.Fatalf("Marshal of a handle = %v", err)
	}
	codec.Check(c)
	if err := codec.Sendable(c); err != nil || c.sent != 0 {
		t.Fatalf("Sendable = %v, MarshalHandle ran %d times: want nil and 0", err, c.sent)
	}
	var s fileStream
	if err := codec.NewEncoder(&s).Encode(struct{ C, Nil *conn }{C: c}); err != nil {
		t.Fatal(err)
	}
	if c.sent != 1 || len(s.fds) != 1 {
		t.Fatalf("MarshalHandle ran %d times, %d descriptors passed", c.sent, len(s.fds))
	}
	var got struct{ C, Nil *conn }
	if err := codec.NewDecoder(&s).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.C == nil || got.C.Label != "devnull" || got.C.f == nil || got.Nil != nil {
		t.Fatalf("decoded %+v", got)
	}
	got.C.f.Close()
}

func TestMarshalFilesRoundTrip(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, fds, err := codec.MarshalFiles(logTo{Name: "m", Out: w})
	w.Close()
	if err != nil || len(fds) != 1 {
		t.Fatalf("MarshalFiles = %d fds, %v", len(fds), err)
	}
	if err := codec.Unmarshal(data, new(logTo)); err == nil {
		t.Fatal("Unmarshal of a message that passes a file: want an error, it has no descriptors to give")
	}
	var got logTo
	files, err := codec.UnmarshalFiles(data, fds, &got)
	if err != nil || len(files) != 1 || files[0] != got.Out || got.Name != "m" {
		t.Fatalf("UnmarshalFiles = %v, %v, %+v", files, err, got)
	}
	got.Out.WriteString("via MarshalFiles")
	got.Out.Close()
	b, _ := io.ReadAll(r)
	if string(b) != "via MarshalFiles" {
		t.Fatalf("read %q", b)
	}
	if _, _, err := codec.MarshalFiles(struct{ C chan int }{make(chan int)}); err == nil {
		t.Fatal("MarshalFiles of a channel: want a refusal")
	}
}

func TestOpenedIsEmptyAfterADecodeThatFails(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var s fileStream
	if err := codec.NewEncoder(&s).Encode(logTo{Out: w}); err != nil {
		t.Fatal(err)
	}
	dec := codec.NewDecoder(&s)
	var got logTo
	if err := dec.Decode(&got); err != nil || len(dec.Opened()) != 1 {
		t.Fatalf("Decode = %v, Opened %v", err, dec.Opened())
	}
	// The end of the stream: this Decode made nothing, and Opened must not
	// hand out the last message's files again (a caller closing them
	// would close files a value still uses).
	if err := dec.Decode(&got); err != io.EOF || len(dec.Opened()) != 0 {
		t.Fatalf("Decode at the end = %v, Opened %v", err, dec.Opened())
	}
	got.Out.Close()
}

func TestHandleRefusedTellsHandlesFromOtherRefusals(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = codec.Marshal(struct{ F *os.File }{f})
	if !codec.HandleRefused(err) {
		t.Errorf("HandleRefused(%v) = false for an open file given to Marshal", err)
	}
	_, err = codec.Marshal(make(chan int))
	if err == nil || codec.HandleRefused(err) {
		t.Errorf("HandleRefused(%v) = true for a channel", err)
	}
	if codec.HandleRefused(nil) {
		t.Error("HandleRefused(nil) = true")
	}
}
