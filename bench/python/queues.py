#!/usr/bin/env python3
"""CPython's queues, pipes and shared objects on mproc's shapes (bench/cmd/compare).

Prints one JSON object on stdout; progress goes to stderr:

  {"python": "3.11.2", "start_method": "fork",
   "metrics": {"<key>": {"samples": [...], "variant": "...",
                         "error": "...", "unsupported": "..."}}}

Every process is started with the fork start method where the platform has
it (the default start method of bench.py's pool rows on Linux), else the
default. --shapes selects shapes; one sample per run, in these units:

  queue_items/queue, queue_items/simplequeue
        items/s: a producer Process puts --items ints, then the sentinel
        None; the parent gets them. From the first put to the sentinel's get.
  queue_latency/queue, queue_latency/simplequeue (and queue_latency_p99/...)
        seconds, the median (and the 99th percentile, nearest rank) of the
        one-way latency of an item: the producer puts time.monotonic_ns()
        and waits for the parent's answer on a second queue of the same
        kind before the next; the parent reads the clock when its get
        returns. CLOCK_MONOTONIC is system-wide on Linux, so the two
        processes' readings compare. The first tenth of the rounds warms up.
  queue_mib/queue, queue_mib/simplequeue
        bytes/s: --mib-items items of 1 MiB (bytes) from a producer Process
        to the parent, then None; Queue(maxsize=8) (SimpleQueue has no
        bound but its pipe's). Item 0 carries the clock in its first 8 bytes.
  pipe  seconds per round trip: conn.send(i) then conn.recv() of its echo
        from a Process over multiprocessing.Pipe() (duplex), --rounds per run.
  map_set
        sets/s: a Process sets --sets keys of a Manager().dict() one after
        the other (after one untimed set), timing its own loop.
  lock_uncontended
        seconds per acquire() and release() of a multiprocessing.Lock by the
        parent alone, --lock-ops pairs per run.
  lock_two_procs
        increments/s: two Processes each add 1 to a multiprocessing.Value('q',
        lock=False) --lock-incs/2 times, taking one multiprocessing.Lock for
        each; timed by the parent from a Barrier that starts both to their
        join, and the counter checked.
  event_hop
        seconds: half the round trip of set() on one multiprocessing.Event
        and wait() on another, a Process answering (wait, clear, set);
        --event-rounds per run, the median after the first tenth.
  shm_share
        seconds: shared_memory.SharedMemory(create=True, size=--shm-bytes)
        and pool.apply of a function that attaches it by name in the worker
        of a warm Pool(1), writes its last byte and closes it; the parent
        checks the byte, then closes and unlinks the segment (not timed).
  shared_slice
        seconds: pool.apply of a function reading one byte of a --shm-bytes
        SharedMemory segment made once, which the worker of a warm Pool(1)
        attaches by name for each task (how a task reaches shared memory
        in CPython); the parent wrote the byte before; the median of 50
        tasks per run.
  handle_task
        always "unsupported": a Pool task cannot take an open file (the
        script tries, and quotes the error).

Standard library only. Run with --help.
"""

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import struct
import sys
import time
import traceback

MIB = 1 << 20
MIB_MAXSIZE = 8  # the bound of the 1 MiB queue, as mproc's QueueCapacity(8)
ALL_SHAPES = ("queue_items", "queue_latency", "queue_mib", "pipe", "map_set", "lock_uncontended", "lock_two_procs", "handle_task",
              "event_hop", "shm_share", "shared_slice")
KINDS = ("queue", "simplequeue")
JOIN_BOUND = 60.0  # seconds a finished child may take to exit


def log(msg):
    print(f"queues.py: {msg}", file=sys.stderr, flush=True)


def err_text(e):
    return f"{type(e).__name__}: {e}"


def record(out, key, variant, samples=None, error=None, unsupported=None):
    m = {"samples": samples or [], "variant": variant}
    if error is not None:
        m["error"] = error
    if unsupported is not None:
        m["unsupported"] = unsupported
    out[key] = m


