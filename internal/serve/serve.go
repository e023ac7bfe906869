// Package serve is the loop a worker process runs inside mproc.Main: it
// runs the initializer, then tasks one at a time in arrival order, while a
// reader takes new tasks, cancellations and requests to give back tasks
// not started, and a writer sends results, flushing once per burst. Each
// result is copied to the slot's stash as soon as it is encoded, before
// the next task starts: if the worker dies before the burst is sent, the
// parent reads it there (spawn.Slot.Stash).
package serve

import (
	"context"
	"errors"
	"fmt"
	"github.com/mproc-go/mproc/internal/sock"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
)

// Run serves the parent on c until the parent closes the connection or
// goes away, then exits the process. It never returns.
func Run(c *spawn.Child) {
	w := &worker{
		conn:    c.Conn,
		slot:    c.Slot,
		fw:      wire.NewFrameWriter(c.Conn),
		flush:   make(chan struct{}, 1),
		running: make(map[uint64]context.CancelFunc),
	}
	w.dec = codec.NewDecoder(wire.NewFrameReader(flushingReader{w}))
	w.tr = wire.Tracker{Item: c.Slot.Item(), Due: w.due, Partial: w.partial}
	w.fw.UseArena() // large results through shared memory
	w.enc = codec.NewEncoder(w.fw)
	w.handoff = time.AfterFunc(time.Hour, w.checkHandoff)
	w.handoff.Stop()
	if !w.init() {
		os.Exit(1)
	}
	go w.flusher()
	w.read()
	// Reading passed to another goroutine, which exits the process when
	// the connection ends; this one must never return to the user's main.
	select {}
}

// maxUnflushed bounds the results a busy worker keeps in its buffer.
const maxUnflushed = 32

// handoffDelay is how long a task runs on the reading goroutine before a
// fresh goroutine takes over reading, so that cancellations and the
// parent's end of file are seen while the task goes on. Below it, running
// the task where it was read spares a goroutine switch and a thread
// wake-up per task, most of a trivial task's cost.
const handoffDelay = 200 * time.Microsecond

// A worker runs tasks in arrival order, one at a time. One goroutine at a
// time reads, and runs a task itself when no other runs; a task that runs
// past handoffDelay passes reading on to a fresh goroutine (handoff), and
// its goroutine goes on running the tasks that the new reader queues,
// until none is left.
type worker struct {
	conn *sock.Conn
	slot *spawn.Slot
	dec  *codec.Decoder
	enc  *codec.Encoder
	fw   *wire.FrameWriter

	handoff *time.Timer   // checks on the task running on the reading goroutine
	flush   chan struct{} // asks the flusher to flush

	wmu        sync.Mutex // guards enc, fw, unflushed and the stash once tasks run
	unflushed  int        // results written to fw and not flushed
	stashFrame uint64     // the frame the stash holds the start of
	stashed    int        // bytes of it the stash holds
	flushedAt  int64      // when fw was last flushed (spawn.Now)

	// The task running (one at a time) and how far it got: its Runner
	// passes the outcome of its inputs on every partialEvery (see due).
	tr        wire.Tracker
	cur       *task
	partialAt int64 // when the task started, or its last partial result went
	checkedAt int64 // when due last read the clock
	stride    int   // inputs between two readings of the clock
	count     int   // inputs since the last reading

	mu        sync.Mutex
	running   map[uint64]context.CancelFunc // queued or running tasks
	queue     []task                        // tasks waiting for the one running
	executing bool                          // a task is running, or a goroutine is draining queue
	here      bool                          // a task runs on the reading goroutine
	hereSince int64                         // since when (spawn.Now)
	armed     bool                          // handoff is set to fire
	handedOff bool                          // reading passed on while the task ran here
}

// A task is a decoded task message and the context it runs with.
type task struct {
	*wire.Msg
	ctx  context.Context
	took int64 // how long it ran, in ns
	from int   // the inputs before it went out in partial results
	// The files that came with its inputs (handles): the task owns them,
	// and they are closed when it is done, so that a queue or a pipe
	// handed to a task is not held open by the worker after it.
	files   []*os.File
	handles []codec.HandleCloser
}

