// Package spawn starts worker processes: the running executable re-executed
// with a control socket on fd 3, a shared-memory progress slot on fd 4 and a
// marker in its environment, and it checks the worker's hello before handing
// the connection to the caller.
//
// The worker side (Attach) is called by mproc.Main; the parent side (Start)
// by the pool and by mproc.Start. Neither knows anything about tasks: the
// bytes that follow the hello belong to the caller.
package spawn
