"""Speed of one structured ALM-BCD sweep at 1 and 2 threads, against the machine's GEMM rate.

Prints, for each (r, n, m, T):

* ``thr 1``: one thread (``blas_threads=1``, the default): median ms per sweep and per block
  (z, h, and u as the sweep runs it: with X V^T and the constraints, compiled with the fast
  extra) and of the stationarity certificate, the FLOP count of one sweep (products,
  factorizations and solves, counted analytically: :func:`sweep_flops`), the rate of general
  products (GEMM) of the sweep's dominant shapes at one thread, measured as one more mode of
  the same interleaved loop, and the ratio (sweep time) / (FLOPs / GEMM rate) ("GEMM bound"),
  for the method's FLOPs (``ratio``) and the executed ones (``exec``);
* ``thr 2``: what ``blas_threads=2`` (or None on two cores) runs: the sweep over time chunks
  on two threads when ``skalm._parallel.sweep_chunks`` says so (T >= 2 * MIN_CHUNK_ROWS and
  r (r + n + 1) >= MIN_CHUNK_ROW_WORK; ``bench_chunks.py`` measures where), else the one-piece sweep
  on one BLAS thread (T r >= MIN_ONE_THREAD_SIZE) or on the BLAS threads (smaller); and the
  speed-up over ``thr 1`` (their medians, one run);
* ``blas 2``: the one-piece sweep with two BLAS threads (no chunks, no pinning): a stall of
  multi-threaded BLAS shows here as a speed-up below 1.

Then each size again, the sweep timed as the inner loop runs it (followed by its certificate)
at 1 and 2 threads, and its ratio to the GEMM bound (:func:`in_loop`): the figures a fit sees.

Then a short ALM-BCD fit with ``blas_threads`` 1, 2 and None (sweeps, certificates, L and the
loss records: the parts outside the sweep run on the BLAS threads the solver sets).

Then the peak memory of a short fit at the largest size, measured in a child process. The
modes are interleaved, repetition by repetition, so that a change of machine load hits all.

    python benchmarks/bench_sweep.py            # all sizes
    python benchmarks/bench_sweep.py --quick    # fewer repetitions
    python benchmarks/bench_sweep.py --runs 5   # the in-loop timing 5 times per size

On a machine that sets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for an old OpenBLAS, unset both
for this command (``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...``); the header
prints the kernel (architecture) OpenBLAS chose.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from skalm.activations import get_activation
from skalm.model import Lambdas, forward, init_weights
from skalm.solvers import Problem
from skalm.solvers.alm_bcd import ALMPoint, bcd_sweep, certificate, h_block, z_block
from skalm.solvers.blocks import u_constraints_rows

SIZES = [(20, 11, 1, 393), (100, 80, 30, 500), (200, 50, 5, 5000)]


def sweep_flops(r, n, m, T):
    """FLOPs of one sweep as the method does them (elementwise work not counted): products,
    Cholesky factorizations (p^3 / 3) and triangular solves (p^2 flops per right-hand side and
    direction), the h-block's D1 and D2 each factored and D1 solved for the T rows. A Gram
    matrix A^T A of a (T, p) matrix is symmetric, p (p + 1) T flops (BLAS syrk, which numpy
    runs for ``A.T @ A``), not a general product's 2 p^2 T."""
    p = r + n + 1
    z = p * (p + 1) * T + 2 * p * T * r + p**3 / 3 + 2 * p * p * r  # Z^T Z, Z^T U', chol, solve
    z += (r + 1) * (r + 2) * T + 2 * (r + 1) * T * m + (r + 1) ** 3 / 3 + 2 * (r + 1) ** 2 * m
    h = 2 * T * n * r + 2 * T * r * r + 2 * T * m * r  # X V^T, Q W, (Y - c) A
    # A^T A, W^T W, the Cholesky factors of D1 and D2, D1 solved for T rows (two triangular
    # solves of r^2 flops per row)
    h += r * (r + 1) * m + r * r * (r + 1) + 2 * (r**3 / 3) + 2 * r * r * T
    u = 2 * T * r * r  # Hprev W^T (X V^T is shared with the h-block)
    return {"z": z, "h": h, "u": u, "sweep": z + h + u}