// closeFiles lets go of the handles and closes the files that came with
// t's inputs.
func (t *task) closeFiles() { closeTaskFiles(t.handles, t.files) }

func closeTaskFiles(handles []codec.HandleCloser, files []*os.File) {
	for _, h := range handles {
		h.CloseHandle()
	}
	for _, f := range files {
		f.Close()
	}
}

// flushingReader reads the control socket for the decoder, flushing the
// results written so far first: the worker reads only when it has run
// every task it was sent, so this is when a burst of results is complete.
type flushingReader struct{ w *worker }

// TakeFiles passes on the descriptors received with the stream.
func (r flushingReader) TakeFiles(n int) ([]int, error) { return r.w.conn.TakeFiles(n) }

func (r flushingReader) Read(p []byte) (int, error) {
	r.w.wmu.Lock()
	r.w.flushLocked()
	r.w.wmu.Unlock()
	return r.w.conn.Read(p)
}

// init receives the Init message and runs the initializer. It reports
// whether the worker may go on.
func (w *worker) init() bool {
	var m *wire.Msg
	if err := w.dec.Decode(&m); err != nil {
		if !isEOF(err) {
			w.fatal("reading init: " + err.Error())
		}
		return false
	}
	if m.Kind != wire.KindInit {
		w.fatal(fmt.Sprintf("first message is kind %d, not init", m.Kind))
		return false
	}
	if err := setup(m.Setup, w.slot); err != nil {
		w.send(&wire.Msg{Kind: wire.KindInitFailed, Fails: []wire.Failure{Fail(-1, fmt.Errorf("worker setup: %w", err))}})
		return false
	}
	if m.Init != nil {
		// The initializer may never return: meanwhile, exit as soon as the
		// parent goes away or gives up on this worker.
		stop := exitOnHangup(w.conn)
		var err error
		f, ok := ProtectInit(func() { err = m.Init.Init(context.Background(), m.Fn, m.Args) })
		stop()
		if !ok {
			w.send(&wire.Msg{Kind: wire.KindInitFailed, Fails: []wire.Failure{f}})
			return false
		}
		if err != nil {
			w.send(&wire.Msg{Kind: wire.KindInitFailed, Fails: []wire.Failure{Fail(-1, err)}})
			return false
		}
	}
	return w.send(&wire.Msg{Kind: wire.KindReady}) == nil
}

// fatal reports why the worker cannot go on, to the parent and on stderr
// in case the connection is what failed; it is for use before the writer
// runs.
func (w *worker) fatal(reason string) {
	fmt.Fprintln(os.Stderr, "mproc worker:", reason)
	w.send(&wire.Msg{Kind: wire.KindFatal, Text: reason})
}

// send encodes and flushes one message; it is for use before the writer runs.
func (w *worker) send(m *wire.Msg) error {
	if err := w.encode(m); err != nil {
		return err
	}
	return w.fw.Flush()
}

// read decodes messages until the connection ends, or until it hands
// reading over to another goroutine. The parent closes the connection only
// when no task is left, and a dead parent closes it too: either way the
// worker exits at once, which is what keeps workers from outliving a parent
// killed by SIGKILL.
func (w *worker) read() {
	for {
		var m *wire.Msg
		if err := w.dec.Decode(&m); err != nil {
			if isEOF(err) {
				os.Exit(0)
			}
			w.die("reading a task: " + err.Error())
		}
		switch m.Kind {
		case wire.KindTask:
			ctx, cancel := context.WithCancel(context.Background())
			t := task{Msg: m, ctx: ctx, files: w.dec.Opened(), handles: w.dec.Handles()}
			w.mu.Lock()
			w.running[m.ID] = cancel
			if w.executing {
				w.queue = append(w.queue, t)
				w.mu.Unlock()
				continue
			}
			w.executing = true
			w.here, w.hereSince = true, spawn.Now()
			if !w.armed {
				// Once per handoffDelay at most, not per task: setting a
				// timer can wake a thread.
				w.armed = true
				w.handoff.Reset(handoffDelay)
			}
			w.mu.Unlock()
			if !w.runHere(t) {
				w.drain()
				return
			}
		case wire.KindCancel:
			w.mu.Lock()
			if cancel, ok := w.running[m.ID]; ok {
				cancel()
			}
			w.mu.Unlock()
		case wire.KindSteal:
			if w.giveBack(m.ID) {
				w.wmu.Lock()
				w.bufferLocked(&wire.Msg{Kind: wire.KindReturned, ID: m.ID})
				w.flushLocked() // an idle worker waits for it
				w.wmu.Unlock()
			}
		default:
			w.die(fmt.Sprintf("unexpected message kind %d", m.Kind))
		}
	}
}

