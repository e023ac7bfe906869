package prefault

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// TestWriteFaultsThePagesInAndKeepsTheBytes: after Write, touching every
// page of a fresh 16 MiB slice takes almost no page faults (without it,
// one per page), and what the slice held is unchanged.
func TestWriteFaultsThePagesInAndKeepsTheBytes(t *testing.T) {
	runtime.LockOSThread() // the faults are counted per thread
	defer runtime.UnlockOSThread()
	const size = 16 << 20
	pages := size / unix.Getpagesize()
	touch := func(b []byte) int64 {
		before := minorFaults(t)
		for i := 0; i < len(b); i += unix.Getpagesize() {
			b[i] = byte(i>>12) | 1
		}
		return minorFaults(t) - before
	}
	cold := make([]byte, size)
	coldFaults := touch(cold)

	b := make([]byte, size)
	b[0], b[size/2], b[size-1] = 7, 8, 9
	Write(b)
	if unsupported.Load() {
		t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14)")
	}
	if b[0] != 7 || b[size/2] != 8 || b[size-1] != 9 {
		t.Fatalf("Write changed the bytes: %d %d %d", b[0], b[size/2], b[size-1])
	}
	for i, v := range b {
		if v != 0 && i != 0 && i != size/2 && i != size-1 {
			t.Fatalf("byte %d is %d after Write, want 0", i, v)
		}
	}
	warmFaults := touch(b)
	// The fresh slice faulted on most of its pages (the runtime may have
	// touched some); after Write almost none remain.
	if coldFaults < int64(pages)/2 {
		t.Skipf("a fresh slice took only %d faults for %d pages: the runtime's memory was already resident, nothing to compare", coldFaults, pages)
	}
	if warmFaults > int64(pages)/10 {
		t.Errorf("touching %d pages after Write took %d page faults (a fresh slice: %d); want almost none", pages, warmFaults, coldFaults)
	}
}

// TestWriteIgnoresSmallAndEmptySlices: nothing below Threshold is asked of
// the kernel, and odd sizes and alignments are fine.
func TestWriteIgnoresSmallAndEmptySlices(t *testing.T) {
	Write(nil)
	Write(make([]byte, Threshold-1))
	b := make([]byte, Threshold+13)
	Write(b[3:])
	for i, v := range b {
		if v != 0 {
			t.Fatalf("byte %d is %d, want 0", i, v)
		}
	}
}
