package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mproc-go/mproc"
	"github.com/mproc-go/mproc/cluster"
	"github.com/mproc-go/mproc/cluster/internal/strictfuncs"
)

// stallOnce, the first time it runs for dir, tells the test which node
// runs it (its worker's parent) through the FIFO dir/pids, then waits
// until its node is killed; run again, it finishes. The marker file makes
// the difference: it outlives the node.
func stallOnce(ctx context.Context, dir string) (string, error) {
	marker := filepath.Join(dir, "started")
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return "finished on another node", nil
	}
	if err != nil {
		return "", err
	}
	f.Close()
	fifo, err := os.OpenFile(filepath.Join(dir, "pids"), os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	fifo.WriteString(strconv.Itoa(os.Getppid()) + "\n")
	fifo.Close()
	<-ctx.Done() // the node's death ends this worker first
	return "", ctx.Err()
}

// killRunner starts stallOnce with opts and kills the node that runs it.
func killRunner(t *testing.T, c *cluster.Cluster, opts ...mproc.CallOption) *mproc.Future[string] {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fut := mproc.Submit(context.Background(), c.Pool, stallOnce, dir, opts...)
	r, err := os.Open(fifo) // returns once the task opened it
	if err != nil {
		t.Fatal(err)
	}
	var line [32]byte
	n, _ := r.Read(line[:])
	r.Close()
	pid, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil {
		t.Fatalf("the task wrote %q", line[:n])
	}
	for _, node := range c.Nodes() {
		if node.Pid() == pid {
			if err := node.Kill(); err != nil {
				t.Fatal(err)
			}
			<-node.Exited()
			return fut
		}
	}
	t.Fatalf("no node has pid %d", pid)
	return nil
}

func TestKilledNodesTaskFinishesElsewhere(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1), cluster.AckWait(500*time.Millisecond))
	fut := killRunner(t, c, mproc.Retries(1))
	v, err := fut.Wait(context.Background())
	if err != nil || v != "finished on another node" {
		t.Fatalf("Wait = %q, %v; want the task finished by the node left", v, err)
	}
	if st := c.Stats(); st.Duplicates != 0 || st.Results != st.Published {
		t.Fatalf("stats %+v", st)
	}
}

func TestTaskLostWithItsNodeWithoutRetries(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1), cluster.AckWait(500*time.Millisecond))
	fut := killRunner(t, c)
	_, err := fut.Wait(context.Background())
	var nl *cluster.NodeLostError
	if !errors.As(err, &nl) || nl.Index != 0 || nl.Attempts != 1 || nl.Retries != 0 {
		t.Fatalf("Wait = %v (%T), want a *cluster.NodeLostError for task 0, taken once", err, err)
	}
	if !strings.Contains(err.Error(), "mproc.Retries") {
		t.Fatalf("error %q does not name the fix", err)
	}
}

// noAckWait is an AckWait no test waits out: a task that finishes under
// it was handed on because a probe found its node gone.
const noAckWait = time.Hour

// handedOn waits for fut with a deadline far below noAckWait; past it, it
// terminates c's pool (which Close would wait for) and fails.
func handedOn[T any](t *testing.T, c *cluster.Cluster, fut *mproc.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := fut.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		c.Pool.Terminate()
		t.Fatalf("the task of the killed node was not handed on within a minute: it waits for AckWait (%v)", noAckWait)
	}
	return v, err
}

// TestKilledNodesTaskIsHandedOnAtOnce: with an AckWait of an hour, the
// task of a SIGKILLed node finishes on the other node (a probe finds the
// node gone and the task is published again), and with no retries left
// it fails with a NodeLostError as soon.
func TestKilledNodesTaskIsHandedOnAtOnce(t *testing.T) {
	t.Run("Retries(1)", func(t *testing.T) {
		c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1), cluster.AckWait(noAckWait))
		v, err := handedOn(t, c, killRunner(t, c, mproc.Retries(1)))
		if err != nil || v != "finished on another node" {
			t.Fatalf("Wait = %q, %v; want the task finished by the node left", v, err)
		}
		if st := c.Stats(); st.NodesGone != 1 || st.Resent < 1 || st.Results != st.Published || st.Duplicates != 0 {
			t.Fatalf("stats %+v, want one node gone, its task resent and one result", st)
		}
	})
	t.Run("no-retries", func(t *testing.T) {
		c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1), cluster.AckWait(noAckWait))
		_, err := handedOn(t, c, killRunner(t, c))
		var nl *cluster.NodeLostError
		if !errors.As(err, &nl) || nl.Index != 0 || nl.Attempts != 1 || nl.Retries != 0 {
			t.Fatalf("Wait = %v (%T), want a *cluster.NodeLostError for task 0, taken once", err, err)
		}
	})
}