// giveBack removes the task with the given ID from the queue if it has
// not started, and reports whether it did: the parent then sends it to
// another worker, and this one never runs it. A task that started is left
// alone; its result answers the parent's request.
func (w *worker) giveBack(id uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, t := range w.queue {
		if t.ID == id {
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			w.running[id]()
			delete(w.running, id)
			t.closeFiles() // the parent sends the inputs again, with new handles
			return true
		}
	}
	return false
}

// runHere runs t on the reading goroutine and reports whether this
// goroutine still reads after it. When t calls runtime.Goexit, runHere does
// not return: a fresh goroutine finishes t and takes the role over.
func (w *worker) runHere(t task) (reading bool) {
	out, fails := w.run(&t, func(out any, fails []wire.Failure) {
		if w.ranHere(t, out, fails) {
			w.read()
		} else {
			w.drain()
		}
	})
	return w.ranHere(t, out, fails)
}

// ranHere sends the result of a task run on the reading goroutine and
// reports whether that goroutine still reads. If reading passed to another
// goroutine meanwhile, this one runs the tasks it queued (drain).
func (w *worker) ranHere(t task, out any, fails []wire.Failure) (reading bool) {
	w.mu.Lock()
	w.here = false
	if w.handedOff {
		// Another goroutine reads, and may queue tasks.
		w.handedOff = false
		w.mu.Unlock()
		w.done(t, out, fails, false)
		return false
	}
	w.executing = false
	w.mu.Unlock()
	// The reader flushes before it waits for more (flushingReader).
	w.done(t, out, fails, true)
	return true
}

// checkHandoff runs when handoff fires: it passes reading on to a fresh
// goroutine if the task running on the reading goroutine has run for
// handoffDelay, and checks again later if a younger one runs.
func (w *worker) checkHandoff() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.here || w.handedOff {
		w.armed = false
		return
	}
	if spawn.Now()-w.hereSince < int64(handoffDelay) {
		w.handoff.Reset(handoffDelay) // a task started since: check again later
		return
	}
	w.armed = false
	w.handedOff = true
	go w.read()
}

// drain runs the queued tasks one at a time until none is left.
func (w *worker) drain() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.executing = false
			w.mu.Unlock()
			w.wmu.Lock()
			w.flushLocked()
			w.wmu.Unlock()
			return
		}
		t := w.queue[0]
		w.queue[0] = task{}
		w.queue = w.queue[1:]
		w.mu.Unlock()
		out, fails := w.run(&t, func(out any, fails []wire.Failure) {
			w.done(t, out, fails, false)
			w.drain()
		})
		w.done(t, out, fails, false)
	}
}

// run runs one task and returns its outcome, recording it in the slot.
// When one of its inputs calls runtime.Goexit, which ends this goroutine,
// Run goes on with the task on a fresh goroutine and calls resume there
// with the outcome. A task cancelled before it started fails as a whole.
func (w *worker) run(t *task, resume func(any, []wire.Failure)) (out any, fails []wire.Failure) {
	if err := t.ctx.Err(); err != nil {
		return nil, []wire.Failure{Fail(-1, err)}
	}
	w.slot.Start(t.ID)
	start := spawn.Now()
	w.cur, w.tr.Sent = t, 0
	w.partialAt, w.checkedAt, w.stride, w.count = start, start, 1, 0
	out, fails = t.Run.Run(t.ctx, t.Fn, t.Args, &w.tr, func(out any, fails []wire.Failure) {
		t.took, t.from = spawn.Now()-start, w.tr.Sent
		w.slot.Finish(t.ID)
		resume(out, fails)
	})
	t.took, t.from = spawn.Now()-start, w.tr.Sent
	w.slot.Finish(t.ID)
	return out, fails
}

