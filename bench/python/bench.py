#!/usr/bin/env python3
"""CPython side of mproc's comparison harness (bench/cmd/compare).

Measures multiprocessing and pickle on the same tasks and data shapes as the
Go contenders and prints one JSON object on stdout; progress and notes go to
stderr. Standard library only.

Units of the "samples" lists, one sample per run:
  pool_start_*          seconds from Pool() to the first apply() result
  apply                 seconds per Pool.apply round trip of a trivial task
  map_chunk1, map_auto  tasks per second of Pool.map over trivial tasks
  bulk                  seconds per Pool.apply round trip of a bytes argument
  speedup               serial time / Pool(workers).map time, CPU-bound tasks
  pickle_*              seconds per pickle.dumps + pickle.loads round trip

Run it directly with --help, or let the Go harness run it.
"""

import argparse
import array
import dataclasses
import datetime
import json
import multiprocessing
import os
import pickle
import platform
import sys
import time
import traceback

# Calls of spin() per CPU-bound task: about as long as the Go task (tens of
# milliseconds); the speed-up is a ratio, so the sizes need not match.
SPIN_ITERS = 300_000
MASK = (1 << 64) - 1


def trivial(x):
    return x + 1


def echo(b):
    return b


def spin(iters):
    x = iters
    for _ in range(iters):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x


@dataclasses.dataclass
class Inner:
    id: int
    label: str
    score: float


@dataclasses.dataclass
class Small:
    id: int
    count: int
    name: str
    email: str
    tags: list
    created: datetime.datetime
    owner: Inner


def new_small():
    # The same values as workload.NewSmall in Go.
    return Small(
        id=1234567,
        count=42,
        name="Ada Lovelace",
        email="ada@example.org",
        tags=["analytical", "engine", "notes"],
        created=datetime.datetime(2026, 11, 22, 2, 30, 0, 123456, tzinfo=datetime.timezone.utc),
        owner=Inner(id=7, label="Babbage", score=0.875),
    )


class Node:
    __slots__ = ("id", "weight", "parent", "peers", "owner")


