package mproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
)

// A worker is the pool's side of one worker: a process with a sender and a
// receiver goroutine, or a goroutine of this process (proc is nil).
// Fields other than id, proc and the codec streams are guarded by Pool.mu.
type worker struct {
	id   int
	proc *spawn.Proc

	enc *codec.Encoder
	fw  *wire.FrameWriter
	fr  *wire.FrameReader
	dec *codec.Decoder
	// gone: the process has ended; its arena (see wire.FrameWriter's
	// UseArena) is unmapped once no write is under way. Guarded by Pool.mu.
	gone bool

	inflight []*job   // sent and not answered, in the order sent
	work     int64    // estimated ns of the in-flight jobs whose cost is known
	inputs   int      // inputs of the in-flight jobs
	unknown  int      // in-flight jobs whose cost is not known
	cancels  []uint64 // task IDs whose cancellation is to be sent
	steals   []uint64 // task IDs to ask back (see Pool.steal)
	held     *job     // a job of a cancelled call it runs: no new work until it ends (see Pool.hold)
	grace    *time.Timer
	spare    *time.Timer // starts a replacement of a held worker (see Pool.hold)
	stopping bool        // take no more jobs; end once inflight is empty
	sending  bool        // a goroutine owns the connection's writing side
	broken   bool        // a write failed: the worker was killed, nothing more is sent
	budget   int         // tasks left before retirement; 0 means no limit
	lastAt   int64       // when its last result arrived (spawn.Now), 0 before the first

	// One goroutine at a time reads the connection: the receiver, or a
	// caller waiting for its own result (readFor), which spares the
	// hand-off from the receiver to the caller, a thread wake-up.
	reading   readRole
	recvWake  chan struct{} // wakes the receiver to see whether it should read
	lazy      *time.Timer   // wakes the receiver when a caller expected to read does not
	lazyArmed bool          // lazy is set to fire
	lazySince int64         // when the last task for a reading caller was sent (spawn.Now)
	exited    bool          // the process exited: read to the end of the stream
	ended     bool          // the stream ended; reason and fatal say why
	reason    string        // why the stream ended, when not plain EOF; owned by the reader
	fatal     bool          // the worker said it cannot go on; owned by the reader

	done       chan struct{} // closed when the worker has died
	unwatched  chan struct{} // closed when its watchdog has stopped
	poke       chan struct{} // tells the watchdog a task with a timeout was sent
	timedOut   *timedOut     // why the watchdog killed it: a task's timeout
	killReason string        // why the watchdog killed it: anything else

	callerKilled bool // Process.Kill killed it: no memory death, whatever its cgroup says
}

// readRole says who reads a worker's connection.
type readRole uint8

const (
	readNone readRole = iota
	readReceiver
	readCaller
)

// lazyRead is how long a task sent for a caller who reads its result
// itself may wait before the receiver reads it: long enough for the
// caller to get from Submit to Wait, short enough not to delay a future
// whose result is awaited otherwise.
const lazyRead = time.Millisecond

// needsReader reports whether w's connection has something to read: the
// results of tasks in flight, or the end of the stream; Pool.mu is held.
func (w *worker) needsReader() bool { return len(w.inflight) > 0 || w.exited || w.ended }

// wakeReceiver wakes w's receiver if it should read; Pool.mu is held.
func (w *worker) wakeReceiver() {
	if w.reading == readNone && w.needsReader() {
		select {
		case w.recvWake <- struct{}{}:
		default:
		}
	}
}

// timedOut records the task a watchdog killed its worker for.
type timedOut struct {
	id             uint64
	elapsed, limit time.Duration
}

// maxRequeues bounds how often a task goes back to the queue after its
// worker died while it waited there, so that a task which kills workers
// before it even starts cannot loop for ever. It is generous: workers
// killed from outside, many times over, must not fail innocent tasks.
const maxRequeues = 100

// startAttempts bounds the tries to start a replacement worker.
const startAttempts = 4

