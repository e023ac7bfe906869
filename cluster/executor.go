package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mproc-go/mproc/internal/remote"
)

// The executor is the pool's side of the cluster (remote.Executor): it
// publishes each task to the task stream, where the nodes of this build
// pull it, and hands the task's result, from the pool's result subject,
// to the goroutine waiting for it. A result of a task already answered
// (a node that seemed dead ran it too) is counted and dropped: results
// are delivered exactly once.
type executor struct {
	c    *Cluster
	cons jetstream.ConsumeContext

	mu       sync.Mutex
	waiting  map[uint64]*pending // task ID → its goroutine
	answered bitset              // task IDs whose result was delivered
	stopped  bool
	stopping chan struct{}

	published, results, duplicates, malformed atomic.Int64
	lastBeat                                  atomic.Int64 // when a node was last heard of, in Unix ns
}

// A pending task is one published and not answered.
type pending struct {
	ch       chan delivery
	retries  int
	runs     uint64 // bit k: a node started delivery k+1 (see onStart)
	checking bool   // checkLost runs
}

// A delivery is a result message, as Execute needs it.
type delivery struct {
	data   []byte
	object string // the result is this object of the store
	lost   int    // the task was delivered this often, each time lost
	node   string
}

func newExecutor(ctx context.Context, c *Cluster) (*executor, error) {
	e := &executor{c: c, waiting: map[uint64]*pending{}, stopping: make(chan struct{})}
	e.lastBeat.Store(time.Now().UnixNano()) // nodes have NoNodeTimeout to come
	if _, err := c.nc.Subscribe(beatPrefix+c.build, e.onBeat); err != nil {
		return nil, fmt.Errorf("cluster: subscribing to the nodes' beats: %w", err)
	}
	if _, err := c.nc.Subscribe(startPrefix+c.id, e.onStart); err != nil {
		return nil, fmt.Errorf("cluster: subscribing to the nodes' start notes: %w", err)
	}
	// A consumer of this pool's results only, which the server drops an
	// hour after the pool stopped asking (a pool that died).
	cons, err := c.js.CreateOrUpdateConsumer(ctx, resultStream, jetstream.ConsumerConfig{
		Durable:       "pool-" + c.id,
		FilterSubject: resultPrefix + c.id + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		// A result lost on its way here (the server restarted) comes
		// again this soon; the pool acknowledges each as it arrives.
		AckWait:           2 * time.Second,
		InactiveThreshold: time.Hour,
		MaxAckPending:     100_000,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: the pool's result consumer: %w", err)
	}
	// A short expiry renews the pull often: after a server restart the
	// pull in flight is gone, and results must not wait for its expiry.
	if e.cons, err = cons.Consume(e.onResult, jetstream.PullExpiry(time.Second)); err != nil {
		return nil, fmt.Errorf("cluster: consuming results: %w", err)
	}
	return e, nil
}

func (e *executor) Slots() int { return e.c.cfg.slots }

func (e *executor) Strict() bool { return e.c.cfg.strict }

// Close is called by the pool once no Execute runs: it closes the cluster.
func (e *executor) Close() error {
	e.c.shutdown()
	return nil
}

func (e *executor) stop() {
	e.mu.Lock()
	if !e.stopped {
		e.stopped = true
		close(e.stopping)
	}
	e.mu.Unlock()
	if e.cons != nil {
		e.cons.Stop()
	}
}

func (e *executor) stats() Stats {
	return Stats{Published: e.published.Load(), Results: e.results.Load(),
		Duplicates: e.duplicates.Load(), Malformed: e.malformed.Load()}
}

// Execute publishes task t and waits for its result.
func (e *executor) Execute(ctx context.Context, t *remote.Task) ([]byte, error) {
	ch := make(chan delivery, 1)
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil, errClosed
	}
	e.waiting[t.ID] = &pending{ch: ch, retries: t.Retries}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.waiting, t.ID)
		e.mu.Unlock()
	}()

	id := strconv.FormatUint(t.ID, 10)
	m := nats.NewMsg(taskPrefix + e.c.build + "." + e.c.id)
	m.Header.Set(hTask, id)
	object := ""
	if len(t.Payload) > payloadLimit(e.c.nc) {
		object = e.c.id + "." + id + ".task"
		if err := retry(ctx, e.stopping, func(ctx context.Context) error {
			_, err := e.c.obs.PutBytes(ctx, object, t.Payload)
			return err
		}); err != nil {
			return nil, fmt.Errorf("cluster: storing the %d-byte payload of task %d: %w", len(t.Payload), t.First, err)
		}
		defer e.c.obs.Delete(context.WithoutCancel(ctx), object)
		m.Header.Set(hObject, object)
	} else {
		m.Data = t.Payload
	}
	var ack *jetstream.PubAck
	if err := retry(ctx, e.stopping, func(ctx context.Context) (err error) {
		// The same message ID each time: the server keeps one copy.
		ack, err = e.c.js.PublishMsg(ctx, m, jetstream.WithMsgID(e.c.id+"."+id))
		return err
	}); err != nil {
		return nil, fmt.Errorf("cluster: publishing task %d: %w", t.First, err)
	}
	e.published.Add(1)

	// Nodes say they live every second (see node.beat): with none heard
	// of for NoNodeTimeout the task fails rather than wait for ever.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case d := <-ch:
			return e.delivered(ctx, t, ack, d)
		case <-tick.C:
			if silent := time.Since(time.Unix(0, e.lastBeat.Load())); silent > e.c.cfg.noNodeWait {
				e.cancel(t.ID, ack.Sequence)
				return nil, &NoNodesError{Index: t.First, Silent: silent.Round(time.Second), Build: e.c.build}
			}
		case <-ctx.Done():
			e.cancel(t.ID, ack.Sequence)
			return nil, ctx.Err()
		case <-e.stopping:
			return nil, errClosed
		}
	}
}

