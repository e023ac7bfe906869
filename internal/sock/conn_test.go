package sock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// connPair returns both ends of a socketpair as Conns.
func connPair(t *testing.T) (a, b *Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *Conn {
		c, err := NewConn(fd, "test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return conn(fds[0]), conn(fds[1])
}

func TestConnReadsWhatWasWritten(t *testing.T) {
	a, b := connPair(t)
	for _, msg := range []string{"x", "hello", string(make([]byte, 100_000))} {
		go a.Write([]byte(msg))
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("reading %d bytes: %v", len(msg), err)
		}
		if string(got) != msg {
			t.Fatalf("read %d bytes that differ from those written", len(msg))
		}
	}
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
}

// A Close in another goroutine ends a Read that waits in the poller.
func TestConnCloseEndsWaitingRead(t *testing.T) {
	_, b := connPair(t)
	done := make(chan error, 1)
	b.misses.Store(spinMisses) // straight to the poller
	go func() {
		_, err := b.Read(make([]byte, 8))
		done <- err
	}()
	b.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read ended by Close: %v; want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a waiting Read in 10 s")
	}
}

// Writev sends its buffers in order, also when they are larger than the
// socket's buffer and the reader is slow to come.
func TestConnWritev(t *testing.T) {
	a, b := connPair(t)
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	bufs := [][]byte{[]byte("head:"), big, []byte(":tail")}
	want := string(bufs[0]) + string(big) + string(bufs[2])
	done := make(chan error, 1)
	go func() {
		n, err := a.Writev(bufs)
		if err == nil && n != len(want) {
			err = fmt.Errorf("Writev wrote %d bytes of %d", n, len(want))
		}
		done <- err
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("Writev's bytes arrived changed or out of order")
	}
}

// A descriptor that is not a unix stream socket is refused, saying what it
// is, and closed: NewConn owns it either way.
func TestNewConnRefusesOtherFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	pipeFd, err := unix.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fd         int
		name, want string
	}{{pipeFd, "pipe", "not a socket"}, {fds[0], "datagram socket", "not a stream"}} {
		if _, err := NewConn(c.fd, c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewConn(%s) = %v; want an error saying it is %s", c.name, err, c.want)
		}
		if _, err := unix.FcntlInt(uintptr(c.fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
			t.Errorf("NewConn(%s) failed and left its descriptor open (fcntl: %v)", c.name, err)
		}
	}
}

// After Close, every call says os.ErrClosed.
func TestConnCallsAfterClose(t *testing.T) {
	a, _ := connPair(t)
	a.Close()
	if _, err := a.Writev([][]byte{[]byte("x")}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Writev after Close: %v; want os.ErrClosed", err)
	}
	if err := a.CloseWrite(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("CloseWrite after Close: %v; want os.ErrClosed", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v; want os.ErrClosed", err)
	}
}

func TestConnEndOfStream(t *testing.T) {
	a, b := connPair(t)
	a.Write([]byte("last"))
	a.CloseWrite()
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last" {
		t.Fatalf("ReadAll = %q, %v; want \"last\", nil", got, err)
	}
	if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end = %d, %v; want 0, io.EOF", n, err)
	}
}

// A deadline ends a Read whether it passes while the Read polls or while
// it waits in the poller, with the error net.Conn users test for.
func TestConnReadDeadline(t *testing.T) {
	_, b := connPair(t)
	for _, d := range []time.Duration{-time.Second, spinFor / 2, 20 * time.Millisecond} {
		b.SetReadDeadline(time.Now().Add(d))
		n, err := b.Read(make([]byte, 8))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("deadline in %v: Read = %d, %v; want os.ErrDeadlineExceeded", d, n, err)
		}
		var te interface{ Timeout() bool }
		if !errors.As(err, &te) || !te.Timeout() {
			t.Errorf("deadline in %v: %v has no Timeout() that says true", d, err)
		}
	}
}

