"""BCD sweeps over time chunks held by dask workers (``skalm.distributed``): per-sweep time and
bytes moved per sweep against T and the number of worker processes, on a loopback LocalCluster
of this machine; the in-memory sweep (one thread) beside it.

Issue 16, part 3. Each worker is one process with one thread and one BLAS thread; the rows are
split in one chunk per worker. "moved" is the arrays that cross the network per sweep
(``skalm.distributed.bytes_per_sweep``: Gram sums, weights, halo rows; serialization overhead
not counted); "per row" is the sweep time over T / workers, the cost a projection to larger T
scales.

    python benchmarks/bench_dask.py                  # T = 50 000 and 200 000, 1 and 2 workers
    python benchmarks/bench_dask.py --T 20000 --r 20 # smaller
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

from skalm import distributed as sd  # noqa: E402
from skalm._parallel import chunk_bounds  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.model import Lambdas, SequenceLayout, forward, init_weights  # noqa: E402
from skalm.solvers.alm_bcd import ALMPoint, bcd_sweep  # noqa: E402
from skalm.solvers.base import Problem  # noqa: E402


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


def main():
    import distributed

    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--T", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--r", type=int, default=100)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--m", type=int, default=1)
    ap.add_argument("--sweeps", type=int, default=5)
    args = ap.parse_args()
    r, n, m = args.r, args.n, args.m
    print(f"# r = {r}, n = {n}, m = {m}, ReLU; median of {args.sweeps} sweeps; {load_avg()}")
    print(f"{'T':>8} {'workers':>7} | {'ms/sweep':>9} {'us/row':>7} | {'moved KiB':>9} | "
          f"{'in-memory ms':>12}")
    gamma, mu = 1.3, 1e-5
    for T in args.T:
        prob, s, Xi, Zeta, act = case(T, r, n, m)
        with threadpool_limits(1):
            ts = []
            for _ in range(args.sweeps + 1):
                t = time.perf_counter()
                bcd_sweep(prob, s, Xi, Zeta, gamma, mu, act)
                ts.append(time.perf_counter() - t)
        local_ms = 1e3 * float(np.median(ts[1:]))
        for k in args.workers:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with distributed.LocalCluster(
                    n_workers=k, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address=None, env={"OMP_NUM_THREADS": "1",
                                                 "OPENBLAS_NUM_THREADS": "1"},
                ) as cluster, distributed.Client(cluster) as client:
                    chunks = sd.scatter_chunks(client, prob.X, prob.Y, prob.layout, s.H, s.U,
                                               Xi, Zeta, chunk_bounds(T, k))
                    ts = []
                    for _ in range(args.sweeps + 1):
                        t = time.perf_counter()
                        new, _ = sd.sweep(client, chunks, prob.lambdas, T, gamma, mu, act)
                        distributed.wait([f for f, _ in new])
                        ts.append(time.perf_counter() - t)
                        del new
            ms = 1e3 * float(np.median(ts[1:]))
            moved = sd.bytes_per_sweep(r, n, m, k) / 1024
            print(f"{T:>8} {k:>7} | {ms:>9.1f} {1e3 * ms / (T / k):>7.2f} | {moved:>9.1f} | "
                  f"{local_ms:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
