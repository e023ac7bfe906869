#!/usr/bin/env python3
"""Python process pools on mproc's "real workload" shapes (bench/cmd/compare).

Prints one JSON object on stdout; progress and notes go to stderr:

  {"python": "3.11.2",
   "peers": {"cpython": {"version": ...}, "multiprocess": {"version": ...}
             or {"absent": "python3-multiprocess is not installed (...)"}, ...},
   "metrics": {"<shape>/<peer>": {"samples": [...], "variant": "...",
                                  "error": "...", "unsupported": "..."}}}

Peers: cpython (multiprocessing.Pool, the platform's default start method),
multiprocess (the dill-based fork, multiprocess.Pool), joblib (Parallel,
loky backend) and dask (dask.distributed LocalCluster of worker processes
with one thread each). Tasks mostly sleep instead of computing, on purpose:
the shapes measure scheduling, not CPU speed (see work). --shapes selects
shapes (trickle gives both trickle keys). Every sample is one run, in
seconds, lower is better:

  uneven_default   makespan of [2.0*S] + [0.05*S]*60 with default chunking
  uneven_chunk1    the same with one task per chunk
  lognormal        makespan of n lognormal tasks (median 2 ms, p99 50 ms)
  trickle_median   median latency from an input item being produced to its
                   result being seen, inputs trickling in one per interval
  trickle_p99      p99 (nearest rank) of the same latencies
  stuck_one        after one task that never returns and a 0.1 s give-up:
                   the next call of 4 trivial tasks on the same pool
  stuck_all        the same with every worker stuck, through the workaround
                   the library offers (new pool, restart)

Standard library only, apart from the peers themselves. Run with --help.
"""

import argparse
import asyncio
import concurrent.futures
import json
import math
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time
import traceback

LONG = 2.0          # seconds, the long task of the uneven shapes (times S)
SHORT = 0.05        # seconds, its 60 short tasks (times S)
SHORTS = 60
GIVE_UP = 0.1       # seconds the caller waits for a stuck task
NEXT_BOUND = 30.0   # seconds the call after a stuck one may take
STUCK_SLEEP = 3600  # seconds a stuck task sleeps (not scaled)
PEERS = ("cpython", "multiprocess", "joblib", "dask")
# The timeouts joblib and dask raise: joblib 1.2 with loky raises
# multiprocessing.TimeoutError, dask the builtin one (asyncio's and
# concurrent.futures' are the builtin one since Python 3.11).
TIMEOUTS = (TimeoutError, concurrent.futures.TimeoutError, asyncio.TimeoutError, multiprocessing.TimeoutError)
# dask: Client.restart(timeout=T) asks the workers to close and SIGKILLs a
# worker process still alive (one busy in a task) after 0.8*0.8*T seconds;
# with wait_for_workers (the default) it also fails unless the new workers
# are back within T. With distributed 2022.12 and a task stuck in every
# worker, T = 30 and 60 lost the workers (after the SIGKILL no nanny started
# a new one), T = 10 and 20 brought them back, not always within T. So the
# restarts here, timed or not, are restart(timeout=10,
# wait_for_workers=False) then wait_for_workers(W, timeout=30), as the
# docstring of Client.restart suggests. Even so about every other restart
# of a cluster with all its workers stuck lost them all (a known race,
# https://github.com/dask/distributed/issues/7312 "Restart can kill a
# worker"): stuck_all/dask then records that error, and the clean-up
# starts a new cluster.
RESTART_TIMEOUT = 10.0
RESPAWN_BOUND = 30.0


# ---------------------------------------------------------------- tasks
# Top-level functions, so that every peer can pickle them.

# work takes d seconds of wall time like the Go side's workload.Take: asleep
# until TAKE_SPIN before the deadline, then spinning, so that no sleep's
# overshoot (Go's is 0.5-1 ms on this project's VMs) favours either side.
TAKE_SPIN = 0.002


def work(d):
    deadline = time.perf_counter() + d
    if d > TAKE_SPIN:
        time.sleep(d - TAKE_SPIN)
    while time.perf_counter() < deadline:
        pass
    return d


def echo(x):
    return x


def trivial(x):
    return x + 1


def stuck():
    # Ignores everything, like a task that ignores its context.
    time.sleep(STUCK_SLEEP)
    return None


# ---------------------------------------------------------------- helpers