func (p *Pool) spawnConfig(id int) spawn.Config {
	cfg := spawn.Config{Env: p.cfg.env, Dir: p.cfg.dir, StartTimeout: p.cfg.startTimeout,
		Stdout: p.cfg.stdout, Stderr: p.cfg.stderr,
		OutputError: func(pid int, stream string, err error) {
			p.log.Warn("mproc: cannot write a worker's output; dropping the rest of it", "worker", id, "pid", pid, "stream", stream, "err", err)
		}}
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
// to work. The caller counted it in p.starting, and in p.initial if
// initial: on success startProcess moves it from there to p.live in one
// step, so that no worker is ever counted both starting and live (a death
// meanwhile would go unreplaced); on an error the caller uncounts it.
func (p *Pool) startProcess(initial bool) error {
	id := int(p.nextWorker.Add(1))
	if h := testHookStart; h != nil {
		if err := h(id); err != nil {
			return err
		}
	}
	proc, err := spawn.Start(p.starts, p.spawnConfig(id))
	if err != nil {
		if p.starts.Err() != nil {
			return ErrClosed // Terminate
		}
		return err
	}
	if h := testHookSpawned; h != nil {
		h(id, proc.Pid)
	}
	w := &worker{id: id, proc: proc, budget: p.cfg.maxTasks, recvWake: make(chan struct{}, 1),
		done: make(chan struct{}), unwatched: make(chan struct{}), poke: make(chan struct{}, 1)}
	w.lazy = time.AfterFunc(time.Hour, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		w.lazyArmed = false
		if w.reading != readNone || !w.needsReader() {
			return
		}
		if left := lazyRead - time.Duration(spawn.Now()-w.lazySince); left > 0 {
			w.lazyArmed = true
			w.lazy.Reset(left)
			return
		}
		w.wakeReceiver()
	})
	w.lazy.Stop()
	w.fw = wire.NewFrameWriter(proc.Conn)
	w.fw.UseArena() // large inputs through shared memory
	w.enc = codec.NewEncoder(w.fw)
	w.fr = wire.NewFrameReader(proc.Conn)
	// What the worker had written and not sent when it died is in its
	// slot's stash: the stream ends with it (see serve).
	w.fr.OnEnd(proc.Slot.Stashed)
	w.dec = codec.NewDecoder(w.fr)
	stop := context.AfterFunc(p.starts, func() { proc.Kill() }) // Terminate
	err = w.init(p.cfg)
	stop()
	if err != nil {
		proc.Kill()
		proc.Wait()
		releaseLimits(proc.Pid)
		proc.Release()
		if p.starts.Err() != nil {
			return ErrClosed
		}
		return err
	}
	if p.cfg.memoryLimit > 0 {
		noteMissingCgroup(p.log, proc.Pid)
	}
	p.mu.Lock()
	if !p.needsWorkers() {
		p.mu.Unlock()
		proc.Conn.Close() // the worker exits on EOF
		proc.Wait()
		releaseLimits(proc.Pid)
		proc.Release()
		return ErrClosed
	}
	p.workers[w] = struct{}{}
	p.starting--
	if initial {
		p.initial--
	}
	p.live++
	p.balance() // it may take work queued at busy workers
	p.cond.Broadcast()
	p.mu.Unlock()
	p.log.Debug("mproc: worker started", "worker", id, "pid", proc.Pid)
	p.wg.Add(4)
	go p.send(w)
	go p.receive(w)
	go p.watch(w)
	go p.watchExit(w)
	return nil
}

// testHookStart, when set by a test, runs before worker id is started; an
// error it returns is the start's. testHookSpawned runs once its process
// said hello, before it gets its settings.
var (
	testHookStart   func(id int) error
	testHookSpawned func(id, pid int)
)

