package binref

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

type codeErr int

func (c codeErr) Error() string { return fmt.Sprintf("code %d", int(c)) }

var (
	errSentinel       = errors.New("binref: test sentinel")
	errWrapped        = fmt.Errorf("binref: wrapped: %w", errSentinel)
	errCode     error = codeErr(300)
	anyGlobal   any   = &struct{ n int }{7}
	nilGlobal   error
	plainGlobal = [2]*int{new(int), new(int)}
	errMutable  = errors.New("binref: mutable")
)

func TestFindGlobalRoundTrip(t *testing.T) {
	for _, v := range []any{errSentinel, errWrapped, errCode, anyGlobal, fs.ErrNotExist} {
		ref, ok := FindGlobal(v)
		if !ok {
			t.Errorf("FindGlobal(%v) not found", v)
			continue
		}
		got, err := LoadGlobal(ref, reflect.TypeOf(v))
		if err != nil {
			t.Errorf("LoadGlobal(%+v, %T): %v", ref, v, err)
			continue
		}
		if got != v {
			t.Errorf("LoadGlobal(%+v) = %v, want the very value %v", ref, got, v)
		}
		// A second lookup comes from the cache and must agree.
		if again, ok := FindGlobal(v); !ok || again != ref {
			t.Errorf("second FindGlobal(%v) = %+v, %v; want %+v", v, again, ok, ref)
		}
	}
	ref, _ := FindGlobal(errSentinel)
	got, _ := LoadGlobal(ref, reflect.TypeOf(errSentinel))
	if err, ok := got.(error); !ok || !errors.Is(err, errSentinel) || !errors.Is(errWrapped, err) {
		t.Errorf("loaded sentinel %v does not match with errors.Is", got)
	}
}

func TestFindGlobalNotFound(t *testing.T) {
	var nilPath *fs.PathError
	for _, v := range []any{
		errors.New("binref: test sentinel"), // same text, another value
		&fs.PathError{Op: "open", Path: "/x", Err: errSentinel},
		nil,
		nilPath,
	} {
		if ref, ok := FindGlobal(v); ok {
			t.Errorf("FindGlobal(%#v) = %+v, want not found", v, ref)
		}
	}
}

func TestFindGlobalReassigned(t *testing.T) {
	old := errMutable
	ref, ok := FindGlobal(old)
	if !ok {
		t.Fatal("errMutable not found")
	}
	errMutable = errors.New("binref: replaced")
	defer func() { errMutable = old }()
	if _, ok := FindGlobal(old); ok {
		t.Error("FindGlobal found a value no variable holds any more")
	}
	got, err := LoadGlobal(ref, reflect.TypeOf(old))
	if err != nil || got != any(errMutable) {
		t.Errorf("LoadGlobal after reassignment = %v, %v; want the new value", got, err)
	}
}

func TestLoadGlobalErrors(t *testing.T) {
	ref, _ := FindGlobal(errSentinel)
	sentinelType := reflect.TypeOf(errSentinel)
	anchor := anchorGlobalAddr()
	nilRef := GlobalRef{int64(addrOf(&nilGlobal) - anchor)}
	plainRef := GlobalRef{int64(addrOf(&plainGlobal) - anchor)}
	tests := []struct {
		name string
		ref  GlobalRef
		want reflect.Type
		msg  []string
	}{
		{"wrong type", ref, reflect.TypeFor[*fs.PathError](), []string{"does not hold a *fs.PathError", "it holds a *errors.errorString"}},
		{"misaligned", GlobalRef{ref.Offset + 3}, sentinelType, []string{"not in the executable's variables"}},
		{"far away", GlobalRef{1 << 45}, sentinelType, []string{"not in the executable's variables", "0x200000000000"}},
		{"negative", GlobalRef{-1 << 45}, sentinelType, []string{"not in the executable's variables"}},
		{"nil variable", nilRef, sentinelType, []string{"the variable there is nil"}},
		{"not an interface", plainRef, sentinelType, []string{"not an interface value"}},
		{"interface type", ref, reflect.TypeFor[error](), []string{"cannot hold a value of dynamic type error"}},
		{"nil type", ref, nil, []string{"dynamic type <nil>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := LoadGlobal(tt.ref, tt.want)
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("LoadGlobal = %v, %v; want a *ResolveError", v, err)
			}
			if v != nil || re.What != "global" || re.Offset != tt.ref.Offset {
				t.Errorf("LoadGlobal = %v, %+v", v, re)
			}
			for _, m := range append(tt.msg, "global", "Fingerprint") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// TestFindGlobalWhileWritten scans while another goroutine assigns an
// interface variable: under -race this must not report the scan's reads.
func TestFindGlobalWhileWritten(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	errs := []error{errors.New("a"), errors.New("b")}
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				errMutable = errs[i%2]
			}
		}
	}()
	for range 20 {
		fresh := errors.New("binref: not a global")
		if _, ok := FindGlobal(fresh); ok {
			t.Error("found a fresh value")
		}
	}
	close(stop)
	<-done
	errMutable = errors.New("binref: mutable")
}

func FuzzLoadGlobal(f *testing.F) {
	for _, v := range []any{errSentinel, errCode, anyGlobal} {
		ref, _ := FindGlobal(v)
		f.Add(ref.Offset)
		f.Add(ref.Offset + 8)
	}
	f.Add(int64(-8))
	want := reflect.TypeOf(errSentinel)
	f.Fuzz(func(t *testing.T, offset int64) {
		v, err := LoadGlobal(GlobalRef{offset}, want)
		if err != nil {
			var re *ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *ResolveError", err)
			}
			return
		}
		if reflect.TypeOf(v) != want {
			t.Fatalf("LoadGlobal(%#x) = %T, want %v", offset, v, want)
		}
		_ = v.(error).Error()
	})
}

func addrOf[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }
