// Package binref sends functions, types and sentinel values between
// processes of the same executable by reference: a name and a position
// relative to an anchor defined in this package, verified on arrival,
// never code.
//
// Workers in mproc are the parent's executable re-executed, so a function,
// a type descriptor or a package-level variable sits at the same distance
// from the anchor in every process, even in a PIE build where the kernel
// loads the image at a random address. Check Fingerprint first: references
// only make sense between processes of the same build.
//
// What cannot be sent by reference: closures that capture variables and
// bound method values (their state is on the heap), code in plugins, and
// types built at run time with reflect.StructOf, reflect.FuncOf and the
// like. Func and TypeOf say so; the codec reports them.
//
// Every function that resolves a reference (FuncAt, TypeAt, LoadGlobal)
// validates it against the layout of the executable before touching
// memory, so corrupt or hostile input yields a *ResolveError, never a
// crash.
//
// binref reads /proc/self/exe and so supports Linux ELF executables.
package binref