// startReplacement starts a worker in place of one that died or retired;
// p.starting was incremented for it.
func (p *Pool) startReplacement() {
	var err error
	for attempt := range startAttempts {
		if attempt > 0 {
			time.Sleep(10 * time.Millisecond << (2 * attempt)) // 40 ms, 160 ms, 640 ms
		}
		p.mu.Lock()
		needed := p.needsWorkers()
		p.mu.Unlock()
		if !needed {
			err = ErrClosed
			break
		}
		if err = p.startProcess(false); err == nil || errors.Is(err, ErrClosed) {
			break
		}
		p.log.Warn("mproc: cannot start a replacement worker", "attempt", attempt+1, "err", err)
	}
	if err == nil {
		return // startProcess counted it live
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	if !errors.Is(err, ErrClosed) {
		p.log.Error("mproc: cannot start a replacement worker", "err", err)
		p.startErr = err
	}
	p.noWorkersLeft()
}

// init sends the Init message and waits for the initializer's outcome.
func (w *worker) init(cfg config) error {
	m := &wire.Msg{Kind: wire.KindInit, ID: uint64(w.id), Init: cfg.initRun, Fn: cfg.initFn, Args: cfg.initArg,
		Setup: &wire.Setup{Heartbeat: int64(max(cfg.heartbeat, 0) / 4), MemoryLimit: cfg.memoryLimit}}
	if err := w.enc.Encode(m); err != nil {
		return err
	}
	if err := w.fw.Flush(); err != nil {
		return w.exitError(-1, "sending init: "+err.Error())
	}
	// Without an initializer the answer is a round trip away, part of
	// the worker's start: StartTimeout bounds it, so that a worker
	// stopped there cannot hold up Close or Pids for ever.
	limit := cfg.initTimeout // it bounds an initializer only
	if cfg.initRun == nil {
		limit = cfg.startTimeout
		if limit <= 0 {
			limit = spawn.DefaultStartTimeout
		}
	}
	var deadline time.Time
	if limit > 0 {
		deadline = time.Now().Add(limit)
		w.proc.Conn.SetReadDeadline(deadline)
		defer w.proc.Conn.SetReadDeadline(time.Time{})
	}
	var r *wire.Msg
	if err := w.dec.Decode(&r); err != nil {
		// The decoder reports the deadline as a broken stream; a worker
		// still alive past it is one whose initializer has not returned,
		// or one that does not answer at all.
		if !deadline.IsZero() && !time.Now().Before(deadline) && !w.proc.Exited() {
			w.proc.Kill()
			if cfg.initRun == nil {
				return w.exitError(-1, fmt.Sprintf("it did not answer its settings within %v (StartTimeout); killed", limit))
			}
			w.proc.Wait()
			return &InitError{Worker: w.id, Pid: w.proc.Pid, Limit: cfg.initTimeout}
		}
		e := w.exitError(-1, "before it was ready")
		if exceededMemory(w.proc, cfg.memoryLimit) {
			e.Reason = fmt.Sprintf("worker exceeded its memory limit of %d MiB before it was ready", cfg.memoryLimit>>20)
		}
		return e
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

// doneSending ends a write to the worker's connection; Pool.mu is held.
// The arena of a worker that ended meanwhile is unmapped now that nothing
// writes into it.
func (w *worker) doneSending() {
	w.sending = false
	if w.gone {
		w.fw.CloseArena()
	}
}

// exitError waits for the worker's exit and describes it.
func (w *worker) exitError(index int, reason string) *WorkerExitError {
	exit := w.proc.Wait()
	return &WorkerExitError{Worker: w.id, Pid: w.proc.Pid, Index: index, Code: exit.Code, Signal: exit.Signal,
		Reason: reason, Stderr: w.proc.Stderr()}
}

// send writes tasks and cancellations to the worker, one flush per batch,
// when the callers do not write them themselves (see enqueue).
func (p *Pool) send(w *worker) {
	defer p.wg.Done()
	for {
		b, stop := p.take(w)
		if stop {
			w.proc.Conn.CloseWrite() // the worker exits on EOF
			return
		}
		ok := p.write(w, b)
		p.mu.Lock()
		w.doneSending()
		w.broken = !ok
		p.mu.Unlock()
		if !ok {
			return
		}
	}
}

// write sends a batch to worker w with one flush; the caller owns w's
// connection (w.sending). It reports false when the stream broke: the
// worker was killed then, and its receiver sees the end. A job whose
// inputs the codec cannot send is taken back: each input that cannot be
// sent fails alone, and the others go back to their call, to be sent again.
func (p *Pool) write(w *worker, b batch) bool {
	for _, id := range b.cancels {
		if err := w.enc.Encode(&wire.Msg{Kind: wire.KindCancel, ID: id}); err != nil {
			w.proc.Kill()
			return false
		}
	}
	for _, id := range b.steals {
		if err := w.enc.Encode(&wire.Msg{Kind: wire.KindSteal, ID: id}); err != nil {
			w.proc.Kill()
			return false
		}
	}
	for i, j := range b.jobs {
		if j.c.timeout > 0 {
			select {
			case w.poke <- struct{}{}:
			default:
			}
		}
		err := w.enc.Encode(&wire.Msg{Kind: wire.KindTask, ID: b.ids[i], Run: j.c.run, Fn: j.c.fn, Args: j.args})
		var ue *codec.UnsupportedError
		if errors.As(err, &ue) {
			// Nothing was written; the job never reaches the worker.
			p.unsend(w, j, err)
			continue
		}
		if err != nil {
			w.proc.Kill()
			return false
		}
	}
	if err := w.fw.Flush(); err != nil {
		w.proc.Kill()
		return false
	}
	return true
}

// unsend takes back job j, which could not be encoded with error err. The
// function cannot be sent, or some of the inputs: those fail alone, with
// their own path, and the others go back to the call.
func (p *Pool) unsend(w *worker, j *job, err error) {
	var bad []*job
	var good []*job
	if j.n > 1 && checkFn(j.c.fn) == nil {
		lo := 0
		for i := range j.n {
			one := j.sub(i, i+1)
			if e := one.encodeError(); e != nil {
				if i > lo {
					good = append(good, j.sub(lo, i))
				}
				bad = append(bad, one)
				lo = i + 1
			}
		}
		if lo < j.n && len(bad) > 0 {
			good = append(good, j.sub(lo, j.n))
		}
	}
	p.mu.Lock()
	p.unassign(w, j)
	var notRun []*job
	if len(bad) > 0 {
		notRun = p.requeue(good)
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	skip(notRun)
	if len(bad) == 0 {
		j.failAll(err) // the function, or all of it
		return
	}
	for _, one := range bad {
		one.failAll(one.encodeError())
	}
}

// receive reads results whenever w has some in flight and no caller reads
// them itself (readFor), until the connection ends; then it handles the
// worker's exit.
func (p *Pool) receive(w *worker) {
	defer p.wg.Done()
	for range w.recvWake {
		p.mu.Lock()
		if w.reading != readNone || !w.needsReader() {
			p.mu.Unlock()
			continue
		}
		w.reading = readReceiver
		p.mu.Unlock()
		for {
			if !p.receiveOne(w) {
				p.died(w, w.reason, w.fatal)
				return
			}
			p.mu.Lock()
			if !w.needsReader() {
				// A wake-up sent while reading is stale.
				select {
				case <-w.recvWake:
				default:
				}
				w.reading = readNone
				p.mu.Unlock()
				break
			}
			p.mu.Unlock()
		}
	}
}

// receiveOne reads and handles one message from w; the caller reads w.
// It reports false when the stream has ended (w.ended).
func (p *Pool) receiveOne(w *worker) bool {
	if w.ended {
		return false
	}
	var m *wire.Msg
	if err := w.dec.Decode(&m); err != nil {
		// A worker that died cut its stream short; a live one that
		// sent what cannot be read is killed for it.
		if !peerGone(err) && w.reason == "" && !w.proc.Exited() {
			w.reason = "bad data on its control socket: " + err.Error()
			w.proc.Kill()
		}
		w.ended = true
		return false
	}
	if m.Kind == wire.KindFatal {
		w.reason, w.fatal = m.Text, true
		return true
	}
	p.mu.Lock()
	if m.Kind == wire.KindReturned {
		notRun, ok := p.returned(w, m.ID)
		p.mu.Unlock()
		if !ok {
			return p.outOfStep(w, m)
		}
		skip(notRun)
		return true
	}
	// Results come in the order the tasks were sent, but for those given
	// back meanwhile: the one answered is almost always the first.
	var j *job
	for _, k := range w.inflight {
		if k.id == m.ID {
			j = k
			break
		}
	}
	if m.Kind != wire.KindResult || j == nil || m.From != j.skip || m.Partial && (m.N <= 0 || m.N >= j.n) {
		p.mu.Unlock()
		return p.outOfStep(w, m)
	}
	for i := range m.Fails {
		if m.Fails[i].Item >= 0 {
			m.Fails[i].Item -= j.skip // they count from the chunk as sent
		}
	}
	if m.Partial {
		piece := j.answered(m.N)
		w.inputs -= m.N
		p.mu.Unlock()
		if j.c.ctx.Err() == nil {
			j.c.deliver(piece, m.Out, taskErrors(piece, m.Fails, w.id, w.proc.Pid))
		}
		return true
	}
	w.lastAt = spawn.Now()
	p.unassign(w, j)
	j.c.observe(j.n, m.Took)
	p.release(w, j)
	// Wake the sender when it may send again, or when a stopping worker
	// has drained; an idle worker may take back work queued at others.
	if len(w.inflight) == 0 {
		p.balance()
	}
	if p.wantsWork(w) && p.hasWork() || w.stopping && len(w.inflight) == 0 {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
	if j.c.ctx.Err() == nil {
		j.c.deliver(j, m.Out, taskErrors(j, m.Fails, w.id, w.proc.Pid))
	}
	return true
}

// outOfStep kills worker w for a message that answers no task it holds.
func (p *Pool) outOfStep(w *worker, m *wire.Msg) bool {
	w.reason = fmt.Sprintf("out of step: got message kind %d for task %d", m.Kind, m.ID)
	w.proc.Kill()
	w.ended = true
	return false
}

// readFor reads the connection of the worker running j on the calling
// goroutine until done is closed, if no other goroutine reads it: the
// caller of Future.Wait then wakes straight from the socket instead of
// through the receiver, which saves a thread wake-up, a good part of a
// trivial task's round trip. It delivers every result it reads, in order;
// whatever it leaves unread goes back to the receiver. The caller must not
// be able to give up waiting (its contexts cannot be cancelled): a read
// cannot be interrupted without breaking the stream.
func (p *Pool) readFor(j *job, done <-chan struct{}) {
	p.mu.Lock()
	w := j.w
	// Only the task at the head of w's line: its result comes next, or the
	// stream's end, whereas a task behind a hung one could be answered by
	// the pool (drain) while its caller waits on a read that never ends.
	if w == nil || w.proc == nil || w.reading != readNone || w.ended || w.exited || len(w.inflight) == 0 || w.inflight[0] != j {
		p.mu.Unlock()
		return
	}
	w.reading = readCaller
	p.mu.Unlock()
	for {
		select {
		case <-done:
		default:
			if p.receiveOne(w) {
				continue
			}
		}
		break
	}
	p.mu.Lock()
	w.reading = readNone
	w.wakeReceiver()
	p.mu.Unlock()
}

// watchExit wakes w's receiver when the worker exits, so that it reads
// the stream to its end and handles the exit even when nothing is in
// flight.
func (p *Pool) watchExit(w *worker) {
	defer p.wg.Done()
	w.proc.WaitExited()
	p.mu.Lock()
	w.exited = true
	w.wakeReceiver()
	p.mu.Unlock()
}

// peerGone reports a read error that means the worker's end closed.
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET)
}

// died handles the end of a worker process: the task it was running fails
// with a WorkerExitError, the tasks it had not run go back to the queue,
// and a replacement starts. Tasks it ran whose results died with it fail
// too (WorkerExitError.Lost) unless their call has Retries: a task runs
// twice only when the caller said it may.
func (p *Pool) died(w *worker, reason string, fatal bool) {
	exit := w.proc.Wait()
	close(w.done)
	<-w.unwatched // the watchdog reads the slot: it must be done before it goes
	p.mu.Lock()
	delete(p.workers, w) // and so does drain, through p.workers
	w.gone = true
	if !w.sending {
		w.fw.CloseArena()
	}
	p.mu.Unlock()
	w.fr.CloseArena() // this goroutine was its reader
	runningID, itemSent, running := w.proc.Slot.Running()
	finishedID := w.proc.Slot.Finished()
	w.proc.Release()
	// A SIGKILL the pool sent itself (a timeout, a missed heartbeat,
	// Process.Kill, Terminate, a broken stream) says nothing of memory,
	// whatever the worker's cgroup counted before: only a death nobody
	// here caused is checked (see exceededMemory for what remains
	// ambiguous on cgroup v1).
	p.mu.Lock()
	poolKilled := reason != "" || w.killReason != "" || w.timedOut != nil || w.callerKilled || w.broken || p.terminated
	p.mu.Unlock()
	oom := !poolKilled && exceededMemory(w.proc, p.cfg.memoryLimit)
	releaseLimits(w.proc.Pid)

	p.mu.Lock()
	if reason == "" {
		reason = w.killReason
	}
	if oom {
		reason = fmt.Sprintf("worker exceeded its memory limit of %d MiB", p.cfg.memoryLimit>>20)
	}
	exitErr := func(index int) *WorkerExitError {
		return &WorkerExitError{Worker: w.id, Pid: w.proc.Pid, Index: index, Code: exit.Code, Signal: exit.Signal,
			Reason: reason, Stderr: w.proc.Stderr()}
	}
	delete(p.workers, w)
	p.retireLocked(w)
	jobs := w.inflight
	w.inflight = nil
	type failure struct {
		j    *job
		err  error
		each func(index int) error // when the inputs of j fail apart
	}
	var failed []failure
	var again []*job
	// The worker runs its tasks in the order sent, which is the order of
	// jobs and of their IDs: those up to finishedID ran to the end, and
	// their results died with it. The task it was running, if any, is the
	// first after them; its items before item ran too.
	var runningJob *job
	item := 0 // of the running job's inputs not answered yet
	firstUnrun := -1
	for i, j := range jobs {
		if running && j.id == runningID {
			runningJob = j
			// Partial results answered those before skip.
			item = max(itemSent-j.skip, 0)
		}
		if firstUnrun < 0 && j.id > finishedID && !(running && j.id == runningID) {
			firstUnrun = i
		}
	}
	// lost fails inputs that ran but whose results were lost, unless the
	// call allows them to run again.
	lost := func(j *job) {
		if j.c.retries > 0 {
			again = append(again, j)
			return
		}
		lostReason := reason
		if to := w.timedOut; to != nil && lostReason == "" {
			lostReason = fmt.Sprintf("killed for a task that ran past its timeout of %v", to.limit)
		}
		failed = append(failed, failure{j: j, each: func(index int) error {
			e := &WorkerExitError{Worker: w.id, Pid: w.proc.Pid, Index: index, Code: exit.Code, Signal: exit.Signal,
				Reason: lostReason, Stderr: w.proc.Stderr(), Lost: true, Running: -1}
			if runningJob != nil {
				e.Running = runningJob.start + item
				e.runningOther = runningJob.c != j.c
			}
			return e
		}})
	}
	blamed := false // a worker that gave up on its stream blames its first unrun task
	for i, j := range jobs {
		switch {
		case j.c.ctx.Err() != nil:
			// Nobody waits for it.
		case p.terminated:
			failed = append(failed, failure{j: j, err: ErrClosed})
		case j.id <= finishedID:
			lost(j)
		case running && j.id == runningID:
			one := j.sub(item, item+1)
			switch to := w.timedOut; {
			case to != nil && to.id == j.id:
				failed = append(failed, failure{j: one, err: &TimeoutError{Index: j.start + item, Worker: w.id, Pid: w.proc.Pid,
					Elapsed: to.elapsed, Limit: to.limit}})
			case one.attempts < j.c.retries && p.interrupted == nil:
				one.attempts++
				retried.Add(1)
				p.retryLater(one)
			default:
				e := exitErr(j.start + item)
				if j.c.retries > 0 {
					e.Attempts = one.attempts + 1
				}
				failed = append(failed, failure{j: one, err: e})
			}
			if item > 0 {
				lost(j.sub(0, item)) // they ran
			}
			if item+1 < j.n {
				again = append(again, j.sub(item+1, j.n)) // they never started
			}
		case !p.cfg.respawn:
			// A Process: its one task dies with it, started or not.
			failed = append(failed, failure{j: j, err: exitErr(j.start)})
		case !running && fatal && !blamed:
			// The worker gave up on the stream before starting this task.
			blamed = true
			failed = append(failed, failure{j: j, err: exitErr(j.start)})
		case running || i != firstUnrun:
			again = append(again, j) // innocent: the worker died elsewhere
		default:
			// The worker died between tasks, before starting this one: it
			// may be what kills workers.
			if j.requeues++; j.requeues > maxRequeues {
				failed = append(failed, failure{j: j, err: exitErr(-1)})
			} else {
				again = append(again, j)
			}
		}
	}
	unexpected := len(jobs) > 0 || exit.Code != 0 || exit.Signal != "" || reason != ""
	switch {
	case p.terminated || !unexpected:
		p.log.Debug("mproc: worker stopped", "worker", w.id, "pid", w.proc.Pid)
	case w.timedOut != nil:
		p.log.Info("mproc: worker killed by the pool: a task ran past its timeout", "worker", w.id, "pid", w.proc.Pid,
			"timeout", w.timedOut.limit, "elapsed", w.timedOut.elapsed)
	case w.killReason != "" || w.callerKilled:
		why := w.killReason
		if w.callerKilled {
			why = "killed by Process.Kill"
		}
		p.log.Info("mproc: worker killed", "worker", w.id, "pid", w.proc.Pid, "reason", why)
	default:
		p.log.Warn("mproc: worker died", "worker", w.id, "pid", w.proc.Pid, "exit", exit.String(), "reason", reason)
	}
	if w.grace != nil {
		w.grace.Stop()
	}
	if w.spare != nil {
		w.spare.Stop()
	}
	w.held = nil
	notRun := p.requeue(again)
	p.ensureWorkers()
	p.noWorkersLeft()
	p.cond.Broadcast()
	p.mu.Unlock()
	skip(notRun)
	// The cause first: a call that stops at its first error reports the
	// input that killed the worker rather than one whose result was lost.
	for _, f := range failed {
		if f.each == nil {
			f.j.failAll(f.err)
		}
	}
	for _, f := range failed {
		if f.each != nil {
			f.j.failEach(f.each)
		}
	}
}

// watch kills worker w when the task it runs passes its timeout, or when
// the worker misses its heartbeats. It reads the worker's slot: no message
// is needed, and a stopped worker cannot hide.
func (p *Pool) watch(w *worker) {
	defer p.wg.Done()
	defer close(w.unwatched)
	hb := p.cfg.heartbeat
	beats, lastBeat := w.proc.Slot.Beats(), time.Now()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := time.Hour
		if hb > 0 {
			next = hb / 4
		}
		kill := false
		p.mu.Lock()
		id, at, started := w.proc.Slot.Started()
		for _, j := range w.inflight {
			if j.c.timeout <= 0 {
				continue
			}
			next = min(next, max(j.c.timeout/10, time.Millisecond))
			if !started || j.id != id || w.timedOut != nil {
				continue
			}
			elapsed := time.Duration(spawn.Now() - at)
			if elapsed >= j.c.timeout {
				w.timedOut = &timedOut{id: id, elapsed: elapsed, limit: j.c.timeout}
				kill = true
			} else {
				next = min(next, j.c.timeout-elapsed)
			}
		}
		if hb > 0 && w.timedOut == nil && w.killReason == "" {
			if b := w.proc.Slot.Beats(); b != beats {
				beats, lastBeat = b, time.Now()
			} else if since := time.Since(lastBeat); since >= hb {
				w.killReason = fmt.Sprintf("no heartbeat for %v: the worker is stopped or hung", since.Round(time.Millisecond))
				kill = true
			}
		}
		p.mu.Unlock()
		if kill {
			w.proc.Kill()
		}
		timer.Reset(next)
		select {
		case <-w.done:
			return
		case <-w.poke:
		case <-timer.C:
		}
	}
}

// wakeFor wakes the receiver of the worker running j, if it should read:
// for a caller who waits for j without reading itself.
func (p *Pool) wakeFor(j *job) {
	p.mu.Lock()
	if w := j.w; w != nil && w.proc != nil {
		w.wakeReceiver()
	}
	p.mu.Unlock()
}
