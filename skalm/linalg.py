"""Dense linear algebra shared by the solvers."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

__all__ = ["spd_solve", "spd_solve_np"]


def spd_solve(G, B):
    """Solve G X = B for a symmetric positive (semi)definite G.

    Cholesky when G is positive definite (always, when the lambdas are positive); a
    least-squares solve when it is singular (zero regularization on rank-deficient data).
    """
    try:
        return cho_solve(cho_factor(G, lower=False, check_finite=False), B, check_finite=False)
    except (LinAlgError, ValueError):
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)


def spd_solve_np(G, B):
    """:func:`spd_solve` with numpy's LAPACK only (Cholesky as the definiteness test, then
    LU), for the small systems of a BCD sweep.

    numpy and scipy each ship their own OpenBLAS; a sweep whose products run in numpy's and
    whose factorizations run in scipy's hands work between two thread pools, which stalls
    when both have several threads (measured 0.81x the speed of one thread). numpy has no
    triangular solve, so the Cholesky factor only decides between the direct solve and the
    least-squares one; the extra LU costs 2/3 p^3 flops on a p x p system, against the T p^2
    of the products that built it.
    """
    try:
        np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)
    return np.linalg.solve(G, B)
