package cluster

import "fmt"

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
