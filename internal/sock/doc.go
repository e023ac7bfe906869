// Package sock is the connection between two processes of this machine: a
// Unix stream socket read and written through the runtime's poller, which
// polls briefly before it parks (round trips between processes cost
// wake-ups), and passes descriptors beside its bytes (SCM_RIGHTS). Worker
// control sockets, queues and pipes all run on it.
package sock
