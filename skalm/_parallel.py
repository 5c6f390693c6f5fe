"""A BCD sweep over time chunks on a pool of threads.

ALM-BCD's blocks are not sequential in time: the z-block is two ridge regressions whose Gram
matrices are sums over rows, and the h- and u-blocks are independent per row given one
neighbouring row (:mod:`skalm.solvers.blocks`). So one sweep is

1. a map over time chunks: each chunk's Gram sums (reading h_{a-1} of the chunk before),
2. a reduce: the sums added in chunk order and the two small ridge systems solved,
3. a map: X V^T, the h-block's right-hand sides (reading q_b of the chunk after) and solves,
4. a map: the pre-activations (reading the new h_{a-1}), the u-block and the constraints.

numpy releases the GIL in its BLAS calls and elementwise loops, so the chunks run in parallel
on threads. Each chunk's BLAS runs on one thread (the pool is the parallelism; a multi-threaded
BLAS under several calling threads only oversubscribes the cores).

The result equals the one-piece sweep up to rounding: only the order in which the Gram sums
are added differs. ``tests/test_parallel_sweep.py`` checks it against the one-piece sweep and
the literal Kronecker form.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._threads import blas_threads_limited, largest_blas_threads
from .solvers.blocks import h_matrices, h_rows, u_constraints_rows, z_solve, z_sums_rows
from .solvers.lagrangian import ALMPoint

__all__ = [
    "MIN_CHUNK_ROWS", "MIN_CHUNK_ROW_WORK", "MIN_ONE_THREAD_SIZE", "resolve_threads", "one_blas_thread",
    "sweep_chunks", "chunk_bounds", "chunked_sweep",
]

#: Fewest rows per chunk: below this a chunk's fixed costs (thread hand-over, a few small
#: products and solves) outweigh what a second core saves. ``benchmarks/bench_chunks.py``
#: (two runs on the shared 2-core benchmark machine, load average 1.6-2.9): with chunks of
#: 250-1000 rows two threads were slower than one piece at every width (0.50-0.99x); from
#: 1500 rows they won at (r, n) = (50, 20) (1.10-1.29x), from 2000 at (200, 50)
#: (1.04-1.06x); at (100, 80) they stayed at 0.84-0.99x up to 3000 rows.
MIN_CHUNK_ROWS = 2000

#: Smallest r (r + n + 1), the multiply-adds per row of the z-block's Gram matrix, for which a
#: sweep is split at all: below, a sweep is mostly the fixed cost of its numpy calls, which
#: every chunk pays again. At (r, n) = (20, 11) (640) two chunks lost at every length measured
#: (0.50-0.93x, chunks of 250-3000 rows); at (50, 20) (3550) they won from 1500 rows.
MIN_CHUNK_ROW_WORK = 3000

#: Entries of h (T r) from which a sweep too short for chunks still pins BLAS to one thread
#: when more were asked for; below, OpenBLAS runs its products on one thread anyway and the
#: limit itself (some 15 microseconds with the library scan reused, see :mod:`skalm._threads`)
#: would cost more than it saves.
MIN_ONE_THREAD_SIZE = 20_000

_pools = {}
_pool_lock = threading.Lock()


def one_blas_thread():
    """Context manager: every loaded BLAS on one thread, through the thread-safe limit of
    :func:`skalm._threads.blas_threads_limited` (fits in other threads may hold limits of
    their own); nothing to do, for a few microseconds, when they are on one thread already,
    as inside an ALM-BCD fit."""
    if largest_blas_threads() == 1:
        return contextlib.nullcontext()
    return blas_threads_limited(1)


def _pool(n_threads):
    """One long-lived pool per thread count (starting threads at every sweep costs more
    than a small sweep)."""
    with _pool_lock:
        if n_threads not in _pools:
            _pools[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="skalm-sweep")
        return _pools[n_threads]


def resolve_threads(n_threads):
    """The number of threads a sweep may use: ``n_threads`` itself, or for None what a BLAS
    would start with (OMP_NUM_THREADS, else OPENBLAS_NUM_THREADS, else the CPUs), at most the
    CPUs this process may run on. (Not the BLAS setting in effect: ALM-BCD pins BLAS to one
    thread while it runs.)"""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    if n_threads is None:
        env = os.environ.get("OMP_NUM_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS")
        try:
            n_threads = int(env) if env else cpus
        except ValueError:  # e.g. "4,2" (nested OpenMP levels): the first level
            n_threads = int(env.split(",")[0] or 1)
    return max(1, min(int(n_threads), cpus))


def chunk_bounds(n_steps, n_chunks):
    """[(a, b), ...]: ``n_chunks`` contiguous row ranges of near-equal length covering
    [0, n_steps)."""
    edges = np.linspace(0, n_steps, n_chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def sweep_chunks(n_steps, n_threads, n_hidden=None, n_inputs=0):
    """The number of time chunks a sweep of ``n_steps`` rows runs in when ``n_threads``
    threads are allowed (None: :func:`resolve_threads`): one per thread, at least
    :data:`MIN_CHUNK_ROWS` rows each, and none for a network with ``n_hidden`` units and
    ``n_inputs`` inputs narrower than :data:`MIN_CHUNK_ROW_WORK`; 1 means one piece."""
    if n_hidden is not None and n_hidden * (n_hidden + n_inputs + 1) < MIN_CHUNK_ROW_WORK:
        return 1
    return max(1, min(resolve_threads(n_threads), n_steps // MIN_CHUNK_ROWS))


def chunked_sweep(problem, s, Xi, Zeta, gamma, mu, activation, n_chunks):
    """One sweep z -> h -> u of :func:`~skalm.solvers.alm_bcd.bcd_sweep` over ``n_chunks``
    time chunks on as many threads (whatever their length: :func:`sweep_chunks` decides when
    chunks pay). Returns the new point and its constraints (C1, C2)."""
    T, r = s.H.shape
    bounds = chunk_bounds(T, max(1, min(n_chunks, T)))
    skip = s.weights.D is not None
    pool = _pool(len(bounds))

    def run(fn):
        return list(pool.map(lambda ab: fn(*ab), bounds))

    with one_blas_thread():
        parts = run(lambda a, b: z_sums_rows(problem, s.H, s.U, Xi, gamma, skip, a, b))
        sums = [np.array(x, copy=True) for x in parts[0]]
        for part in parts[1:]:  # in chunk order: the same sum at every run
            for acc, x in zip(sums, part):
                acc += x
        weights = z_solve(problem, sums, gamma, r, skip, overwrite=True)  # sums: copies
        D1inv, D2 = h_matrices(weights, T, gamma)
        XV = np.empty_like(s.U)

        def fill_xv(a, b):
            np.matmul(problem.X[a:b], weights.V.T, out=XV[a:b])

        # h_rows reads XV one row past its chunk: all of XV first.
        run(fill_xv)
        H = np.empty_like(s.U)
        run(lambda a, b: h_rows(problem, weights, s.U, Xi, Zeta, gamma, activation, XV, D1inv, D2,
                                a, b, H))
        U = np.empty_like(s.U)
        C1 = np.empty_like(s.U)
        C2 = np.empty_like(s.U)

        def u_and_constraints(a, b):
            U[a:b], C1[a:b], C2[a:b] = u_constraints_rows(
                problem, weights, H, s.U, Xi, Zeta, gamma, mu, activation, XV, a, b)

        run(u_and_constraints)
    return ALMPoint(weights, H, U), (C1, C2)
