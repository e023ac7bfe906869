// Package binref sends functions, types and sentinel values between
// processes of the same executable by reference: a name and a position
// relative to an anchor defined in this package, verified on arrival,
// never code.
//
// Workers in mproc are the parent's executable re-executed, so a function,
// a type descriptor or a package-level variable sits at the same distance
// from the anchor in every process, even in a PIE build where the kernel
// loads the image at a random address: the image moves as one block.
// Check Fingerprint first: references only make sense between processes
// of the same build.
//
// The three kinds of reference:
//
//   - Func and FuncAt: a function's entry PC relative to an anchor
//     function, with the name runtime.FuncForPC gives it. FuncAt checks
//     that the PC is the entry of a function of that name which has a
//     static funcval (so it captures nothing) before making a value.
//   - TypeOf and TypeAt: a type descriptor's address relative to an anchor
//     type's descriptor, with its hash. TypeAt checks the descriptor, and
//     everything reachable from it, against the executable's type section
//     before the runtime sees it.
//   - FindGlobal and LoadGlobal: a package-level interface variable's
//     address relative to an anchor variable. LoadGlobal checks that the
//     variable holds a value of the expected dynamic type.
//
// The layout those checks need (sections, load bias, the runtime's type
// and data bounds) is read once per process from the ELF headers of
// /proc/self/exe, which stripped binaries keep, and from the runtime's
// module data; it costs tens of microseconds. After that, resolving a
// reference already seen costs tens of nanoseconds (see the benchmarks).
//
// What cannot be sent by reference: closures that capture variables and
// bound method values (their state is on the heap), code and variables in
// plugins, and types built at run time with reflect.StructOf,
// reflect.FuncOf and the like. Func and TypeOf say so; the codec reports
// them.
//
// Every function that resolves a reference (FuncAt, TypeAt, LoadGlobal)
// validates it before touching memory, so corrupt or random input yields a
// *ResolveError, never a crash. The checks assume the peer runs the same
// build and means well: FuncAt trusts the func type it is given, and
// LoadGlobal trusts that a variable whose type word is right holds a value
// of that type.
//
// binref supports Linux ELF executables built by the Go release whose
// type layout it mirrors (TestDescriptorLayout catches a change); on other
// systems Func reports every function as a Closure, TypeOf and FindGlobal
// report nothing, and the resolvers return errors.
package binref
