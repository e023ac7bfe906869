package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
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
	nodes    map[string]*peer    // alive subject → a node heard of
	stopped  bool
	stopping chan struct{}

	published, results, duplicates, malformed atomic.Int64
	resent, nodesGone                         atomic.Int64
	lastBeat                                  atomic.Int64 // when a node was last heard of, in Unix ns
}

// A pending task is one published and not answered.
type pending struct {
	ch       chan delivery
	retries  int
	runs     uint64 // bit k: a node started delivery k+1 (see onStart)
	spent    int    // runs lost with their nodes before the task was published again (see nodeGone)
	checking bool   // checkLost runs
	msg      *nats.Msg
	seq      uint64 // in the task stream, 0 until published
	sends    int    // publications of msg, each under a message ID of its own
	alive    string // the node of the last start note, by its alive subject
}

// A peer is a node a beat told of.
type peer struct {
	name    string
	seen    time.Time // its last beat
	silent  time.Time // since when probes found no subscriber, zero when one answered
	probing bool      // a probe is under way
	gone    bool      // probes found it gone
}

// A delivery is a result message, as Execute needs it.
type delivery struct {
	data   []byte
	object string // the result is this object of the store
	lost   int    // the task was delivered this often, each time lost
	node   string
}

func newExecutor(ctx context.Context, c *Cluster) (*executor, error) {
	e := &executor{c: c, waiting: map[uint64]*pending{}, nodes: map[string]*peer{}, stopping: make(chan struct{})}
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
	go e.probe()
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
		Duplicates: e.duplicates.Load(), Malformed: e.malformed.Load(),
		Resent: e.resent.Load(), NodesGone: e.nodesGone.Load()}
}

// Execute publishes task t and waits for its result.
func (e *executor) Execute(ctx context.Context, t *remote.Task) ([]byte, error) {
	ch := make(chan delivery, 1)
	p := &pending{ch: ch, retries: t.Retries}
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil, errClosed
	}
	e.waiting[t.ID] = p
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
	e.mu.Lock()
	p.msg, p.sends = m, 1
	e.mu.Unlock()
	var ack *jetstream.PubAck
	if err := retry(ctx, e.stopping, func(ctx context.Context) (err error) {
		// The same message ID each time: the server keeps one copy.
		ack, err = e.c.js.PublishMsg(ctx, m, jetstream.WithMsgID(e.c.id+"."+id))
		return err
	}); err != nil {
		return nil, fmt.Errorf("cluster: publishing task %d: %w", t.First, err)
	}
	e.published.Add(1)
	e.mu.Lock()
	if p.seq == 0 { // not published again meanwhile
		p.seq = ack.Sequence
	}
	e.mu.Unlock()
	seq := func() uint64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		return p.seq
	}

	// Nodes say they live every second (see node.beat): with none heard
	// of for NoNodeTimeout the task fails rather than wait for ever.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case d := <-ch:
			return e.delivered(ctx, t, seq(), d)
		case <-tick.C:
			if silent := time.Since(time.Unix(0, e.lastBeat.Load())); silent > e.c.cfg.noNodeWait {
				e.cancel(t.ID, seq())
				return nil, &NoNodesError{Index: t.First, Silent: silent.Round(time.Second), Build: e.c.build}
			}
		case <-ctx.Done():
			e.cancel(t.ID, seq())
			return nil, ctx.Err()
		case <-e.stopping:
			return nil, errClosed
		}
	}
}

