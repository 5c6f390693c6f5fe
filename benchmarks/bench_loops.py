"""The two loops over time steps (forward pass and backpropagation through time), before and
after they were rewritten to write into buffers (commit after 70e4620).

The loops are the hot path of every gradient solver: L-BFGS at the paper's T=500 size spends
most of its time in one forward and one backward pass per function evaluation. The "before"
versions are copied here verbatim from ``skalm/model.py::forward`` and
``skalm/solvers/gradient.py::backprop`` at 70e4620; "after" is what the installed skalm runs.
Both give exactly the same arrays (checked below on every call timed, with ``array_equal``).

    taskset -c 1 python benchmarks/bench_loops.py

Prints milliseconds per call (median of ``--repeats`` blocks of ``--calls`` calls, one BLAS
thread) for (T, n, m, r) = (450, 80, 30, 100) (the T=500 set's training rows) and (393, 11, 1,
20) (S&P), and the CPU seconds of a 200-iteration L-BFGS fit on the T=500 rows (one lambda of
0.1 on all blocks, N(0, 0.1) start: vs_peers.py's setting) with the package's loops against
the same fit with the "before" loops patched in.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

# This script compares two numpy loops; the compiled ones (the 'fast' extra) are measured by
# bench_recurrence.py.
os.environ["SKALM_DISABLE_NUMBA"] = "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, git_commit  # noqa: E402

import skalm.model  # noqa: E402
import skalm.solvers.gradient  # noqa: E402
from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.datasets import make_elman_sequence  # noqa: E402
from skalm.model import SequenceLayout, init_weights  # noqa: E402


def forward_before(weights, X, activation, layout=None, h0=None):
    W, V, b = weights.W, weights.V, weights.b
    T = X.shape[0]
    r = W.shape[0]
    U = X @ V.T + b
    H = np.empty_like(U)
    first = layout.first if layout is not None else None
    h = np.zeros(r, dtype=U.dtype) if h0 is None else np.asarray(h0, dtype=U.dtype)
    sigma = activation.sigma
    WT = np.ascontiguousarray(W.T)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            if first is not None and first[t] and t > 0:
                h = np.zeros(r, dtype=U.dtype)
            U[t] += h @ WT
            h = sigma(U[t])
            H[t] = h
    return U, H


def backward_loop_before(W, Delta, Dsig, last):
    carry = None
    for t in range(Delta.shape[0] - 1, -1, -1):
        if carry is not None and not last[t]:
            Delta[t] += (carry @ W) * Dsig[t]
        carry = Delta[t]


def backprop_before(weights, X, layout, activation, U, H, G_out, G_pre):
    """skalm.solvers.gradient.backprop at 70e4620, with its loop factored out above."""
    W, A = weights.W, weights.A
    dA = G_out.T @ H
    dc = G_out.sum(axis=0)
    Dsig = activation.derivative(U)
    Delta = (G_out @ A) * Dsig
    if G_pre is not None:
        Delta += G_pre
    backward_loop_before(W, Delta, Dsig, layout.last)
    Hprev = layout.shift_down(H)
    dW = Delta.T @ Hprev
    dV = Delta.T @ X
    db = Delta.sum(axis=0)
    dD = None if weights.D is None else G_out.T @ X
    return skalm.model.RNNWeights(dW, dV, db, dA, dc, dD)


def per_call_ms(fn, calls, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1e3)
    return float(np.median(times))


def loops(T, n, m, r, args, out):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (T, n))
    w = init_weights(r, n, m, scale=0.1, random_state=0)
    act = get_activation("relu")
    layout = SequenceLayout.from_starts(T)
    G_out, G_pre = rng.normal(size=(T, m)), rng.normal(size=(T, r)) * 1e-8
    U, H = skalm.model.forward(w, X, act)
    U0, H0 = forward_before(w, X, act)
    assert np.array_equal(U, U0) and np.array_equal(H, H0)
    g = skalm.solvers.gradient.backprop(w, X, layout, act, U, H, G_out, G_pre)
    g0 = backprop_before(w, X, layout, act, U, H, G_out, G_pre)
    assert all(np.array_equal(a, b) for a, b in zip(g, g0))
    rows = [
        ("forward", lambda: forward_before(w, X, act), lambda: skalm.model.forward(w, X, act)),
        ("backprop", lambda: backprop_before(w, X, layout, act, U, H, G_out, G_pre),
         lambda: skalm.solvers.gradient.backprop(w, X, layout, act, U, H, G_out, G_pre)),
    ]
    for name, before, after in rows:
        # interleaved, so that a change of load hits both
        b1 = per_call_ms(before, args.calls, args.repeats)
        a1 = per_call_ms(after, args.calls, args.repeats)
        b2 = per_call_ms(before, args.calls, args.repeats)
        a2 = per_call_ms(after, args.calls, args.repeats)
        b, a = min(b1, b2), min(a1, a2)
        out(f"  (T, n, m, r) = ({T}, {n}, {m}, {r})  {name:<9} before {b:7.3f} ms  after "
            f"{a:7.3f} ms  ratio {a / b:.2f}")


def end_to_end(args, out):
    X, Y = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
                               return_params=False)
    X, Y = X[:450], Y[:450]

    def fit():
        lam = dict.fromkeys(("lambda_A", "lambda_W", "lambda_V", "lambda_b", "lambda_c"), 0.1)
        est = ElmanRNNRegressor(solver="lbfgs", max_iter=200, n_iter_no_change=None,
                                init_scale=0.1, random_state=0, **lam)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.process_time()
            est.fit(X, Y)
        return time.process_time() - t0, est.predict(X)

    after, before = [], []
    new_fwd, new_bp = skalm.model.forward, skalm.solvers.gradient.backprop
    for _ in range(args.fits):
        t, p_after = fit()
        after.append(t)
        skalm.model.forward = skalm.solvers.gradient.forward = forward_before
        skalm.solvers.gradient.backprop = backprop_before
        try:
            t, p_before = fit()
        finally:
            skalm.model.forward = skalm.solvers.gradient.forward = new_fwd
            skalm.solvers.gradient.backprop = new_bp
        before.append(t)
        assert np.array_equal(p_after, p_before)
    b, a = float(np.median(before)), float(np.median(after))
    out(f"  L-BFGS, 200 iterations, T=500 set rows 0-449 (r = 100): before {b:.2f} CPU s, "
        f"after {a:.2f} CPU s, ratio {a / b:.2f} (median of {args.fits}; same predictions)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--fits", type=int, default=3)
    args = ap.parse_args()
    path = os.path.join(RESULTS, "bench_loops.txt")
    with open(path, "w") as fh:
        def out(line):
            print(line, flush=True)
            fh.write(line + "\n")

        out(f"# python benchmarks/bench_loops.py ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
            f" commit {git_commit()}, affinity {sorted(os.sched_getaffinity(0))}, load average "
            + " ".join(open("/proc/loadavg").read().split()[:3]) + ")")
        with threadpool_limits(1):
            for shape in ((450, 80, 30, 100), (393, 11, 1, 20)):
                loops(*shape, args, out)
            end_to_end(args, out)


if __name__ == "__main__":
    main()
