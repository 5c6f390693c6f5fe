"""Dense linear algebra shared by the solvers."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

__all__ = ["spd_solve", "spd_solve_np", "spd_inverse_factor"]


def spd_solve(G, B):
    """Solve G X = B for a symmetric positive (semi)definite G.

    Cholesky when G is positive definite (always, when the lambdas are positive); a
    least-squares solve when it is singular (zero regularization on rank-deficient data).
    """
    try:
        return cho_solve(cho_factor(G, lower=False, check_finite=False), B, check_finite=False)
    except (LinAlgError, ValueError):
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)


def _lower_inverse(L):
    """L^{-1} of a lower-triangular L by 2 x 2 blocks: [[A, 0], [C, B]] with A = L11^{-1},
    B = L22^{-1}, C = -B L21 A. The work is products (p^3 / 3 flops), which run at the speed
    of BLAS's GEMM; the small diagonal blocks are inverted by LAPACK."""
    p = L.shape[0]
    if p <= 32:  # measured fastest among 16..96 at p = 101..251, one thread
        return np.linalg.inv(L)
    k = p // 2
    A = _lower_inverse(L[:k, :k])
    B = _lower_inverse(L[k:, k:])
    out = np.zeros_like(L)
    out[:k, :k] = A
    out[k:, k:] = B
    out[k:, :k] = -(B @ (L[k:, :k] @ A))
    return out


def spd_inverse_factor(G):
    """L^{-1} for the Cholesky factor G = L L^T (numpy's LAPACK and BLAS only), or None when
    G is not numerically positive definite. Then G^{-1} B = L^{-T} (L^{-1} B)."""
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        return None
    return _lower_inverse(L)


def spd_solve_np(G, B):
    """:func:`spd_solve` with numpy's LAPACK and BLAS only, for the small systems of a BCD
    sweep: G = L L^T by Cholesky, then X = L^{-T} (L^{-1} B) with L^{-1} formed by products
    (:func:`spd_inverse_factor`); the least-squares solve when G is not positive definite.

    numpy and scipy each ship their own OpenBLAS; a sweep whose products run in numpy's and
    whose factorizations run in scipy's hands work between two thread pools, which stalls
    when both have several threads (0.81x the speed of one thread, measured in issue 16).
    numpy has no triangular solve; LU (``numpy.linalg.solve``) or triangular solves run at a
    fraction of GEMM's speed at these sizes, so the triangular inverse is formed by blocks of
    products instead. Its forward error is that of a backward-stable solve, cond(G) times the
    unit roundoff, for the well-conditioned (regularized) systems of the blocks.
    """
    Linv = spd_inverse_factor(G)
    if Linv is None:
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)
    return Linv.T @ (Linv @ B)