def executed_flops(r, n, m, T):
    """The FLOPs the implementation executes: as :func:`sweep_flops`, but each ridge system
    solved by Cholesky and block substitution (p^3/3 + 2 p^2 k, the diagonal blocks of at
    most 64 rows inverted directly: p 64^2 / 3 more), the output Gram [h_t, 1]^T [h_t, 1]
    read off Z^T Z (not a product over T rows), the h-block's T rows multiplied by
    D1^{-1} (2 r^2 T, and r^3 / 3 + r^2 (r + 1) to form it from its factor) and its last rows
    solved with D2 in m x m (Woodbury, m < r: not counted) instead of factoring D2."""
    def ridge(p, k):
        return p**3 / 3 + p * 64**2 / 3 + 2 * p * p * k

    p = r + n + 1
    z = p * (p + 1) * T + 2 * p * T * r + ridge(p, r)
    z += 2 * (r + 1) * T * m + ridge(r + 1, m)
    h = 2 * T * n * r + 2 * T * r * r + 2 * T * m * r
    h += r * (r + 1) * m + r * r * (r + 1) + (2 * r**3 / 3 + r * r * (r + 1)) + 2 * r * r * T
    if m >= r:
        h += r**3 / 3
    u = 2 * T * r * r
    return z + h + u


def gemm_operands(r, n, T):
    """Operands of the sweep's dominant product shapes, (T x (r+n+1))^T (T x (r+n+1)) and
    (T x (r+n+1))^T (T x r), and their FLOPs as general products (2 p^2 T + 2 p r T)."""
    rng = np.random.RandomState(0)
    a = rng.standard_normal((T, r + n + 1))
    # A copy, not ``a`` itself: numpy runs ``a.T @ a`` as a symmetric rank-k update (half
    # the FLOPs), which would count as a GEMM at twice its rate.
    a2 = a.copy()
    b = rng.standard_normal((T, r))
    p = r + n + 1
    return a, a2, b, 2 * p * p * T + 2 * p * T * r


def interleaved_ms(fns, repeat, warm=()):
    """Median ms of each (name -> (threads, function)), the modes interleaved per repetition;
    also the median CPU ms of the calling thread (``name + "_cpu"``): on a machine loaded by
    other work, the one-thread figures by CPU time are what the code costs. The modes named
    in ``warm`` run once untimed right before each timed call (on data in cache)."""
    times = {name: [] for name in fns}
    cpu = {name: [] for name in fns}
    for rep in range(repeat + 1):
        for name, (threads, f) in fns.items():
            with threadpool_limits(threads):
                if name in warm:
                    f()
                t0, c0 = time.perf_counter(), time.thread_time()
                f()
                if rep:  # the first round warms up (compilation, pools, caches)
                    times[name].append(time.perf_counter() - t0)
                    cpu[name].append(time.thread_time() - c0)
    out = {name: 1e3 * float(np.median(ts)) for name, ts in times.items()}
    out.update({name + "_cpu": 1e3 * float(np.median(ts)) for name, ts in cpu.items()})
    return out


