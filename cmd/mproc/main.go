// Command mproc is mproc's command-line tool.
//
// Usage:
//
//	mproc dis FILE    list a saved codec payload item by item ("-" reads stdin)
//	mproc version     print the version and this binary's fingerprint
//
// dis prints what travelled in a payload written by codec.Marshal or a
// codec.Encoder, the way Python's pickletools.dis does for a pickle: each
// item's offset, kind, type and value, and, for functions and named types,
// the name and position they travel by instead of code. It needs none of
// the program's types: any program's payload can be listed.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/binref"
)

const usage = `usage:
  mproc dis FILE    list a saved codec payload ("-" reads standard input)
  mproc version     print the version and this binary's fingerprint
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "dis":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		if err := dis(args[1], stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "mproc dis: %v\n", err)
			return 1
		}
		return 0
	case "version":
		version := "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
		fmt.Fprintf(stdout, "mproc %s %s %s/%s fingerprint %s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH, binref.Fingerprint())
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mproc: unknown command %q\n%s", args[0], usage)
	return 2
}

func dis(name string, stdin io.Reader, stdout io.Writer) error {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return errors.New("empty input: expected a payload written by codec.Marshal or a codec.Encoder")
	}
	return codec.Dis(stdout, data)
}
