"""ALM-BCD on a dask cluster (``skalm.distributed``): per-sweep time and bytes moved per sweep
against T and the number of worker processes, and the whole fit
(``ElmanRNNRegressor.fit`` on dask arrays) against the in-memory fit, on a loopback
LocalCluster of this machine.

Issue 16, part 3. Each worker is one process with one thread and one BLAS thread; the rows are
split in ``--chunks-per-worker`` chunks per worker. Columns:

* ``ms/sweep``: median of ``--sweeps`` BCD sweeps (after one warm-up) of the chunked
  :func:`~skalm.solvers.alm_bcd.bcd_sweep`, from submission until every chunk's new h, u and
  constraints exist on its worker; ``in-memory ms`` the one-piece sweep in this process (one
  BLAS thread), the same median;
* ``us/row``: the sweep time over T / workers, the per-row cost a projection scales;
* ``fwd ms``: the forward pass over the chunks (:meth:`~skalm.distributed.ChunkedProblem.
  evaluate`, sequential: each chunk waits for the last hidden state of the one before),
  median of 3; ``in-mem fwd`` the same pass in one piece in this process;
* ``model KiB``: the arrays a sweep sends (``skalm.distributed.bytes_per_sweep``: Gram sums,
  weights, halo rows; no serialization overhead), counted as if every chunk were on its own
  machine; ``sent KiB``: what the workers actually sent per sweep, to each other and to the
  client (the sum of their ``transfer_outgoing_bytes_total``; with one worker, the weights
  the client receives);
* ``fit s``: ``ElmanRNNRegressor(n_hidden=r, max_iter=--fit-iter, max_inner_iter=
  --fit-inner).fit`` on dask arrays with the cluster's client (cluster start not counted),
  median of ``--fit-runs``; ``in-memory fit s`` the same fit on ndarrays (one thread). The
  largest relative difference of their weights is ``rel 1 thr``; ``rel same`` compares with
  the in-memory fit whose sweeps run in the same time chunks on threads
  (``blas_threads`` = number of chunks), which adds the Gram sums in the same order:
  rounding in that order, amplified by ill-conditioned ridge systems at large r, is what
  separates the two in-memory fits, and the dask fit from the one-thread fit.

    python benchmarks/bench_dask.py                    # T = 50 000 and 200 000, 1 and 2 workers
    python benchmarks/bench_dask.py --T 20000 --r 20   # smaller
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_peers import load_avg  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm import distributed as sd  # noqa: E402
from skalm._parallel import chunk_bounds  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.model import Lambdas, SequenceLayout, forward, init_weights  # noqa: E402
from skalm.solvers.alm_bcd import ALMPoint, bcd_sweep  # noqa: E402
from skalm.solvers.base import Problem  # noqa: E402

GAMMA, MU = 1.3, 1e-5


def case(T, r, n, m):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((T, n))
    Y = rng.standard_normal((T, m))
    w0 = init_weights(r, n, m, scale=0.1, random_state=0)
    act = get_activation("relu")
    layout = SequenceLayout.from_starts(T)
    U, H = forward(w0, X, act, layout)
    Xi = 0.01 * rng.standard_normal((T, r))
    Zeta = 0.01 * rng.standard_normal((T, r))
    return Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m), layout), ALMPoint(w0, H, U), Xi, \
        Zeta, act


def median_ms(fn, runs):
    ts = []
    for _ in range(runs + 1):  # the first is a warm-up
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ts[1:]))


def sent_by_workers(client):
    return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total)
               .values())


def chunked_sweeps(client, prob, s, Xi, Zeta, act, bounds, runs):
    """(median ms per sweep, bytes the workers sent per sweep, median ms per forward
    pass)."""
    import distributed

    cp = sd.ChunkedProblem.scatter(client, prob.X, prob.Y, prob.lambdas, bounds, prob.layout)
    H, U, Xi_d, Zeta_d = (
        cp.array([client.scatter(A[a:b], workers=[w], hash=False)
                  for (a, b), w in zip(cp.bounds, cp.workers)], A.shape[1])
        for A in (s.H, s.U, Xi, Zeta))
    start = ALMPoint(s.weights, H, U)

    def one():
        new, (C1, C2) = bcd_sweep(cp, start, Xi_d, Zeta_d, GAMMA, MU, act)
        distributed.wait(new.H.parts + new.U.parts + C1.parts + C2.parts)

    one()
    before = sent_by_workers(client)
    ms = median_ms(one, runs)
    sent = (sent_by_workers(client) - before) / (runs + 1)
    return ms, sent, median_ms(lambda: cp.evaluate(s.weights, act), 3)


def fit_seconds(est_kw, X, y, runs):
    ts, est = [], None
    for _ in range(runs):
        t = time.perf_counter()
        est = ElmanRNNRegressor(**est_kw).fit(X, y)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), est


def largest_rel(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y)))
               for x, y in zip(a.weights_, b.weights_) if y is not None)


def main():
    import dask.array as da
    import distributed

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--T", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chunks-per-worker", type=int, default=1)
    ap.add_argument("--r", type=int, default=100)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--m", type=int, default=1)
    ap.add_argument("--sweeps", type=int, default=5)
    ap.add_argument("--fit-iter", type=int, default=2)
    ap.add_argument("--fit-inner", type=int, default=3)
    ap.add_argument("--fit-runs", type=int, default=1)
    args = ap.parse_args()
    r, n, m = args.r, args.n, args.m
    est_kw = dict(n_hidden=r, activation="relu", max_iter=args.fit_iter,
                  max_inner_iter=args.fit_inner, random_state=0)
    print(f"# r = {r}, n = {n}, m = {m}, ReLU; sweeps: median of {args.sweeps}; fits: "
          f"max_iter={args.fit_iter}, max_inner_iter={args.fit_inner}, median of "
          f"{args.fit_runs}; {args.chunks_per_worker} chunk(s) per worker; {load_avg()}")
    print(f"{'T':>8} {'workers':>7} | {'ms/sweep':>9} {'us/row':>7} {'in-memory ms':>12} | "
          f"{'fwd ms':>7} {'in-mem fwd':>10} | "
          f"{'model KiB':>9} {'sent KiB':>8} | {'fit s':>7} {'in-memory fit s':>15} "
          f"{'rel 1 thr':>9} {'rel same':>8}")
    warnings.simplefilter("ignore")
    for T in args.T:
        prob, s, Xi, Zeta, act = case(T, r, n, m)
        with threadpool_limits(1):
            local_ms = median_ms(lambda: bcd_sweep(prob, s, Xi, Zeta, GAMMA, MU, act),
                                 args.sweeps)
            local_fwd = median_ms(lambda: prob.evaluate(s.weights, act), 3)
            local_fit, ref = fit_seconds(est_kw, prob.X, prob.Y[:, 0], args.fit_runs)
        for k in args.workers:
            n_chunks = k * args.chunks_per_worker
            with distributed.LocalCluster(
                n_workers=k, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, env={"OMP_NUM_THREADS": "1",
                                             "OPENBLAS_NUM_THREADS": "1"},
            ) as cluster, distributed.Client(cluster) as client:
                ms, sent, fwd = chunked_sweeps(client, prob, s, Xi, Zeta, act,
                                          chunk_bounds(T, n_chunks), args.sweeps)
                rows = -(-T // n_chunks)
                Xd = da.from_array(prob.X, chunks=(rows, n))
                yd = da.from_array(prob.Y[:, 0], chunks=rows)
                fit_s, est = fit_seconds(est_kw, Xd, yd, args.fit_runs)
            same = ref if n_chunks == 1 else ElmanRNNRegressor(
                **est_kw, blas_threads=n_chunks).fit(prob.X, prob.Y[:, 0])
            model = sd.bytes_per_sweep(r, n, m, n_chunks) / 1024
            print(f"{T:>8} {k:>7} | {ms:>9.1f} {1e3 * ms / (T / k):>7.2f} {local_ms:>12.1f} | "
                  f"{fwd:>7.1f} {local_fwd:>10.1f} | "
                  f"{model:>9.1f} {sent / 1024:>8.1f} | {fit_s:>7.2f} {local_fit:>15.2f} "
                  f"{largest_rel(est, ref):>9.1e} {largest_rel(est, same):>8.1e}", flush=True)


if __name__ == "__main__":
    main()
