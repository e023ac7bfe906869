package mproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
)

// A worker is the pool's side of one worker: a process with a sender and a
// receiver goroutine, or a goroutine of this process (proc is nil).
// Fields other than id, proc and the codec streams are guarded by Pool.mu.
type worker struct {
	id     int
	proc   *spawn.Proc
	window int // tasks in flight at most

	enc *codec.Encoder
	bw  *bufio.Writer
	dec *codec.Decoder

	inflight []*job   // sent and not answered, in the order sent
	cancels  []uint64 // task IDs whose cancellation is to be sent
	stopping bool     // take no more jobs; end once inflight is empty
	budget   int      // tasks left before retirement; 0 means no limit
}

// batch is how many tasks a busy worker's sender waits to be able to send
// at once.
func (w *worker) batch() int { return max(1, w.window/4) }

// maxRequeues bounds how often a task goes back to the queue after its
// worker died while it waited there, so that a task which kills workers
// before it even starts cannot loop for ever.
const maxRequeues = 3

const bufSize = 64 << 10

func (p *Pool) spawnConfig(id int) spawn.Config {
	cfg := spawn.Config{Env: p.cfg.env, Dir: p.cfg.dir, StartTimeout: p.cfg.startTimeout,
		Stdout: p.cfg.stdout, Stderr: p.cfg.stderr}
	if p.cfg.prefix {
		prefix := fmt.Sprintf("[worker %d] ", id)
		cfg.Stdout = newPrefixWriter(orStd(cfg.Stdout, os.Stdout), prefix)
		cfg.Stderr = newPrefixWriter(orStd(cfg.Stderr, os.Stderr), prefix)
	}
	return cfg
}

func orStd(w io.Writer, std *os.File) io.Writer {
	if w == nil {
		return std
	}
	return w
}

// startProcess starts a worker process, runs its initializer, and puts it
// to work.
func (p *Pool) startProcess() error {
	id := int(p.nextWorker.Add(1))
	proc, err := spawn.Start(context.Background(), p.spawnConfig(id))
	if err != nil {
		return err
	}
	w := &worker{id: id, proc: proc, window: window, budget: p.cfg.maxTasks}
	w.bw = bufio.NewWriterSize(proc.Conn, bufSize)
	w.enc = codec.NewEncoder(w.bw)
	w.dec = codec.NewDecoder(bufio.NewReaderSize(proc.Conn, bufSize))
	if err := w.init(p.cfg); err != nil {
		proc.Kill()
		proc.Wait()
		proc.Release()
		return err
	}
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		proc.Conn.Close() // the worker exits on EOF
		proc.Wait()
		proc.Release()
		return ErrClosed
	}
	p.workers[w] = struct{}{}
	p.live++
	p.cond.Broadcast()
	p.mu.Unlock()
	p.log.Debug("mproc: worker started", "worker", id, "pid", proc.Pid)
	p.wg.Add(2)
	go p.send(w)
	go p.receive(w)
	return nil
}

// startReplacement starts a worker in place of one that died or retired;
// p.starting was incremented for it.
func (p *Pool) startReplacement() {
	err := p.startProcess()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if err != nil && !errors.Is(err, ErrClosed) {
		p.log.Error("mproc: cannot start a replacement worker", "err", err)
		p.startErr = err
	}
	p.noWorkersLeft()
}

// init sends the Init message and waits for the initializer's outcome.
func (w *worker) init(cfg config) error {
	m := &wire.Msg{Kind: wire.KindInit, ID: uint64(w.id), Init: cfg.initRun, Fn: cfg.initFn, Args: cfg.initArg}
	if err := w.enc.Encode(m); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return w.exitError(-1, "sending init: "+err.Error())
	}
	var r *wire.Msg
	if err := w.dec.Decode(&r); err != nil {
		return w.exitError(-1, "before it was ready")
	}
	switch r.Kind {
	case wire.KindReady:
		return nil
	case wire.KindInitFailed:
		f := r.Fails[0]
		return &InitError{Worker: w.id, Pid: w.proc.Pid, Err: &TaskError{Index: -1, Worker: w.id, Pid: w.proc.Pid,
			Type: f.Type, Msg: f.Msg, Err: f.Err, Panic: f.Stack != "", Stack: f.Stack}}
	case wire.KindFatal:
		return w.exitError(-1, r.Text)
	}
	return w.exitError(-1, fmt.Sprintf("unexpected message kind %d", r.Kind))
}

// exitError waits for the worker's exit and describes it.
func (w *worker) exitError(index int, reason string) *WorkerExitError {
	exit := w.proc.Wait()
	return &WorkerExitError{Worker: w.id, Pid: w.proc.Pid, Index: index, Code: exit.Code, Signal: exit.Signal,
		Reason: reason, Stderr: w.proc.Stderr()}
}

