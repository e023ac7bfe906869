package codec

// An Option configures an Encoder or a Decoder. Options that make no sense
// for one side are ignored by it.
type Option func(*options)

type options struct {
	maxDepth   int
	maxMessage int
	strict     bool
}

// DefaultMaxDepth is the nesting limit used when no MaxDepth option is given.
const DefaultMaxDepth = 10000

// DefaultMaxMessageSize is the largest message a Decoder accepts when no
// MaxMessageSize option is given.
const DefaultMaxMessageSize = 1 << 30

func buildOptions(opts []Option) options {
	o := options{maxDepth: DefaultMaxDepth, maxMessage: DefaultMaxMessageSize}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// MaxDepth limits how deeply values may nest (pointers, interfaces, slices
// and maps count one level each). Past the limit Encode and Decode return an
// error instead of growing the goroutine stack without bound. A linked list
// is as deep as it is long: raise the limit for long lists.
func MaxDepth(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxDepth = n
		}
	}
}

// MaxMessageSize makes a Decoder refuse, before reading it, any message
// whose length prefix exceeds n bytes, and any whose body and out-of-band
// buffers (see the package documentation's Format) together exceed n.
func MaxMessageSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxMessage = n
		}
	}
}

// Strict makes a Decoder trust no position taken from its input: types and
// functions resolve only through Register, by name, and the binary
// fingerprint is not required to match. Use it for input from another
// binary or from the network. Sentinel error references decode as copies,
// so errors.Is against a sentinel no longer matches them. A method value is
// rebuilt with reflect from its registered receiver type (exported methods
// only); a function made in generic code, which travels by position only,
// is refused.
func Strict() Option {
	return func(o *options) { o.strict = true }
}
