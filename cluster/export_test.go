package cluster

import "github.com/nats-io/nats.go"

// PoolConn returns the pool's own connection, which may publish tasks.
func PoolConn(c *Cluster) *nats.Conn { return c.nc }

// PoolID returns the ID the pool's subjects carry.
func PoolID(c *Cluster) string { return c.id }

// TaskSubject returns the subject of the pool's tasks.
func TaskSubject(c *Cluster) string { return taskPrefix + c.build + "." + c.id }

// RestartServer restarts the embedded server on its address and store.
func RestartServer(c *Cluster) error { return c.srv.restart() }
