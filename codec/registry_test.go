package codec

import (
	"maps"
	"strings"
	"testing"
)

// isolateRegistry restores the Register registry when the test ends, so a
// test that registers a type to show the difference it makes still holds
// under go test -count=N.
func isolateRegistry(t *testing.T) {
	registerStd.Do(registerStandard) // restored with the rest, not lost
	registry.Lock()
	types, funcs := maps.Clone(registry.types), maps.Clone(registry.funcs)
	registry.Unlock()
	t.Cleanup(func() {
		registry.Lock()
		registry.types, registry.funcs = types, funcs
		registry.Unlock()
	})
}

// The standard library's error and time types resolve by name in Strict
// mode without any Register call, though they are registered lazily.
func TestStandardTypesRegistered(t *testing.T) {
	for _, name := range []string{"time.Time", "time.Duration", "errors.errorString", "fmt.wrapError", "errors.joinError"} {
		pkg, _, _ := strings.Cut(name, ".")
		if registeredType(pkg, name) == nil {
			t.Errorf("%s is not registered", name)
		}
	}
}
