package mproc

import (
	"fmt"
	"os"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/mproc-go/mproc/internal/shm"
)

// SharedMemory is memory that processes of this machine share: a memfd
// mapped into every process that holds it, passed as a handle (in any task
// input or result, Start or Initializer argument, queue item). Nothing is
// copied: a process that writes it is seen by all the others at once, so
// what they share needs synchronizing (sync/atomic works on it across
// processes; so does Lock). It has no name and nothing tracks it: the
// kernel frees it when the last process holding it has closed it or
// exited. Its size is fixed: the memfd is sealed, so no process can shrink
// it under the others' feet.
//
// Close unmaps it in this process; nothing else does, except in a worker:
// memory that arrived with a task's input is unmapped when the task
// returns (pass it to Initializer to keep it mapped), so do not keep a
// slice of it past the task.
type SharedMemory struct {
	seg    *shm.Segment
	closed atomic.Bool
}

var shmSeq atomic.Int64

// NewSharedMemory returns size bytes of zeroed shared memory.
func NewSharedMemory(size int) (*SharedMemory, error) {
	seg, err := shm.Create(fmt.Sprintf("%d-%d", os.Getpid(), shmSeq.Add(1)), size)
	if err != nil {
		return nil, fmt.Errorf("mproc: NewSharedMemory: %w", err)
	}
	return &SharedMemory{seg: seg}, nil
}

// Bytes returns the shared memory; it is valid until Close.
func (m *SharedMemory) Bytes() []byte { return m.seg.Bytes() }

// Len returns its size in bytes.
func (m *SharedMemory) Len() int { return len(m.seg.Bytes()) }

// Close unmaps the memory in this process and closes its descriptor. The
// other processes' mappings stay valid.
func (m *SharedMemory) Close() error {
	m.closed.Store(true)
	return m.seg.Close()
}

// CloseHandle unmaps the memory in this process (codec.HandleCloser).
func (m *SharedMemory) CloseHandle() error { return m.Close() }

type sharedMemoryHandle struct{ F *os.File }

// MarshalHandle passes the memory's descriptor (codec.HandleMarshaler).
func (m *SharedMemory) MarshalHandle() (any, []*os.File, error) {
	if m.closed.Load() {
		return nil, nil, fmt.Errorf("mproc: the SharedMemory is closed")
	}
	return sharedMemoryHandle{F: m.seg.File()}, nil, nil
}

// UnmarshalHandle maps the memory received (codec.HandleUnmarshaler).
func (m *SharedMemory) UnmarshalHandle(state any) error {
	h, ok := state.(sharedMemoryHandle)
	if !ok || h.F == nil {
		return fmt.Errorf("mproc: a SharedMemory's handle is a %T", state)
	}
	seg, err := shm.Open(h.F)
	if err != nil {
		return fmt.Errorf("mproc: SharedMemory: %w", err)
	}
	m.seg = seg
	return nil
}

// A SharedSlice is a []T in shared memory, Python's multiprocessing.Array:
// every process holding it reads and writes the same elements. T must hold
// no pointers (they would point into one process's memory): numbers,
// arrays and structs of them. Use sync/atomic on its elements, or a Lock,
// where processes write the same elements.
type SharedSlice[T any] struct {
	Mem *SharedMemory // the memory under the slice
	n   int
}

// NewSharedSlice returns a zeroed SharedSlice of n elements.
func NewSharedSlice[T any](n int) (*SharedSlice[T], error) {
	t := reflect.TypeFor[T]()
	if path, bad := pointerPath(t, ""); bad {
		return nil, fmt.Errorf("mproc: NewSharedSlice[%s]: %s%s holds pointers, which would point into one process's memory; use a type of numbers, arrays and structs of them", t, t, path)
	}
	size := int(t.Size()) * n
	if n <= 0 || t.Size() == 0 {
		return nil, fmt.Errorf("mproc: NewSharedSlice[%s](%d): want a positive number of elements of a non-empty type", t, n)
	}
	m, err := NewSharedMemory(size)
	if err != nil {
		return nil, err
	}
	return &SharedSlice[T]{Mem: m, n: n}, nil
}

// Slice returns the shared elements; valid until Close.
func (s *SharedSlice[T]) Slice() []T {
	b := s.Mem.Bytes()
	if s.n == 0 && len(b) > 0 {
		s.n = len(b) / int(unsafe.Sizeof(*new(T)))
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), s.n)
}

// Len returns the number of elements.
func (s *SharedSlice[T]) Len() int { return len(s.Slice()) }

// Close unmaps the slice in this process.
func (s *SharedSlice[T]) Close() error { return s.Mem.Close() }

// A SharedValue is one T in shared memory, Python's multiprocessing.Value.
// T must hold no pointers.
type SharedValue[T any] struct{ s SharedSlice[T] }

// NewSharedValue returns a SharedValue holding v.
func NewSharedValue[T any](v T) (*SharedValue[T], error) {
	s, err := NewSharedSlice[T](1)
	if err != nil {
		return nil, err
	}
	s.Slice()[0] = v
	return &SharedValue[T]{s: *s}, nil
}

// Ptr returns the shared value's address, for sync/atomic or a Lock's
// protection; valid until Close.
func (v *SharedValue[T]) Ptr() *T { return &v.s.Slice()[0] }

// Close unmaps the value in this process.
func (v *SharedValue[T]) Close() error { return v.s.Close() }

// pointerPath reports the first part of t that holds a pointer.
func pointerPath(t reflect.Type, path string) (string, bool) {
	switch t.Kind() {
	case reflect.Array:
		return pointerPath(t.Elem(), path+"[*]")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if p, bad := pointerPath(f.Type, path+"."+f.Name); bad {
				return p, true
			}
		}
		return "", false
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface,
		reflect.UnsafePointer, reflect.String:
		if path == "" {
			return "", true
		}
		return " (at " + path + ", a " + t.String() + ")", true
	}
	return "", false
}
