package codec

import (
	"maps"
	"testing"
)

// isolateRegistry restores the Register registry when the test ends, so a
// test that registers a type to show the difference it makes still holds
// under go test -count=N.
func isolateRegistry(t *testing.T) {
	registry.Lock()
	types, funcs := maps.Clone(registry.types), maps.Clone(registry.funcs)
	registry.Unlock()
	t.Cleanup(func() {
		registry.Lock()
		registry.types, registry.funcs = types, funcs
		registry.Unlock()
	})
}