// send writes tasks and cancellations to the worker, one flush per batch.
func (p *Pool) send(w *worker) {
	defer p.wg.Done()
	for {
		jobs, cancels, stop := p.take(w)
		if stop {
			w.proc.Conn.CloseWrite() // the worker exits on EOF
			return
		}
		for _, id := range cancels {
			if err := w.enc.Encode(&wire.Msg{Kind: wire.KindCancel, ID: id}); err != nil {
				w.proc.Kill() // the stream is broken: the receiver sees the end
				return
			}
		}
		for _, j := range jobs {
			err := w.enc.Encode(&wire.Msg{Kind: wire.KindTask, ID: j.id, Run: j.c.run, Fn: j.c.fn, Args: j.args})
			var ue *codec.UnsupportedError
			if errors.As(err, &ue) {
				// Nothing was written; the task never reaches the worker.
				p.unsend(w, j)
				j.failAll(err)
				continue
			}
			if err != nil {
				w.proc.Kill()
				return
			}
		}
		if err := w.bw.Flush(); err != nil {
			w.proc.Kill()
			return
		}
	}
}

// unsend removes j from w's in-flight tasks.
func (p *Pool) unsend(w *worker, j *job) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range w.inflight {
		if k == j {
			w.inflight = append(w.inflight[:i], w.inflight[i+1:]...)
			break
		}
	}
	p.cond.Broadcast()
}

// receive reads results until the worker's connection ends, then handles
// its exit.
func (p *Pool) receive(w *worker) {
	defer p.wg.Done()
	reason := ""
	for {
		var m *wire.Msg
		if err := w.dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, os.ErrClosed) && reason == "" {
				reason = "reading its results: " + err.Error()
				w.proc.Kill()
			}
			break
		}
		if m.Kind == wire.KindFatal {
			reason = m.Text
			continue
		}
		p.mu.Lock()
		if m.Kind != wire.KindResult || len(w.inflight) == 0 || w.inflight[0].id != m.ID {
			p.mu.Unlock()
			reason = fmt.Sprintf("out of step: got message kind %d for task %d", m.Kind, m.ID)
			w.proc.Kill()
			break
		}
		j := w.inflight[0]
		w.inflight[0] = nil
		w.inflight = w.inflight[1:]
		if n := len(w.inflight); n == w.window-w.batch() || n == w.batch()-1 || w.stopping && n == 0 {
			p.cond.Broadcast()
		}
		p.mu.Unlock()
		if j.c.ctx.Err() == nil {
			j.c.deliver(j, m.Out, taskErrors(j, m.Fails, w.id, w.proc.Pid))
		}
	}
	p.died(w, reason)
}

// died handles the end of a worker process: the task it was running fails
// with a WorkerExitError, the tasks it had not run go back to the queue,
// and a replacement starts.
func (p *Pool) died(w *worker, reason string) {
	exit := w.proc.Wait()
	runningID, item, running := w.proc.Slot.Running()
	w.proc.Release()
	exitErr := func(index int) *WorkerExitError {
		return &WorkerExitError{Worker: w.id, Pid: w.proc.Pid, Index: index, Code: exit.Code, Signal: exit.Signal,
			Reason: reason, Stderr: w.proc.Stderr()}
	}

	p.mu.Lock()
	delete(p.workers, w)
	wasLive := !w.stopping
	if wasLive {
		w.stopping = true
		p.live--
	}
	jobs := w.inflight
	w.inflight = nil
	type failure struct {
		j   *job
		err error
	}
	var failed []failure
	var again []*job
	for _, j := range jobs {
		switch {
		case j.c.ctx.Err() != nil:
			// Nobody waits for it.
		case p.terminated:
			failed = append(failed, failure{j, ErrClosed})
		case running && j.id == runningID:
			failed = append(failed, failure{j.sub(item, item+1), exitErr(j.start + item)})
			if item > 0 {
				again = append(again, j.sub(0, item))
			}
			if item+1 < j.n {
				again = append(again, j.sub(item+1, j.n))
			}
		case !running && reason != "" && len(failed) == 0:
			// The worker gave up on the stream before starting this task.
			failed = append(failed, failure{j, exitErr(j.start)})
		default:
			if j.requeues++; j.requeues > maxRequeues {
				failed = append(failed, failure{j, exitErr(-1)})
			} else {
				again = append(again, j)
			}
		}
	}
	unexpected := len(jobs) > 0 || exit.Code != 0 || exit.Signal != "" || reason != ""
	if unexpected && !p.terminated {
		p.log.Warn("mproc: worker died", "worker", w.id, "pid", w.proc.Pid, "exit", exit.String(), "reason", reason)
	} else {
		p.log.Debug("mproc: worker stopped", "worker", w.id, "pid", w.proc.Pid)
	}
	if wasLive && !p.closing && p.cfg.respawn {
		p.starting++
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.startReplacement()
		}()
	}
	p.requeue(again)
	p.noWorkersLeft()
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, f := range failed {
		f.j.failAll(f.err)
	}
}