def sweep_case(r, n, m, T):
    """The sweep's inputs at one size: (problem, start point, Xi, Zeta, ReLU), random data
    and multipliers, the start on the forward pass of small random weights."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((T, n))
    Y = rng.standard_normal((T, m))
    act = get_activation("relu")
    problem = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m))
    w0 = init_weights(r, n, m, "normal", 0.1, random_state=0)
    U, H = forward(w0, X, act)
    Xi = 0.01 * rng.standard_normal((T, r))
    Zeta = 0.01 * rng.standard_normal((T, r))
    return problem, ALMPoint(w0, H, U), Xi, Zeta, act


def bench(r, n, m, T, repeat):
    problem, s, Xi, Zeta, act = sweep_case(r, n, m, T)
    H, U = s.H, s.U
    gamma, mu = 1.3, 1e-5
    w1 = z_block(problem, H, U, Xi, gamma)
    H1 = h_block(problem, w1, U, Xi, Zeta, gamma, act)
    s1, C = bcd_sweep(problem, s, Xi, Zeta, gamma, mu, act)

    def sweep(n_threads):
        return lambda: bcd_sweep(problem, s, Xi, Zeta, gamma, mu, act, n_threads=n_threads)

    def kappa():
        return certificate(problem, s1, U, Xi, Zeta, gamma, mu, act, C)

    a, a2, b, gemm_flops = gemm_operands(r, n, T)

    def gemm():
        return a.T @ a2, a.T @ b

    out = interleaved_ms({
        "sweep1": (1, sweep(1)), "sweep2": (2, sweep(2)), "blas2": (2, sweep(1)),
        "z": (1, lambda: z_block(problem, H, U, Xi, gamma)),
        "h": (1, lambda: h_block(problem, w1, U, Xi, Zeta, gamma, act)),
        "u": (1, lambda: u_constraints_rows(problem, w1, H1, U, Xi, Zeta, gamma, mu, act, None,
                                            0, T)),
        "kappa1": (1, kappa), "kappa2": (2, kappa),
        # The GEMM reference as one more mode (on data in cache: the products run once untimed
        # first), so that it sees the machine the sweeps see during the run.
        "gemm": (1, gemm),
    }, repeat, warm=("gemm",))
    # And back to back after the loop, as before: the faster of the two rates is the bound
    # (the stricter one; next to the two-thread modes the interleaved products can also run
    # beside OpenBLAS threads still spinning on the other core).
    with threadpool_limits(1):
        after = interleaved_ms({"gemm": (1, gemm)}, repeat, warm=("gemm",))
    for k in ("gemm", "gemm_cpu"):
        out[k] = 1e3 * gemm_flops / min(out[k], after[k])
    return out


def in_loop(r, n, m, T, repeat):
    """Median ms of a sweep as the inner loop runs it: each sweep followed by its stationarity
    certificate (untimed), on 1 and on 2 threads (``bcd_sweep(n_threads=k)`` with BLAS on
    one thread, as ALM-BCD runs with ``blas_threads=k``), alternating per repetition; then the
    GEMM rate of :func:`gemm_operands` on one thread, timed as :func:`bench`'s reference
    after its loop (:func:`interleaved_ms`, data in cache). Returns
    ``{"sweep1", "sweep2", "gemm"}`` (ms, ms, FLOP/s).

    :func:`bench`'s table times each mode right after the others (the two-thread ones among
    them); a sweep there reads up to 1.5x the time it takes in a fit, whose sweeps follow a
    certificate on the same arrays (this machine, (100, 80, 30, 500), three runs in
    ``results/bench_sweep.txt``: 5.3-5.8 ms in the tables, medians of 4.0-4.1 ms here)."""
    problem, s, Xi, Zeta, act = sweep_case(r, n, m, T)
    gamma, mu = 1.3, 1e-5
    times = {1: [], 2: []}
    for rep in range(repeat + 1):
        for k in times:
            with threadpool_limits(1):
                t0 = time.perf_counter()
                new, C = bcd_sweep(problem, s, Xi, Zeta, gamma, mu, act, n_threads=k)
                t = time.perf_counter() - t0
                certificate(problem, new, s.U, Xi, Zeta, gamma, mu, act, C)
            if rep:
                times[k].append(t)
    a, a2, b, gemm_flops = gemm_operands(r, n, T)
    products = interleaved_ms({"gemm": (1, lambda: (a.T @ a2, a.T @ b))}, repeat, warm=("gemm",))
    return {"sweep1": 1e3 * float(np.median(times[1])), "sweep2": 1e3 * float(np.median(times[2])),
            "gemm": 1e3 * gemm_flops / products["gemm"]}


def fit_times(r, n, m, T, repeat):
    """Median wall seconds of a short ALM-BCD fit for blas_threads 1, 2 and None, interleaved."""
    import warnings

    from skalm.solvers import get_solver_class

    rng = np.random.RandomState(0)
    X = rng.standard_normal((T, n))
    Y = rng.standard_normal((T, m))
    p = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m))
    w0 = init_weights(r, n, m, random_state=0)
    act = get_activation("relu")
    times = {1: [], 2: [], None: []}
    for _ in range(repeat + 1):
        for k in times:
            solver = get_solver_class("alm-bcd")(max_iter=2, max_inner_iter=5, blas_threads=k)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                solver.solve(p, act, w0)
                times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v[1:])) for k, v in times.items()}


def peak_memory_child(r, n, m, T, sweeps):
    """Run in a child: peak RSS and tracemalloc peak of a short fit at this size."""
    code = f"""
