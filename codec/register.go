package codec

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// registry maps names to the types and functions Register was given.
var registry struct {
	sync.RWMutex
	types map[string]reflect.Type
	funcs map[string]reflect.Value
}

// Register records the types of the given values, and the given functions,
// so that they resolve by name. A decoder in Strict mode, the one to use for
// streams from another build, resolves nothing else; other decoders use the
// names only for types without a position in the binary (types built at
// run time with reflect). Register a type with a value of it (T{} or (*T)(nil): both register
// T and *T); the named types it is made of are registered with it.
// Register a function by passing it: the decoder finds it by its name and
// type. Call Register from init in every program that reads the stream.
//
// Registering a type also lets a method value whose receiver has that type
// travel when the binary has no description of the type (see the package
// documentation).
//
// Register panics if given a func literal that captures variables or a
// method value, which have no name to be found by.
func Register(values ...any) {
	registerStd.Do(registerStandard)
	register(values)
}

func register(values []any) {
	registry.Lock()
	defer registry.Unlock()
	if registry.types == nil {
		registry.types = map[string]reflect.Type{}
		registry.funcs = map[string]reflect.Value{}
	}
	for _, v := range values {
		if v == nil {
			continue
		}
		rv := reflect.ValueOf(v)
		t := rv.Type()
		if t.Kind() == reflect.Func && !rv.IsNil() {
			fi := funcInfo(rv)
			if pr, bad := funcProblem(t, fi); bad {
				panic(fmt.Sprintf("codec.Register: %s: %s", pr.Reason, pr.Fix))
			}
			registry.funcs[funcKey(fi.Name, t)] = rv
		}
		registerType(t, map[reflect.Type]bool{})
	}
}

func registerType(t reflect.Type, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	if t.Name() != "" && t.PkgPath() != "" {
		registry.types[qualifiedName(t.PkgPath(), t.String())] = t
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		registerType(t.Elem(), seen)
	case reflect.Map:
		registerType(t.Key(), seen)
		registerType(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			registerType(t.Field(i).Type, seen)
		}
	}
}

func funcKey(name string, t reflect.Type) string { return name + " " + t.String() }

func registeredType(pkg, name string) reflect.Type {
	registerStd.Do(registerStandard)
	registry.RLock()
	defer registry.RUnlock()
	return registry.types[qualifiedName(pkg, name)]
}

func registeredFunc(name string, t reflect.Type) (reflect.Value, bool) {
	registerStd.Do(registerStandard)
	registry.RLock()
	defer registry.RUnlock()
	v, ok := registry.funcs[funcKey(name, t)]
	return v, ok
}

// The standard library's error and time types are registered before any
// lookup, so errors and times decode in Strict mode too. Not at init: that
// cost every process importing the codec 0.2-0.4 ms at start-up, every
// worker included, for what only Strict decoding and Register need.
var registerStd sync.Once

func registerStandard() {
	sentinel := errors.New("")
	register([]any{
		sentinel,
		fmt.Errorf("%w", sentinel),
		fmt.Errorf("%w %w", sentinel, sentinel),
		errors.Join(sentinel),
		time.Time{},
		time.Duration(0),
		reflect.TypeFor[int](),  // *reflect.rtype, the dynamic type of every reflect.Type
		(*context.Context)(nil), // in the signature of every function mproc runs
	})
}
