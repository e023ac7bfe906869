package mproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/mproc-go/mproc/codec"
	"github.com/mproc-go/mproc/internal/remote"
	"github.com/mproc-go/mproc/internal/spawn"
	"github.com/mproc-go/mproc/internal/wire"
)

// Remote makes a pool whose tasks run on other machines, through an
// executor that package github.com/mproc-go/mproc/cluster provides (its
// NewPool is the way to get one). It is the one seam between the pool and
// a cluster: the pool cuts, balances and retries the work, applies the
// call options and reports the errors, exactly as for worker processes;
// the executor carries each task to a node, where it runs in that node's
// own worker processes (so Timeout kills and MemoryLimit caps there). Its
// argument's type is internal to mproc: only mproc's packages make one.
//
// What a remote pool sends must travel as bytes: open files, queues,
// pipes, shared objects and shared memory are refused with a
// *codec.UnsupportedError before anything runs. Results are decoded
// without trusting any position the network sends (codec.Strict, with the
// call's own types as the destination): a type inside an interface of a
// result must be registered with codec.Register.
func Remote(e remote.Executor) Option {
	return func(c *config) {
		if e == nil {
			invalid(&c.err, "Remote", e, "it needs an executor")
			return
		}
		c.remote = e
		c.workers = max(e.Slots(), 1)
		c.respawn = false
	}
}

func init() { remote.Run = runRemoteTask }

// startRemote starts the goroutines that hand a remote pool's jobs to its
// executor, one job each at a time.
func (p *Pool) startRemote() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.cfg.workers {
		w := &worker{id: int(p.nextWorker.Add(1))}
		p.workers[w] = struct{}{}
		p.live++
		p.goroutines.Add(1)
		go p.serveRemote(w)
	}
}

func (p *Pool) serveRemote(w *worker) {
	for {
		b, stop := p.take(w)
		for _, j := range b.jobs {
			p.runRemote(w, j)
		}
		if stop {
			p.mu.Lock()
			delete(p.workers, w)
			p.mu.Unlock()
			p.goroutines.Done()
			return
		}
	}
}

// runRemote runs job j through the executor and delivers its outcome.
func (p *Pool) runRemote(w *worker, j *job) {
	start := spawn.Now()
	took := int64(-1)
	var (
		out  any
		errs []indexedError
	)
	payload, err := encodeTask(j, p.cfg.remote.Strict())
	if err == nil {
		// Terminate cancels p.starts: an Execute under way ends with it.
		ctx, cancel := context.WithCancel(j.c.ctx)
		stop := context.AfterFunc(p.starts, cancel)
		var res []byte
		res, err = p.cfg.remote.Execute(ctx, &remote.Task{Call: j.c.id, ID: j.id, First: j.start, N: j.n,
			Timeout: j.c.timeout, Retries: j.c.retries, Payload: payload})
		stop()
		cancel()
		if err == nil {
			out, errs, took, err = decodeResult(j, res)
		}
	}
	if took < 0 {
		took = spawn.Now() - start
	}
	p.mu.Lock()
	p.unassign(w, j)
	// The chunk size follows the time the inputs ran on the node, not the
	// round trip: a slot waits on the network, not on a CPU.
	j.c.observe(j.n, took)
	p.cond.Broadcast()
	closed := j.closed
	p.mu.Unlock()
	if closed || j.c.ctx.Err() != nil {
		return
	}
	if err != nil {
		j.failAll(err)
		return
	}
	j.c.deliver(j, out, errs)
}

// checkRemote reports what a remote pool cannot send of fn and a first
// input: anything that does not travel as bytes.
func checkRemote(fn, first any) error {
	if _, err := codec.Marshal(boxed{fn}); err != nil {
		return remoteRefusal(userPath(err, func(path string) (string, bool) { return fnPath(".V.", path) }))
	}
	_, err := codec.Marshal(boxed{first})
	return remoteRefusal(userPath(err, func(path string) (string, bool) { return argsPath(".V.", path, 0) }))
}

// remoteRefusal says why a remote pool refuses what a local one sends: a
// descriptor does not cross machines.
func remoteRefusal(err error) error {
	var ue *codec.UnsupportedError
	if !errors.As(err, &ue) {
		return err
	}
	if codec.HandleRefused(ue) {
		return &codec.UnsupportedError{Path: ue.Path, Type: ue.Type,
			Reason: "a cluster pool sends tasks over the network, which carries no file descriptors: " + ue.Reason,
			Fix:    "pass the data itself (a []byte, a path the node can open), or use a local pool, which passes descriptors to its workers"}
	}
	return err
}

