// Package codec sends Go values to another process of the same program:
// by value, by reference, with aliasing and cycles, and it says exactly
// what cannot travel.
//
// It is mproc's serializer: arguments, results, errors and the functions
// themselves cross process boundaries through it. It knows nothing about
// processes.
//
// # What travels, and how
//
// By value: numbers (floats bit-exact, NaN payloads and -0 included),
// strings, arrays, slices, maps with any comparable key, structs with their
// unexported fields (the decoder is the same program: private state
// travels, like pickle's __dict__), pointers, and interface values, which
// keep their concrete type with no registration. Slices and arrays of
// fixed-size numbers are copied in bulk, never element by element.
// time.Time travels as its instant and location name (the monotonic
// reading is dropped; a fixed zone, time.FixedZone, keeps its offset
// whatever the zone database says of its name); a type with a MarshalCodec, MarshalBinary,
// GobEncode or MarshalText method (with the matching decoding method)
// travels as what that method returns. Some standard-library types
// travel through the same hook mechanism with a state the codec chooses,
// because their fields do not mean what they hold once copied one by one:
// log/slog.Value (so Attr and Record), strings.Builder, regexp.Regexp (its
// expression and its Longest setting).
//
// By reference: functions (top-level functions, method expressions such as
// (*T).M, instantiations of generic functions, func literals that capture
// nothing) travel as a name and a position in the binary, verified on
// arrival, never code. A method value x.M travels as its method, by
// reference, and its receiver x, by value (a pointer receiver with its
// identity); a function the compiler makes in generic code (F[T] used as
// a value inside a generic function) travels as its code and its
// dictionary, read-only data of the binary, both by position and
// verified; the worker runs the same executable and already
// has the code, and everything it calls. Named types travel the same way
// inside interface values, and so do reflect.Type values (except types
// built at run time). A pointer to a package-level error variable
// (io.EOF, your ErrNotFound) travels as a reference to that variable, so
// errors.Is keeps matching; concrete error types keep errors.As working
// because they are ordinary values here.
//
// Identity: two pointers to one object decode to one object; a value that
// reaches itself (a ring, a self-referencing struct, a map holding itself)
// decodes to the same shape. Pointers, maps, and slices whose elements can
// hold references are tracked per message. A pointer or slice into the
// middle of another object of the value (&s.Field, &a[3], a[1:3], the
// elements of a container/list pointing at its root) decodes to the same
// place in the decoded object, whichever the value reaches first; so does
// a sub-slice of a slice of the value, of any element type, and two slices
// of one type that overlap (a[0:3] and a[1:4]): they decode as parts of one
// array. Objects that overlap otherwise (a slice of a struct's array field
// running past the struct) decode as separate copies.
//
// Never: channels, unsafe.Pointer, sync types (Mutex, RWMutex, WaitGroup,
// Once, Cond, Map, Pool, atomic.Value, atomic.Pointer), reflect.Value,
// *runtime.Func (a descriptor in this process), unique.Handle, net.Conn
// and other socket types (send their *os.File), func literals that
// capture variables, method values whose receiver's type the binary does
// not describe, and anything containing them. They are refused with an
// *UnsupportedError naming the path from the root (.Cfg.Log.out), the
// type, the reason and the fix; Check lists every such part at once. A type
// of the program is refused when its layout holds such a field, even if
// the field is nil: the layout cannot travel.
//
// Handles: an *os.File, and a type implementing HandleMarshaler (mproc's
// Queue, PipeEnd and Shared), is passed rather than copied. An Encoder
// whose Writer is a FileWriter — mproc's connections between processes of
// one machine — lists the message's files in a file table ("file #1") and
// hands their duplicated descriptors to the writer, which passes them
// beside the bytes (SCM_RIGHTS); a Decoder on a FileReader makes them
// *os.File values again, and Opened lists them. Bytes cannot carry a
// descriptor, so Marshal, and an Encoder on any other Writer, refuse a
// non-nil file or handle with an *UnsupportedError that says what to do
// instead, and Check reports them for the same reason; Sendable checks a
// value as mproc's calls send it, handles accepted. A nil *os.File is
// just nil, and travels anywhere.
//
// Trust: a decoder not in Strict mode trusts the stream to come from the
// same build over a private channel (mproc's socket to its own worker): it
// checks the binary's fingerprint and resolves any function, method,
// dictionary or type of the program the stream names by its position.
// Each position is verified (a function's name and entry, its argument
// frame against the stream's signature, a type's descriptor, a
// dictionary's first type), so a corrupted stream fails with an error; but
// the checks cannot tell apart two functions of the same name and frame
// size, or two dictionaries starting with the same type. Warning: as with
// Python's pickle, never decode data from an untrusted source out of
// Strict mode: a crafted stream could make the program call functions of
// its own with arguments of its choosing. Use Strict for input from
// elsewhere: only what Register was given resolves, by name, and method
// values are rebuilt with reflect from a registered receiver type.
//
// # Cost
//
// The first value of each type compiles an encoding and a decoding plan,
// kept for the life of the process; later values run the plan with no
// reflection on the hot path. On a stream, each type and function is
// described once, in the first message that needs it. A slice of numbers
// of 16 KiB or more is written from the caller's memory and read into its
// final slice, so a large []byte costs one copy per side; out of Strict
// mode a Decoder makes that slice at the size the stream announces, and
// MaxMessageSize bounds it. Decoding allocates nothing beyond the result's
// own memory; the strings of a message up to 4 KiB are cut from one copy of
// it (from its first string on), made in a block of 1 KiB or the copy's size
// that the copies of the next messages share, and keep that block alive
// together: one allocation for the strings of several small messages.
// Smaller slices of numbers are copied from the body with one memmove
// each, without zeroing first. Identity tracking costs a comparison per pointer and map
// for the first few of a message, a map lookup after that.
//
// Nesting is limited (MaxDepth, default 10000 levels of pointers,
// interfaces, slices and maps): past it Encode and Decode return a
// *DepthError rather than exhaust the stack. A linked list nests as deep as
// it is long.
//
// # Format
//
// A stream is a header, then messages. All integers are unsigned varints
// (encoding/binary's Uvarint), signed ones zigzag-encoded; fixed-size
// numbers are little-endian.
//
//	stream  = magic "\x89MPC", version (2), fingerprint (string) then { message }
//	message = length, then body: { definition } [table] 'V' value, then { buffer }
//	table   = 'B' count { size }
//	string  = length, bytes
//
// A definition introduces a type ('T'), a function reference ('F') or a
// closure reference ('C': a method value's method, or a function made in
// generic code), with ids in increasing order (functions and closures
// share one sequence); ids persist for the rest of the stream:
//
//	'T' id kind name:string flags [pkgpath:string] [position:zigzag hash:uint32LE] parts
//	'F' id type-id name:string position:zigzag
//	'C' id type-id 1 wrapper:string position:zigzag receiver-type-id method:string
//	'C' id type-id 2 code:string position:zigzag dictionary:zigzag type-position:zigzag hash:uint32LE type-name:string
//
// Positions are distances from an anchor function in the binary (a
// dictionary's too: code and read-only data move together).
//
// The table lists the sizes in bytes (each at least 1) of the message's
// out-of-band buffers, which follow the body, outside its length: the raw
// bytes of the large slices of numbers of the value, in the order the
// value refers to them. A Decoder reads each straight into the slice it
// returns, with no copy through the message body.
//
// Type ids 2 to 18 are the predeclared basic types (bool, int...string, in
// reflect.Kind order), 19 is any, 20 is error; defined types start at 32.
// The parts are: an array's length and element id, a slice's or pointer's
// element id, a map's key and element ids, a struct's fields (name, flags,
// its tag if the type's flags have bit 8, type id), a func type's parameter and result ids.
//
// Values follow their type's layout: bools one byte, int8 and uint8 one
// byte, other integers varints, floats their IEEE bits, strings and
// marshaled bytes a length and bytes, structs their fields in order,
// arrays their elements; a time.Time is its Unix seconds (8 bytes) and
// nanoseconds (4 bytes), its location's name and its zone offset in
// seconds times two, plus one for a fixed zone; a *time.Location is 0
// (nil) or 1, its name and offset (the same way); a reflect.Type is 0
// (nil) or 1, its position, hash, name and package path. Slices of fixed-size numbers start with a bulk
// header: 0 nil, 1 for the next out-of-band buffer (followed by its number
// k, counting from 0 in each message, and the element count, which must
// fill it; the Encoder sends a slice of 16 KiB or more this way), 2 and 3
// as the interior references below, 4 followed by one of the other
// headers for a slice other objects point into (it takes the next memo
// id), 5+n for n elements inline as raw little-endian bytes. Pointers, maps and slices
// that may hold references start with a reference header: 0 nil, 1 a new
// object (it takes the next memo id, before its contents, so cycles can
// refer to it; an empty slice takes none) followed by its contents; 2, a
// memo id k and a byte offset (and a length, for a slice) a pointer or
// slice into object k; 3, a pointer or slice type id, a byte offset (and a
// length) one into a new object of that type, whose contents follow (it
// takes the next memo id); 4+k a back-reference to memo id k. The decoder
// checks that an offset lands on a value of the pointer's type (n
// consecutive elements, for a slice) inside the object.
// Other slices start with 0 (nil) or 1, then a length; or 2 and 3, the
// interior references; or 4, a slice other objects point into (it takes
// the next memo id), then a length. An interface value
// is a type id (0 for nil) then the value; id 1 marks a reference to a
// package-level variable: the type id, the variable's position, then the
// value itself for decoders that cannot use the reference. A func is a
// function id, 0 for nil; for a method value, its receiver follows.
//
// Dis, and the mproc dis command, list any payload item by item.
package codec
