package mproc_test

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mproc-go/mproc"
)

// table is a worker's view of the shared table, kept from its initializer.
var table *mproc.SharedSlice[uint64]

func keepTable(_ context.Context, t *mproc.SharedSlice[uint64]) error {
	table = t
	return nil
}

// sumTable reads the whole table.
func sumTable(_ context.Context, _ int) (uint64, error) {
	var s uint64
	for _, x := range table.Slice() {
		s += x
	}
	return s, nil
}

// pss returns a process's proportional set size in bytes.
func pss(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, sc.Err()
}

// BenchmarkSharedTablePSS: 4 workers read one 256 MiB shared table they
// got through Initializer; reports what the workers' PSS adds to the
// machine's memory, as a fraction of the table's size (the parent's own
// PSS holds its share of the table's pages).
func BenchmarkSharedTablePSS(b *testing.B) {
	const size = 256 << 20
	t, err := mproc.NewSharedSlice[uint64](size / 8)
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	for i, xs := 0, t.Slice(); i < len(xs); i++ {
		xs[i] = uint64(i)
	}
	pool, err := mproc.NewPool(mproc.Workers(4), mproc.Initializer(keepTable, t))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	var before int64
	for _, pid := range pool.Pids() {
		p, _ := pss(pid)
		before += p
	}
	parentBefore, _ := pss(os.Getpid())
	b.ResetTimer()
	for range b.N {
		if _, err := mproc.Map(ctx, pool, sumTable, []int{0, 1, 2, 3}, mproc.ChunkSize(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var after int64
	for _, pid := range pool.Pids() {
		p, err := pss(pid)
		if err != nil {
			b.Fatal(err)
		}
		after += p
	}
	parentAfter, _ := pss(os.Getpid())
	// The table's pages are shared by 5 processes: each PSS holds a fifth.
	// What sharing costs the machine is the total minus one table.
	added := (after - before) + (parentAfter - parentBefore)
	b.ReportMetric(float64(added)/float64(size), "table-fraction-added")
	b.ReportMetric(float64(after)/float64(size), "workers-pss/table")
}
