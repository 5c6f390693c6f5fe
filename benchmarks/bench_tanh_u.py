"""The tanh u-subproblem: the numpy path against the compiled kernel (issue 14).

Prints

1. nanoseconds per entry of ``Tanh.solve_u`` at 50,000 entries (``--entries``), numpy path
   (:func:`skalm.activations.tanh.solve_numpy`) against the kernel
   (:func:`skalm._kernels_tanh.solve_u`), medians (and fastest) of ``--repeats`` calls, the
   two interleaved, on two sets of inputs: the u-subproblem of the fit below at its last sweep
   (the th's of ``Tanh.solve_u`` as the sweep passes them, r = 20 columns of 2,500 rows) and
   random N(0, 1) th's (gamma = 1, mu = 1e-5, lambda_u = 1e-8); with the share of entries the
   kernel hands back to the numpy path (not certified convex) and the largest relative
   difference between the two results;
2. the wall time of one ALM-BCD fit (tanh, r = 20, the first 2,500 rows of
   ``cv_fit_time.py``'s data, n = 3, ``max_iter=20``, ``random_state=0``) without the tanh
   kernel (``skalm._kernels_tanh.solve_u`` replaced by one that declines, so the numpy path
   runs; the other compiled loops stay on) and with it, medians of ``--fits`` fits each,
   interleaved, and the largest relative difference between the two fits' predictions;
3. with ``--cv``: wall and CPU seconds of ``ElmanRNNRegressorCV(random_state=0).fit`` on
   ``cv_fit_time.py``'s 3,000 rows (issue 14's figure, ``n_jobs=None``) with the kernel and
   without it (as in 2), one fit each, and whether the two chose the same ``alpha_`` and
   predict the same.

The kernel is compiled (or loaded from numba's cache) before timing.

    python benchmarks/bench_tanh_u.py
    python benchmarks/bench_tanh_u.py --repeats 9 --fits 3 --cv
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cv_fit_time import data  # noqa: E402

from skalm import ElmanRNNRegressor, ElmanRNNRegressorCV, _kernels, _kernels_tanh  # noqa: E402
from skalm.activations import tanh as tanh_module  # noqa: E402


def fit(X, y, use_kernel, est=None):
    """(wall s, CPU s, predictions) of est.fit(X, y), by default one ALM-BCD fit."""
    if est is None:
        est = ElmanRNNRegressor(n_hidden=20, activation="tanh", max_iter=20, random_state=0)
    saved = _kernels_tanh.solve_u
    if not use_kernel:
        _kernels_tanh.solve_u = lambda *args: None
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        return time.perf_counter() - t0, time.process_time() - c0, est.predict(X)
    finally:
        _kernels_tanh.solve_u = saved


def fit_inputs(X, y):
    """The arguments of the last ``Tanh.solve_u`` call of the fit."""
    seen = []
    saved = tanh_module.Tanh.solve_u

    def spy(self, *args):
        seen[:] = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
        return saved(self, *args)

    tanh_module.Tanh.solve_u = spy
    try:
        fit(X, y, True)
    finally:
        tanh_module.Tanh.solve_u = saved
    return seen


def per_entry(args, repeats):
    n = np.broadcast(*args[:3]).size
    _kernels_tanh.solve_u(*args)  # compile or load from the cache
    times = {"numpy": [], "kernel": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        ref = tanh_module.solve_numpy(*args)
        t1 = time.perf_counter()
        out = _kernels_tanh.solve_u(*args)
        t2 = time.perf_counter()
        times["numpy"].append(t1 - t0)
        times["kernel"].append(t2 - t1)
    med = {k: statistics.median(v) / n * 1e9 for k, v in times.items()}
    best = {k: min(v) / n * 1e9 for k, v in times.items()}
    rel = np.max(np.abs(out - ref) / np.maximum(np.abs(ref), 1e-300))
    return med, best, rel


def handed_back(args):
    """Share of the entries that the kernel leaves to the numpy path."""
    th1, th2, th3, gamma, mu, l6 = args
    a = gamma + mu + 2.0 * l6
    c0 = (gamma / a) * th1 + (mu / a) * th3
    calls = []
    saved = tanh_module.solve_numpy

    def spy(*a):
        calls.append(np.size(a[1]))
        return saved(*a)

    tanh_module.solve_numpy = spy
    try:
        _kernels_tanh.solve_u(*args)
    finally:
        tanh_module.solve_numpy = saved
    return sum(calls) / c0.size


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=50_000)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--fits", type=int, default=3)
    p.add_argument("--cv", action="store_true", help="also time ElmanRNNRegressorCV().fit")
    args = p.parse_args()
    if not _kernels.enabled():
        sys.exit("the kernel needs numba (the 'fast' extra) and SKALM_DISABLE_NUMBA unset")
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    X, y = data()
    X, y = X[:2500], y[:2500]
    rng = np.random.RandomState(0)
    m = args.entries
    sets = {
        "fit, last sweep": fit_inputs(X, y),
        "random N(0, 1)": [rng.standard_normal(m), rng.standard_normal(m),
                           rng.standard_normal(m), 1.0, 1e-5, 1e-8],
    }
    th = sets["fit, last sweep"]
    if th[0].size != m:  # the fit gives 2,500 x 20 entries; tile or cut to --entries
        reps = -(-m // th[0].size)
        sets["fit, last sweep"] = [np.tile(a.ravel(), reps)[:m] for a in th[:3]] + th[3:]
    print(f"Tanh.solve_u, {m} entries, ns per entry: median (fastest) of {args.repeats} calls")
    print(f"{'inputs':>18} | {'numpy path':>14} {'kernel':>14}  ratio | handed back | "
          "max rel diff")
    for name, a in sets.items():
        med, best, rel = per_entry(a, args.repeats)
        cells = [f"{med[k]:6.1f} ({best[k]:5.1f})" for k in ("numpy", "kernel")]
        print(f"{name:>18} | {cells[0]:>14} {cells[1]:>14} {med['numpy'] / med['kernel']:6.2f} "
              f"| {handed_back(a):11.2%} | {rel:.1e}", flush=True)
    print(f"ALM-BCD fit, tanh, r = 20, T = 2500, n = 3, max_iter = 20, median of {args.fits}:")
    walls = {False: [], True: []}
    preds = {}
    for _ in range(args.fits):
        for use in (False, True):
            wall, _, preds[use] = fit(X, y, use)
            walls[use].append(wall)
    w0, w1 = statistics.median(walls[False]), statistics.median(walls[True])
    rel = np.max(np.abs(preds[True] - preds[False]) / np.abs(preds[False]).max())
    print(f"  without the tanh kernel {w0:6.2f} s  ({' '.join(f'{w:.2f}' for w in walls[False])})")
    print(f"  with the tanh kernel    {w1:6.2f} s  ({' '.join(f'{w:.2f}' for w in walls[True])})"
          f"  ratio {w0 / w1:.2f}")
    print(f"  predictions: max |difference| / max |prediction| = {rel:.1e}", flush=True)
    if args.cv:
        X, y = data()
        print("ElmanRNNRegressorCV(random_state=0, n_jobs=1).fit, 3000 rows x 3 features:")
        res = {}
        for use in (True, False):
            est = ElmanRNNRegressorCV(random_state=0, n_jobs=1)
            wall, cpu, pred = fit(X, y, use, est)
            res[use] = (est.alpha_, pred)
            print(f"  {'with' if use else 'without'} the tanh kernel: wall {wall:6.1f} s, "
                  f"CPU {cpu:6.1f} s, alpha_ = {est.alpha_}", flush=True)
        same = res[True][0] == res[False][0] and np.array_equal(res[True][1], res[False][1])
        print(f"  same alpha_ and predictions: {same}")


if __name__ == "__main__":
    main()
