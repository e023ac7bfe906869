package cluster

import (
	"fmt"
	"time"
)

// A NodeLostError reports a task that never came back: each time a node
// took it, the node died or stopped answering (AckWait) before the task's
// result was published, more often than the call's Retries allow.
// Without Retries a task is tried once.
type NodeLostError struct {
	Index    int // index in the call of the task's first input
	Attempts int // times it was delivered to a node
	Retries  int // the call's Retries
}

func (e *NodeLostError) Error() string {
	times := "once"
	if e.Attempts != 1 {
		times = fmt.Sprintf("%d times", e.Attempts)
	}
	return fmt.Sprintf("cluster: task %d was lost: a node took it %s and each time died or went silent before answering "+
		"(Retries(%d)); pass mproc.Retries(n) to run it again on another node", e.Index, times, e.Retries)
}

// A NoNodesError reports a task that no node could take: no node of this
// executable's build has been alive for Silent (NoNodeTimeout). The task
// was withdrawn from the stream.
type NoNodesError struct {
	Index  int           // index in the call of the task's first input
	Silent time.Duration // how long no node was heard of
	Build  string        // the build the nodes must run
}

func (e *NoNodesError) Error() string {
	return fmt.Sprintf("cluster: task %d: no node of this build (%s) has been alive for %v: start nodes of this same "+
		"executable with the cluster's NodeEnv, or use LocalNodes; NoNodeTimeout sets how long to wait", e.Index, e.Build, e.Silent)
}
