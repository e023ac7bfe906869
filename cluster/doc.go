// Package cluster runs mproc's pools on many machines: a Cluster's Pool
// is used with the unchanged mproc.Map, Imap, ImapUnordered and Submit,
// and its tasks run on nodes — processes of the same executable, here or
// elsewhere, each running them in its own mproc worker processes — through
// a NATS JetStream server, embedded by default.
//
//	func main() {
//		mproc.Main() // nodes, and their workers, serve here
//		c, err := cluster.New(ctx, cluster.LocalNodes(3))
//		...
//		defer c.Close()
//		out, err := mproc.Map(ctx, c.Pool, square, inputs, mproc.Retries(2))
//	}
//
// Delivery is at least once on the wire and exactly once to the caller: a
// task whose node process dies goes to another node within about a second
// (the pool probes its nodes; a node the network cut off, after AckWait),
// a run beyond
// the call's Retries fails with a *NodeLostError, a result that comes twice
// is dropped and counted (Stats). Security is on by default: the embedded
// server listens on loopback, authenticates the pool and the nodes, lets
// nodes only take and answer tasks, and refuses to listen beyond loopback
// without TLS. Results are decoded with codec.Strict into the call's own
// types. What owns a descriptor (files, queues, shared memory) cannot be
// sent and is refused before anything is published.
//
// Cost: a task is a JetStream message each way, a round trip of about
// 0.7 ms on loopback here; automatic chunking makes a call of tiny inputs
// a few dozen messages. docs/cluster.md in the repository covers
// operations: nodes on real machines, node and server failures, what a
// partition does.
//
// The package lives in its own module, so that mproc itself depends on the
// standard library and golang.org/x/sys only.
package cluster
