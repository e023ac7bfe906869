package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/internal/binref"
)

// Names on the server. Every pool on a server shares the streams; a
// pool's tasks and results carry its ID in their subjects, and tasks the
// build's too, so that nodes only see tasks of the executable they run.
const (
	taskStream    = "MPROC_TASKS"
	resultStream  = "MPROC_RESULTS"
	payloadBucket = "MPROC_PAYLOADS"
	taskPrefix    = "mproc.tasks."   // + build + "." + pool
	resultPrefix  = "mproc.results." // + pool + "." + task
	cancelPrefix  = "mproc.cancel."  // + pool; the body is the task ID
	startPrefix   = "mproc.started." // + pool; the body is the task ID
	beatPrefix    = "mproc.nodes."   // + build; a node's name, every beatInterval
	alivePrefix   = "mproc.alive."   // + a token of one node process: it answers requests there
)

// Headers of tasks and results.
const (
	hTask     = "Mproc-Task"     // the task ID in its pool, decimal
	hObject   = "Mproc-Object"   // the payload is this object of the store
	hNode     = "Mproc-Node"     // result, start note: the node that ran it
	hDelivery = "Mproc-Delivery" // start note: the delivery's number, from 1
	hAlive    = "Mproc-Alive"    // beat, start note: the subject where the node answers while it lives
)

// beatInterval is how often a node says it lives.
const beatInterval = time.Second

// maxDeliver is the consumer's bound on deliveries of a task, whatever its
// Retries: the pool enforces a task's own bound on the runs nodes start.
const maxDeliver = 100

// A Cluster is a pool whose workers are nodes: processes of this same
// executable, on this machine or others, that take tasks from a NATS
// JetStream server. Use its Pool with mproc.Map, Imap, ImapUnordered and
// Submit, call options included, as any pool.
type Cluster struct {
	// Pool runs tasks on the cluster's nodes. Closing it closes the
	// cluster: its local nodes, its connection and its embedded server.
	Pool *mproc.Pool

	cfg     config
	log     *slog.Logger
	srv     *embedded // nil when connected to an existing server
	url     string
	node    credentials
	nc      *nats.Conn
	js      jetstream.JetStream
	tasks   jetstream.Stream
	results jetstream.Stream
	obs     jetstream.ObjectStore
	id      string // this pool's ID
	build   string // the executable's build, as subjects carry it
	exec    *executor

	mu       sync.Mutex
	nodes    []*LocalNode
	nextNode int
	closed   bool
}

// New starts a cluster pool. With no Connect option it embeds a NATS
// server with JetStream, on loopback, storing in a temporary directory:
// the one-machine default, and what tests use. With LocalNodes it starts
// that many node processes of this executable; nodes on other machines
// are this same executable started with NodeEnv's environment.
//
// New returns once the streams exist and the local nodes are connected.
func New(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := config{nodeWorkers: 2, ackWait: DefaultAckWait, noNodeWait: DefaultNoNodeTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ackWait < 100*time.Millisecond {
		return nil, fmt.Errorf("cluster: AckWait(%v) is too short: a node could not send signs of life in time", cfg.ackWait)
	}
	if cfg.noNodeWait < 2*beatInterval {
		return nil, fmt.Errorf("cluster: NoNodeTimeout(%v) is too short: nodes say they live every %v", cfg.noNodeWait, beatInterval)
	}
	if cfg.slots <= 0 {
		cfg.slots = 64
		if cfg.localNodes > 0 {
			cfg.slots = 2 * cfg.localNodes * max(cfg.nodeWorkers, 1)
		}
	}
	c := &Cluster{cfg: cfg, log: cfg.logger, id: nats.NewInbox()[len(nats.InboxPrefix):], build: buildID()}
	if cfg.strict {
		c.build = strictBuild
	}
	if err := c.start(ctx); err != nil {
		c.shutdown()
		return nil, err
	}
	pool, err := mproc.NewPool(append(cfg.poolOptions[:len(cfg.poolOptions):len(cfg.poolOptions)],
		mproc.Logger(cfg.logger), mproc.Remote(c.exec))...)
	if err != nil {
		c.shutdown()
		return nil, err
	}
	c.Pool = pool
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	c.url = c.cfg.url
	parent := credentials{c.cfg.user, c.cfg.pass}
	c.node = parent
	if c.url == "" {
		srv, err := startServer(&c.cfg)
		if err != nil {
			return err
		}
		c.srv, c.url, parent, c.node = srv, srv.url, srv.parent, srv.node
	}
	nc, err := connect(c.url, parent, "mproc pool "+c.id, c.cfg.caFile, c.log)
	if err != nil {
		return err
	}
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if c.tasks, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        taskStream,
		Description: "mproc tasks waiting for a node",
		Subjects:    []string{taskPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
	}); err != nil {
		return fmt.Errorf("cluster: the task stream: %w", err)
	}
	if c.results, err = c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        resultStream,
		Description: "mproc results on their way to their pool",
		Subjects:    []string{resultPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  2 * time.Minute,
		MaxAge:      24 * time.Hour, // a dead pool's results go eventually
	}); err != nil {
		return fmt.Errorf("cluster: the result stream: %w", err)
	}
	if c.obs, err = c.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      payloadBucket,
		Description: "mproc payloads over the server's max payload",
		Storage:     jetstream.FileStorage,
		TTL:         24 * time.Hour,
	}); err != nil {
		return fmt.Errorf("cluster: the payload store: %w", err)
	}
	// The nodes of this build share one consumer; AckWait brings a dead
	// node's tasks back, the nodes' signs of life keep a long task theirs.
	if _, err = c.js.CreateOrUpdateConsumer(ctx, taskStream, jetstream.ConsumerConfig{
		Durable:       consumerName(c.build),
		Description:   "mproc nodes running build " + c.build,
		FilterSubject: taskPrefix + c.build + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.ackWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: 100_000,
	}); err != nil {
		return fmt.Errorf("cluster: the nodes' consumer: %w", err)
	}
	if c.exec, err = newExecutor(ctx, c); err != nil {
		return err
	}
	for range c.cfg.localNodes {
		if _, err := c.StartNode(); err != nil {
			return err
		}
	}
	for _, n := range c.Nodes() {
		if err := n.waitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// connect dials the server, for good: the connection comes back by itself
// after the server restarts. A first dial that fails is tried again for
// connectPatience (a node may start while the server restarts), unless
// the server refused the credentials or the certificate, which waiting
// does not mend.
func connect(url string, cred credentials, name, caFile string, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: the connection was closed here
				log.Warn("cluster: disconnected from the server", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("cluster: reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("cluster: asynchronous error", "err", err)
		}),
	}
	if cred.user != "" {
		opts = append(opts, nats.UserInfo(cred.user, cred.pass))
	}
	if caFile != "" {
		opts = append(opts, nats.RootCAs(caFile))
	}
	deadline := time.Now().Add(connectPatience)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		nc, err := nats.Connect(url, opts...)
		if err == nil {
			return nc, nil
		}
		if refusedForGood(err) || time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("cluster: connecting to %s: %w", url, err)
		}
		log.Info("cluster: cannot reach the server yet; trying again", "url", url, "err", err)
		time.Sleep(wait)
	}
}

