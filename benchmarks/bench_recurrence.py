"""The loops over time steps at long T: microseconds per step of the forward pass and of the
BPTT gradient, numpy loops against the compiled ones, and L-BFGS against jax-sysid at T = 10^5.

Issue 16, part 2. Prints:

1. for T = 10^5 (``--T``) and r in ``--r`` (default 20 and 100), n = 5, m = 1, ReLU, one BLAS
   thread: microseconds per time step of ``skalm.model.forward`` and of
   ``skalm.solvers.gradient.value_and_gradient`` (forward pass, loss, BPTT and every weight
   gradient: what a gradient solver pays per function evaluation), with the numpy loops
   (``SKALM_DISABLE_NUMBA=1``) and with the compiled ones (the ``fast`` extra, numba), their
   ratio, and the largest difference between the two paths' outputs (rounding). Medians of
   ``--repeats`` calls, the two paths interleaved. The compiled kernels are compiled (or loaded
   from numba's cache) before timing; the first call's time is printed apart.
2. with ``--jax-python PATH`` (a Python that has jax-sysid; see ``vs_peers.py``): L-BFGS with
   30 function evaluations on the same T = 10^5 rows from the same start, skalm's ``LBFGS``
   (``max_fun=30``) against jax-sysid's (``lbfgs_epochs=30``, ``train_x0=False``: the same
   objective but for skalm's lambda_u = 1e-8), both on one thread: wall and CPU seconds and
   the objective reached. jax-sysid's first fit includes tracing and XLA compilation, so its
   median of further fits is printed too.

    python benchmarks/bench_recurrence.py
    python benchmarks/bench_recurrence.py --jax-python /work/venv-jax/bin/python

On a machine that sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for an old OpenBLAS, unset both
for this command (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...``).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_peers import initial_weights, load_avg, run_jax_sysid  # noqa: E402

from skalm import _kernels  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.datasets import make_elman_sequence  # noqa: E402
from skalm.model import Lambdas, RNNWeights, SequenceLayout, forward  # noqa: E402
from skalm.solvers import LBFGS, Problem  # noqa: E402
from skalm.solvers.gradient import value_and_gradient  # noqa: E402

N_FEATURES, N_OUTPUTS = 5, 1


def data(T, r, seed=0):
    # std 0.9 / sqrt(r): the recurrent matrix's spectral radius about 0.9, stable at any r.
    X, Y, _ = make_elman_sequence(T, N_FEATURES, N_OUTPUTS, r, weight_std=0.9 / np.sqrt(r),
                                  noise_std=0.1, random_state=seed)
    return X, Y.reshape(T, -1)


def with_numba(flag, fn):
    """fn() with the compiled loops switched on (True) or off (False)."""
    old = os.environ.get("SKALM_DISABLE_NUMBA")
    os.environ["SKALM_DISABLE_NUMBA"] = "0" if flag else "1"
    try:
        return fn()
    finally:
        if old is None:
            del os.environ["SKALM_DISABLE_NUMBA"]
        else:
            os.environ["SKALM_DISABLE_NUMBA"] = old


def per_step(T, r, repeats):
    X, Y = data(T, r)
    W, V, b, A, c = initial_weights(r, N_FEATURES, N_OUTPUTS, scale=0.9 / np.sqrt(r))
    w = RNNWeights(W, V, b, A, c)
    act = get_activation("relu")
    lam = Lambdas(*([0.1] * 5), 1e-8)
    layout = SequenceLayout.from_starts(T)
    calls = {
        "forward": lambda: forward(w, X, act, layout),
        "value+gradient": lambda: value_and_gradient(w, X, Y, layout, act, lam, 1.0 / T, 1.0),
    }
    t0 = time.perf_counter()
    with_numba(True, calls["forward"])
    with_numba(True, calls["value+gradient"])
    first = time.perf_counter() - t0
    rows = []
    for name, fn in calls.items():
        times = {False: [], True: []}
        for _ in range(repeats):
            for flag in (False, True):
                t = time.perf_counter()
                with_numba(flag, fn)
                times[flag].append(time.perf_counter() - t)
        slow, fast = with_numba(False, fn), with_numba(True, fn)
        if name == "forward":
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(slow, fast))
        else:
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(slow.grad, fast.grad))
        us = {k: 1e6 * float(np.median(v)) / T for k, v in times.items()}
        rows.append((name, us[False], us[True], diff))
    return rows, first


def lbfgs_vs_jax(T, r, jax_python, evals=30, jax_repeats=1):
    X, Y = data(T, r)
    w0 = initial_weights(r, N_FEATURES, N_OUTPUTS, scale=0.1)
    prob = Problem(X, Y, Lambdas(*([0.1] * 5), 1e-8))
    act = get_activation("relu")
    solver = LBFGS(max_iter=evals, max_fun=evals, gtol=0.0, tol=0.0, n_iter_no_change=None)
    out = {}
    for flag in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, c = time.perf_counter(), time.process_time()
            res = with_numba(flag, lambda: solver.solve(prob, act, RNNWeights(*w0)))
            out[flag] = (time.perf_counter() - t, time.process_time() - c,
                         prob.evaluate(res.weights, act)[1], res.extras.get("n_fun"))
    jax = None
    if jax_python:
        n_test = 10
        jax = run_jax_sysid(jax_python, X, Y, X[-n_test:], Y[-n_test:], w0, rho_th=0.1,
                            epochs=evals, train_x0=False, repeats=jax_repeats)
    return out, jax


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--T", type=int, default=100_000)
    ap.add_argument("--r", type=int, nargs="+", default=[20, 100])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--jax-python", default=None)
    ap.add_argument("--jax-repeats", type=int, default=1,
                    help="jax-sysid fits after the first (0: the first only)")
    ap.add_argument("--skip-lbfgs", action="store_true")
    args = ap.parse_args()
    print(f"# T = {args.T}, n = {N_FEATURES}, m = {N_OUTPUTS}, ReLU, one BLAS thread; "
          f"numba {'available' if _kernels.numba_available() else 'NOT installed'}; {load_avg()}")
    with threadpool_limits(1):
        print(f"{'r':>4} {'call':>15} | {'numpy us/step':>13} {'compiled us/step':>16} "
              f"{'ratio':>6} | max |diff|")
        for r in args.r:
            rows, first = per_step(args.T, r, args.repeats)
            for name, slow, fast, diff in rows:
                print(f"{r:>4} {name:>15} | {slow:>13.2f} {fast:>16.3f} {slow / fast:>6.1f} |"
                      f" {diff:.1e}", flush=True)
            print(f"     (first compiled forward + value+gradient call, compilation or cache "
                  f"load included: {first:.2f} s)")
        if args.skip_lbfgs:
            return
        r = args.r[0]
        out, jax = lbfgs_vs_jax(args.T, r, args.jax_python, jax_repeats=args.jax_repeats)
    print(f"\nL-BFGS, 30 function evaluations, T = {args.T}, r = {r}, lambda = 0.1 on every "
          "block, same start, one thread:")
    for flag, label in ((True, "skalm LBFGS, compiled loops"),
                        (False, "skalm LBFGS, numpy loops")):
        wall, cpu, R, nfun = out[flag]
        print(f"  {label:<34} wall {wall:7.2f} s  CPU {cpu:7.2f} s  R = {R:.6g}  (n_fun {nfun})")
    if jax is None:
        print("  jax-sysid: not run (pass --jax-python)")
    elif "error" in jax:
        print(f"  jax-sysid: failed: {jax['error']}")
    else:
        print(f"  {'jax-sysid ' + str(jax['jax_sysid']):<34} wall {jax['fit_first_s']:7.2f} s  "
              f"CPU {jax['cpu_first_s']:7.2f} s  R = {jax['R_skalm']:.6g}  (first fit, "
              "compilation included)")
        if jax["fit_all_s"][1:]:
            print(f"  {'jax-sysid, a further fit':<34} wall {jax['fit_s']:7.2f} s  "
                  f"CPU {jax['cpu_s']:7.2f} s  (compilation cached)")


if __name__ == "__main__":
    main()
