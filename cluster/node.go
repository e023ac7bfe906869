package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/internal/remote"
)

// The environment that makes a process a node (see Cluster.NodeEnv).
const (
	envURL      = "MPROC_CLUSTER_URL"
	envUser     = "MPROC_CLUSTER_USER"
	envPassword = "MPROC_CLUSTER_PASSWORD"
	envName     = "MPROC_CLUSTER_NODE"
	envWorkers  = "MPROC_CLUSTER_WORKERS"
	envMemory   = "MPROC_CLUSTER_MEMORY_LIMIT" // bytes per worker process
	envLog      = "MPROC_CLUSTER_LOG"          // "debug", "info", "warn": log to stderr
	envCA       = "MPROC_CLUSTER_CA"           // PEM file of the authorities of the server's certificate
	envSlots    = "MPROC_CLUSTER_SLOTS"        // tasks a node runs at once (default 2 per worker)
	envStrict   = "MPROC_CLUSTER_STRICT"       // "1": take Strict pools' tasks, decoded by name
)

// A node's reason to exit, on its stderr and in its exit status.
const (
	exitStopped = 0 // told to stop (SIGTERM, SIGINT)
	exitFailed  = 2 // cannot join the cluster: credentials, server, consumer
)

func init() { remote.Node = serveNode }

// serveNode is remote.Node: when the environment names a cluster, this
// process serves as a node of it until told to stop, and reports true.
func serveNode() bool {
	url := os.Getenv(envURL)
	if url == "" {
		return false
	}
	n, err := newNode(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mproc cluster node:", err)
		os.Exit(exitFailed)
	}
	err = n.serve()
	start := time.Now()
	n.close()
	n.log.Debug("cluster node: closed", "took", time.Since(start))
	if err != nil {
		fmt.Fprintf(os.Stderr, "mproc cluster node %s: %v\n", n.name, err)
		os.Exit(exitFailed)
	}
	os.Exit(exitStopped)
	return true
}

// A node pulls tasks of its build and runs them in a pool of its own
// worker processes, as many at once as it has workers, plus as many
// waiting behind them, so that a worker never waits for the network.
type node struct {
	name    string
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	obs     jetstream.ObjectStore
	local   *mproc.Pool
	build   string // the build whose tasks it takes, strictBuild for Strict pools'
	slots   int    // tasks run at once
	workers int    // of the local pool
	ahead   int    // tasks pulled ahead of a free slot
	ackWait time.Duration
	alive   string // the subject where this process answers while it lives

	mu      sync.Mutex
	running map[string]context.CancelFunc // pool.task → cancels its run
}

func newNode(url string) (*node, error) {
	name := os.Getenv(envName)
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	workers := runtime.NumCPU()
	if s := os.Getenv(envWorkers); s != "" {
		w, err := strconv.Atoi(s)
		if err != nil || w <= 0 {
			return nil, fmt.Errorf("%s=%q: want a number of worker processes", envWorkers, s)
		}
		workers = w
	}
	poolOpts := []mproc.Option{mproc.Workers(workers)}
	if s := os.Getenv(envMemory); s != "" {
		limit, err := strconv.ParseInt(s, 10, 64)
		if err != nil || limit <= 0 {
			return nil, fmt.Errorf("%s=%q: want bytes", envMemory, s)
		}
		poolOpts = append(poolOpts, mproc.MemoryLimit(limit))
	}
	n := &node{name: name, log: nodeLogger(), build: buildID(), slots: nodeSlots(workers), ahead: workers,
		running: map[string]context.CancelFunc{}}

	if os.Getenv(envStrict) == "1" {
		n.build = strictBuild
	}
	nc, err := connect(url, credentials{os.Getenv(envUser), os.Getenv(envPassword)}, "mproc node "+name, os.Getenv(envCA), n.log)
	if err != nil {
		return nil, err
	}
	n.nc = nc
	if n.js, err = jetstream.New(nc); err != nil {
		n.close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n.cons, err = n.js.Consumer(ctx, taskStream, consumerName(n.build)); err != nil {
		n.close()
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("no pool of this build (%s) is running on %s: nodes take the tasks of pools "+
				"running the same executable; start the pool first, and run this same binary on every node "+
				"(or make the pool cluster.Strict and start the node with %s=1)", n.build, url, envStrict)
		}
		return nil, fmt.Errorf("finding the task consumer on %s: %w", url, err)
	}
	n.ackWait = n.cons.CachedInfo().Config.AckWait
	if n.obs, err = n.js.ObjectStore(ctx, payloadBucket); err != nil {
		n.close()
		return nil, fmt.Errorf("the payload store on %s: %w", url, err)
	}
	if n.local, err = mproc.NewPool(poolOpts...); err != nil {
		n.close()
		return nil, fmt.Errorf("starting %d worker processes: %w", workers, err)
	}
	if _, err := nc.Subscribe(cancelPrefix+">", n.onCancel); err != nil {
		n.close()
		return nil, fmt.Errorf("subscribing to cancellations: %w", err)
	}
	// The pool probes this subject to learn at once when the process is
	// gone (the server then has no subscriber for it), rather than after
	// AckWait: see executor.probe.
	n.alive = alivePrefix + randomToken()
	if _, err := nc.Subscribe(n.alive, func(m *nats.Msg) { m.Respond(nil) }); err != nil {
		n.close()
		return nil, fmt.Errorf("subscribing to liveness probes: %w", err)
	}
	return n, nil
}