def log(msg):
    print(f"workloads.py: {msg}", file=sys.stderr, flush=True)


class Unsupported(Exception):
    """The peer lacks the feature the shape needs."""


def uneven_durations(scale):
    return [LONG * scale] + [SHORT * scale] * SHORTS


def lognormal_durations(n, scale):
    # The same formula as the Go side: a deterministic permutation of the
    # quantiles of a lognormal with median 2 ms and p99 50 ms (at scale 1).
    nd = statistics.NormalDist()
    sigma = math.log(25) / nd.inv_cdf(0.99)
    return [scale * 0.002 * math.exp(sigma * nd.inv_cdf(((i * 7919) % n + 0.5) / n)) for i in range(n)]


def bound_for(durations):
    """A generous bound of the wait for a call over these durations."""
    return 30.0 + 5.0 * sum(durations)


def p99(sorted_xs):
    return sorted_xs[math.ceil(0.99 * len(sorted_xs)) - 1]


def trickle_gen(n, interval, t_yield):
    for i in range(n):
        time.sleep(interval)
        t_yield[i] = time.perf_counter()
        yield i


def latency_stats(n, t_yield, t_seen):
    if sorted(t_seen) != list(range(n)):
        raise RuntimeError(f"saw {len(t_seen)} distinct results, want 0..{n - 1}")
    lat = sorted(t_seen[i] - t_yield[i] for i in range(n))
    return statistics.median(lat), p99(lat)


def check_results(got, want):
    if list(got) != list(want):
        raise RuntimeError(f"results differ from the inputs ({len(got)} results, {len(want)} inputs)")


def default_chunksize(n, workers):
    # What Pool.map picks when chunksize is None.
    chunksize, extra = divmod(n, workers * 4)
    return chunksize + 1 if extra else chunksize


def err_text(e):
    return f"{type(e).__name__}: {e}"


def record(out, key, variant, samples=None, error=None, unsupported=None):
    m = {"samples": samples or [], "variant": variant}
    if error is not None:
        m["error"] = error
    if unsupported is not None:
        m["unsupported"] = unsupported
    out[key] = m


def measure(out, key, fn, runs, variant=""):
    """Run fn() runs times; record its samples or the error that stopped it."""
    log(f"{key} ...")
    samples = []
    try:
        for _ in range(runs):
            samples.append(fn())
        record(out, key, variant, samples)
        log(f"{key}: {fmt(samples)}")
    except Unsupported as e:
        record(out, key, variant, unsupported=str(e))
        log(f"{key}: unsupported: {e}")
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        record(out, key, variant, error=err_text(e))


def measure_trickle(out, peer, fn, runs, variant):
    """Like measure, for the two metrics one trickle run gives."""
    kmed, kp99 = f"trickle_median/{peer}", f"trickle_p99/{peer}"
    log(f"trickle/{peer} ...")
    meds, p99s = [], []
    try:
        for _ in range(runs):
            med, p = fn()
            meds.append(med)
            p99s.append(p)
        record(out, kmed, variant, meds)
        record(out, kp99, variant, p99s)
        log(f"{kmed}: {fmt(meds)}")
        log(f"{kp99}: {fmt(p99s)}")
    except Unsupported as e:
        record(out, kmed, variant, unsupported=str(e))
        record(out, kp99, variant, unsupported=str(e))
        log(f"trickle/{peer}: unsupported: {e}")
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        record(out, kmed, variant, error=err_text(e))
        record(out, kp99, variant, error=err_text(e))


def fmt(samples):
    return " ".join(f"{s:.4f}" for s in samples)


# ---------------------------------------------------------------- peers
# Each peer: start() (once, warm), map(f, xs, chunk1, bound) -> results,
# trickle(n, interval) -> (median, p99), stuck(k) -> sample, close(), and
# variant(shape) -> str. Absent modules raise ImportError in the constructor.

