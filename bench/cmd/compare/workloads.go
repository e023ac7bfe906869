package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/bench/internal/mprocbench"
	"github.com/mproc-go/mproc/bench/internal/report"
	"github.com/mproc-go/mproc/bench/internal/workload"
	"github.com/mproc-go/mproc/bench/python"
)

// measureWorkloads measures the real-workload table shape by shape: mproc's
// runs of a shape, then workloads.py on the same shape, so that a change
// of load on the machine hits both sides of a row alike.
func measureWorkloads(ctx context.Context, cfg config) []report.Workload {
	py := &pythonWorkloads{ctx: ctx, cfg: cfg, runs: map[string]pythonRun{}}
	w := cfg.Workers
	uneven := workload.Uneven(cfg.Scale)
	lognormal := workload.Lognormal(cfg.LognormalN, cfg.Scale)
	interval := time.Duration(cfg.TrickleInterval * float64(time.Second))
	fmt.Fprintf(os.Stderr, "compare: lognormal shape: %d tasks, %v of work in all\n", len(lognormal), workload.Sum(lognormal))

	var out []report.Workload
	add := func(key, title string, ideal time.Duration, notes ...string) *report.Workload {
		out = append(out, report.Workload{Key: key, Title: title, Unit: report.Seconds, Ideal: ideal.Seconds(), Notes: notes})
		return &out[len(out)-1]
	}
	// Rows are appended before any pointer into out is kept: size it first.
	out = make([]report.Workload, 0, 9)

	unevenTitle := fmt.Sprintf("uneven: 1×%v + 60×%v on %d workers", uneven[0], uneven[1], w)
	row := add("uneven_default", unevenTitle+", default chunking", workload.Ideal(uneven, w),
		"makespan of one call; ideal: the long task on one worker while the other runs 40 short ones, the last 20 split")
	py.row("uneven_default", row, on(&row.Mproc, "")(mprocbench.Makespan(uneven, w)))

	row = add("uneven_chunk1", unevenTitle+", one task per chunk", workload.Ideal(uneven, w),
		"mproc ChunkSize(1), CPython chunksize=1, joblib batch_size=1; dask has no chunking")
	py.row("uneven_chunk1", row, on(&row.Mproc, "ChunkSize(1)")(mprocbench.Makespan(uneven, w, mproc.ChunkSize(1))))

	row = add("lognormal", fmt.Sprintf("lognormal: %d tasks, median %v, p99 %v, default chunking",
		len(lognormal), scaled(2*time.Millisecond, cfg.Scale), scaled(50*time.Millisecond, cfg.Scale)), workload.Ideal(lognormal, w),
		fmt.Sprintf("makespan; ideal: the lower bound max(longest task, total work / %d workers)", w))
	py.row("lognormal", row, on(&row.Mproc, "")(mprocbench.Makespan(lognormal, w)))

	trickleTitle := fmt.Sprintf("Imap over a source yielding every %v, %d inputs", interval, cfg.TrickleN)
	med := add("trickle_median", trickleTitle+": median latency", 0,
		"latency from the source yielding an input to its result reaching the loop; mproc Imap, CPython imap, dask submit+as_completed")
	p99 := add("trickle_p99", trickleTitle+": p99 latency", 0, "the same runs as the median row; nearest-rank 99th percentile of each run")
	trial, tails, err := mprocbench.Trickle(cfg.TrickleN, interval, w)
	py.row("trickle_median", med, on(&med.Mproc, "")(trial, err))
	p99.Mproc = med.Mproc // the same runs' tails, or the same failure
	if med.Mproc.OK() {
		p99.Mproc = report.Measured("", *tails)
	}
	py.row("trickle_p99", p99)

	row = add("stuck_one", fmt.Sprintf("after 1 stuck task of %d workers: next call of 4 tasks", w), 0,
		"per run a new pool; a call over a task that ignores its context (sleeps an hour) is given up after 100 ms; the figure is the next call of 4 trivial tasks, to its last result")
	py.row("stuck_one", row, on(&row.Mproc, "")(mprocbench.AfterStuck(w, 1, nil)))

	row = add("stuck_all", fmt.Sprintf("after %d stuck tasks (every worker): next call of 4 tasks", w), 0,
		fmt.Sprintf("as above with every worker stuck; mproc at its defaults starts a replacement for a worker whose cancelled task still runs 10 ms after the cancellation, and kills the stuck one after CancelGrace (%v); a CPython pool cannot cancel a running task, so its figure is the workaround: terminate() and a new Pool", mproc.DefaultCancelGrace))
	py.row("stuck_all", row, on(&row.Mproc, "default CancelGrace")(mprocbench.AfterStuck(w, w, nil)))

	row = add("stuck_all_grace", fmt.Sprintf("after %d stuck tasks, mproc CancelGrace(%v)", w, shortGrace), 0,
		"the same shape with a shorter grace, which no longer decides the next call (the replacement starts after 10 ms either way); the Python columns are the stuck_all runs")
	py.row("stuck_all", row, on(&row.Mproc, "")(mprocbench.AfterStuck(w, w, nil, mproc.CancelGrace(shortGrace))))

	row = add("stuck_all_terminate", fmt.Sprintf("after %d stuck tasks, mproc Terminate()+NewPool", w), 0,
		"the same shape through CPython's workaround, like for like; the Python columns are the stuck_all runs")
	py.row("stuck_all", row, on(&row.Mproc, "")(mprocbench.AfterStuck(w, w, mprocbench.Replace)))
	return out
}

