package binref

// Prepare does ahead of time the once-per-process work that the first
// references would otherwise pay: the executable's fingerprint, its layout
// and the index of static funcvals that FuncAt needs, a few hundred
// microseconds in all for a program of a few megabytes (most of it the
// index; see BenchmarkPrepare). A process that will resolve references
// soon and has time to spare before, such as a worker waiting for its first
// message, calls it on a goroutine of its own; a reference resolved
// meanwhile waits for the part it needs instead of doing it twice. Later
// calls return at once.
//
// The error is the one every resolver would report: the layout of the
// executable cannot be read, so references cannot be resolved here.
func Prepare() error {
	fingerprint()
	_, err := staticFuncvals()
	return err
}
