// Command mprocvet reports, at compile time, what mproc would refuse to
// send to another process when the call runs: func literals that capture
// variables, method values whose receiver cannot travel, and arguments
// whose type can never be sent (channels, locks, unsafe.Pointer,
// reflect.Value, and anything holding one), with the path to the part
// that cannot travel, as codec.Check prints it.
//
//	go run github.com/mproc-go/mproc/cmd/mprocvet ./...
//	go vet -vettool=$(which mprocvet) ./...
//
// It reads the same table of what cannot travel as the codec
// (internal/sendable), so the two agree. It checks the calls that send:
// mproc.Map, Imap, ImapUnordered, Submit, Start, Initializer, Call,
// Queue.Put, Queue.PutMany, PipeEnd.Send, Shared.Store, SharedMap.Set,
// SharedList.Append, SharedList.Set, and codec.Marshal, which also
// refuses handles (open files, queues...) since bytes cannot carry them.
// An argument of interface type is reported only when its static type
// makes the failure certain; a func variable is not: what it holds is
// known at run time.
//
// With -fix it applies the two rewrites that are mechanical: a func
// literal whose captures it only reads becomes a top-level function
// whose input struct carries them, and a method value whose receiver is
// built of constants or package-level variables becomes a top-level
// function that builds the receiver in the worker. -stats prints, per
// package, the calls that send it checked and its reports.
package main

import "golang.org/x/tools/go/analysis/singlechecker"

func main() { singlechecker.Main(Analyzer) }
