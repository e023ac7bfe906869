package binref

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// exePath is the running executable as the kernel sees it. It names the
// file even after the program's path was deleted or replaced, which a
// path from os.Args or os.Executable would not.
const exePath = "/proc/self/exe"

// A span is a half-open address range [start, end) of this process.
type span struct {
	start, end uintptr
}

func (s span) contains(addr, size uintptr) bool {
	return addr >= s.start && addr <= s.end && size <= s.end-addr
}

// A section is an allocated ELF section at its run-time address.
type section struct {
	name     string
	writable bool
	span
}

// image is the layout of the running executable in memory, read once from
// the ELF section headers of /proc/self/exe (kept by stripped binaries too)
// and the load bias the kernel chose (zero unless the binary is PIE).
type image struct {
	bias     uintptr
	sections []section      // allocated, non-TLS sections
	text     span           // the Go text the runtime knows (moduledata text..etext)
	types    span           // type descriptors and their names (moduledata types..etypes)
	data     span           // pointer-bearing initialised globals (.data)
	bss      span           // pointer-bearing zeroed globals (.bss)
	valid    *descriptorSet // descriptors TypeAt has checked
}

// inImage reports whether [addr, addr+size) lies in one allocated section
// of the executable, so that reading it cannot fault.
func (im *image) inImage(addr, size uintptr) bool {
	for _, s := range im.sections {
		if s.contains(addr, size) {
			return true
		}
	}
	return false
}

// loadImage is the process-wide image, computed on first use: it reads
// the executable's section headers and finds the runtime's module data, in
// tens of microseconds (BenchmarkReadImage).
var loadImage = sync.OnceValues(func() (*image, error) {
	e, err := loadExe()
	return imageOf(exePath, e, err)
})

// readImage reads the layout of the running executable from path, which
// must be that executable.
func readImage(path string) (*image, error) {
	e, err := readExe(path)
	return imageOf(path, e, err)
}

// imageOf returns the layout of the running executable given e, its
// headers read from path, or the error reading them gave.
func imageOf(path string, e *exeFile, err error) (*image, error) {
	var im *image
	if err == nil {
		im, err = layoutOf(e)
	}
	if err != nil {
		return nil, fmt.Errorf("binref: reading the layout of the running executable from %s: %w", path, err)
	}
	return im, nil
}

// layoutOf computes the layout of the running executable from its headers.
func layoutOf(e *exeFile) (*image, error) {
	bias, err := loadBias(e)
	if err != nil {
		return nil, err
	}
	im := &image{bias: bias}
	for _, s := range e.sections {
		if s.flags&shfAlloc == 0 || s.flags&shfTLS != 0 || s.size == 0 {
			continue
		}
		start := uintptr(s.addr) + bias
		im.sections = append(im.sections, section{
			name:     s.name,
			writable: s.flags&shfWrite != 0,
			span:     span{start, start + uintptr(s.size)},
		})
	}
	if len(im.sections) == 0 {
		return nil, errors.New("no allocated sections")
	}
	// The anchor function must be inside the image we computed, or the
	// bias is wrong (for instance when the program was started through
	// the dynamic loader by hand).
	if !im.inImage(anchorPC(), 1) {
		return nil, fmt.Errorf("load bias %#x does not place the text where it runs", bias)
	}
	if err := im.findModuleData(); err != nil {
		return nil, err
	}
	im.valid = newDescriptorSet(im.types)
	return im, nil
}

// loadBias returns how far the kernel moved the executable from the
// addresses in its headers: the entry point the kernel reports in the
// auxiliary vector minus the one written in the ELF header.
func loadBias(e *exeFile) (uintptr, error) {
	if e.typ == etExec {
		return 0, nil
	}
	auxv, err := unix.Auxv()
	if err != nil {
		return 0, fmt.Errorf("reading the auxiliary vector: %w", err)
	}
	for _, kv := range auxv {
		if kv[0] == atEntry {
			return kv[1] - uintptr(e.entry), nil
		}
	}
	return 0, errors.New("the auxiliary vector has no AT_ENTRY")
}

// typesBase returns the start of the main module's type descriptors, as
// the runtime reports it to package reflect.
func typesBase() uintptr {
	sections, _ := reflectTypelinks()
	if len(sections) == 0 {
		return 0
	}
	return uintptr(sections[0])
}

//go:linkname reflectTypelinks reflect.typelinks
func reflectTypelinks() (sections []unsafe.Pointer, offset [][]int32)

// findModuleData locates the runtime's description of the main module in
// the writable data of the executable and copies the bounds we need from
// it. The runtime keeps, in this order, the words text, etext, noptrdata,
// enoptrdata, data, edata, bss, ebss, noptrbss, enoptrbss, covctrs,
// ecovctrs, end, gcdata, gcbss, types, etypes. We look for the types base
// the runtime gave reflect, then check that the bounds around it contain
// this package's anchor function, anchor type and anchor variable, so a
// coincidence cannot fool us. (The bounds are the Go parts only: with
// external linking, C data shares the ELF sections.)
func (im *image) findModuleData() error {
	types := typesBase()
	if types == 0 {
		return errors.New("the runtime reports no type section")
	}
	const (
		textAt   = 0
		dataAt   = 4
		bssAt    = 6
		typesAt  = 15
		etypesAt = 16
	)
	pc, typ, global := anchorPC(), anchorTypeAddr(), anchorGlobalAddr()
	for _, s := range im.sections {
		if !s.writable || s.name == ".bss" || s.name == ".noptrbss" {
			continue
		}
		for p := alignUp(s.start, wordSize) + typesAt*wordSize; p+2*wordSize <= s.end; p += wordSize {
			if readWord(p) != types {
				continue
			}
			w := func(i uintptr) span {
				at := p - typesAt*wordSize + i*wordSize
				return span{readWord(at), readWord(at + wordSize)}
			}
			text, data, bss, typeSpan := w(textAt), w(dataAt), w(bssAt), w(typesAt)
			if !text.contains(pc, 1) || !typeSpan.contains(typ, typeHeaderSize) ||
				!(data.contains(global, wordSize) || bss.contains(global, wordSize)) {
				continue
			}
			for _, sp := range []span{text, data, bss, typeSpan} {
				if sp.end < sp.start || (sp.end > sp.start && !im.inImage(sp.start, sp.end-sp.start)) {
					return errors.New("implausible bounds in the runtime module data")
				}
			}
			im.text, im.data, im.bss, im.types = text, data, bss, typeSpan
			return nil
		}
	}
	return errors.New("runtime module data not found")
}

// at turns an address into a pointer. Callers have checked that addr lies
// in the executable's image (or is a value the runtime stored there), which
// the garbage collector does not manage.
func at(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}

// readWord reads the aligned machine word at addr, which the caller has
// checked lies in the image. Globals there may be written by other
// goroutines at any time; we only compare the words we read, so the read
// is exempt from the race detector.
//
//go:norace
func readWord(addr uintptr) uintptr {
	return *(*uintptr)(at(addr))
}

func alignUp(addr, align uintptr) uintptr {
	return (addr + align - 1) &^ (align - 1)
}

// atEntry is the auxiliary vector key of the program's entry point
// (AT_ENTRY in <elf.h>).
const atEntry = 9
