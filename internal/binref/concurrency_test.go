package binref

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// TestConcurrentResolve resolves references from many goroutines at once,
// each starting with empty caches, so that -race sees the caches and the
// lazily built layout and index being filled concurrently.
func TestConcurrentResolve(t *testing.T) {
	typesAt.Clear()
	funcsAt.Clear()
	forgetValidDescriptors()
	globalsFound.Clear()
	globalsMissing.Clear()

	fi := Func(reflect.ValueOf(double[int]))
	fnType := reflect.TypeFor[func(int) []int]()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			for _, typ := range sampleTypes {
				ref, _ := TypeOf(typ)
				if got, err := TypeAt(ref, typ.String()); err != nil || got != typ {
					errs <- fmt.Errorf("TypeAt(%v) = %v, %v", typ, got, err)
					return
				}
			}
			v, err := FuncAt(fi.Offset, fi.Name, fnType)
			if err != nil {
				errs <- err
				return
			}
			if got := v.Interface().(func(int) []int)(2); len(got) != 2 {
				t.Errorf("double[int](2) = %v", got)
			}
			ref, ok := FindGlobal(errSentinel)
			if !ok {
				t.Error("errSentinel not found")
				return
			}
			if _, err := LoadGlobal(ref, reflect.TypeOf(errSentinel)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
