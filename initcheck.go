package mproc

import "github.com/mproc-go/mproc/codec"

// checkInitializer reports an initializer function or argument the codec
// cannot send, with its path as the caller wrote it: "initializer fn" or
// "initializer arg" followed by the rest of the path. Python's initargs are
// inherited under fork and pickled under spawn, so a value may work there as
// initializer argument and fail as a task argument; here both cross the
// same codec, and NewPool says so before it starts a worker.
func checkInitializer(fn, arg any) error {
	if fn == nil {
		return nil
	}
	err := codec.Sendable(boxed{fn})
	err = userPath(err, func(path string) (string, bool) {
		rest, ok := afterAssertion(".V.", path)
		return "initializer fn" + rest, ok
	})
	if err != nil {
		return err
	}
	err = codec.Sendable(boxed{arg})
	return userPath(err, func(path string) (string, bool) {
		rest, ok := afterAssertion(".V.", path)
		return "initializer arg" + rest, ok
	})
}