// connectPatience is how long a first connection is tried.
const connectPatience = 30 * time.Second

// refusedForGood reports whether err says the server refused this client
// (credentials, permissions, certificate) rather than that it was not
// there to answer.
func refusedForGood(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) ||
		errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.Is(err, nats.ErrSecureConnRequired) ||
		errors.Is(err, nats.ErrSecureConnWanted) {
		return true
	}
	return strings.Contains(strings.ToLower(err.Error()), "authorization violation")
}

// URL returns the address of the cluster's server.
func (c *Cluster) URL() string { return c.url }

// NodeEnv returns the environment that makes this executable a node of
// the cluster: MPROC_CLUSTER_URL, the node's user and password (the
// embedded server's node user, which may only take and answer tasks),
// MPROC_CLUSTER_NODE (its name), MPROC_CLUSTER_WORKERS, with CAFile
// MPROC_CLUSTER_CA, and with Strict MPROC_CLUSTER_STRICT. For a node on
// another machine, replace the URL's host with an address that machine
// reaches.
func (c *Cluster) NodeEnv(name string, workers int) []string {
	env := []string{
		envURL + "=" + c.url,
		envUser + "=" + c.node.user,
		envPassword + "=" + c.node.pass,
		envName + "=" + name,
		fmt.Sprintf("%s=%d", envWorkers, workers),
	}
	if c.cfg.caFile != "" {
		env = append(env, envCA+"="+c.cfg.caFile)
	}
	if c.cfg.strict {
		env = append(env, envStrict+"=1")
	}
	return env
}

// Stats counts what the cluster's pool saw.
type Stats struct {
	Published  int64 // tasks published
	Results    int64 // results delivered to the pool
	Duplicates int64 // results of tasks already answered (a node ran a task again), dropped
	Malformed  int64 // messages on the pool's result subject that named no task of it, dropped
	Resent     int64 // tasks published again at once because the node holding them was gone
	NodesGone  int64 // node processes a probe found gone
}

// Stats returns the counts so far.
func (c *Cluster) Stats() Stats { return c.exec.stats() }

// Close closes the pool (waiting for its calls), then stops the local
// nodes, the connection and the embedded server.
func (c *Cluster) Close() error {
	if c.Pool != nil {
		return c.Pool.Close()
	}
	c.shutdown()
	return nil
}

// shutdown stops everything the cluster started; the executor's Close
// calls it once the pool is done with it.
func (c *Cluster) shutdown() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	nodes := c.nodes
	c.mu.Unlock()
	start := time.Now()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.stop() })
	}
	wg.Wait()
	c.log.Debug("cluster: local nodes stopped", "nodes", len(nodes), "took", time.Since(start))
	if c.exec != nil {
		c.exec.stop()
	}
	if c.nc != nil {
		c.nc.Close()
	}
	if c.srv != nil {
		c.srv.shutdown()
	}
	c.log.Debug("cluster: closed", "took", time.Since(start))
}

// buildID names this executable's build in subjects: a hash of its
// fingerprint, so that only nodes of the same build take its tasks.
func buildID() string {
	sum := sha256.Sum256([]byte(binref.Fingerprint()))
	return hex.EncodeToString(sum[:8])
}

func consumerName(build string) string { return "nodes-" + build }

// strictBuild stands for the build in the subjects of a Strict pool's
// tasks, which nodes of any build that registered the call's function and
// types can run.
const strictBuild = "strict"

// errClosed is returned for tasks of a cluster that is closing.
var errClosed = errors.New("cluster: closed")
