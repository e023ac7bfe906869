// Package shm maps memory that processes share: a memfd, sealed against
// shrinking and growing (a shrunk file would kill its readers with
// SIGBUS), mapped shared in every process that holds its descriptor. It
// has no name and no tracker: the kernel frees it when the last descriptor
// and the last mapping are gone.
package shm

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// A Segment is shared memory mapped into this process.
type Segment struct {
	f    *os.File
	data []byte

	mu     sync.Mutex
	closed bool
}

// seals every segment carries; Open refuses a memfd without them.
const seals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// Create makes a segment of size bytes, zeroed.
func Create(name string, size int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: a segment of %d bytes: the size must be positive", size)
	}
	fd, err := unix.MemfdCreate("mproc:"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: sizing %d bytes: %w", size, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("shm: sealing: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:mproc:"+name)
	s, err := mapFile(f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// Open maps the segment whose descriptor f is (one received as a handle),
// which it then owns.
func Open(f *os.File) (*Segment, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	var got int
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		if cerr = unix.Fstat(int(fd), &st); cerr == nil {
			got, cerr = unix.FcntlInt(fd, unix.F_GET_SEALS, 0)
		}
	}); err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("shm: %s is not shared memory: %w", f.Name(), cerr)
	}
	if got&seals != seals {
		return nil, fmt.Errorf("shm: %s is not sealed against resizing (seals %#x): mapping it could crash this process", f.Name(), got)
	}
	if st.Size <= 0 || st.Size > 1<<46 {
		return nil, fmt.Errorf("shm: %s has size %d", f.Name(), st.Size)
	}
	return mapFile(f, int(st.Size))
}

func mapFile(f *os.File, size int) (*Segment, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var data []byte
	var merr error
	if err := rc.Control(func(fd uintptr) {
		data, merr = unix.Mmap(int(fd), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}); err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, fmt.Errorf("shm: mapping %d bytes: %w", size, merr)
	}
	return &Segment{f: f, data: data}, nil
}

// Bytes returns the mapped memory; valid until Close.
func (s *Segment) Bytes() []byte { return s.data }

// File returns the segment's descriptor, to pass it as a handle.
func (s *Segment) File() *os.File { return s.f }

// Close unmaps the segment and closes its descriptor; other processes'
// mappings stay. It is idempotent.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := unix.Munmap(s.data)
	s.data = nil
	// A segment that came with a task's input may have had its
	// descriptor closed by the worker already; the mapping is what
	// matters.
	if cerr := s.f.Close(); err == nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}