class MPPeer:
    """multiprocessing (cpython) or multiprocess: the same Pool API."""

    def __init__(self, name, args):
        if name == "cpython":
            import multiprocessing as mod
            self.version = platform.python_version()
        else:
            import multiprocess as mod
            self.version = getattr(mod, "__version__", "unknown")
        self.name, self.mod, self.w = name, mod, args.workers
        self.method = mod.get_start_method()
        self.ctx = mod.get_context(self.method)
        self.pool = None
        self.lognormal_n = args.lognormal_n

    def _new_pool(self):
        pool = self.ctx.Pool(self.w)
        try:
            check_results(pool.map_async(trivial, range(self.w), 1).get(NEXT_BOUND), range(1, self.w + 1))
        except BaseException:
            pool.terminate()
            pool.join()
            raise
        return pool

    def start(self):
        self.pool = self._new_pool()

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def variant(self, shape):
        cls = "multiprocessing.Pool" if self.name == "cpython" else "multiprocess.Pool"
        m = self.method
        if shape == "uneven_default":
            return f"{cls}.map, default chunksize ({default_chunksize(SHORTS + 1, self.w)}), {m}"
        if shape == "uneven_chunk1":
            return f"{cls}.map, chunksize=1, {m}"
        if shape == "lognormal":
            return f"{cls}.map, default chunksize ({default_chunksize(self.lognormal_n, self.w)}), {m}"
        if shape == "trickle":
            return f"{cls}.imap, chunksize=1 (default), {m}"
        if shape == "stuck_one":
            return f"apply_async().get(timeout={GIVE_UP}), then map on the same pool, {m}"
        if shape == "stuck_all":
            return "terminate()+new Pool"
        return m

    def map(self, f, xs, chunk1, bound):
        return self.pool.map_async(f, xs, 1 if chunk1 else None).get(bound)

    def trickle(self, n, interval):
        t_yield, t_seen = {}, {}
        bound = n * interval + 30.0
        it = self.pool.imap(echo, trickle_gen(n, interval, t_yield))
        for _ in range(n):
            x = it.next(bound)
            t_seen[x] = time.perf_counter()
        return latency_stats(n, t_yield, t_seen)

    def stuck(self, k):
        pool = self._new_pool()
        try:
            rs = [pool.apply_async(stuck) for _ in range(k)]
            try:
                rs[0].get(GIVE_UP)
                raise RuntimeError("the stuck task returned")
            except self.mod.TimeoutError:
                pass
            t0 = time.perf_counter()
            if k >= self.w:
                # No way to cancel a running task: the user's workaround.
                pool.terminate()
                pool.join()
                pool = self.ctx.Pool(self.w)
            try:
                res = pool.map_async(trivial, range(4)).get(NEXT_BOUND)
            except self.mod.TimeoutError:
                raise RuntimeError(f"the next call did not complete within {NEXT_BOUND:g} s") from None
            elapsed = time.perf_counter() - t0
            check_results(res, range(1, 5))
            return elapsed
        finally:
            pool.terminate()
            pool.join()