import json, resource, tracemalloc, warnings
import numpy as np
from skalm.activations import get_activation
from skalm.model import Lambdas, init_weights
from skalm.solvers import Problem, get_solver_class
rng = np.random.RandomState(0)
X = rng.standard_normal(({T}, {n})); Y = rng.standard_normal(({T}, {m}))
p = Problem(X, Y, Lambdas.from_alpha(1.0, {r}, {n}, {m}))
w0 = init_weights({r}, {n}, {m}, random_state=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    get_solver_class("alm-bcd")(max_iter=2, max_inner_iter={sweeps}).solve(p, get_activation("relu"), w0)
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({{"tracemalloc_peak_mb": peak / 2**20, "data_mb": (X.nbytes + Y.nbytes) / 2**20,
  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
  "maxrss_before_fit_mb": base / 1024}}))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def blas_kernel():
    """'architecture version' of each BLAS loaded (threadpoolctl)."""
    return ", ".join(f"{i['internal_api']} {i.get('architecture')} {i['version']}"
                     for i in threadpool_info() if i["user_api"] == "blas")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs of the in-loop timing per size (their medians are printed)")
    args = ap.parse_args()
    print(f"# BLAS: {blas_kernel()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    header = (
        f"{'r':>4} {'n':>3} {'m':>3} {'T':>5} {'mode':>6} | {'sweep':>7} {'z':>6} {'h':>6}"
        f" {'u':>6} {'kappa':>6} ms | {'MFLOP':>7} {'GEMM GF/s':>9} {'ratio':>6} {'exec':>5} |"
        " speed-up | CPU: sweep ms, ratio"
    )
    print(header)
    print("-" * len(header))
    for r, n, m, T in SIZES:
        repeat = (5 if args.quick else 15) if T > 1000 else (15 if args.quick else 60)
        fl = sweep_flops(r, n, m, T)
        b = bench(r, n, m, T, repeat)
        ideal_ms = 1e3 * fl["sweep"] / b["gemm"]
        blank = f"{'-':>6}"
        print(
            f"{r:>4} {n:>3} {m:>3} {T:>5} {'thr 1':>6} | {b['sweep1']:>7.2f} {b['z']:>6.2f}"
            f" {b['h']:>6.2f} {b['u']:>6.2f} {b['kappa1']:>6.2f}    | {fl['sweep'] / 1e6:>7.1f}"
            f" {b['gemm'] / 1e9:>9.1f} {b['sweep1'] / ideal_ms:>6.2f}"
            f" {b['sweep1'] / (1e3 * executed_flops(r, n, m, T) / b['gemm']):>5.2f} |"
            f" {'':>7} | {b['sweep1_cpu']:>7.2f}"
            f" {b['sweep1_cpu'] / (1e3 * fl['sweep'] / b['gemm_cpu']):>5.2f}"
        )
        for mode, key, kap in (("thr 2", "sweep2", "kappa2"), ("blas 2", "blas2", "kappa2")):
            print(
                f"{'':>4} {'':>3} {'':>3} {'':>5} {mode:>6} | {b[key]:>7.2f} {blank} {blank}"
                f" {blank} {b[kap]:>6.2f}    | {'':>7} {'':>9} {'':>6} {'':>5} |"
                f" {b['sweep1'] / b[key]:>5.2f}x",
                flush=True,
            )
    print("\nA sweep as the inner loop runs it (each followed by its certificate, untimed), 1 and"
          " 2 threads (time chunks; BLAS on one thread, as in a fit) alternating per"
          " repetition; GEMM rate back to back, one thread:")
    for r, n, m, T in SIZES:
        repeat = (10 if args.quick else 30) if T > 1000 else (60 if args.quick else 200)
        ratios, speedups = [], []
        for run in range(args.runs):
            lo = in_loop(r, n, m, T, repeat)
            ideal_ms = 1e3 * sweep_flops(r, n, m, T)["sweep"] / lo["gemm"]
            ratios.append(lo["sweep1"] / ideal_ms)
            speedups.append(lo["sweep1"] / lo["sweep2"])
            print(f"  (r, n, m, T) = ({r}, {n}, {m}, {T}), run {run + 1}: 1 thread"
                  f" {lo['sweep1']:.2f} ms, {ratios[-1]:.2f}x the GEMM bound"
                  f" ({lo['gemm'] / 1e9:.1f} GF/s); 2 threads {lo['sweep2']:.2f} ms, speed-up"
                  f" {speedups[-1]:.2f}x", flush=True)
        if args.runs > 1:
            print(f"  (r, n, m, T) = ({r}, {n}, {m}, {T}), median of {args.runs} runs:"
                  f" {np.median(ratios):.2f}x the GEMM bound, speed-up"
                  f" {np.median(speedups):.2f}x on 2 threads", flush=True)
    fits = fit_times(200, 50, 5, 5000, 3 if args.quick else 5)
    print("\nALM-BCD fit at (r, n, m, T) = (200, 50, 5, 5000), 2 outer x 5 sweeps (sweeps,"
          " certificates, L, loss records), median wall s: " + ", ".join(
              f"blas_threads={k}: {v:.2f} s ({fits[1] / v:.2f}x)" for k, v in fits.items()))
    mem = peak_memory_child(200, 50, 5, 5000, 5)
    print(
        "\npeak memory of a fit at (r, n, m, T) = (200, 50, 5, 5000), 2 outer x 5 sweeps: "
        f"tracemalloc peak {mem['tracemalloc_peak_mb']:.1f} MiB (data {mem['data_mb']:.1f} MiB), "
        f"process max RSS {mem['maxrss_mb']:.0f} MiB (before the fit {mem['maxrss_before_fit_mb']:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