class Graph:
    def __init__(self, n):
        # The same links as workload.NewGraph in Go: every pointer goes to
        # the graph or to a node at an earlier or equal index.
        self.nodes = []
        for i in range(n):
            nd = Node()
            nd.id, nd.weight, nd.owner = i, i / 3, self
            self.nodes.append(nd)
            nd.parent = nd if i == 0 else self.nodes[(i - 1) // 2]
            nd.peers = [self.nodes[i * 7 % (i + 1)], self.nodes[i // 3], nd]


def check_graph(g, n):
    h = g.nodes
    return len(h) == n and all(
        nd.owner is g and nd.parent is (nd if i == 0 else h[(i - 1) // 2]) and nd.peers[2] is nd
        for i, nd in enumerate(h)
    )


def timed(budget, op):
    """Seconds per call of op(), growing the count until a run lasts budget."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            op()
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            return elapsed / n
        n = max(n + 1, min(100 * n, int(n * 1.2 * budget / max(elapsed, 1e-9))))


def measure(out, key, fn, runs, variant=""):
    """Run fn() runs times; record its samples or the error that stopped it."""
    print(f"bench.py: {key} ...", file=sys.stderr, flush=True)
    try:
        samples = [fn() for _ in range(runs)]
        out[key] = {"samples": samples, "variant": variant}
    except Exception as e:  # the harness shows the reason in the table
        traceback.print_exc(file=sys.stderr)
        out[key] = {"samples": [], "variant": variant, "error": f"{type(e).__name__}: {e}"}


def pool_start(ctx, workers):
    t0 = time.perf_counter()
    pool = ctx.Pool(workers)
    try:
        pool.apply(trivial, (1,))
        return time.perf_counter() - t0
    finally:
        pool.terminate()
        pool.join()


def apply_round_trip(pool, rounds):
    t0 = time.perf_counter()
    for _ in range(rounds):
        pool.apply(trivial, (1,))
    return (time.perf_counter() - t0) / rounds


def map_rate(pool, n, chunksize):
    xs = range(n)
    t0 = time.perf_counter()
    res = pool.map(trivial, xs, chunksize)
    elapsed = time.perf_counter() - t0
    if res[-1] != n:
        raise RuntimeError(f"map returned {res[-1]} last, want {n}")
    return n / elapsed


def bulk(pool, size):
    arg = bytes(size)
    t0 = time.perf_counter()
    res = pool.apply(echo, (arg,))
    elapsed = time.perf_counter() - t0
    if len(res) != size:
        raise RuntimeError(f"got {len(res)} bytes back, want {size}")
    return elapsed


def speedup(pool, tasks):
    t0 = time.perf_counter()
    serial = [spin(SPIN_ITERS) for _ in range(tasks)]
    t_serial = time.perf_counter() - t0
    t1 = time.perf_counter()
    parallel = pool.map(spin, [SPIN_ITERS] * tasks, 1)
    t_parallel = time.perf_counter() - t1
    if parallel != serial:
        raise RuntimeError("pool results differ from serial results")
    return t_serial / t_parallel


def pickle_round_trip(value, budget, check):
    proto = pickle.HIGHEST_PROTOCOL
    if not check(pickle.loads(pickle.dumps(value, proto))):
        raise RuntimeError("pickle round trip changed the value")
    return timed(budget, lambda: pickle.loads(pickle.dumps(value, proto)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2000, help="apply round trips per run")
    ap.add_argument("--map-chunk1", type=int, default=100_000, help="tasks of the chunksize=1 map")
    ap.add_argument("--map-auto", type=int, default=100_000, help="tasks of the default-chunksize map")
    ap.add_argument("--bulk", type=int, default=64 << 20, help="bytes of the bulk argument")
    ap.add_argument("--bulk-warm", type=int, default=3, help="untimed bulk round trips before the timed ones")
    ap.add_argument("--tasks", type=int, default=8, help="CPU-bound tasks of the speed-up run")
    ap.add_argument("--floats", type=int, default=100_000)
    ap.add_argument("--graph", type=int, default=10_000, help="nodes of the graph shape")
    ap.add_argument("--budget", type=float, default=0.2, help="seconds per pickle run")
    args = ap.parse_args()

    metrics = {}
    methods = multiprocessing.get_all_start_methods()
    for m in ("spawn", "fork", "forkserver"):
        if m in methods:
            ctx = multiprocessing.get_context(m)
            measure(metrics, "pool_start_" + m, lambda: pool_start(ctx, args.workers), args.runs, m)
        else:
            metrics["pool_start_" + m] = {"samples": [], "variant": m, "unsupported": f"start method {m} is not available on {sys.platform}"}

    default = multiprocessing.get_start_method()
    with multiprocessing.get_context(default).Pool(args.workers) as pool:
        pool.apply(trivial, (1,))  # workers up before anything is timed
        measure(metrics, "apply", lambda: apply_round_trip(pool, args.rounds), args.runs, default)
        measure(metrics, "map_chunk1", lambda: map_rate(pool, args.map_chunk1, 1), args.runs, default)
        measure(metrics, "map_auto", lambda: map_rate(pool, args.map_auto, None), args.runs, default)
        for _ in range(args.bulk_warm):  # untimed, as every contender of the row
            bulk(pool, args.bulk)
        measure(metrics, "bulk", lambda: bulk(pool, args.bulk), args.runs, default)
        measure(metrics, "speedup", lambda: speedup(pool, args.tasks), args.runs, default)

    small = new_small()
    floats = [i * 1.0000001 for i in range(args.floats)]
    farray = array.array("d", floats)
    graph = Graph(args.graph)
    b = args.budget
    measure(metrics, "pickle_small", lambda: pickle_round_trip(small, b, lambda v: v == small), args.runs, "dataclass")
    measure(metrics, "pickle_floats_list", lambda: pickle_round_trip(floats, b, lambda v: v == floats), args.runs, "list of float")
    measure(metrics, "pickle_floats_array", lambda: pickle_round_trip(farray, b, lambda v: v == farray), args.runs, "array('d')")
    measure(metrics, "pickle_graph", lambda: pickle_round_trip(graph, b, lambda v: check_graph(v, args.graph)), args.runs, "objects")

    json.dump({
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "default_start_method": default,
        "cpus": os.cpu_count(),
        "metrics": metrics,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
