// Package mprocbench measures mproc itself on the harness's workloads: the
// codec's streaming round trips and the pool's start, round trip, map, bulk
// and speed-up, plus the in-process backend as the no-IPC reference.
package mprocbench

import (
	"errors"
)

// ErrNotBuilt is returned for a metric whose mproc API does not exist yet;
// the table shows it as "n/a (not built yet)", never as a number.
var ErrNotBuilt = errors.New("the mproc API this metric needs is not built yet")
