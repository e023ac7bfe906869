"""dask.distributed's side of bench/cmd/clusterbench: the same three
figures on a LocalCluster of worker processes, one thread each.

  roundtrip  seconds per client.submit(trivial, i).result(), the median of
             --roundtrips calls one after the other
  map        trivial tasks per second of client.map over --tasks inputs and
             client.gather (one task per input: dask does not chunk)
  uneven     makespan in seconds of [2.0] + [0.05]*60 (time.sleep)

Prints one JSON object: {"version": ..., "roundtrip": [...], ...}, one
sample per run. Exits 3 when distributed is not installed.
"""
import argparse
import json
import statistics
import sys
import time


def trivial(x):
    return x + 1


def take(d):
    time.sleep(d)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--roundtrips", type=int, default=200)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--uneven", type=int, default=1, help="0 leaves the uneven case out")
    a = ap.parse_args()
    try:
        import distributed
    except ImportError:
        print("cluster.py: dask.distributed is not installed (Debian: python3-distributed)", file=sys.stderr)
        sys.exit(3)
    out = {"version": distributed.__version__, "roundtrip": [], "map": [], "uneven": []}
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
    finally:
        client.close()
        cluster.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
