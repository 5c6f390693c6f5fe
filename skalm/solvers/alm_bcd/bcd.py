"""One BCD sweep (Algorithm 3.2) over the blocks of :mod:`skalm.solvers.blocks`."""

from __future__ import annotations

from functools import singledispatch

from ..blocks import h_block, u_constraints_rows, z_block
from ..lagrangian import ALMPoint

__all__ = ["bcd_sweep"]


@singledispatch  # generic in the problem: skalm.distributed registers the chunked sweep
def bcd_sweep(problem, s, Xi, Zeta, gamma, mu, activation, n_threads=1):
    """One sweep z -> h -> u. Returns the new point and its constraints (C1, C2).

    ``n_threads``: 1 runs the sweep in one piece; more (None: as many as BLAS may use, see
    :func:`skalm._parallel.resolve_threads`) split the rows into time chunks of at least
    :data:`~skalm._parallel.MIN_CHUNK_ROWS` rows swept on a pool of threads
    (:func:`skalm._parallel.chunked_sweep`); the result is the same up to rounding. A sweep
    too short for two chunks runs in one piece on one BLAS thread: a multi-threaded OpenBLAS
    product waits for its worker threads to get a core, which on a busy machine costs more
    than a second core saves at these sizes.
    """
    if n_threads != 1:
        from ... import _parallel

        n = min(_parallel.resolve_threads(n_threads), problem.n_steps // _parallel.MIN_CHUNK_ROWS)
        if n > 1:
            return _parallel.chunked_sweep(problem, s, Xi, Zeta, gamma, mu, activation, n)
        if s.H.size >= _parallel.MIN_ONE_THREAD_SIZE:
            # Too short for chunks: one piece on one BLAS thread (see _parallel.one_blas_thread).
            with _parallel.one_blas_thread():
                return bcd_sweep(problem, s, Xi, Zeta, gamma, mu, activation)
    weights = z_block(problem, s.H, s.U, Xi, gamma, skip=s.weights.D is not None)
    XV = problem.X @ weights.V.T  # shared by the h- and u-blocks
    H = h_block(problem, weights, s.U, Xi, Zeta, gamma, activation, XV)
    U, C1, C2 = u_constraints_rows(problem, weights, H, s.U, Xi, Zeta, gamma, mu, activation,
                                   XV, 0, problem.n_steps)
    return ALMPoint(weights, H, U), (C1, C2)