// delivered turns a result message into what Execute returns.
func (e *executor) delivered(ctx context.Context, t *remote.Task, ack *jetstream.PubAck, d delivery) ([]byte, error) {
	if d.lost > 0 {
		e.cancel(t.ID, ack.Sequence) // the run beyond its Retries stops
		return nil, &NodeLostError{Index: t.First, Attempts: d.lost, Retries: t.Retries}
	}
	if d.object == "" {
		return d.data, nil
	}
	var data []byte
	err := retry(ctx, e.stopping, func(ctx context.Context) (err error) {
		data, err = e.c.obs.GetBytes(ctx, d.object)
		return err
	})
	e.c.obs.Delete(context.WithoutCancel(ctx), d.object)
	if err != nil {
		return nil, fmt.Errorf("cluster: reading the result of task %d from the store: %w", t.First, err)
	}
	return data, nil
}

// onBeat notes that a node of this build lives.
func (e *executor) onBeat(*nats.Msg) { e.lastBeat.Store(time.Now().UnixNano()) }

// cancel withdraws a task nobody waits for: it leaves the stream if no
// node took it yet, and a node running it cancels its context.
func (e *executor) cancel(id, seq uint64) {
	ctx, done := context.WithTimeout(context.Background(), 2*time.Second)
	defer done()
	e.c.tasks.DeleteMsg(ctx, seq)
	e.c.nc.Publish(cancelPrefix+e.c.id, strconv.AppendUint(nil, id, 10))
}

// onResult hands a result message to its task's goroutine, once.
func (e *executor) onResult(m jetstream.Msg) {
	defer m.Ack()
	h := m.Headers()
	id, err := strconv.ParseUint(h.Get(hTask), 10, 64)
	if err != nil {
		e.malformed.Add(1)
		e.c.log.Warn("cluster: dropped a result that names no task", "subject", m.Subject(), "header", h.Get(hTask))
		return
	}
	d := delivery{data: m.Data(), object: h.Get(hObject), node: h.Get(hNode)}
	e.mu.Lock()
	p, ok := e.waiting[id]
	dup := !ok && e.answered.has(id)
	if ok {
		delete(e.waiting, id)
		e.answered.set(id)
	}
	e.mu.Unlock()
	switch {
	case ok:
		e.results.Add(1)
		p.ch <- d
	case dup:
		e.duplicates.Add(1)
		e.c.log.Info("cluster: dropped a second result of a task (a node ran it again)", "task", id, "node", d.node)
	default:
		// A task given up (its call was cancelled) or one this pool never
		// sent.
		e.c.log.Debug("cluster: dropped a result nobody waits for", "task", id, "node", d.node)
	}
}