// TestTasksWaitingAtAKilledNodeAreHandedOn: tasks a node took but had not
// run (behind a task that stalls its only worker: in its second slot, in
// its buffer) go to another node when it is killed, with an AckWait of an
// hour. One in a slot counts as a run (the pool cannot tell it had not
// started), hence Retries(1).
func TestTasksWaitingAtAKilledNodeAreHandedOn(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1), cluster.AckWait(noAckWait))
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	stalled := mproc.Submit(context.Background(), c.Pool, stallOnce, dir, mproc.Retries(1))
	r, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	r.Read(make([]byte, 32))
	r.Close()
	// The only node runs the stalled task; these wait behind it, in its
	// slots and its buffer, or in the stream.
	waiting := make([]*mproc.Future[int], 3)
	for i := range waiting {
		waiting[i] = mproc.Submit(context.Background(), c.Pool, double, i, mproc.Retries(1))
	}
	second, err := c.StartNode()
	if err != nil {
		t.Fatal(err)
	}
	<-second.Ready()
	first := c.Nodes()[0]
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.Exited()
	for i, f := range waiting {
		if v, err := handedOn(t, c, f); err != nil || v != 2*i {
			t.Errorf("task %d: %v, %v; want %d from the second node", i, v, err, 2*i)
		}
	}
	if v, err := handedOn(t, c, stalled); err != nil || v != "finished on another node" {
		t.Fatalf("the stalled task: %q, %v", v, err)
	}
	if st := c.Stats(); st.NodesGone != 1 || st.Resent < 2 || st.Results != st.Published {
		t.Fatalf("stats %+v, want one node gone and its tasks resent", st)
	}
}

func TestNodeWithWrongPasswordIsRefused(t *testing.T) {
	c := newCluster(t)
	env := c.NodeEnv("intruder", 1)
	for i, kv := range env {
		if strings.HasPrefix(kv, "MPROC_CLUSTER_PASSWORD=") {
			env[i] = "MPROC_CLUSTER_PASSWORD=guessed"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("a node with a wrong password: %v, want exit status 2; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(strings.ToLower(stderr.String()), "authorization violation") {
		t.Fatalf("stderr %q does not say why", stderr.String())
	}
}

// nodeConn connects as a node, recording the server's asynchronous errors.
func nodeConn(t *testing.T, c *cluster.Cluster) (*nats.Conn, chan error) {
	t.Helper()
	var user, pass string
	for _, kv := range c.NodeEnv("probe", 1) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "MPROC_CLUSTER_USER":
			user = v
		case "MPROC_CLUSTER_PASSWORD":
			pass = v
		}
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect(c.URL(), nats.UserInfo(user, pass), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

func waitPermissionError(t *testing.T, errs chan error, subject string) {
	t.Helper()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("error %v, want a permissions violation on %s", err, subject)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the server let a node use %s", subject)
	}
}

func TestNodeMayOnlyTakeAndAnswerTasks(t *testing.T) {
	c := newCluster(t)
	nc, errs := nodeConn(t, c)
	subject := cluster.TaskSubject(c)
	if err := nc.Publish(subject, []byte("forged task")); err != nil {
		t.Fatal(err)
	}
	waitPermissionError(t, errs, subject)
	if _, err := nc.Subscribe("mproc.results.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	waitPermissionError(t, errs, "mproc.results.>")
	if err := nc.Publish("$JS.API.STREAM.DELETE.MPROC_TASKS", nil); err != nil {
		t.Fatal(err)
	}
	waitPermissionError(t, errs, "$JS.API.STREAM.DELETE.MPROC_TASKS")
}

func TestGarbageOnTaskAndResultSubjectsIsDropped(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1))
	pc := cluster.PoolConn(c)
	subject := cluster.TaskSubject(c)
	forged := []*nats.Msg{
		{Subject: subject, Data: []byte("no headers at all")},
		{Subject: subject, Data: []byte("\x89MPC\x02garbage after the magic"), Header: nats.Header{"Mproc-Task": {"999999"}}},
		{Subject: subject, Data: nil, Header: nats.Header{"Mproc-Task": {"-3"}}},
		{Subject: subject, Data: []byte{}, Header: nats.Header{"Mproc-Task": {"999998"}, "Mproc-Object": {"no-such-object"}}},
	}
	for _, m := range forged {
		if err := pc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	nc, _ := nodeConn(t, c)
	results := "mproc.results." + cluster.PoolID(c) + ".1"
	for _, m := range []*nats.Msg{
		{Subject: results, Data: []byte("no task header")},
		{Subject: results, Data: []byte("x"), Header: nats.Header{"Mproc-Task": {"1x"}}},
		{Subject: "mproc.started." + cluster.PoolID(c), Data: []byte("1"), Header: nats.Header{"Mproc-Delivery": {"first"}}},
	} {
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The cluster goes on serving, its node alive.
	out, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2, 3})
	if err != nil || out[2] != 6 {
		t.Fatalf("Map after garbage: %v, %v", out, err)
	}
	for _, n := range c.Nodes() {
		select {
		case <-n.Exited():
			t.Fatalf("%s died of garbage: %v", n.Name, n.Err())
		default:
		}
	}
}

func TestServerRestartLosesNothing(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(2), cluster.NodeWorkers(1))
	in := make([]int, 2000)
	for i := range in {
		in[i] = i + 100
	}
	restarted := make(chan error, 1)
	once := false

	out, err := mproc.Map(context.Background(), c.Pool, double, in, mproc.ChunkSize(10), mproc.OnProgress(func(p mproc.Progress) {
		if !once && p.Done >= len(in)/4 {
			once = true
			go func() { restarted <- cluster.RestartServer(c) }()
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 2*in[i] {
			t.Fatalf("out[%d] = %d, want %d", i, v, 2*in[i])
		}
	}
	if st := c.Stats(); st.Results != st.Published {
		t.Fatalf("stats %+v: a result went missing or came twice", st)
	}
}

// otherBuild builds testdata/otherbuild, another program than this test.
func otherBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "otherbuild")
	build := exec.Command("go", "build", "-o", bin, "./testdata/otherbuild")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestNodeOfAnotherBuildIsRefused(t *testing.T) {
	bin := otherBuild(t)
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), c.NodeEnv("stranger", 1)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("a node of another build: %v, want exit status 2; stderr: %s", err, stderr.String())
	}
	for _, want := range []string{"no pool of this build", "same binary"} {
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("stderr %q does not say %q", stderr.String(), want)
		}
	}
}