// taskMsg is a remote task's payload: what a worker's task message holds.
type taskMsg struct {
	Run     wire.Runner
	Fn      any
	Args    any
	Timeout int64
	Retries int
}

// encodeTask encodes job j for an executor. The payload is one codec
// stream of its own, with the descriptions of its types: a node decodes
// every task alone, whatever it saw before. A strict task has no Runner,
// which only this build could resolve: the node calls the function
// through reflect.
func encodeTask(j *job, strict bool) ([]byte, error) {
	m := &taskMsg{Run: j.c.run, Fn: j.c.fn, Args: j.args, Timeout: int64(j.c.timeout), Retries: j.c.retries}
	if strict {
		m.Run = nil
	}
	var b bytes.Buffer
	err := codec.NewEncoder(&b).Encode(m)
	if err != nil {
		return nil, remoteRefusal(j.sendError(err))
	}
	return b.Bytes(), nil
}

// resultHead is the first value of a remote result: the failures, and
// whether the outputs follow as the second value (a []Out).
type resultHead struct {
	Errs    []remoteError
	Took    int64 // ns its inputs ran in the node's workers, in all
	HasOut  bool
	Problem string // why the task could not run at all, for every input
}

// A remoteError is an error of one input of a remote task (Index within
// the task, -1 for all), with what the parent needs to rebuild mproc's
// error for it. Err is the task's own error encoded on its own: a type
// the parent cannot decode leaves the message, not the result, behind.
type remoteError struct {
	Index   int
	Kind    uint8
	Node    string
	Worker  int
	Pid     int
	Type    string
	Msg     string
	Panic   bool
	Stack   string
	Elapsed int64
	Limit   int64
	Code    int
	Signal  string
	Reason  string
	Stderr  string
	Err     []byte
	Context uint8 // for remoteContext: 1 Canceled, 2 DeadlineExceeded
}

const (
	remoteOther uint8 = iota
	remoteTask
	remoteTimeout
	remoteExit
	remoteContext
)

// runRemoteTask is remote.Run: it runs a task on a node's local pool.
func runRemoteTask(ctx context.Context, local any, payload []byte, node string, strict bool) []byte {
	start := spawn.Now()
	p, _ := local.(*Pool)
	if p == nil {
		return encodeProblem(fmt.Sprintf("mproc: node %s has no pool to run tasks on", node))
	}
	m, args, err := decodeTask(payload, strict)
	if err != nil {
		var fe *codec.FingerprintError
		if errors.As(err, &fe) {
			return encodeProblem(fmt.Sprintf("mproc: node %s runs another build of the program and refused the task (%v): run the same executable on every node", node, err))
		}
		return encodeProblem(fmt.Sprintf("mproc: node %s cannot run the task: %v", node, err))
	}
	out, errs, ran := runErased(ctx, p, m, args)
	head := resultHead{Took: ran}
	if ran <= 0 {
		head.Took = spawn.Now() - start
	}
	for _, ie := range errs {
		head.Errs = append(head.Errs, toRemoteError(ie, node))
	}
	var b bytes.Buffer
	enc := codec.NewEncoder(&b)
	head.HasOut = out != nil
	err = enc.Encode(&head)
	if err == nil && out != nil {
		err = enc.Encode(out)
	}
	if err != nil {
		return encodeProblem(fmt.Sprintf("mproc: node %s cannot send the outputs back: %v", node, err))
	}
	return b.Bytes()
}

// decodeTask decodes a remote task's payload. Out of strict mode it must
// come from this same build: every reference in it is verified against
// this binary. In strict mode nothing resolves but what codec.Register was
// given, by name, and the function runs through reflect (runReflect).
func decodeTask(payload []byte, strict bool) (*taskMsg, reflect.Value, error) {
	var m taskMsg
	opts := []codec.Option{codec.MaxMessageSize(len(payload))}
	if strict {
		opts = append(opts, codec.Strict())
	}
	if err := codec.NewDecoder(bytes.NewReader(payload), opts...).Decode(&m); err != nil {
		return nil, reflect.Value{}, err
	}
	args := reflect.ValueOf(m.Args)
	if m.Fn == nil || args.Kind() != reflect.Slice || m.Run == nil && !strict {
		return nil, reflect.Value{}, errors.New("the task has no function or no inputs")
	}
	if strict {
		if err := reflectRunnable(m.Fn, args); err != nil {
			return nil, reflect.Value{}, err
		}
		m.Run = runReflect{}
	}
	if m.Timeout < 0 || m.Retries < 0 {
		return nil, reflect.Value{}, errors.New("the task has a negative timeout or retries")
	}
	return &m, args, nil
}

