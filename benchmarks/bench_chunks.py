"""When does the time-chunked sweep pay? One BCD sweep in one piece on one thread against the
same sweep over two time chunks on two threads (``skalm._parallel.chunked_sweep``), over a grid
of sizes, and the smallest chunk length from which the chunks win.

Prints, for each (r, n, m) and T: the median wall ms of the one-piece sweep (BLAS on one
thread, as inside an ALM-BCD fit), of the sweep over two chunks of T/2 rows on two threads
(each chunk's BLAS on one thread), and the speed-up (one piece / chunked; above 1 the chunks
win). The two are interleaved, repetition by repetition, so that a change of machine load hits
both. Then, per (r, n, m), the shortest chunk (T/2 rows) from which every longer one measured
wins by at least ``--margin`` (default 1.05), and where ``skalm._parallel.sweep_chunks`` (its
thresholds ``MIN_CHUNK_ROWS`` and ``MIN_CHUNK_ROW_WORK``, set from this table) engages the
chunks. The two threads only pay when the second core is free: run on an otherwise idle
machine (the header prints the load average before, the footer after).

    python benchmarks/bench_chunks.py            # the full grid (a few minutes)
    python benchmarks/bench_chunks.py --quick    # fewer sizes and repetitions
"""

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_sweep import sweep_case
from skalm import _parallel
from skalm.solvers.alm_bcd import bcd_sweep

SHAPES = [(20, 11, 1), (50, 20, 5), (100, 80, 30), (200, 50, 5)]
STEPS = [500, 1000, 1500, 2000, 3000, 4000, 6000]
QUICK_STEPS = [500, 1000, 2000, 4000]


def one_vs_chunked(r, n, m, T, budget_s):
    """Median wall ms of the one-piece sweep and of the two-chunk sweep, interleaved, with as
    many repetitions as fit in about ``budget_s`` seconds (at least 5)."""
    problem, s, Xi, Zeta, act = sweep_case(r, n, m, T)
    runs = {
        "one": lambda: bcd_sweep(problem, s, Xi, Zeta, 1.3, 1e-5, act),
        "chunked": lambda: _parallel.chunked_sweep(problem, s, Xi, Zeta, 1.3, 1e-5, act, 2),
    }
    times = {k: [] for k in runs}
    with threadpool_limits(1):
        t0 = time.perf_counter()
        for f in runs.values():  # warm-up: compilation, the thread pool, caches
            f()
        per_rep = time.perf_counter() - t0
        reps = max(5, int(budget_s / max(per_rep, 1e-6)))
        for rep in range(reps):
            order = list(runs) if rep % 2 else list(runs)[::-1]
            for k in order:
                t0 = time.perf_counter()
                runs[k]()
                times[k].append(time.perf_counter() - t0)
    return {k: 1e3 * float(np.median(v)) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer sizes and repetitions")
    ap.add_argument("--margin", type=float, default=1.05,
                    help="speed-up the chunks must reach to count as a win (default 1.05)")
    args = ap.parse_args()
    steps = QUICK_STEPS if args.quick else STEPS
    budget = 0.4 if args.quick else 1.0
    print(f"# load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"cores for this process {len(os.sched_getaffinity(0))}; "
          f"MIN_CHUNK_ROWS in effect {_parallel.MIN_CHUNK_ROWS}")
    header = f"{'r':>4} {'n':>3} {'m':>3} {'T':>6} {'rows/chunk':>10} | {'one ms':>8} {'2 chunks ms':>11} | speed-up"
    print(header)
    print("-" * len(header))
    shortest = {}
    for r, n, m in SHAPES:
        wins = []
        for T in steps:
            t = one_vs_chunked(r, n, m, T, budget)
            speed = t["one"] / t["chunked"]
            wins.append((T // 2, speed >= args.margin))
            print(f"{r:>4} {n:>3} {m:>3} {T:>6} {T // 2:>10} | {t['one']:>8.2f} {t['chunked']:>11.2f} |"
                  f" {speed:>6.2f}x", flush=True)
        # The shortest chunk from which every longer measured one wins.
        first = None
        for rows, win in reversed(wins):
            if not win:
                break
            first = rows
        shortest[(r, n, m)] = first
    print(f"\nshortest chunk (rows) from which two chunks win by >= {args.margin:.2f}x at every"
          " longer size measured:")
    for (r, n, m), rows in shortest.items():
        print(f"  (r, n, m) = ({r}, {n}, {m}): " + (f"{rows}" if rows else "never in the grid"))
    known = [v for v in shortest.values() if v]
    print("in effect: MIN_CHUNK_ROWS", _parallel.MIN_CHUNK_ROWS, "and MIN_CHUNK_ROW_WORK",
          _parallel.MIN_CHUNK_ROW_WORK, "(r (r + n + 1) per row); chunks engage at: " + ", ".join(
              f"({r}, {n}, {m}): T >= {2 * _parallel.MIN_CHUNK_ROWS}"
              if _parallel.sweep_chunks(10**9, 2, r, n) > 1 else f"({r}, {n}, {m}): never"
              for r, n, m in shortest))
    if known:
        print(f"largest shortest winning chunk over the widths where chunks won: {max(known)} rows")
    print(f"# load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