// delivered turns a result message into what Execute returns.
func (e *executor) delivered(ctx context.Context, t *remote.Task, seq uint64, d delivery) ([]byte, error) {
	if d.lost > 0 {
		e.cancel(t.ID, seq) // the run beyond its Retries stops
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

// onBeat notes that a node of this build lives, and where it answers
// probes.
func (e *executor) onBeat(m *nats.Msg) {
	now := time.Now()
	e.lastBeat.Store(now.UnixNano())
	alive := m.Header.Get(hAlive)
	if !validAlive(alive) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pr := e.nodes[alive]
	if pr == nil {
		if len(e.nodes) >= maxPeers {
			return
		}
		pr = &peer{name: string(m.Data)}
		e.nodes[alive] = pr
	}
	pr.seen, pr.gone = now, false // a node back after losing its connection lives
}

// validAlive reports whether s is an alive subject as nodes make them.
func validAlive(s string) bool {
	tok, ok := strings.CutPrefix(s, alivePrefix)
	if !ok || len(tok) != 32 {
		return false
	}
	_, err := hex.DecodeString(tok)
	return err == nil
}

// Probing nodes (see probe).
const (
	probeInterval = 250 * time.Millisecond
	probeTimeout  = 2 * time.Second
	// goneAfter is how long probes must find no subscriber before a node
	// counts as gone: a node whose connection broke comes back within a
	// few reconnection attempts (100 ms apart), a dead one never.
	goneAfter = 750 * time.Millisecond
	// settle is how long after this pool's own reconnection probes are not
	// believed: the server restarted, and the nodes are reconnecting too.
	settle      = 3 * time.Second
	forgetAfter = 10 * beatInterval // a node silent this long is forgotten
	maxPeers    = 4096              // nodes remembered at most
)

// probe asks every node heard of lately, every probeInterval while tasks
// are pending, whether it lives. A node process that died leaves no
// subscriber on its alive subject, and the server answers a request there
// at once with "no responders": after goneAfter of that its tasks go to
// other nodes, instead of after AckWait. A node that answers slowly, or
// that the network cut off without the server noticing, is left to
// AckWait; so is every node for a while after this pool reconnected (see
// settle).
func (e *executor) probe() {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	var reconnects uint64
	var reconnected time.Time
	for {
		select {
		case <-e.stopping:
			return
		case <-t.C:
		}
		now := time.Now()
		if r := e.c.nc.Stats().Reconnects; r != reconnects {
			reconnects, reconnected = r, now
		}
		believe := now.Sub(reconnected) > settle
		var subjects []string
		e.mu.Lock()
		for s, pr := range e.nodes {
			switch {
			case now.Sub(pr.seen) > forgetAfter:
				delete(e.nodes, s)
			case !believe:
				pr.silent = time.Time{}
			case !pr.gone && !pr.probing && len(e.waiting) > 0:
				pr.probing = true
				subjects = append(subjects, s)
			}
		}
		e.mu.Unlock()
		for _, s := range subjects {
			go func() {
				_, err := e.c.nc.Request(s, nil, probeTimeout)
				e.mu.Lock()
				pr := e.nodes[s]
				gone := false
				if pr != nil {
					pr.probing = false
					switch {
					case !errors.Is(err, nats.ErrNoResponders):
						pr.silent = time.Time{} // it answered, or the question was lost: no news
					case pr.silent.IsZero():
						pr.silent = time.Now()
					default:
						gone = time.Since(pr.silent) >= goneAfter
					}
				}
				e.mu.Unlock()
				if gone {
					e.nodeGone(s)
				}
			}()
		}
	}
}

// nodeGone hands the tasks of the node whose alive subject is alive, gone,
// to other nodes: a task whose last run was there, or that no node is
// known to run (it may wait in that node's buffer), is published again
// under a new message ID and its old copy deleted; a task whose runs are
// spent (its Retries) fails with a NodeLostError unless its result is in
// the stream. Tasks that live nodes run are left alone.
func (e *executor) nodeGone(alive string) {
	type resend struct {
		p     *pending
		msg   *nats.Msg
		old   uint64
		msgID string
	}
	var again []resend
	type lost struct {
		id   uint64
		runs int
	}
	var spent []lost
	e.mu.Lock()
	pr := e.nodes[alive]
	if pr == nil || pr.gone {
		e.mu.Unlock()
		return
	}
	pr.gone = true
	name := pr.name
	for id, p := range e.waiting {
		if p.seq == 0 || p.checking {
			continue
		}
		if p.alive != "" && p.alive != alive {
			if other := e.nodes[p.alive]; other == nil || !other.gone {
				continue // a live node runs it
			}
		}
		runs := p.spent + bits.OnesCount64(p.runs)
		if p.alive == alive && runs > p.retries {
			p.checking = true
			spent = append(spent, lost{id, runs})
			continue
		}
		p.spent, p.runs, p.alive = runs, 0, ""
		p.sends++
		msg := nats.NewMsg(p.msg.Subject)
		msg.Data = p.msg.Data
		for k, v := range p.msg.Header {
			if k != jetstream.MsgIDHeader {
				msg.Header[k] = v
			}
		}
		again = append(again, resend{p, msg, p.seq, e.c.id + "." + strconv.FormatUint(id, 10) + ".r" + strconv.Itoa(p.sends)})
	}
	e.mu.Unlock()
	e.nodesGone.Add(1)
	e.c.log.Info("cluster: a node is gone; its tasks go to other nodes", "node", name, "tasks", len(again), "spent", len(spent))
	for _, l := range spent {
		go e.checkLost(l.id, l.runs, name)
	}
	for _, r := range again {
		// The new copy first: were this process to stop between the two,
		// the task would run twice, never not at all.
		var ack *jetstream.PubAck
		err := retry(context.Background(), e.stopping, func(ctx context.Context) (err error) {
			ack, err = e.c.js.PublishMsg(ctx, r.msg, jetstream.WithMsgID(r.msgID))
			return err
		})
		if err != nil {
			e.c.log.Warn("cluster: cannot publish again a task of a node gone; it waits for AckWait", "err", err)
			continue
		}
		e.resent.Add(1)
		e.mu.Lock()
		r.p.seq = ack.Sequence
		e.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		e.c.tasks.DeleteMsg(ctx, r.old) // gone already if the node acknowledged it
		cancel()
	}
}

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
	alive := m.Header.Get(hAlive)
	if !validAlive(alive) {
		alive = ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.waiting[id]
	if !ok {
		return // answered or given up
	}
	p.runs |= 1 << min(k-1, 63)
	p.alive = alive
	if runs := p.spent + bits.OnesCount64(p.runs); runs > p.retries+1 && !p.checking {
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