// A task of at most partialEach inputs passes on the outcome of each as it
// finishes; a larger one, every partialEvery of running: a crash then
// loses nothing of a small task and at most partialEvery of the work of a
// large one (the stash keeps what was passed on). A partial result costs a
// message, under a microsecond and no system call; chunks are cut to run
// about half a millisecond (see mproc's dispatch), so a task of more than
// partialEach inputs has inputs of a few microseconds at most, where a
// message per input would cost more than the inputs. partialSend is how
// often partial results are sent at once rather than left for the next
// flush, so that the parent's progress moves.
const (
	partialEach  = 64
	partialEvery = int64(100 * time.Microsecond)
	partialSend  = int64(10 * time.Millisecond)
)

// due reports whether the running task, done of whose n inputs finished,
// should pass on its outcome so far. For a large task it reads the clock
// every stride inputs, stride adapting so that a reading comes about every
// few microseconds: quick inputs do not pay for a clock reading each.
func (w *worker) due(done, n int) bool {
	if n <= partialEach {
		return true
	}
	if w.count++; w.count < w.stride {
		return false
	}
	w.count = 0
	now := spawn.Now()
	if now-w.checkedAt < int64(5*time.Microsecond) {
		w.stride = min(2*w.stride, 1024)
	} else if w.stride > 1 {
		w.stride /= 2
	}
	w.checkedAt = now
	if now-w.partialAt < partialEvery {
		return false
	}
	w.partialAt = now
	return true
}

// partial passes on the outcome of the running task's inputs from from on.
func (w *worker) partial(from int, out any, fails []wire.Failure) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.bufferLocked(&wire.Msg{Kind: wire.KindResult, ID: w.cur.ID, Out: out, Fails: fails, From: from, Partial: true, N: w.tr.Sent - from})
	if spawn.Now()-w.flushedAt >= partialSend {
		w.flushLocked()
	}
}

// done forgets task t and sends its result; inline says the reading
// goroutine will flush it.
func (w *worker) done(t task, out any, fails []wire.Failure, inline bool) {
	w.mu.Lock()
	w.running[t.ID]()
	delete(w.running, t.ID)
	idle := len(w.queue) == 0
	w.mu.Unlock()
	w.reply(&wire.Msg{Kind: wire.KindResult, ID: t.ID, Out: out, Fails: fails, Took: t.took, From: t.from}, inline, idle, &t)
}

// reply sends a result. A result of a task run where it was read waits for
// the reader's flush, which comes when every task received has run; one
// run by a draining goroutine is flushed at once when no task waits, so
// that a lone task's result is not delayed, else left to the flusher, so
// that the results of quick tasks share a write.
//
// The files that came with the task's inputs are closed once the result,
// which may hold them, is encoded, and before it is sent: when the parent
// has the result, the worker holds none of the task's handles.
func (w *worker) reply(m *wire.Msg, inline, idle bool, t *task) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.bufferLocked(m)
	if t != nil {
		t.closeFiles()
	}
	if inline && w.unflushed < maxUnflushed {
		return
	}
	if idle || w.unflushed >= maxUnflushed {
		w.flushLocked()
		return
	}
	select {
	case w.flush <- struct{}{}:
	default:
	}
}

// flusher flushes results that reply left in the buffer.
func (w *worker) flusher() {
	for range w.flush {
		// Let a quick task finish first, so that its result shares this
		// write; after a slow one this costs a few hundred nanoseconds.
		runtime.Gosched()
		w.wmu.Lock()
		w.flushLocked()
		w.wmu.Unlock()
	}
}

