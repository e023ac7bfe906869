package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/mproc-go/mproc/internal/spawn"
)

// A LocalNode is a node process of this executable that the cluster
// started on this machine (LocalNodes, StartNode), a stand-in for a
// machine of its own.
type LocalNode struct {
	Name string

	cmd    *exec.Cmd
	ready  chan struct{} // closed when the node said it is ready
	exited chan struct{} // closed when the process has been waited for
	err    error         // how it exited; set before exited closes
	stderr spawn.Tail    // the end of its stderr, for errors
}

// StartNode starts one more node process of this executable here.
func (c *Cluster) StartNode() (*LocalNode, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	c.nextNode++
	name := fmt.Sprintf("node-%d", c.nextNode)
	c.mu.Unlock()
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster: starting %s: %w", name, err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), c.NodeEnv(name, c.cfg.nodeWorkers)...)
	// A node of this machine dies with the pool's process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	n := &LocalNode{Name: name, cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(os.Stderr, &n.stderr)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cluster: starting %s: %w", name, err)
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	go func() {
		// Until the ready line, the node's stdout is the cluster's; after
		// it, the tasks' output, passed on.
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if strings.TrimSpace(line) == readyLine {
				close(n.ready)
				io.Copy(os.Stdout, r)
				break
			}
			os.Stdout.WriteString(line)
			if err != nil {
				break
			}
		}
		n.err = cmd.Wait()
		close(n.exited)
	}()
	return n, nil
}

// Nodes returns the nodes the cluster started on this machine, running or
// not.
func (c *Cluster) Nodes() []*LocalNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*LocalNode(nil), c.nodes...)
}

// Pid returns the node's process ID.
func (n *LocalNode) Pid() int { return n.cmd.Process.Pid }

// Kill kills the node with SIGKILL, as a machine that loses power: its
// tasks go to the other nodes once AckWait has passed.
func (n *LocalNode) Kill() error { return n.cmd.Process.Kill() }

// Ready returns a channel closed once the node has joined the cluster and
// said that it lives.
func (n *LocalNode) Ready() <-chan struct{} { return n.ready }

// Exited returns a channel closed when the node's process has ended.
func (n *LocalNode) Exited() <-chan struct{} { return n.exited }

// Err returns how the node's process ended, once Exited is closed.
func (n *LocalNode) Err() error {
	select {
	case <-n.exited:
		return n.err
	default:
		return nil
	}
}

// waitReady waits until the node has joined the cluster.
func (n *LocalNode) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case <-n.ready:
		return nil
	case <-n.exited:
		return fmt.Errorf("cluster: %s exited before joining the cluster (%v): %s", n.Name, n.err, n.stderr.String())
	case <-ctx.Done():
		n.Kill()
		return fmt.Errorf("cluster: %s did not join the cluster: %w", n.Name, ctx.Err())
	}
}

// stop asks the node to finish its tasks and exit, and kills it if it
// has not within a few seconds.
func (n *LocalNode) stop() {
	select {
	case <-n.exited:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		n.Kill()
		<-n.exited
	}
}