// shortGrace is the CancelGrace of the stuck_all_grace row.
const shortGrace = 100 * time.Millisecond

// pythonWorkloads runs workloads.py one shape at a time and remembers each
// run, for the two rows of the trickle shape.
type pythonWorkloads struct {
	ctx  context.Context
	cfg  config
	runs map[string]pythonRun
}

type pythonRun struct {
	res workloadsResult
	err error
}

// row measures mproc's contenders for row, then fills its Python columns
// with workloads.py's metric key, run on that metric's shape.
func (py *pythonWorkloads) row(key string, row *report.Workload, mprocs ...contender) {
	progress("real workload: " + row.Key)
	compete(py.cfg.Runs, mprocs...)
	res, err := py.run(key)
	for _, peer := range python.Peers {
		c := report.Contender{Name: peer.Name, Optional: peer.Module != ""}
		switch info := res.peer(peer.Key); {
		case err != nil:
			c.Cell = report.Missing(report.Skipped, "", err.Error())
		case info.Absent != "":
			c.Cell = report.Missing(report.Skipped, "", info.Absent)
		default:
			m, ok := res.Metrics[key+"/"+peer.Key]
			c.Cell = pythonCell(m, ok, key+"/"+peer.Key, id)
		}
		row.Others = append(row.Others, c)
	}
}

// run runs workloads.py on the shape of its metric key, once per shape.
func (py *pythonWorkloads) run(key string) (workloadsResult, error) {
	cfg := py.cfg
	if !cfg.Python {
		return workloadsResult{}, fmt.Errorf("-nopython given")
	}
	shape := key
	if key == "trickle_median" || key == "trickle_p99" {
		shape = "trickle"
	}
	if r, ok := py.runs[shape]; ok {
		return r.res, r.err
	}
	res, err := python.RunWorkloads(py.ctx, python.WorkloadParams{
		Shapes: []string{shape}, Runs: cfg.Runs, Workers: cfg.Workers, Scale: cfg.Scale,
		LognormalN: cfg.LognormalN, TrickleN: cfg.TrickleN, TrickleInterval: cfg.TrickleInterval,
		Only: cfg.PythonPeers,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: Python real workloads skipped: %v\n", err)
	}
	py.runs[shape] = pythonRun{workloadsResult{res}, err}
	return workloadsResult{res}, err
}

type workloadsResult struct{ *python.WorkloadResult }

func (r workloadsResult) peer(key string) python.PeerInfo {
	if r.WorkloadResult == nil {
		return python.PeerInfo{}
	}
	info, ok := r.Peers[key]
	if !ok {
		return python.PeerInfo{Absent: "not run: not among the selected peers"}
	}
	return info
}

func scaled(d time.Duration, scale float64) time.Duration { return time.Duration(float64(d) * scale) }