def p99(sorted_xs):
    return sorted_xs[-(-99 * len(sorted_xs) // 100) - 1]


def new_queue(ctx, kind, maxsize=0):
    if kind == "queue":
        return ctx.Queue(maxsize)
    return ctx.SimpleQueue()


def queue_name(kind, maxsize=0):
    if kind == "queue":
        return f"multiprocessing.Queue({f'maxsize={maxsize}' if maxsize else ''})"
    return "multiprocessing.SimpleQueue()"


def finish(p):
    """Join a producer; a child still alive or failed is an error."""
    p.join(JOIN_BOUND)
    if p.is_alive():
        p.kill()
        p.join()
        raise RuntimeError(f"the child process did not exit within {JOIN_BOUND:g} s")
    if p.exitcode != 0:
        raise RuntimeError(f"the child process exited with status {p.exitcode}")


# ---------------------------------------------------------------- children
# Top-level functions: the child runs them.

def put_ints(q, n):
    q.put(time.monotonic_ns())  # item 0: when the first put began
    for i in range(1, n):
        q.put(i)
    q.put(None)


def put_stamped(q, back, n):
    for _ in range(n):
        q.put(time.monotonic_ns())
        back.get()


def put_mib(q, n):
    first = bytearray(MIB)
    rest = bytes(MIB)
    struct.pack_into("<q", first, 0, time.monotonic_ns())
    q.put(first)
    for _ in range(1, n):
        q.put(rest)
    q.put(None)


def echo_pipe(conn, parents):
    parents.close()  # forked with the parent's end too: keep it, and EOF never comes
    while True:
        try:
            v = conn.recv()
        except EOFError:
            return
        conn.send(v)


def set_keys(d, n, conn):
    d[-1] = -1  # the proxy's first call connects to the manager
    t0 = time.perf_counter()
    for i in range(n):
        d[i] = i
    conn.send(time.perf_counter() - t0)
    conn.close()


def use_handle(f):
    return 1


# ---------------------------------------------------------------- shapes

def queue_items(ctx, kind, n):
    q = new_queue(ctx, kind)
    p = ctx.Process(target=put_ints, args=(q, n))
    p.start()
    try:
        first = q.get()
        i = 1
        while True:
            v = q.get()
            if v is None:
                break
            if v != i:
                raise RuntimeError(f"item {i} is {v}, want {i}")
            i += 1
        end = time.monotonic_ns()
    finally:
        finish(p)
    if i != n:
        raise RuntimeError(f"the queue ended after {i} items, want {n}")
    return n / ((end - first) / 1e9)


def queue_latency(ctx, kind, rounds):
    warm = rounds // 10
    q, back = new_queue(ctx, kind), new_queue(ctx, kind)
    p = ctx.Process(target=put_stamped, args=(q, back, warm + rounds))
    p.start()
    lat = []
    try:
        for i in range(warm + rounds):
            sent = q.get()
            now = time.monotonic_ns()
            back.put(0)
            if i >= warm:
                lat.append((now - sent) / 1e9)
    finally:
        finish(p)
    lat.sort()
    return statistics.median(lat), p99(lat)


def queue_mib(ctx, kind, n):
    q = new_queue(ctx, kind, MIB_MAXSIZE)
    p = ctx.Process(target=put_mib, args=(q, n))
    p.start()
    got = 0
    try:
        first = None
        while True:
            v = q.get()
            if v is None:
                break
            if len(v) != MIB:
                raise RuntimeError(f"item {got} has {len(v)} bytes, want {MIB}")
            if got == 0:
                first = struct.unpack_from("<q", v, 0)[0]
            got += 1
        end = time.monotonic_ns()
    finally:
        finish(p)
    if got != n:
        raise RuntimeError(f"the queue ended after {got} items, want {n}")
    return n * MIB / ((end - first) / 1e9)


class Echo:
    """A Process echoing over a duplex Pipe, alive across the runs."""

    def __init__(self, ctx, rounds):
        self.conn, theirs = ctx.Pipe()
        self.p = ctx.Process(target=echo_pipe, args=(theirs, self.conn))
        self.p.start()
        theirs.close()
        self.rounds = rounds
        try:
            self._rounds(rounds // 10)  # warm up
        except BaseException:
            self.p.kill()
            self.p.join()
            raise

    def _rounds(self, n):
        c = self.conn
        for i in range(n):
            c.send(i)
            v = c.recv()
            if v != i:
                raise RuntimeError(f"the echo sent back {v}, want {i}")

    def once(self):
        t0 = time.perf_counter()
        self._rounds(self.rounds)
        return (time.perf_counter() - t0) / self.rounds

    def close(self):
        self.conn.close()
        finish(self.p)


def count_under_lock(lock, value, start, n):
    start.wait()
    for _ in range(n):
        lock.acquire()
        value.value += 1
        lock.release()


def lock_uncontended(ctx, n):
    lock = ctx.Lock()
    acquire, release = lock.acquire, lock.release
    t0 = time.perf_counter()
    for _ in range(n):
        acquire()
        release()
    return (time.perf_counter() - t0) / n


def lock_two_procs(ctx, n):
    lock = ctx.Lock()
    value = ctx.Value("q", 0, lock=False)
    start = ctx.Barrier(3)
    procs = [ctx.Process(target=count_under_lock, args=(lock, value, start, k)) for k in (n // 2, n - n // 2)]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    for p in procs:
        finish(p)
    secs = time.perf_counter() - t0
    if value.value != n:
        raise RuntimeError(f"the counter holds {value.value}, want {n}")
    return n / secs


def map_set(ctx, mgr, n):
    d = mgr.dict()
    mine, theirs = ctx.Pipe(duplex=False)
    p = ctx.Process(target=set_keys, args=(d, n, theirs))
    p.start()
    theirs.close()
    try:
        secs = mine.recv()
    finally:
        finish(p)
    items = d.copy()
    if len(items) != n + 1 or any(k != v for k, v in items.items()):
        raise RuntimeError(f"the dict holds {len(items)} keys, want {n + 1} mapped to themselves")
    return n / secs


def echo_event(ping, pong, n):
    for _ in range(n):
        ping.wait()
        ping.clear()
        pong.set()


def event_hop(ctx, n):
    ping, pong = ctx.Event(), ctx.Event()
    p = ctx.Process(target=echo_event, args=(ping, pong, n))
    p.start()
    half = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            ping.set()
            if not pong.wait(60):
                raise RuntimeError("the echoing Process did not answer within 60 s")
            pong.clear()
            half.append((time.perf_counter() - t0) / 2)
    finally:
        finish(p)
    return statistics.median(half[n // 10:])


def shm_attach(name, size):
    from multiprocessing import shared_memory
    m = shared_memory.SharedMemory(name=name)
    try:
        m.buf[size - 1] = 7
        return m.size
    finally:
        m.close()


def shm_share(pool, size):
    from multiprocessing import shared_memory
    t0 = time.perf_counter()
    m = shared_memory.SharedMemory(create=True, size=size)
    try:
        n = pool.apply(shm_attach, (m.name, size))
        secs = time.perf_counter() - t0
        if n < size or m.buf[size - 1] != 7:
            raise RuntimeError(f"the worker saw {n} bytes, the parent reads {m.buf[size - 1]} at the end")
    finally:
        m.close()
        m.unlink()
    return secs


def shm_read(name, i):
    from multiprocessing import shared_memory
    m = shared_memory.SharedMemory(name=name)
    try:
        return m.buf[i]
    finally:
        m.close()


class SliceTrip:
    def __init__(self, pool, size):
        from multiprocessing import shared_memory
        self.pool, self.size, self.run = pool, size, 0
        self.m = shared_memory.SharedMemory(create=True, size=size)

    def once(self):
        took = []
        for _ in range(50):
            self.run += 1
            i = (self.run * 7919 * 4096) % self.size
            self.m.buf[i] = self.run % 256
            t0 = time.perf_counter()
            v = self.pool.apply(shm_read, (self.m.name, i))
            took.append(time.perf_counter() - t0)
            if v != self.run % 256:
                raise RuntimeError(f"the worker read {v} at {i}, the parent wrote {self.run % 256}")
        return statistics.median(took)

    def close(self):
        self.m.close()
        self.m.unlink()


def handle_task(ctx):
    """What a Pool does with a task whose argument is an open file."""
    with open(os.devnull, "rb") as f, ctx.Pool(1) as pool:
        try:
            pool.apply(use_handle, (f,))
        except Exception as e:
            return (f"multiprocessing.Pool cannot send an open file with a task: pool.apply(fn, (open(os.devnull, 'rb'),)) "
                    f"raises {err_text(e)}; a descriptor reaches a child only by inheritance at Process start (fork) "
                    "or through multiprocessing.reduction.send_handle over a Connection, outside the Pool API")
    raise RuntimeError("pool.apply took an open file: this script's premise is wrong, measure it")


def measure(out, key, fn, runs, variant):
    log(f"{key} ...")
    try:
        samples = [fn() for _ in range(runs)]
        record(out, key, variant, samples)
        log(f"{key}: {' '.join(f'{s:.4g}' for s in samples)}")
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        record(out, key, variant, error=err_text(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--items", type=int, default=200_000, help="ints per run of queue_items")
    ap.add_argument("--latency-rounds", type=int, default=2000, help="items per run of queue_latency")
    ap.add_argument("--mib-items", type=int, default=200, help="1 MiB items per run of queue_mib")
    ap.add_argument("--rounds", type=int, default=5000, help="round trips per run of pipe")
    ap.add_argument("--sets", type=int, default=20_000, help="sets per run of map_set")
    ap.add_argument("--lock-ops", type=int, default=1_000_000, help="acquire+release pairs per run of lock_uncontended")
    ap.add_argument("--lock-incs", type=int, default=200_000, help="increments per run of lock_two_procs")
    ap.add_argument("--event-rounds", type=int, default=2000, help="round trips per run of event_hop")
    ap.add_argument("--shm-bytes", type=int, default=64 << 20, help="bytes of the segment of shm_share")
    ap.add_argument("--shapes", default=",".join(ALL_SHAPES), help="comma-separated subset of " + ",".join(ALL_SHAPES))
    args = ap.parse_args()
    shapes = [x.strip() for x in args.shapes.split(",") if x.strip()]
    for x in shapes:
        if x not in ALL_SHAPES:
            ap.error(f"unknown shape {x!r}: choose from {','.join(ALL_SHAPES)}")
    if args.runs < 1 or args.items < 2 or args.latency_rounds < 1 or args.mib_items < 1 or args.rounds < 1 or args.sets < 1:
        ap.error("--runs, --latency-rounds, --mib-items, --rounds and --sets must be at least 1, --items at least 2")

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else multiprocessing.get_start_method()
    ctx = multiprocessing.get_context(method)
    metrics = {}
    runs = args.runs

    if "queue_items" in shapes:
        for kind in KINDS:
            measure(metrics, f"queue_items/{kind}", lambda: queue_items(ctx, kind, args.items), runs,
                    f"{queue_name(kind)}, producer Process → parent, {method}")

    if "queue_latency" in shapes:
        for kind in KINDS:
            key, kp99 = f"queue_latency/{kind}", f"queue_latency_p99/{kind}"
            variant = f"{queue_name(kind)} both ways, {method}"
            log(f"{key} ...")
            meds, tails = [], []
            try:
                for _ in range(runs):
                    med, tail = queue_latency(ctx, kind, args.latency_rounds)
                    meds.append(med)
                    tails.append(tail)
                record(metrics, key, variant, meds)
                record(metrics, kp99, variant, tails)
                log(f"{key}: {' '.join(f'{s:.4g}' for s in meds)}; p99 {' '.join(f'{s:.4g}' for s in tails)}")
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                record(metrics, key, variant, error=err_text(e))
                record(metrics, kp99, variant, error=err_text(e))

    if "queue_mib" in shapes:
        for kind in KINDS:
            measure(metrics, f"queue_mib/{kind}", lambda: queue_mib(ctx, kind, args.mib_items), runs,
                    f"{queue_name(kind, MIB_MAXSIZE)}, {method}")

    if "pipe" in shapes:
        variant = f"multiprocessing.Pipe(), {method}"
        try:
            echo = Echo(ctx, args.rounds)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, "pipe", variant, error=err_text(e))
        else:
            try:
                measure(metrics, "pipe", echo.once, runs, variant)
            finally:
                try:
                    echo.close()
                except Exception as e:
                    traceback.print_exc(file=sys.stderr)
                    record(metrics, "pipe", variant, error=f"closing the echo: {err_text(e)}")

    if "map_set" in shapes:
        variant = f"Manager().dict(), {method}"
        try:
            mgr = ctx.Manager()
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, "map_set", variant, error=f"Manager(): {err_text(e)}")
        else:
            with mgr:
                measure(metrics, "map_set", lambda: map_set(ctx, mgr, args.sets), runs, variant)

    if "lock_uncontended" in shapes:
        measure(metrics, "lock_uncontended", lambda: lock_uncontended(ctx, args.lock_ops), runs, f"multiprocessing.Lock(), {method}")

    if "event_hop" in shapes:
        measure(metrics, "event_hop", lambda: event_hop(ctx, max(args.event_rounds, 10)), runs, f"multiprocessing.Event(), {method}")

    if "shm_share" in shapes:
        variant = f"shared_memory.SharedMemory and a warm Pool(1), {method}"
        try:
            pool = ctx.Pool(1)
            pool.apply(os.getpid)  # warm
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, "shm_share", variant, error=f"Pool(1): {err_text(e)}")
        else:
            with pool:
                measure(metrics, "shm_share", lambda: shm_share(pool, args.shm_bytes), runs, variant)

    if "shared_slice" in shapes:
        variant = f"shared_memory.SharedMemory attached by name in a warm Pool(1), {method}"
        try:
            pool = ctx.Pool(1)
            pool.apply(os.getpid)  # warm
            trip = SliceTrip(pool, args.shm_bytes)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, "shared_slice", variant, error=err_text(e))
        else:
            with pool:
                try:
                    measure(metrics, "shared_slice", trip.once, runs, variant)
                finally:
                    trip.close()

    if "lock_two_procs" in shapes:
        measure(metrics, "lock_two_procs", lambda: lock_two_procs(ctx, args.lock_incs), runs,
                f"multiprocessing.Lock() and Value('q', lock=False), {method}")

    if "handle_task" in shapes:
        variant = f"Pool(1).apply, {method}"
        try:
            record(metrics, "handle_task", variant, unsupported=handle_task(ctx))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, "handle_task", variant, error=err_text(e))

    json.dump({"python": platform.python_version(), "start_method": method, "metrics": metrics}, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