// encodeProblem encodes a result failing every input of a task with msg.
func encodeProblem(msg string) []byte {
	var b bytes.Buffer
	if err := codec.NewEncoder(&b).Encode(&resultHead{Problem: msg}); err != nil {
		panic("mproc: cannot encode a result head: " + err.Error())
	}
	return b.Bytes()
}

// runErased runs a decoded task on p as one call whose types only the
// Runner knows, and returns its outputs (a []Out, nil if every input
// failed), its errors, indexed within the task, and how long its inputs
// ran in the workers, in ns (the pool's chunk sizes follow it).
func runErased(ctx context.Context, p *Pool, m *taskMsg, args reflect.Value) (any, []indexedError, int64) {
	n := args.Len()
	if n == 0 {
		return nil, nil, 0
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		outs      reflect.Value
		errs      []indexedError
		remaining = n
		finished  = make(chan struct{})
	)
	finish := func(k int) {
		if remaining -= k; remaining == 0 {
			close(finished)
		}
	}
	c := &call{ctx: cctx, cancel: cancel, run: m.Run, fn: m.Fn, slice: sliceValue, timeout: time.Duration(m.Timeout),
		retries: m.Retries, total: n, source: &valueSource{in: args}}
	// Each remote task is a call of its own here; what the last task of
	// the same function cost is its estimate, so that its jobs queue at a
	// busy worker as a long call's would, instead of each waiting for an
	// idle one.
	key := reflect.ValueOf(m.Fn).Pointer()
	if v, ok := p.remoteCosts.Load(key); ok {
		c.perItem = v.(int64)
		c.perItemSeen.Store(c.perItem)
	}
	c.deliver = func(j *job, o any, jerrs []indexedError) {
		mu.Lock()
		defer mu.Unlock()
		if o != nil {
			ov := reflect.ValueOf(o)
			if !outs.IsValid() {
				outs = reflect.MakeSlice(ov.Type(), n, n)
			}
			reflect.Copy(outs.Slice(j.start, j.start+j.n), ov)
		}
		errs = append(errs, jerrs...)
		finish(j.n)
	}
	c.notRun = func(j *job) {
		mu.Lock()
		defer mu.Unlock()
		for i := j.start; i < j.start+j.n; i++ {
			errs = append(errs, indexedError{i, ErrInterrupted})
		}
		finish(j.n)
	}
	if err := p.submit(c); err != nil {
		return nil, []indexedError{{-1, err}}, 0
	}
	select {
	case <-finished:
	case <-ctx.Done():
		p.abandon(c)
		return nil, []indexedError{{-1, ctx.Err()}}, 0
	}
	p.abandon(c)
	p.mu.Lock()
	ran, perItem := c.ran, c.perItem
	p.mu.Unlock()
	if perItem > 0 {
		p.remoteCosts.Store(key, perItem)
	}
	mu.Lock()
	defer mu.Unlock()
	if !outs.IsValid() {
		return nil, errs, ran
	}
	return outs.Interface(), errs, ran
}

func sliceValue(args any, lo, hi int) any { return reflect.ValueOf(args).Slice(lo, hi).Interface() }

// valueSource is the inputSource of an erased call: a slice of any type.
type valueSource struct {
	in   reflect.Value
	next int
}

func (s *valueSource) available() int { return s.in.Len() - s.next }
func (s *valueSource) remaining() int { return s.in.Len() - s.next }

func (s *valueSource) cut(n int) (any, int) {
	lo := s.next
	s.next += n
	return s.in.Slice3(lo, s.next, s.next).Interface(), lo
}

func (s *valueSource) drop() (start, n int) {
	start, n = s.next, s.in.Len()-s.next
	s.in, s.next = reflect.ValueOf([]struct{}{}), 0
	return start, n
}

