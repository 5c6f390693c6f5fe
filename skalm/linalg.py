"""Dense linear algebra shared by the solvers."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

__all__ = ["spd_solve"]


def spd_solve(G, B):
    """Solve G X = B for a symmetric positive (semi)definite G.

    Cholesky when G is positive definite (always, when the lambdas are positive); a
    least-squares solve when it is singular (zero regularization on rank-deficient data).
    """
    try:
        return cho_solve(cho_factor(G, lower=False, check_finite=False), B, check_finite=False)
    except (LinAlgError, ValueError):
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)