// nodeLogger logs to stderr at the level MPROC_CLUSTER_LOG names; silent
// without it.
func nodeLogger() *slog.Logger {
	var level slog.Level
	switch os.Getenv(envLog) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (n *node) close() {
	if n.local != nil {
		n.local.Close()
	}
	if n.nc != nil {
		n.nc.Drain()
	}
}

// serve takes tasks until SIGTERM or SIGINT, then lets the tasks it runs
// finish, and returns. Beyond those its slots run it holds at most one
// task per worker (pulled while they run, so that a slot that frees up
// starts at once; measured here, pulling one at a time costs a third of
// the throughput of trivial tasks), kept alive like those it runs: the
// others wait in the stream, where any node can take them.
func (n *node) serve() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	msgs, err := n.cons.Messages(jetstream.PullMaxMessages(n.ahead), jetstream.PullExpiry(5*time.Second))
	if err != nil {
		return fmt.Errorf("pulling tasks: %w", err)
	}
	context.AfterFunc(ctx, msgs.Stop)
	n.nc.PublishMsg(n.beatMsg()) // before the ready line
	go n.beat(ctx)
	// A node started by a pool of this machine says it is ready on stdout
	// (see LocalNode); others ignore the line.
	fmt.Fprintln(os.Stdout, readyLine)
	free := make(chan struct{}, n.slots)
	for range n.slots {
		free <- struct{}{}
	}
	var wg sync.WaitGroup
	defer func() {
		start := time.Now()
		wg.Wait()
		n.log.Debug("cluster node: stopped; its tasks are done", "took", time.Since(start))
	}()
	taken := newTakeTimes(n.ahead)
	for {
		m, err := msgs.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			n.log.Warn("cluster node: pulling tasks", "err", err)
			continue
		}
		// From now on the task is this node's, held or running, as long
		// as it lives.
		alive := n.keepAlive(m, taken.waitedAtMost(time.Now()) >= n.ackWait/4)
		select {
		case <-free:
		case <-ctx.Done():
			alive()
			m.NakWithDelay(100 * time.Millisecond) // another node takes it
			return nil
		}
		wg.Go(func() {
			defer alive()
			var once sync.Once
			release := func() { once.Do(func() { free <- struct{}{} }) }
			defer release()
			n.handle(m, release)
		})
	}
}