func TestNoNodeTimeoutTooShortIsRefused(t *testing.T) {
	_, err := cluster.New(context.Background(), cluster.NoNodeTimeout(time.Second))
	if err == nil || !strings.Contains(err.Error(), "NoNodeTimeout(1s) is too short") {
		t.Fatalf("New(NoNodeTimeout(1s)) = %v, want a refusal naming it", err)
	}
}

func TestTaskFailsWhenNoNodeIsAlive(t *testing.T) {
	c := newCluster(t, cluster.LocalNodes(1), cluster.NodeWorkers(1), cluster.NoNodeTimeout(3*time.Second))
	for _, n := range c.Nodes() {
		n.Kill()
		<-n.Exited()
	}
	_, err := mproc.Submit(context.Background(), c.Pool, double, 1).Wait(context.Background())
	var nn *cluster.NoNodesError
	if !errors.As(err, &nn) || nn.Index != 0 || nn.Silent < 3*time.Second {
		t.Fatalf("Wait = %v (%T), want a *cluster.NoNodesError", err, err)
	}
	for _, want := range []string{"no node of this build", "NodeEnv", "NoNodeTimeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A node that comes back serves the next call.
	n, err := c.StartNode()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Ready():
	case <-n.Exited():
		t.Fatalf("the new node exited: %v", n.Err())
	}
	out, err := mproc.Map(context.Background(), c.Pool, double, []int{1, 2})
	if err != nil || out[1] != 4 {
		t.Fatalf("Map after a node came back: %v, %v", out, err)
	}
}

func TestStrictPoolRunsOnANodeOfAnotherBuild(t *testing.T) {
	bin := otherBuild(t)
	c := newCluster(t, cluster.Strict(), cluster.NoNodeTimeout(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), c.NodeEnv("other", 1)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	if n, _ := io.ReadAtLeast(stdout, line, len("mproc cluster node ready")); !strings.HasPrefix(string(line[:n]), "mproc cluster node ready") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the other build's node said %q; stderr: %s", line[:n], stderr.String())
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("the other build's node ended with %v; stderr: %s", err, stderr.String())
		}
	}()

	in := []strictfuncs.Point{{X: 2, Y: 3}, {X: 3, Y: 1}, {X: -1}}
	out, err := mproc.Map(ctx, c.Pool, strictfuncs.Scale, in, mproc.CollectErrors())
	if out[0] != (strictfuncs.Point{X: 4, Y: 6}) || out[1] != (strictfuncs.Point{X: 9, Y: 3}) {
		t.Fatalf("outputs %v", out)
	}
	var te *mproc.TaskError
	if !errors.As(err, &te) || te.Index != 2 || te.Node != "other" || te.Msg != strictfuncs.ErrNegative.Error() {
		t.Fatalf("err = %v, want input 2's TaskError from node other", err)
	}
	// A function the other build did not register does not run there.
	_, err = mproc.Map(ctx, c.Pool, double, []int{1})
	if err == nil || !strings.Contains(err.Error(), "is not registered") || !strings.Contains(err.Error(), "node other") {
		t.Fatalf("an unregistered function: %v, want the node's refusal naming Register", err)
	}
}
