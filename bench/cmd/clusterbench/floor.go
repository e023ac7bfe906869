package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// floor is the raw JetStream cost of what a cluster task does, with no
// encoding, no pool and no worker process: publish a task to a
// work-queue stream (waiting for its PubAck), a consumer on a second
// connection fetches it, publishes a reply to a second work-queue stream
// (waiting for its PubAck) and acknowledges the task (waiting for the
// server's confirmation), and the first connection consumes the reply and
// acknowledges it. File storage, like the cluster's. The consumer runs in
// this process, or, with apart, in a process of its own (this binary run
// again with floorEnv set), as a node of another machine must.
type floor struct {
	child  *exec.Cmd      // the consumer's process, apart
	stdin  io.WriteCloser // closing it ends the child
	srv    *server.Server
	dir    string
	pub    *nats.Conn
	work   *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.ConsumeContext
	stop   context.CancelFunc
	worker sync.WaitGroup

	mu      sync.Mutex
	waiting map[uint64]chan struct{}
	next    uint64
}

func newFloor(apart bool) (*floor, error) {
	dir, err := os.MkdirTemp("", "mproc-floor-")
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	srv.Start()
	f := &floor{srv: srv, dir: dir, waiting: map[uint64]chan struct{}{}}
	if !srv.ReadyForConnections(10 * time.Second) {
		f.close()
		return nil, fmt.Errorf("floor: the server did not start")
	}
	if err := f.setUp(apart); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// floorEnv names the floor's server in the environment of the process
// that consumes its tasks apart (see floorConsumer).
const floorEnv = "CLUSTERBENCH_FLOOR_URL"

// startApart starts the consumer's process and waits for its ready line.
func (f *floor) startApart() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	f.child = exec.Command(exe)
	f.child.Env = append(os.Environ(), floorEnv+"="+f.srv.ClientURL())
	f.child.Stderr = os.Stderr
	if f.stdin, err = f.child.StdinPipe(); err != nil {
		return err
	}
	out, err := f.child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := f.child.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != floorReady+"\n" {
		return fmt.Errorf("floor consumer process: said %q: %v", line, err)
	}
	return nil
}

const floorReady = "floor consumer ready"

// floorConsumer is the main of the floor's consumer process: it serves
// the tasks of the floor at url until its stdin closes.
func floorConsumer(url string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tasks, err := js.Consumer(ctx, "TASKS", "c")
	if err != nil {
		return err
	}
	fmt.Println(floorReady)
	go func() {
		io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
		stop()
	}()
	serveFloor(ctx, js, tasks)
	return nil
}

func (f *floor) setUp(apart bool) error {
	var err error
	if f.pub, err = nats.Connect(f.srv.ClientURL()); err != nil {
		return err
	}
	if f.work, err = nats.Connect(f.srv.ClientURL()); err != nil {
		return err
	}
	ctx := context.Background()
	if f.js, err = jetstream.New(f.pub); err != nil {
		return err
	}
	for _, name := range []string{"TASKS", "REPLIES"} {
		if _, err := f.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"floor." + name},
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage}); err != nil {
			return err
		}
	}
	cfg := jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 5 * time.Second, MaxAckPending: 100_000}
	replies, err := f.js.CreateConsumer(ctx, "REPLIES", cfg)
	if err != nil {
		return err
	}
	if f.cons, err = replies.Consume(f.onReply); err != nil {
		return err
	}
	wjs, err := jetstream.New(f.work)
	if err != nil {
		return err
	}
	tasks, err := wjs.CreateConsumer(ctx, "TASKS", cfg)
	if err != nil {
		return err
	}
	if apart {
		return f.startApart()
	}
	wctx, stop := context.WithCancel(ctx)
	f.stop = stop
	f.worker.Go(func() { serveFloor(wctx, wjs, tasks) })
	return nil
}

// serveFloor is the consumer side: every task is answered on its own
// goroutine, as a node answers each task.
func serveFloor(ctx context.Context, js jetstream.JetStream, tasks jetstream.Consumer) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		batch, err := tasks.Fetch(64, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			continue
		}
		for m := range batch.Messages() {
			wg.Go(func() {
				r := nats.NewMsg("floor.REPLIES")
				r.Data = m.Data()
				if _, err := js.PublishMsg(ctx, r); err == nil {
					m.DoubleAck(ctx)
				}
			})
		}
		cancel()
	}
}

func (f *floor) onReply(m jetstream.Msg) {
	m.Ack()
	id, _ := strconv.ParseUint(string(m.Data()), 10, 64)
	f.mu.Lock()
	ch := f.waiting[id]
	delete(f.waiting, id)
	f.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// roundTrip publishes one task and waits for its reply.
func (f *floor) roundTrip(ctx context.Context) error {
	f.mu.Lock()
	f.next++
	id := f.next
	ch := make(chan struct{})
	f.waiting[id] = ch
	f.mu.Unlock()
	if _, err := f.js.Publish(ctx, "floor.TASKS", strconv.AppendUint(nil, id, 10)); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *floor) close() {
	if f.stop != nil {
		f.stop()
		f.worker.Wait()
	}
	if f.child != nil {
		f.stdin.Close()
		f.child.Wait()
	}
	if f.cons != nil {
		f.cons.Stop()
	}
	for _, nc := range []*nats.Conn{f.pub, f.work} {
		if nc != nil {
			nc.Close()
		}
	}
	f.srv.Shutdown()
	f.srv.WaitForShutdown()
	os.RemoveAll(f.dir)
}