class JoblibPeer:
    def __init__(self, name, args):
        import joblib
        self.joblib = joblib
        self.version = joblib.__version__
        self.name, self.w = name, args.workers
        self.managed = hasattr(joblib.Parallel, "__enter__")
        self.generator = self._has_generator()
        self.raise_times = {}

    def _has_generator(self):
        try:
            self.joblib.Parallel(n_jobs=1, return_as="generator")
            return True
        except TypeError:
            return False
        except ValueError:
            return False

    def _par(self, **kw):
        return self.joblib.Parallel(n_jobs=self.w, backend="loky", **kw)

    def _shutdown_executor(self):
        try:
            from joblib.externals.loky import reusable_executor as rex
        except ImportError:
            return
        ex = getattr(rex, "_executor", None)
        if ex is not None:
            ex.shutdown(wait=True, kill_workers=True)

    def _warm(self):
        d = self.joblib.delayed
        check_results(self._par(timeout=NEXT_BOUND)(d(trivial)(i) for i in range(self.w)), range(1, self.w + 1))

    def start(self):
        self._warm()

    def close(self):
        self._shutdown_executor()

    def variant(self, shape):
        keep = ("one Parallel kept alive across runs (with Parallel(...) as par)" if self.managed
                else "a new Parallel per run")
        if shape == "uneven_default" or shape == "lognormal":
            return f"Parallel(n_jobs={self.w}, batch_size='auto'), loky, {keep}"
        if shape == "uneven_chunk1":
            return f"Parallel(n_jobs={self.w}, batch_size=1), loky, {keep}"
        if shape == "trickle":
            return "Parallel(return_as='generator', batch_size='auto'), loky"
        if shape in ("stuck_one", "stuck_all"):
            rt = self.raise_times.get(shape)
            extra = f"; the timed-out call itself returned after {statistics.median(rt):.3f} s (median)" if rt else ""
            return (f"Parallel(timeout={GIVE_UP}) raises TimeoutError after loky kills all its workers; "
                    f"the next Parallel call starts a new executor{extra}")
        return "loky"

    # The makespan shapes run through a managed Parallel when available:
    # begin_shape/end_shape open and close it around the runs of one shape.
    def begin_shape(self, chunk1, bound):
        kw = {"batch_size": 1} if chunk1 else {}
        self._cur = self._par(timeout=bound, **kw)
        if self.managed:
            self._cur.__enter__()

    def end_shape(self):
        cur, self._cur = getattr(self, "_cur", None), None
        if cur is not None and self.managed:
            cur.__exit__(None, None, None)

    def map(self, f, xs, chunk1, bound):
        d = self.joblib.delayed
        if self.managed:
            return self._cur(d(f)(x) for x in xs)
        kw = {"batch_size": 1} if chunk1 else {}
        return self._par(timeout=bound, **kw)(d(f)(x) for x in xs)

    def trickle(self, n, interval):
        if not self.generator:
            raise Unsupported(
                f"joblib {self.version} has no generator output (return_as='generator' needs joblib 1.3): "
                "results come back only as a list when the call ends")
        t_yield, t_seen = {}, {}
        d = self.joblib.delayed
        par = self._par(return_as="generator", timeout=n * interval + 30.0)
        for x in par(d(echo)(i) for i in trickle_gen(n, interval, t_yield)):
            t_seen[x] = time.perf_counter()
        return latency_stats(n, t_yield, t_seen)

    def stuck(self, k):
        shape = "stuck_all" if k >= self.w else "stuck_one"
        d = self.joblib.delayed
        self._shutdown_executor()  # a fresh pool per run
        try:
            self._warm()
            t_call = time.perf_counter()
            try:
                self._par(timeout=GIVE_UP)(d(stuck)() for _ in range(k))
                raise RuntimeError("the stuck tasks returned")
            except TIMEOUTS as e:
                t0 = time.perf_counter()
                if shape not in self.raise_times:
                    log(f"joblib {shape}: the timed-out call raised {type(e).__module__}.{type(e).__name__}")
                self.raise_times.setdefault(shape, []).append(t0 - t_call)
            res = self._par(timeout=NEXT_BOUND)(d(trivial)(i) for i in range(4))
            elapsed = time.perf_counter() - t0
            if elapsed > NEXT_BOUND:
                raise RuntimeError(f"the next call did not complete within {NEXT_BOUND:g} s (took {elapsed:.1f} s)")
            check_results(res, range(1, 5))
            log(f"joblib {shape}: timed-out call took {t0 - t_call:.3f} s, next call {elapsed:.3f} s")
            return elapsed
        finally:
            self._shutdown_executor()


