package spawn

import (
	"golang.org/x/sys/unix"
	"testing"
)

func TestNowIsMonotonic(t *testing.T) {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	a := ts.Nano()
	n := Now()
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	if n < a || n > ts.Nano() {
		t.Fatalf("Now %d not between %d and %d", n, a, ts.Nano())
	}
}
