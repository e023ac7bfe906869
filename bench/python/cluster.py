"""dask.distributed's side of bench/cmd/clusterbench: the same three
figures on a LocalCluster of worker processes, one thread each.

  roundtrip  seconds per client.submit(trivial, i).result(), the median of
             --roundtrips calls one after the other
  map        trivial tasks per second of client.map over --tasks inputs and
             client.gather (one task per input: dask does not chunk)
  uneven     makespan in seconds of [2.0] + [0.05]*60 (time.sleep)
  crash      makespan in seconds of 20 tasks of 0.05 s, the first of which
             SIGKILLs its worker process on its first run (a marker file
             says it ran); the scheduler runs it again on a new worker
  nodekill   makespan in seconds of 40 tasks of 0.05 s with one worker
             process SIGKILLed 0.2 s into the call (its nanny restarts it)

Prints one JSON object: {"version": ..., "roundtrip": [...], ...}, one
sample per run. Exits 3 when distributed is not installed.
"""
import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time


def trivial(x):
    return x + 1


def take(d):
    time.sleep(d)
    return d


def crash_once(arg):
    marker, d = arg
    if marker:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        except FileExistsError:
            pass
    return take(d)


def crash_run(client, marker):
    tasks = [("", 0.05)] * 20
    tasks[0] = (marker, 0.05)
    t0 = time.perf_counter()
    res = client.gather(client.map(crash_once, tasks, pure=False))
    el = time.perf_counter() - t0
    if len(res) != 20 or not os.path.exists(marker):
        raise RuntimeError("crash shape: wrong results or no crash")
    return el


def nodekill_run(client, workers):
    pids = list(client.run(os.getpid).values())
    victim = pids[0]
    timer = threading.Timer(0.2, os.kill, (victim, signal.SIGKILL))
    t0 = time.perf_counter()
    timer.start()
    res = client.gather(client.map(take, [0.05] * 40, pure=False))
    el = time.perf_counter() - t0
    timer.cancel()
    if res != [0.05] * 40:
        raise RuntimeError("nodekill shape: wrong results")
    # The nanny restarts the killed worker; wait for it, untimed.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = set(client.run(os.getpid).values())
        if len(now) >= workers and victim not in now:
            break
        time.sleep(0.1)
    return el


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--roundtrips", type=int, default=200)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--uneven", type=int, default=1, help="0 leaves the uneven case out")
    ap.add_argument("--crash", type=int, default=1, help="0 leaves the crash and nodekill cases out")
    a = ap.parse_args()
    try:
        import distributed
    except ImportError:
        print("cluster.py: dask.distributed is not installed (Debian: python3-distributed)", file=sys.stderr)
        sys.exit(3)
    out = {"version": distributed.__version__, "roundtrip": [], "map": [], "uneven": [],
           "crash": [], "nodekill": []}
    tmp = tempfile.mkdtemp(prefix="mproc-dask-crash-")
    cluster = distributed.LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(a.workers, timeout=60)
        client.gather(client.map(trivial, range(a.workers * 4), pure=False))  # warm
        for _ in range(a.runs):
            lat = []
            for i in range(a.roundtrips):
                t0 = time.perf_counter()
                if client.submit(trivial, i, pure=False).result() != i + 1:
                    raise RuntimeError("wrong result")
                lat.append(time.perf_counter() - t0)
            out["roundtrip"].append(statistics.median(lat))

            t0 = time.perf_counter()
            res = client.gather(client.map(trivial, range(a.tasks), pure=False))
            el = time.perf_counter() - t0
            if res != [i + 1 for i in range(a.tasks)]:
                raise RuntimeError("wrong results")
            out["map"].append(a.tasks / el)

            if a.uneven:
                durations = [2.0] + [0.05] * 60
                t0 = time.perf_counter()
                res = client.gather(client.map(take, durations, pure=False))
                out["uneven"].append(time.perf_counter() - t0)

            if a.crash:
                out["crash"].append(crash_run(client, os.path.join(tmp, f"crash-{len(out['crash'])}")))
                out["nodekill"].append(nodekill_run(client, a.workers))
    finally:
        client.close()
        cluster.close()
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