class DaskPeer:
    def __init__(self, name, args):
        import distributed
        self.distributed = distributed
        self.version = distributed.__version__
        self.name, self.w = name, args.workers
        self.cluster = self.client = None

    def start(self):
        d = self.distributed
        self.cluster = d.LocalCluster(n_workers=self.w, threads_per_worker=1, processes=True,
                                      dashboard_address=None)
        self.client = d.Client(self.cluster)
        self.client.wait_for_workers(self.w, timeout=60)
        self._warm()

    def _restart(self):
        self.client.restart(timeout=RESTART_TIMEOUT, wait_for_workers=False)
        self.client.wait_for_workers(self.w, timeout=RESPAWN_BOUND)

    def _recover(self):
        """Make the cluster usable again after a stuck run (not timed)."""
        t0 = time.perf_counter()
        try:
            self._restart()
            self._warm()
            log(f"dask: clean-up restart took {time.perf_counter() - t0:.2f} s")
        except Exception as e:
            log(f"dask: clean-up restart failed ({err_text(e)}): starting a new cluster")
            self.close()
            self.start()
    def _warm(self):
        check_results(self._gather(self.client.map(trivial, range(self.w), pure=False), NEXT_BOUND),
                      range(1, self.w + 1))

    def _gather(self, futs, bound, what="the call"):
        try:
            self.distributed.wait(futs, timeout=bound)
        except TIMEOUTS:
            done = sum(f.done() for f in futs)
            self.client.cancel(futs)
            raise RuntimeError(f"{what} did not complete within {bound:g} s "
                               f"({done} of {len(futs)} tasks done)") from None
        return self.client.gather(futs)

    def close(self):
        try:
            if self.client is not None:
                self.client.close(timeout=30)
        finally:
            self.client = None
            if self.cluster is not None:
                self.cluster.close(timeout=30)
                self.cluster = None

    def variant(self, shape):
        base = f"LocalCluster({self.w} processes x 1 thread)"
        if shape == "uneven_default" or shape == "lognormal":
            return f"client.gather(client.map(pure=False)), no chunking, {base}"
        if shape == "uneven_chunk1":
            return "no chunking (same as default)"
        if shape == "trickle":
            return f"client.submit per item into as_completed, consumer thread, {base}"
        if shape == "stuck_one":
            return f"future.result(timeout={GIVE_UP}) + client.cancel, then map+gather on the same client"
        if shape == "stuck_all":
            return (f"client.restart(timeout={RESTART_TIMEOUT:g}, wait_for_workers=False) + "
                    f"client.wait_for_workers({self.w}): workers busy in a task are SIGKILLed after "
                    f"0.64*timeout = {0.64 * RESTART_TIMEOUT:.1f} s (a timeout of 30 s or more, the default "
                    "is 120 s, lost the workers for good)")
        return base

    def map(self, f, xs, chunk1, bound):
        return self._gather(self.client.map(f, xs, pure=False), bound)

    def trickle(self, n, interval):
        d = self.distributed
        ac = d.as_completed(with_results=True)
        t_yield, t_seen = {}, {}
        added = threading.Event()
        done = threading.Event()
        failure = []

        def consume():
            # as_completed stops when it holds no pending future, which
            # happens between two trickling items: wait for the next add.
            try:
                while len(t_seen) < n:
                    for _fut, x in ac:
                        t_seen[x] = time.perf_counter()
                    if len(t_seen) < n:
                        if done.is_set() and ac.is_empty():
                            raise RuntimeError(f"as_completed ended after {len(t_seen)} of {n} results")
                        added.wait(1.0)
                        added.clear()
            except BaseException as e:
                failure.append(e)

        consumer = None
        futs = []
        try:
            for i in trickle_gen(n, interval, t_yield):
                fut = self.client.submit(echo, i, pure=False)
                futs.append(fut)
                ac.add(fut)
                added.set()
                if consumer is None:
                    consumer = threading.Thread(target=consume, daemon=True)
                    consumer.start()
        finally:
            done.set()
            added.set()
        consumer.join(30.0)
        if consumer.is_alive():
            self.client.cancel(futs)
            raise RuntimeError(f"the consumer saw {len(t_seen)} of {n} results within 30 s")
        if failure:
            raise failure[0]
        return latency_stats(n, t_yield, t_seen)

    def stuck(self, k):
        all_stuck = k >= self.w
        ok = False
        try:
            self._warm()
            futs = [self.client.submit(stuck, pure=False) for _ in range(k)]
            try:
                futs[0].result(timeout=GIVE_UP)
                raise RuntimeError("the stuck task returned")
            except TIMEOUTS:
                pass
            if all_stuck:
                t0 = time.perf_counter()
                try:
                    self._restart()
                except TIMEOUTS as e:
                    raise RuntimeError(f"client.restart(timeout={RESTART_TIMEOUT:g}) + wait_for_workers "
                                       f"failed after {time.perf_counter() - t0:.1f} s: {err_text(e)}") from None
            else:
                self.client.cancel(futs)
                t0 = time.perf_counter()
            res = self._gather(self.client.map(trivial, range(4), pure=False), NEXT_BOUND, "the next call")
            elapsed = time.perf_counter() - t0
            check_results(res, range(1, 5))
            ok = True
            return elapsed
        finally:
            # The cluster usable again for the next run, outside the timing
            # (after stuck_all the measured restart already did it).
            if not (all_stuck and ok):
                self._recover()


PEER_CLASSES = {"cpython": MPPeer, "multiprocess": MPPeer, "joblib": JoblibPeer, "dask": DaskPeer}
DEBIAN_NAMES = {"multiprocess": "python3-multiprocess", "joblib": "python3-joblib", "dask": "python3-distributed"}


# ---------------------------------------------------------------- shapes