// toRemoteError describes the error of an input that failed on a node.
func toRemoteError(ie indexedError, node string) remoteError {
	r := remoteError{Index: ie.index, Node: node, Msg: ie.err.Error(), Type: fmt.Sprintf("%T", ie.err)}
	var (
		te *TaskError
		to *TimeoutError
		we *WorkerExitError
	)
	switch {
	case errors.As(ie.err, &te):
		r.Kind, r.Worker, r.Pid, r.Type, r.Msg, r.Panic, r.Stack = remoteTask, te.Worker, te.Pid, te.Type, te.Msg, te.Panic, te.Stack
		if te.Err != nil {
			if b, err := codec.Marshal(boxed{te.Err}); err == nil {
				r.Err = b
			}
		}
	case errors.As(ie.err, &to):
		r.Kind, r.Worker, r.Pid, r.Elapsed, r.Limit = remoteTimeout, to.Worker, to.Pid, int64(to.Elapsed), int64(to.Limit)
	case errors.As(ie.err, &we):
		r.Kind, r.Worker, r.Pid, r.Code, r.Signal, r.Reason, r.Stderr = remoteExit, we.Worker, we.Pid, we.Code, we.Signal, we.Reason, we.Stderr
	case ie.err == context.Canceled:
		r.Kind, r.Context = remoteContext, 1
	case ie.err == context.DeadlineExceeded:
		r.Kind, r.Context = remoteContext, 2
	}
	return r
}

// error rebuilds mproc's error for the input at index in its call.
func (r *remoteError) error(index int) error {
	switch r.Kind {
	case remoteTask:
		te := &TaskError{Index: index, Worker: r.Worker, Pid: r.Pid, Node: r.Node, Type: r.Type, Msg: r.Msg,
			Panic: r.Panic, Stack: r.Stack}
		if len(r.Err) > 0 {
			var box boxed
			if codec.NewDecoder(bytes.NewReader(r.Err), codec.Strict(), codec.MaxMessageSize(len(r.Err))).Decode(&box) == nil {
				te.Err, _ = box.V.(error)
			}
		}
		return te
	case remoteTimeout:
		return &TimeoutError{Index: index, Worker: r.Worker, Pid: r.Pid, Node: r.Node,
			Elapsed: time.Duration(r.Elapsed), Limit: time.Duration(r.Limit)}
	case remoteExit:
		return &WorkerExitError{Worker: r.Worker, Pid: r.Pid, Node: r.Node, Index: index, Code: r.Code,
			Signal: r.Signal, Reason: r.Reason, Stderr: r.Stderr, Running: -1}
	case remoteContext:
		if r.Context == 2 {
			return context.DeadlineExceeded
		}
		return context.Canceled
	}
	return &TaskError{Index: index, Node: r.Node, Type: r.Type, Msg: r.Msg}
}

// outMaker is implemented by the Runners: NewOut returns a *[]Out, the
// destination a remote result's outputs decode into.
type outMaker interface{ NewOut() any }

// maxResult bounds a remote result the pool decodes.
const maxResult = codec.DefaultMaxMessageSize

// decodeResult decodes a remote result for job j, trusting nothing the
// network sent: the outputs decode into the call's own []Out, Strict.
func decodeResult(j *job, data []byte) (out any, errs []indexedError, took int64, err error) {
	dec := codec.NewDecoder(bytes.NewReader(data), codec.Strict(), codec.MaxMessageSize(maxResult))
	var h resultHead
	if err := dec.Decode(&h); err != nil {
		return nil, nil, -1, fmt.Errorf("mproc: cannot decode the result of task %d: %w", j.start, err)
	}
	if h.Problem != "" {
		return nil, nil, -1, errors.New(h.Problem)
	}
	if h.HasOut {
		om, ok := j.c.run.(outMaker)
		if !ok {
			return nil, nil, -1, fmt.Errorf("mproc: %T cannot decode remote outputs", j.c.run)
		}
		dst := om.NewOut()
		if err := dec.Decode(dst); err != nil {
			return nil, nil, -1, fmt.Errorf("mproc: cannot decode the outputs of tasks %d to %d: %w", j.start, j.start+j.n-1, err)
		}
		out = reflect.ValueOf(dst).Elem().Interface()
		if n := reflect.ValueOf(out).Len(); n != j.n {
			return nil, nil, -1, fmt.Errorf("mproc: the result of tasks %d to %d holds %d outputs", j.start, j.start+j.n-1, n)
		}
	}
	for i := range h.Errs {
		r := &h.Errs[i]
		lo, hi := r.Index, r.Index+1
		if r.Index < 0 {
			lo, hi = 0, j.n
		}
		if lo < 0 || hi > j.n {
			return nil, nil, -1, fmt.Errorf("mproc: the result of tasks %d to %d names input %d", j.start, j.start+j.n-1, r.Index)
		}
		for k := lo; k < hi; k++ {
			errs = append(errs, indexedError{j.start + k, r.error(j.start + k)})
		}
	}
	return out, errs, max(h.Took, 1), nil
}