// beat tells the pools of this build, every second until ctx ends, that
// this node lives (see NoNodeTimeout).
func (n *node) beat(ctx context.Context) {
	t := time.NewTicker(beatInterval)
	defer t.Stop()
	for {
		n.nc.PublishMsg(n.beatMsg())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beatMsg is a beat: the node's name, and where it answers probes.
func (n *node) beatMsg() *nats.Msg {
	m := nats.NewMsg(beatPrefix + n.build)
	m.Data = []byte(n.name)
	m.Header.Set(hAlive, n.alive)
	return m
}

// randomToken returns 16 random bytes in hex: a subject token no other
// process picks.
func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// keepAlive sends signs of life for m every quarter of AckWait, and at
// once if it may have waited long in the client's buffer (now), until the
// returned function is called: the task stays this node's however long it
// waits or runs, and a node that dies stops sending them. A task taken
// soon after its delivery needs no sign at once: one message less per
// task, which trivial tasks feel.
func (n *node) keepAlive(m jetstream.Msg, now bool) (stop func()) {
	if now {
		m.InProgress()
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(n.ackWait / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

const readyLine = "mproc cluster node ready"

// takeTimes remembers when the last tasks were taken from the client's
// buffer, which holds at most ahead of them: a task taken now was
// delivered after the ahead-th last one was taken (the buffer was full at
// most), so it waited at most that long there, AckWait running.
type takeTimes struct {
	at   []time.Time // a ring of the last ahead+1 takes
	next int
}

func newTakeTimes(ahead int) *takeTimes {
	return &takeTimes{at: make([]time.Time, ahead+1)}
}

// waitedAtMost records a take at now and bounds how long the task waited
// in the buffer; before ahead+1 takes, it may have waited since the start.
func (t *takeTimes) waitedAtMost(now time.Time) time.Duration {
	oldest := t.at[t.next]
	t.at[t.next] = now
	t.next = (t.next + 1) % len(t.at)
	if oldest.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return now.Sub(oldest)
}

// handle runs one task message and answers it; it calls release once the
// task has run, before its result is published.
func (n *node) handle(m jetstream.Msg, release func()) {
	var once sync.Once
	ran := func() { once.Do(release) }
	defer ran()
	pool, id, err := taskOf(m)
	if err != nil {
		n.log.Warn("cluster node: dropped a malformed task", "subject", m.Subject(), "err", err)
		m.Term()
		return
	}
	md, err := m.Metadata()
	if err != nil {
		m.Term()
		return
	}
	// The pool counts runs against the task's Retries: a delivery lost
	// on its way (a server restart) is not a run.
	note := nats.NewMsg(startPrefix + pool)
	note.Data = strconv.AppendUint(nil, id, 10)
	note.Header.Set(hNode, n.name)
	note.Header.Set(hAlive, n.alive)
	note.Header.Set(hDelivery, strconv.FormatUint(md.NumDelivered, 10))
	n.nc.PublishMsg(note)
	// The note must reach the server before the task can run: a node
	// killed in the task's first microseconds would otherwise take it
	// along, and the pool run again a task that had started (Retries(0)
	// promises it does not). One round trip to the server per task.
	if err := n.nc.FlushTimeout(attemptTimeout); err != nil {
		n.log.Warn("cluster node: cannot make sure the pool heard a task start", "task", id, "err", err)
	}
	payload := m.Data()
	if obj := m.Headers().Get(hObject); obj != "" {
		if err = retry(context.Background(), nil, func(ctx context.Context) (err error) {
			payload, err = n.obs.GetBytes(ctx, obj)
			return err
		}); err != nil {
			n.log.Warn("cluster node: a task's payload is not in the store", "task", id, "object", obj, "err", err)
			m.NakWithDelay(time.Second)
			return
		}
	}
	key := pool + "." + strconv.FormatUint(id, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n.mu.Lock()
	n.running[key] = cancel
	n.mu.Unlock()
	res := remote.Run(ctx, n.local, payload, n.name, n.build == strictBuild)
	n.mu.Lock()
	delete(n.running, key)
	n.mu.Unlock()
	if ctx.Err() != nil {
		m.Ack() // its pool gave it up
		return
	}
	// The slot is for running: another task may start while the result
	// is on its way to the server.
	ran()
	if err := n.answer(context.Background(), pool, id, res); err != nil {
		n.log.Warn("cluster node: cannot publish a result; the task goes to another node", "task", id, "err", err)
		m.NakWithDelay(time.Second)
		return
	}
	// Its result is stored: the acknowledgement need not wait for the
	// server's word. Were it lost, the task would run again elsewhere
	// after AckWait, and the pool drop the second result.
	if err := m.Ack(); err != nil {
		n.log.Warn("cluster node: cannot acknowledge a task; it may run again elsewhere", "task", id, "err", err)
	}
}

// answer publishes res, the result of task id of pool.
func (n *node) answer(ctx context.Context, pool string, id uint64, res []byte) error {
	sid := strconv.FormatUint(id, 10)
	r := nats.NewMsg(resultPrefix + pool + "." + sid)
	r.Header.Set(hTask, sid)
	r.Header.Set(hNode, n.name)
	if len(res) > payloadLimit(n.nc) {
		object := pool + "." + sid + ".result"
		if err := retry(ctx, nil, func(ctx context.Context) error {
			_, err := n.obs.PutBytes(ctx, object, res)
			return err
		}); err != nil {
			return fmt.Errorf("storing a %d-byte result: %w", len(res), err)
		}
		r.Header.Set(hObject, object)
	} else {
		r.Data = res
	}
	// A node keeps trying as long as it lives: the task stays its own
	// meanwhile (its signs of life go on), and the server keeps one copy.
	return retry(ctx, nil, func(ctx context.Context) error {
		ack, err := n.js.PublishMsg(ctx, r, jetstream.WithMsgID(pool+"."+sid))
		if err == nil && ack.Duplicate {
			n.log.Info("cluster node: the server already had this task's result (it ran twice)", "task", id)
		}
		return err
	})
}

// taskOf reads a task message's pool and ID.
func taskOf(m jetstream.Msg) (pool string, id uint64, err error) {
	subject := m.Subject()
	i := strings.LastIndexByte(subject, '.')
	if i < 0 || !strings.HasPrefix(subject, taskPrefix) {
		return "", 0, fmt.Errorf("subject %q is not a task's", subject)
	}
	pool = subject[i+1:]
	h := m.Headers()
	if id, err = strconv.ParseUint(h.Get(hTask), 10, 64); err != nil || id == 0 {
		return "", 0, fmt.Errorf("header %s=%q is not a task ID", hTask, h.Get(hTask))
	}
	return pool, id, nil
}

// onCancel cancels a task its pool gave up.
func (n *node) onCancel(m *nats.Msg) {
	key := strings.TrimPrefix(m.Subject, cancelPrefix) + "." + string(m.Data)
	n.mu.Lock()
	cancel := n.running[key]
	n.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// nodeSlots is how many tasks a node runs at once: MPROC_CLUSTER_SLOTS,
// or by default two per worker, so that a worker finds its next task
// there when one ends (a task's way through the server and the node takes
// a few hundred microseconds). More would raise the throughput of tiny
// tasks a little (4 per worker: +10 % here) and hold more tasks behind a
// long one, where no other node can take them.
func nodeSlots(workers int) int {
	if s := os.Getenv(envSlots); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 2 * workers
}