def run_peer(peer, name, args, metrics, shapes):
    S, runs = args.scale, args.runs

    def makespan(xs, chunk1):
        bound = bound_for(xs)
        t0 = time.perf_counter()
        res = peer.map(work, xs, chunk1, bound)
        elapsed = time.perf_counter() - t0
        check_results(res, xs)
        return elapsed

    uneven = uneven_durations(S)
    logn = lognormal_durations(args.lognormal_n, S)
    for shape, xs, chunk1 in (("uneven_default", uneven, False), ("uneven_chunk1", uneven, True),
                              ("lognormal", logn, False)):
        if shape not in shapes:
            continue
        try:
            if isinstance(peer, JoblibPeer):
                peer.begin_shape(chunk1, bound_for(xs))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            record(metrics, f"{shape}/{name}", peer.variant(shape), error=err_text(e))
            continue
        try:
            measure(metrics, f"{shape}/{name}", lambda: makespan(xs, chunk1), runs, peer.variant(shape))
        finally:
            if isinstance(peer, JoblibPeer):
                peer.end_shape()

    if "trickle" in shapes:
        measure_trickle(metrics, name, lambda: peer.trickle(args.trickle_n, args.trickle_interval), runs,
                        peer.variant("trickle"))

    for shape, k in (("stuck_one", 1), ("stuck_all", args.workers)):
        if shape not in shapes:
            continue
        key = f"{shape}/{name}"
        measure(metrics, key, lambda: peer.stuck(k), runs, peer.variant(shape))
        metrics[key]["variant"] = peer.variant(shape)  # may name what was observed


ALL_SHAPES = ("uneven_default", "uneven_chunk1", "lognormal", "trickle", "stuck_one", "stuck_all")


def metric_keys(shape):
    """The metric keys a shape produces: trickle gives two."""
    return ("trickle_median", "trickle_p99") if shape == "trickle" else (shape,)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every task duration")
    ap.add_argument("--lognormal-n", type=int, default=1000, help="tasks of the lognormal shape")
    ap.add_argument("--trickle-n", type=int, default=200, help="items of the trickle shape")
    ap.add_argument("--trickle-interval", type=float, default=0.005, help="seconds between trickling items")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--shapes", default=",".join(ALL_SHAPES), help="comma-separated subset of " + ",".join(ALL_SHAPES))
    args = ap.parse_args()
    shapes = [x.strip() for x in args.shapes.split(",") if x.strip()]
    for x in shapes:
        if x not in ALL_SHAPES:
            ap.error(f"unknown shape {x!r}: choose from {','.join(ALL_SHAPES)}")
    names = [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in names:
        if p not in PEERS:
            ap.error(f"unknown peer {p!r}: choose from {','.join(PEERS)}")

    t_start = time.perf_counter()
    logn = lognormal_durations(args.lognormal_n, args.scale)
    log(f"lognormal n={args.lognormal_n} scale={args.scale:g}: sum of durations {sum(logn):.6f} s, "
        f"max {max(logn):.6f} s")

    peers, metrics = {}, {}
    for name in names:
        try:
            peer = PEER_CLASSES[name](name, args)
        except Exception as e:  # ImportError, or a broken installation
            peers[name] = {"absent": f"{DEBIAN_NAMES.get(name, name)} is not installed ({err_text(e)})"}
            log(f"{name}: {peers[name]['absent']}")
            continue
        peers[name] = {"version": peer.version}
        log(f"{name} {peer.version}: starting")
        try:
            try:
                peer.start()
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                for shape in shapes:
                    for key in metric_keys(shape):
                        record(metrics, f"{key}/{name}", "", error=f"startup failed: {err_text(e)}")
                continue
            try:
                run_peer(peer, name, args, metrics, shapes)
            except Exception as e:  # a bug of this script: keep the other peers
                traceback.print_exc(file=sys.stderr)
                for shape in shapes:
                    for key in metric_keys(shape):
                        metrics.setdefault(f"{key}/{name}", {"samples": [], "variant": "", "error": err_text(e)})
        finally:
            try:
                peer.close()
            except Exception:
                traceback.print_exc(file=sys.stderr)

    json.dump({"python": platform.python_version(), "peers": peers, "metrics": metrics}, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    log(f"done in {time.perf_counter() - t_start:.1f} s")


if __name__ == "__main__":
    main()