// bufferLocked encodes m into the stream's buffer and copies it to the
// stash, where it outlives this process until it is flushed; w.wmu is held.
func (w *worker) bufferLocked(m *wire.Msg) {
	if err := w.encode(m); err != nil {
		os.Exit(3) // the parent is gone or the stream is broken
	}
	w.stashLocked()
	w.unflushed++
}

// stashLocked copies what was encoded and not sent to the slot's stash,
// where it outlives this process; w.wmu is held. It costs a copy of the
// bytes added since the last call, no system call.
func (w *worker) stashLocked() {
	frames := w.fw.Frames()
	if frames != w.stashFrame {
		w.stashFrame, w.stashed = frames, 0 // what the stash held was sent
	}
	pending := w.fw.Pending()
	w.slot.Stash(frames, pending, w.stashed)
	w.stashed = len(pending)
}

func (w *worker) flushLocked() {
	if w.unflushed == 0 {
		return
	}
	if err := w.fw.Flush(); err != nil {
		os.Exit(3)
	}
	w.unflushed = 0
	w.flushedAt = spawn.Now()
}

// die reports why the worker cannot go on and exits.
func (w *worker) die(reason string) {
	fmt.Fprintln(os.Stderr, "mproc worker:", reason)
	w.wmu.Lock()
	w.encode(&wire.Msg{Kind: wire.KindFatal, Text: reason})
	w.fw.Flush()
	os.Exit(3)
}

// encode sends m, falling back to what can be sent when the codec refuses
// an error value or the outputs: errors go as their type and message, and
// outputs that cannot be sent fail every item with the codec's error.
// A refused value writes nothing, so the stream stays usable.
func (w *worker) encode(m *wire.Msg) error {
	err := w.enc.Encode(m)
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		return err
	}
	for i := range m.Fails {
		m.Fails[i].Err = nil
	}
	if err = w.enc.Encode(m); !errors.As(err, &ue) {
		return err
	}
	m.Out = nil
	m.Fails = []wire.Failure{{Item: -1, Err: ue, Type: fmt.Sprintf("%T", ue),
		Msg: "the results cannot be sent back: " + ue.Error()}}
	if err = w.enc.Encode(m); !errors.As(err, &ue) {
		return err
	}
	m.Fails[0].Err = nil
	return w.enc.Encode(m)
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrClosed)
}

// Fail describes a returned error as a Failure.
func Fail(item int, err error) wire.Failure {
	return wire.Failure{Item: item, Err: err, Type: fmt.Sprintf("%T", err), Msg: err.Error()}
}

// Protect runs f and turns a panic into a Failure with the worker's stack.
// It cannot stop runtime.Goexit, which ends the calling goroutine after
// the deferred calls ran: callers detect that themselves (see runEach).
func Protect(f func()) (fail wire.Failure, ok bool) {
	defer func() {
		if !ok {
			v := recover()
			if v == nil { // runtime.Goexit: this goroutine is ending anyway
				return
			}
			fail = wire.Failure{Item: -1, Type: fmt.Sprintf("%T", v), Msg: fmt.Sprint(v), Stack: string(debug.Stack())}
		}
	}()
	f()
	return wire.Failure{}, true
}

// ProtectInit runs an initializer f on a fresh goroutine and waits for it,
// so that a call to runtime.Goexit in f ends that goroutine and not the
// caller's; it reports a panic as Protect does, and a Goexit as a Failure.
func ProtectInit(f func()) (fail wire.Failure, ok bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fail = GoexitFailure(-1, "initializer") // unless f returns or panics
		fail, ok = Protect(f)
	}()
	<-done
	return fail, ok
}

// GoexitFailure is the failure of the input item whose function, a task's
// or the initializer (what), called runtime.Goexit.
func GoexitFailure(item int, what string) wire.Failure {
	return wire.Failure{Item: item, Type: "runtime.Goexit",
		Msg: "the " + what + " called runtime.Goexit, which ends the goroutine running it (t.FailNow and t.SkipNow do this); return an error instead"}
}
