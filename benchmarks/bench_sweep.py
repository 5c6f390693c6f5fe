"""Speed of one structured ALM-BCD sweep, per block, against the machine's GEMM rate.

Prints, for each (r, n, m, T) and BLAS thread count: median ms per sweep and per block
(z, h, u) and of the stationarity certificate, the FLOP count of one sweep (GEMMs and
triangular solves, counted analytically), the GEMM rate measured in the same run with the
same threads, and the ratio (sweep time) / (FLOPs / GEMM rate). Then the peak memory of a
short fit at the largest size, measured in a child process.

    python benchmarks/bench_sweep.py            # all sizes, 1 and 2 threads
    python benchmarks/bench_sweep.py --quick    # fewer repetitions
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skalm.activations import get_activation
from skalm.model import Lambdas, forward, init_weights
from skalm.solvers import Problem
from skalm.solvers.alm_bcd import ALMPoint, bcd_sweep, certificate, h_block, u_block, z_block

SIZES = [(20, 11, 1, 393), (100, 80, 30, 500), (200, 50, 5, 5000)]


def sweep_flops(r, n, m, T):
    """GEMM + Cholesky + triangular-solve FLOPs of one sweep (elementwise work not counted)."""
    p = r + n + 1
    z = 2 * p * p * T + 2 * p * T * r + p**3 / 3 + 2 * p * p * r  # Z^T Z, Z^T U', chol, solve
    z += 2 * (r + 1) ** 2 * T + 2 * (r + 1) * T * m + (r + 1) ** 3 / 3 + 2 * (r + 1) ** 2 * m
    h = 2 * T * n * r + 2 * T * r * r + 2 * T * m * r  # X V^T, Q W, (Y - c) A
    h += 2 * r * m * r + 2 * r**3 + 2 * (r**3 / 3) + 2 * 2 * r * r * T  # A^T A, W^T W, 2 chol, solves
    u = 2 * T * r * r  # Hprev W^T (X V^T is shared with the h-block)
    return {"z": z, "h": h, "u": u, "sweep": z + h + u}


def gemm_rate(r, n, T, repeat):
    """FLOP/s of the sweep's dominant product shape (T x (r+n+1))^T (T x r), same threads."""
    rng = np.random.RandomState(0)
    a = rng.standard_normal((T, r + n + 1))
    b = rng.standard_normal((T, r))
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a.T @ a
        a.T @ b
        ts.append(time.perf_counter() - t0)
    p = r + n + 1
    return (2 * p * p * T + 2 * p * T * r) / np.median(ts)


def median_ms(f, repeat):
    f()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(ts))


def bench(r, n, m, T, threads, repeat):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((T, n))
    Y = rng.standard_normal((T, m))
    act = get_activation("relu")
    problem = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m))
    w0 = init_weights(r, n, m, "normal", 0.1, random_state=0)
    U, H = forward(w0, X, act)
    s = ALMPoint(w0, H, U)
    Xi = 0.01 * rng.standard_normal((T, r))
    Zeta = 0.01 * rng.standard_normal((T, r))
    gamma, mu = 1.3, 1e-5
    with threadpool_limits(threads):
        w1 = z_block(problem, H, U, Xi, gamma)
        H1 = h_block(problem, w1, U, Xi, Zeta, gamma, act)
        s1, C = bcd_sweep(problem, s, Xi, Zeta, gamma, mu, act)
        out = {
            "z": median_ms(lambda: z_block(problem, H, U, Xi, gamma), repeat),
            "h": median_ms(lambda: h_block(problem, w1, U, Xi, Zeta, gamma, act), repeat),
            "u": median_ms(lambda: u_block(problem, w1, H1, U, Xi, Zeta, gamma, mu, act), repeat),
            "sweep": median_ms(lambda: bcd_sweep(problem, s, Xi, Zeta, gamma, mu, act), repeat),
            "kappa": median_ms(
                lambda: certificate(problem, s1, U, Xi, Zeta, gamma, mu, act, C), repeat
            ),
            "gemm": gemm_rate(r, n, T, repeat),
        }
    return out


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args()
    header = (
        f"{'r':>4} {'n':>3} {'m':>3} {'T':>5} {'thr':>3} | {'sweep':>7} {'z':>6} {'h':>6} {'u':>6}"
        f" {'kappa':>6} ms | {'MFLOP':>7} {'GEMM GF/s':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r, n, m, T in SIZES:
        repeat = (5 if args.quick else 15) if T > 1000 else (15 if args.quick else 60)
        fl = sweep_flops(r, n, m, T)
        for threads in (1, 2):
            b = bench(r, n, m, T, threads, repeat)
            ideal_ms = 1e3 * fl["sweep"] / b["gemm"]
            print(
                f"{r:>4} {n:>3} {m:>3} {T:>5} {threads:>3} | {b['sweep']:>7.2f} {b['z']:>6.2f}"
                f" {b['h']:>6.2f} {b['u']:>6.2f} {b['kappa']:>6.2f}    | {fl['sweep'] / 1e6:>7.1f}"
                f" {b['gemm'] / 1e9:>9.1f} {b['sweep'] / ideal_ms:>6.2f}",
                flush=True,
            )
    mem = peak_memory_child(200, 50, 5, 5000, 5)
    print(
        "\npeak memory of a fit at (r, n, m, T) = (200, 50, 5, 5000), 2 outer x 5 sweeps: "
        f"tracemalloc peak {mem['tracemalloc_peak_mb']:.1f} MiB (data {mem['data_mb']:.1f} MiB), "
        f"process max RSS {mem['maxrss_mb']:.0f} MiB (before the fit {mem['maxrss_before_fit_mb']:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
