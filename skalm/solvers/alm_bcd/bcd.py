"""The BCD inner loop of ALM-BCD (Algorithm 3.2): one sweep over the blocks of
:mod:`skalm.solvers.blocks`, and the loop of sweeps (optionally extrapolated) that the ALM
outer loop (:mod:`~skalm.solvers.alm_bcd.alm`) runs at every outer iteration."""

from __future__ import annotations

from functools import singledispatch

import numpy as np

from ..blocks import h_block, u_constraints_rows, z_block
from ..lagrangian import ALMPoint, augmented_lagrangian, certificate

__all__ = ["bcd_sweep", "inner_loop"]


@singledispatch  # generic in the problem: skalm.distributed registers the chunked sweep
def bcd_sweep(problem, s, Xi, Zeta, gamma, mu, activation, n_threads=1):
    """One sweep z -> h -> u. Returns the new point and its constraints (C1, C2).

    ``n_threads``: 1 runs the sweep in one piece; more (None: as many as BLAS may use, see
    :func:`skalm._parallel.resolve_threads`) split the rows into time chunks of at least
    :data:`~skalm._parallel.MIN_CHUNK_ROWS` rows swept on a pool of threads
    (:func:`skalm._parallel.chunked_sweep`; :func:`skalm._parallel.sweep_chunks` decides,
    also by the network's width); the result is the same up to rounding. A sweep too short
    or too narrow for two chunks runs in one piece on one BLAS thread: a multi-threaded OpenBLAS
    product waits for its worker threads to get a core, which on a busy machine costs more
    than a second core saves at these sizes.
    """
    if n_threads != 1:
        from ... import _parallel

        n = _parallel.sweep_chunks(problem.n_steps, n_threads, s.H.shape[1], problem.X.shape[1])
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


def inner_loop(problem, s, Xi, Zeta, gamma, mu, eps, activation, momentum=None, *,
               max_inner_iter, accelerate, n_threads=1):
    """BCD sweeps from ``s`` until kappa <= ``eps`` or ``max_inner_iter`` sweeps (Algorithm 3.2).

    With ``accelerate`` (the solver's ``acceleration="nesterov"``) every sweep starts from the
    extrapolated point (h, u) + beta_j ((h, u) - (h, u)_prev), beta_j the Nesterov/FISTA
    sequence; z needs no extrapolation, the z-block recomputes it exactly from (h, u). A sweep
    that would raise L is replaced by a plain sweep from the current point and the momentum
    restarts, so L still decreases monotonically. kappa stays a bound on dist(0, dL(s)): the
    u-block's optimality condition holds with the prox centre it actually used.

    ``momentum`` = (previous point, t) from the last outer iteration, or None. Carrying it
    over matters: the multipliers move little between outer iterations, and restarting the
    momentum at every outer iteration threw away most of the acceleration (T=500 set,
    inner cap 100: R = 8.54 after 60 outer iterations with restarts, 8.36 after 10 when
    carried). The safeguard applies to the first sweep too, with L of the new outer
    iteration, so monotonicity inside each inner loop is unchanged. ``n_threads`` is
    :func:`bcd_sweep`'s.

    Returns ``(s, C, kappa, j, momentum)``: the last point, its constraints (C1, C2), its
    certificate, the sweeps run and the momentum to carry over (None without ``accelerate``).
    """

    def sweep(start):
        return bcd_sweep(problem, start, Xi, Zeta, gamma, mu, activation, n_threads)

    def L_of(point, C):
        return augmented_lagrangian(problem, point, Xi, Zeta, gamma, activation, C)

    prev, t, L_s = None, 1.0, None
    if accelerate:
        if momentum is not None:
            prev, t = momentum
        L_s = L_of(s, None)
    kappa, C, j = np.inf, None, 0
    for j in range(1, max_inner_iter + 1):
        start = s
        if accelerate and prev is not None:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_next
            t = t_next
            H_ex = s.H + beta * (s.H - prev.H)
            start = ALMPoint(s.weights, H_ex, s.U + beta * (s.U - prev.U))
        new, C = sweep(start)
        if accelerate:
            L_new = L_of(new, C)
            if start is not s and not L_new <= L_s:
                start, t = s, 1.0
                new, C = sweep(start)
                L_new = L_of(new, C)
            L_s = L_new
        kappa = certificate(problem, new, start.U, Xi, Zeta, gamma, mu, activation, C)
        prev, s = s, new
        if not np.isfinite(kappa) or kappa <= eps:
            break
    return s, C, kappa, j, ((prev, t) if accelerate else None)
