"""Dense linear algebra shared by the solvers."""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from . import _kernels

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


def _leaf_rows():
    """Rows up to which a diagonal block of a triangular factor is inverted directly: 32
    with LAPACK's inverse (measured fastest among 16..96 at p = 101..251, one thread), 64
    with the compiled loop (fastest among 32..128 at p = 100 and 181)."""
    return 64 if _kernels.enabled() else 32


def _block_inverse(L):
    """L^{-1} of a lower-triangular block of at most :func:`_leaf_rows` rows."""
    out = _kernels.lower_inverse(L)
    return np.linalg.inv(L) if out is None else out


def _lower_inverse(L, leaf=None):
    """L^{-1} of a lower-triangular L by 2 x 2 blocks: [[A, 0], [C, B]] with A = L11^{-1},
    B = L22^{-1}, C = -B L21 A. The work is products (p^3 / 3 flops), which run at the speed
    of BLAS's GEMM; the small diagonal blocks are inverted directly (:func:`_block_inverse`)."""
    leaf = _leaf_rows() if leaf is None else leaf
    p = L.shape[0]
    if p <= leaf:
        return _block_inverse(L)
    k = p // 2
    A = _lower_inverse(L[:k, :k], leaf)
    B = _lower_inverse(L[k:, k:], leaf)
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
    sweep: G = L L^T by Cholesky, then X = L^{-T} (L^{-1} B) by block forward and back
    substitution, each diagonal block of L inverted directly (:func:`_block_inverse`) and
    every other step a product; the least-squares solve when G is not positive definite.

    numpy and scipy each ship their own OpenBLAS; a sweep whose products run in numpy's and
    whose factorizations run in scipy's hands work between two thread pools, which stalls
    when both have several threads (0.81x the speed of one thread, measured in issue 16).
    numpy has no triangular solve, and LU (``numpy.linalg.solve``) runs at a fraction of
    GEMM's speed at these sizes. The substitution by blocks costs 2 p^2 k flops of products
    for k right-hand sides, half of multiplying by a formed L^{-1} twice, and never forms
    L^{-1}'s off-diagonal blocks (p^3 / 3 more). Its forward error is that of a
    backward-stable solve, cond(G) times the unit roundoff, for the well-conditioned
    (regularized) systems of the blocks.
    """
    try:
        L = np.linalg.cholesky(G)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(G, B, rcond=None)[0].astype(B.dtype, copy=False)
    p = L.shape[0]
    n_blocks = -(-p // _leaf_rows())
    edges = [i * p // n_blocks for i in range(n_blocks + 1)]
    blocks = list(zip(edges[:-1], edges[1:]))
    inverses = [_block_inverse(L[a:b, a:b]) for a, b in blocks]
    X = np.empty(B.shape, dtype=np.result_type(L.dtype, B.dtype))
    for (a, b), Linv in zip(blocks, inverses):  # X = L^{-1} B, top block first
        np.matmul(Linv, B[a:b] - L[a:b, :a] @ X[:a] if a else B[a:b], out=X[a:b])
    for (a, b), Linv in zip(blocks[::-1], inverses[::-1]):  # X = L^{-T} X, bottom first
        rest = X[a:b] - L[b:, a:b].T @ X[b:] if b < p else X[a:b].copy()
        np.matmul(Linv.T, rest, out=X[a:b])
    return X