func TestConnReadAfterClose(t *testing.T) {
	_, b := connPair(t)
	b.Close()
	if _, err := b.Read(make([]byte, 8)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v; want os.ErrClosed", err)
	}
}

// Reads that keep waiting longer than a poll turn polling off, and a Read
// still gets its bytes then.
func TestConnStopsPollingWhenItKeepsMissing(t *testing.T) {
	a, b := connPair(t)
	for range spinMisses {
		b.SetReadDeadline(time.Now().Add(20 * spinFor))
		if _, err := b.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read with nothing to read: %v; want os.ErrDeadlineExceeded", err)
		}
	}
	if m := b.misses.Load(); m < spinMisses {
		t.Fatalf("after %d Reads that waited 20 polls' time, misses = %d; want polling off (>= %d)", spinMisses, m, spinMisses)
	}
	b.SetReadDeadline(time.Time{})
	a.Write([]byte("late"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "late" {
		t.Fatalf("Read with polling off = %q, %v; want \"late\"", got, err)
	}
	// Bytes that were there before the Read began say nothing of whether
	// polling would catch the next ones: polling stays off.
	if m := b.misses.Load(); m < spinMisses {
		t.Errorf("a Read that found its bytes at once turned polling back on (misses = %d)", m)
	}
}

func TestDescriptorsTravelBesideTheBytes(t *testing.T) {
	a, b := connPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	n, err := a.WritevRights([][]byte{[]byte("he"), []byte("llo")}, []int{int(w.Fd())})
	if err != nil || n != 5 {
		t.Fatalf("WritevRights = %d, %v", n, err)
	}
	if _, err := b.TakeFiles(1); err == nil {
		t.Fatal("TakeFiles before the bytes were read: want an error saying none arrived")
	}
	buf := make([]byte, 16)
	got := 0
	for got < 5 {
		m, err := b.Read(buf[got:])
		if err != nil {
			t.Fatal(err)
		}
		got += m
	}
	if string(buf[:got]) != "hello" {
		t.Fatalf("read %q", buf[:got])
	}
	fds, err := b.TakeFiles(1)
	if err != nil || len(fds) != 1 {
		t.Fatalf("TakeFiles = %v, %v", fds, err)
	}
	dup := os.NewFile(uintptr(fds[0]), "dup")
	if _, err := dup.WriteString("through the duplicate"); err != nil {
		t.Fatal(err)
	}
	dup.Close()
	w.Close()
	all, err := io.ReadAll(r)
	if err != nil || string(all) != "through the duplicate" {
		t.Fatalf("pipe read %q, %v", all, err)
	}
	if flags, err := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0); err == nil {
		t.Errorf("the received descriptor %d is still open after Close (flags %#x)", fds[0], flags)
	}
	if _, err := b.TakeFiles(1); err == nil || !strings.Contains(err.Error(), "1 descriptors expected, 0 received") {
		t.Fatalf("TakeFiles with none left = %v", err)
	}
}

func TestCloseClosesDescriptorsNotTaken(t *testing.T) {
	a, b := connPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := a.WritevRights([][]byte{[]byte("x")}, []int{int(w.Fd())}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := b.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	b.Close() // the duplicate of w it received goes with it
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("pipe read = %v, want io.EOF: the descriptor received and never taken is still open", err)
	}
}

// FuzzRecordReader reads whatever a peer may send: records, truncated or
// not, with any header. It must end with an error or EOF, never a panic,
// and never allocate what the input does not hold.
func FuzzRecordReader(f *testing.F) {
	f.Add([]byte("M\x00\x07\x05hello"))
	f.Add([]byte("I\x00\x01\x80\x80\x80\x80\x04"))
	f.Add([]byte("Q\x02\x01\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewConn(fds[0], "a")
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewConn(fds[1], "b")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		go func() {
			a.Write(in)
			a.Close()
		}()
		r := NewRecordReader(b)
		for range 64 {
			rec, err := r.Read()
			CloseFiles(rec.Files)
			if err != nil {
				return
			}
		}
	})
}
