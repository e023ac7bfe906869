package mprocbench

// Codec returns an operation that round-trips v n times through one
// long-lived codec Encoder/Decoder pair, decoding into a fresh T each time.
func Codec[T any](v *T, same func(a, b *T) bool) (func(n int) error, error) {
	return nil, ErrNotBuilt
}
