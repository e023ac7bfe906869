package cluster

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/mproc-go/mproc"
)

// An Option configures New.
type Option func(*config)

type config struct {
	url         string // an existing server; "" to embed one
	user, pass  string // credentials on an existing server
	listen      string // the embedded server's client address
	tls         *tls.Config
	caFile      string
	storeDir    string
	localNodes  int
	nodeWorkers int
	slots       int
	ackWait     time.Duration
	noNodeWait  time.Duration
	strict      bool
	logger      *slog.Logger
	poolOptions []mproc.Option
}

// DefaultAckWait is how long a task may go without a sign of life from the
// node running it (a node sends one every quarter of it) before the server
// hands it to another node.
const DefaultAckWait = 3 * time.Second

// Connect uses the NATS server at url (nats://host:port, tls://host:port)
// with the given user and password, instead of embedding one. The server
// must have JetStream enabled; New creates the streams it needs.
func Connect(url, user, password string) Option {
	return func(c *config) { c.url, c.user, c.pass = url, user, password }
}

// Listen sets the address the embedded server takes client connections
// on, by default 127.0.0.1 on a free port. An address beyond loopback
// needs TLS: New refuses it otherwise.
func Listen(addr string) Option { return func(c *config) { c.listen = addr } }

// TLS makes the embedded server require TLS with cfg (which must hold its
// certificate), and the pool's own connection use it.
func TLS(cfg *tls.Config) Option { return func(c *config) { c.tls = cfg } }

// CAFile names a PEM file of the certificate authorities that signed the
// server's certificate, for the pool's connection and for the nodes, which
// NodeEnv tells it (MPROC_CLUSTER_CA). Needed with a server certificate
// that is not signed by a system authority.
func CAFile(path string) Option { return func(c *config) { c.caFile = path } }

// StoreDir keeps the embedded server's JetStream data in dir, which
// survives the server: a restarted server finds the tasks not yet done.
// By default a temporary directory is used and removed by Close.
func StoreDir(dir string) Option { return func(c *config) { c.storeDir = dir } }

// LocalNodes starts n node processes of this executable on this machine,
// stand-ins for other machines; Close stops them. Each runs NodeWorkers
// worker processes.
func LocalNodes(n int) Option { return func(c *config) { c.localNodes = n } }

// NodeWorkers sets the worker processes of each node LocalNodes starts
// (default 2). A node started by hand reads MPROC_CLUSTER_WORKERS.
func NodeWorkers(n int) Option { return func(c *config) { c.nodeWorkers = n } }

// Slots bounds the tasks in flight at once (published and not answered),
// by default two per worker of the local nodes (what a node runs at once:
// one in its worker, the next waiting), or 64 with no local node. The pool cuts a call's inputs into tasks for that many slots.
func Slots(n int) Option { return func(c *config) { c.slots = n } }

// AckWait sets how long a node may go silent before its tasks go to
// another node (DefaultAckWait). Nodes send a sign of life every quarter
// of it while a task runs, so a long task is never given away. A node
// process that dies does not wait for it: the pool, probing its nodes,
// finds it gone within about a second and publishes its tasks again;
// AckWait is for a node the server cannot see go (a machine that lost
// power, a network cut).
func AckWait(d time.Duration) Option { return func(c *config) { c.ackWait = d } }

// Strict makes the pool's tasks resolve on the nodes by name alone, with
// codec.Strict, so that nodes may run other builds of the program (an
// older or newer binary): every function the pool's calls run, and every
// named type of their inputs and outputs, must be registered with
// codec.Register, under the same names, in the pool's program and in the
// nodes'. A function that is not registered fails its task with the
// codec's refusal naming it. The function runs through reflect on the
// node (a reflect call per input), and the nodes must be started with
// MPROC_CLUSTER_STRICT=1 (NodeEnv says so): they then take only Strict
// pools' tasks.
func Strict() Option { return func(c *config) { c.strict = true } }

// DefaultNoNodeTimeout is how long a task waits with no node of this
// build alive before it fails with a *NoNodesError.
const DefaultNoNodeTimeout = 30 * time.Second

// NoNodeTimeout sets how long a task may wait while no node of this build
// is alive (nodes say so every second) before it fails with a
// *NoNodesError (DefaultNoNodeTimeout): a call never waits for ever for
// nodes that are gone or were never started. It must be at least 2 s.
func NoNodeTimeout(d time.Duration) Option { return func(c *config) { c.noNodeWait = d } }

// Logger receives what the cluster has to say: nodes joining and leaving,
// redeliveries, duplicate results dropped, malformed messages. Silent by
// default.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// PoolOptions are passed to mproc.NewPool for the pool New makes.
func PoolOptions(opts ...mproc.Option) Option {
	return func(c *config) { c.poolOptions = append(c.poolOptions, opts...) }
}
