package codec

// Marshaler is implemented by types that choose what of themselves travels,
// the role of Python's __reduce__ and __getstate__. MarshalCodec returns the
// state to send in place of the value; it is encoded like any other value,
// so it may be a struct, a slice, anything sendable. A type that implements
// Marshaler (with a value or pointer receiver) must implement Unmarshaler on
// its pointer type, or the codec ignores both and sends its fields.
//
// Use it to leave out what cannot or should not travel: a mutex, a cache, an
// open file (send the path and reopen it in UnmarshalCodec). MarshalCodec
// may run more than once for one send (Check calls it, and mproc.Start and
// mproc.Map check a value before a process starts or a task runs), so it
// should compute the state and do nothing else.
type Marshaler interface {
	MarshalCodec() (state any, err error)
}

// Unmarshaler is the receiving side of Marshaler, the role of Python's
// __setstate__: UnmarshalCodec is called on a zero value with the state
// MarshalCodec returned, decoded (its dynamic type is the one sent).
type Unmarshaler interface {
	UnmarshalCodec(state any) error
}