// onStart counts the runs of a task: a node says when it starts one, with
// the delivery's number. A run beyond the task's Retries means its earlier
// runs were lost with their nodes: the task fails with a NodeLostError
// (and Execute stops that run). A delivery that never reached a node (the
// server restarted meanwhile) sends no note and costs no retry.
func (e *executor) onStart(m *nats.Msg) {
	id, err1 := strconv.ParseUint(string(m.Data), 10, 64)
	k, err2 := strconv.ParseUint(m.Header.Get(hDelivery), 10, 64)
	if err1 != nil || err2 != nil || k == 0 {
		e.malformed.Add(1)
		e.c.log.Warn("cluster: dropped a malformed start note", "subject", m.Subject, "task", string(m.Data))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.waiting[id]
	if !ok {
		return // answered or given up
	}
	p.runs |= 1 << min(k-1, 63)
	if runs := bits.OnesCount64(p.runs); runs > p.retries+1 && !p.checking {
		// An earlier run may have answered, its node dying (or its ack
		// lost to a server restart) after publishing: its result is then
		// in the stream, on its way here. Only without one was it lost.
		p.checking = true
		go e.checkLost(id, runs-1, m.Header.Get(hNode))
	}
}

// checkLost fails task id, whose earlier runs did not answer, unless its
// result is in the result stream after all.
func (e *executor) checkLost(id uint64, lost int, node string) {
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	_, err := e.c.results.GetLastMsgForSubject(ctx, e.resultSubject(id))
	if err == nil {
		return // onResult delivers it
	}
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		e.c.log.Warn("cluster: cannot tell whether a task rerun beyond its Retries had answered; letting it run", "task", id, "err", err)
		return
	}
	e.mu.Lock()
	p, ok := e.waiting[id]
	if ok {
		delete(e.waiting, id)
		e.answered.set(id)
	}
	e.mu.Unlock()
	if ok {
		p.ch <- delivery{lost: lost, node: node}
	}
}

func (e *executor) resultSubject(id uint64) string {
	return resultPrefix + e.c.id + "." + strconv.FormatUint(id, 10)
}

// retry calls f until it succeeds, backing off while the server is out of
// reach (restarting, say); it gives up when ctx or stop ends, or at once
// on an error that retrying cannot fix. Each call of f has attemptTimeout:
// a request whose reply was lost to a reconnection is asked again, under
// the same message ID, which the server keeps once.
func retry(ctx context.Context, stop <-chan struct{}, f func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !transient(err) {
			if ctx.Err() != nil && err != nil {
				return errors.Join(ctx.Err(), err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-stop:
			return errors.Join(errClosed, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// attemptTimeout bounds one request to the server inside retry.
const attemptTimeout = 2 * time.Second

// transient reports whether err may go away by itself: the server is
// restarting, or did not answer in time.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrNoHeartbeat)
}

// payloadLimit is the largest payload a message carries; larger ones go
// through the object store. It leaves room for the headers.
func payloadLimit(nc *nats.Conn) int { return int(nc.MaxPayload()) - 8<<10 }

// A bitset of task IDs, which start at 1 and grow by one.
type bitset []uint64

func (b bitset) has(i uint64) bool { return i/64 < uint64(len(b)) && b[i/64]&(1<<(i%64)) != 0 }

func (b *bitset) set(i uint64) {
	for i/64 >= uint64(len(*b)) {
		*b = append(*b, 0)
	}
	(*b)[i/64] |= 1 << (i % 64)
}
