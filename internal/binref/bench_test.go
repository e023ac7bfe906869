package binref

import (
	"errors"
	"reflect"
	"testing"
)

func BenchmarkFunc(b *testing.B) {
	v := reflect.ValueOf(plainFunc)
	for b.Loop() {
		if !Func(v).Sendable() {
			b.Fatal("not sendable")
		}
	}
}

func BenchmarkFuncAt(b *testing.B) {
	fi := Func(reflect.ValueOf(plainFunc))
	typ := reflect.TypeFor[func(int) int]()
	for b.Loop() {
		if _, err := FuncAt(fi.Offset, fi.Name, typ); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTypeOf(b *testing.B) {
	typ := reflect.TypeFor[embedding]()
	for b.Loop() {
		if _, ok := TypeOf(typ); !ok {
			b.Fatal("not ok")
		}
	}
}

// BenchmarkTypeAt measures a type seen before (the cached path).
func BenchmarkTypeAt(b *testing.B) {
	typ := reflect.TypeFor[embedding]()
	ref, _ := TypeOf(typ)
	name := typ.String()
	for b.Loop() {
		if _, err := TypeAt(ref, name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTypeAtFirst measures the validation of a type not seen before
// in a process that has resolved no type yet: a struct with a dozen
// fields of assorted kinds and everything they lead to (*os.File and its
// methods, sync.Mutex, a map...).
func BenchmarkTypeAtFirst(b *testing.B) {
	typ := reflect.TypeFor[embedding]()
	ref, _ := TypeOf(typ)
	name := typ.String()
	for b.Loop() {
		typesAt.Delete(ref)
		forgetValidDescriptors()
		if _, err := TypeAt(ref, name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindGlobal measures a sentinel seen before (the cached path).
func BenchmarkFindGlobal(b *testing.B) {
	for b.Loop() {
		if _, ok := FindGlobal(errSentinel); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkFindGlobalScan measures the scan a value not seen before costs.
func BenchmarkFindGlobalScan(b *testing.B) {
	err := errors.New("binref: not a global")
	for b.Loop() {
		globalsMissing.Clear()
		if _, ok := FindGlobal(err); ok {
			b.Fatal("found")
		}
	}
}

func BenchmarkLoadGlobal(b *testing.B) {
	ref, _ := FindGlobal(errSentinel)
	typ := reflect.TypeOf(errSentinel)
	for b.Loop() {
		if _, err := LoadGlobal(ref, typ); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStaticFuncvals measures the one-time index FuncAt builds.
func BenchmarkStaticFuncvals(b *testing.B) {
	im, err := loadImage()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if len(im.indexFuncvals().pcs) == 0 {
			b.Fatal("no static funcvals")
		}
	}
}

// BenchmarkReadImage measures the once-per-process reading of the layout.
func BenchmarkReadImage(b *testing.B) {
	for b.Loop() {
		if _, err := readImage(exePath); err != nil {
			b.Fatal(err)
		}
	}
}

// forgetValidDescriptors empties the record of checked descriptors, so
// that the next TypeAt walks its type's descriptors again.
func forgetValidDescriptors() {
	if im, err := loadImage(); err == nil {
		im.valid.clear()
	}
}

// BenchmarkFuncvalLookup measures the search the first FuncAt of a
// function costs, for a PC that no word holds (the whole list).
func BenchmarkFuncvalLookup(b *testing.B) {
	index, err := staticFuncvals()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok := index.lookup(1); ok {
			b.Fatal("found")
		}
	}
	b.ReportMetric(float64(len(index.pcs)), "candidates")
}
