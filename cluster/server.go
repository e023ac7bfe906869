package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Users of the embedded server: the pool, which may do anything, and the
// nodes, which may only take tasks and answer them.
const (
	parentUser = "mproc-pool"
	nodeUser   = "mproc-node"
)

// nodePermissions is all a node may do: pull the tasks of its build from
// the shared consumer, acknowledge them, publish results, read and write
// large payloads in the object store, hear cancellations and answer the
// pool's probes of its liveness. It cannot
// publish tasks, read others' results or change a stream.
func nodePermissions() *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.CONSUMER.MSG.NEXT." + taskStream + ".>",
			"$JS.API.CONSUMER.INFO." + taskStream + ".>",
			"$JS.API.STREAM.INFO." + taskStream,
			"$JS.ACK." + taskStream + ".>",
			resultPrefix + ">",
			startPrefix + ">",
			beatPrefix + ">",
			// The object store, for payloads over the server's max payload.
			"$JS.API.STREAM.INFO.OBJ_" + payloadBucket,
			"$JS.API.STREAM.MSG.GET.OBJ_" + payloadBucket,
			"$JS.API.DIRECT.GET.OBJ_" + payloadBucket + ".>",
			"$JS.API.CONSUMER.CREATE.OBJ_" + payloadBucket + ".>",
			"$JS.API.CONSUMER.DELETE.OBJ_" + payloadBucket + ".>",
			"$JS.API.STREAM.PURGE.OBJ_" + payloadBucket,
			"$O." + payloadBucket + ".>",
			"$JS.FC.OBJ_" + payloadBucket + ".>", // flow control of an object read
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", cancelPrefix + ">", alivePrefix + ">"}},
		// Answers to the pool's probes (see executor.probe), and to no
		// other subject.
		Response: &server.ResponsePermission{MaxMsgs: 1},
	}
}

// embedded is a nats-server with JetStream running in this process.
type embedded struct {
	srv      *server.Server
	opts     *server.Options
	url      string
	storeDir string
	tempDir  bool
	parent   credentials
	node     credentials
}

type credentials struct{ user, pass string }

// startServer starts the embedded server. It listens on loopback unless
// told otherwise, and beyond loopback only with TLS.
func startServer(cfg *config) (*embedded, error) {
	host, port := "127.0.0.1", -1
	if cfg.listen != "" {
		h, p, err := net.SplitHostPort(cfg.listen)
		if err != nil {
			return nil, fmt.Errorf("cluster: Listen(%q): %w", cfg.listen, err)
		}
		if host, port = h, 0; p != "" && p != "0" {
			if port, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("cluster: Listen(%q): bad port", cfg.listen)
			}
		}
		if port == 0 {
			port = -1
		}
		if !loopback(host) && cfg.tls == nil {
			return nil, fmt.Errorf("cluster: refusing to listen on %s beyond loopback without TLS: "+
				"pass cluster.TLS with the server's certificate, or listen on 127.0.0.1", cfg.listen)
		}
	}
	e := &embedded{storeDir: cfg.storeDir,
		parent: credentials{parentUser, randomSecret()}, node: credentials{nodeUser, randomSecret()}}
	if e.storeDir == "" {
		dir, err := os.MkdirTemp("", "mproc-cluster-")
		if err != nil {
			return nil, fmt.Errorf("cluster: a store for the embedded server: %w", err)
		}
		e.storeDir, e.tempDir = dir, true
	}
	opts := &server.Options{
		ServerName: "mproc-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   e.storeDir,
		NoSigs:     true,
		NoLog:      true,
		Users: []*server.User{
			{Username: e.parent.user, Password: e.parent.pass},
			{Username: e.node.user, Password: e.node.pass, Permissions: nodePermissions()},
		},
	}
	if cfg.tls != nil {
		opts.TLSConfig = cfg.tls
		opts.TLS = true
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		e.remove()
		return nil, fmt.Errorf("cluster: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		e.remove()
		return nil, fmt.Errorf("cluster: the embedded server did not start within 10s")
	}
	e.srv, e.opts = srv, opts
	e.url = srv.ClientURL()
	return e, nil
}

// restart stops the server and starts it again on the same address and
// store, as an operator restarting it would: what JetStream holds
// survives, the clients reconnect by themselves.
func (e *embedded) restart() error {
	addr := e.srv.Addr().(*net.TCPAddr)
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	opts := *e.opts
	opts.Port = addr.Port
	srv, err := server.NewServer(&opts)
	if err != nil {
		return err
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("cluster: the embedded server did not restart within 10s")
	}
	e.srv = srv
	return nil
}

func (e *embedded) shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	e.remove()
}

func (e *embedded) remove() {
	if e.tempDir {
		os.RemoveAll(e.storeDir)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// randomSecret returns a password no one can guess.
func randomSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("cluster: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}
