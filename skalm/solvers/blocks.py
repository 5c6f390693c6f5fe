"""The closed-form block updates of the augmented Lagrangian (spec section 3, paper eqs.
3.14-3.16): ALM-BCD sweeps them in the order z, h, u; ADMMiRNN symmetrically.

The paper writes them with Kronecker products (Psi(h) has rT rows and r^2+rn+r columns). Here
each is the same minimizer written with small dense matrices on time-major (T, .) arrays:

* z-block: two ridge regressions solved by Cholesky,
* h-block: two r x r matrices D1, D2 factored once, all T right-hand sides solved at once,
* u-block: rT independent 1-D problems, solved by the activation strategy, vectorized.

``tests/test_blocks_vs_kronecker.py`` checks every block against a literal Kronecker
implementation of the paper's formulas.

Each block is written over a range of rows [a, b) with a one-row halo (h_{a-1} for the
design and the pre-activations, q_b for the h-block's right-hand side), so that the same code
runs the whole sequence in one piece (the functions without ``_rows``) or in time chunks on
several threads (:mod:`skalm._parallel`): the Gram matrices of the z-block are sums over
rows, the h- and u-blocks are independent per row given their neighbours. All the dense
linear algebra of a sweep runs in numpy's BLAS/LAPACK (:func:`skalm.linalg.spd_solve_np`),
none in scipy's: the two ship separate OpenBLAS builds, and handing work from one
multi-threaded pool to the other stalls.

With the optional skip connection (yhat_t = A h_t + D x_t + c, not in the paper) only the
output side changes: the output ridge regression's design widens from [h_t, 1] to
[h_t, x_t, 1] (D penalized with its own lambda_D, c with lambda_c as before), and the h-block's data term
uses y_t - c - D x_t in place of y_t - c. The recurrent side, the u-block and the constraints
do not involve D.
"""

from __future__ import annotations

from functools import singledispatch

import numpy as np

from .. import _kernels
from ..linalg import spd_inverse_factor, spd_solve_np
from ..model import RNNWeights

__all__ = [
    "z_block", "output_block", "h_block", "u_block", "preactivation",
    "z_sums_rows", "z_solve", "h_matrices", "h_rows", "u_rows", "u_constraints_rows",
]


def _prev_rows(problem, M, a, b, halo=None, out=None):
    """Rows m_{t-1} for t in [a, b) (zero at sequence starts): shift_down on a row range,
    written into ``out`` when given. m_{a-1} is ``halo`` when given (the row held by the
    chunk before), else M[a-1]."""
    if out is None:
        out = np.empty((b - a, M.shape[1]), dtype=M.dtype)
    out[1:] = M[a : b - 1]
    if halo is not None:
        out[0] = halo
    elif a > 0:
        out[0] = M[a - 1]
    else:
        out[0] = 0
    out[problem.layout.first[a:b]] = 0
    return out


def _output_design(problem, H, skip, a, b):
    """Rows [h_t, 1] ([h_t, x_t, 1] with ``skip``) for t in [a, b)."""
    ones = np.ones((b - a, 1), dtype=H.dtype)
    return np.hstack([H[a:b], problem.X[a:b], ones] if skip else [H[a:b], ones])


def z_sums_rows(problem, H, U, Xi, gamma, skip, a, b, h_halo=None):
    """The Gram sums of the z-block over rows [a, b): (Z^T Z, Z^T (U + Xi/gamma), Ht^T Ht,
    Ht^T Y) with Z rows [h_{t-1}, x_t, 1] and Ht rows [h_t, 1] ([h_t, x_t, 1] with ``skip``).

    Sums over disjoint row ranges add up to the sums over all rows (:func:`z_solve`).
    ``h_halo``: h_{a-1} when the arrays do not hold it (a chunk on another machine)."""
    r, n = H.shape[1], problem.X.shape[1]
    Z = np.empty((b - a, r + n + 1), dtype=np.result_type(H.dtype, problem.X.dtype))
    Hp = _prev_rows(problem, H, a, b, h_halo, out=Z[:, :r])
    Z[:, r:-1] = problem.X[a:b]
    Z[:, -1] = 1
    target = Xi[a:b] / gamma
    target += U[a:b]
    G = Z.T @ Z
    return (G, Z.T @ target, _output_gram(problem, H, Hp, G, skip, a, b),
            _output_rhs(problem, H, skip, a, b))


def _output_rhs(problem, H, skip, a, b):
    """Ht^T Y over rows [a, b) without forming Ht: [H^T Y; X^T Y (with skip); 1^T Y]. Formed
    as its transpose Y^T Ht (returned as a transposed view): with few outputs OpenBLAS runs
    the product with m rows faster than the one with m columns (71 against 89 microseconds
    at (r, m, T) = (100, 30, 500))."""
    Y = problem.Y[a:b]
    r, k = H.shape[1], problem.X.shape[1] if skip else 0
    out = np.empty((Y.shape[1], r + k + 1), dtype=np.result_type(H.dtype, Y.dtype))
    np.matmul(Y.T, H[a:b], out=out[:, :r])
    if skip:
        np.matmul(Y.T, problem.X[a:b], out=out[:, r:-1])
    Y.sum(axis=0, out=out[:, -1])
    return out.T


def _output_gram(problem, H, Hp, G, skip, a, b):
    """Ht^T Ht over rows [a, b) read off G = Z^T Z, without a product over all the rows.

    Z's first block Hp holds the same hidden states as H shifted by one step, so
    H^T H = Hp^T Hp + (the rows of H that Hp lacks: the last of the range and of each
    sequence in it) - (the one Hp holds from before the range, h_{a-1}); likewise the sums
    of h. X^T X, X^T 1 and the count are blocks of G itself; with ``skip`` only H^T X is a
    new product. At (r, n, T) = (100, 80, 500) this replaces a 0.15 ms product (0.4 ms with
    the skip connection) of a 4 ms sweep."""
    r = H.shape[1]
    first = problem.layout.first[a:b]
    extra = H[np.append(np.flatnonzero(first[1:]) + a, b - 1)]
    HtH = G[:r, :r] + extra.T @ extra
    h_sum = G[:r, -1] + extra.sum(axis=0)
    if not first[0]:  # Hp[0] = h_{a-1}: not a row of H[a:b]
        HtH -= np.outer(Hp[0], Hp[0])
        h_sum -= Hp[0]
    k = problem.X.shape[1] if skip else 0
    G2 = np.empty((r + k + 1, r + k + 1), dtype=G.dtype)
    G2[:r, :r] = HtH
    G2[:r, -1] = G2[-1, :r] = h_sum
    G2[-1, -1] = G[-1, -1]  # the count
    if skip:
        G2[r:, r:] = G[r:, r:]  # [X, 1]^T [X, 1]
        HX = H[a:b].T @ problem.X[a:b]
        G2[:r, r:-1] = HX
        G2[r:-1, :r] = HX.T
    return G2


def _add_ridge(G, scale, parts):
    """Add ``scale`` * lambda to the diagonal of ``G`` in place, the lambdas given in order as
    (count, lambda) pairs: the same numbers as adding the vector of the repeated lambdas
    times ``scale`` in G's dtype, without index arrays (17 microseconds each, a few percent
    of a sweep at r = 20)."""
    diagonal = np.einsum("ii->i", G)  # a writable view
    dt = G.dtype.type
    start = 0
    for count, lam in parts:
        diagonal[start : start + count] += dt(scale) * dt(lam)
        start += count


def z_solve(problem, sums, gamma, r, skip=False, overwrite=False):
    """The weights from the z-block's Gram sums (:func:`z_sums_rows` added over all rows).
    Reads only ``problem.lambdas`` and ``problem.n_steps`` (the total number of rows).
    ``overwrite``: the Gram matrices of ``sums`` may be written (the ridge terms go on their
    diagonals), as when the caller made them for this solve; else they are copied."""
    G, rhs, G2, rhs2 = sums
    if not overwrite:
        G, G2 = np.array(G, copy=True), np.array(G2, copy=True)
    lam = problem.lambdas
    n = G.shape[0] - r - 1
    _add_ridge(G, 2.0 / gamma, ((r, lam.W), (n, lam.V), (1, lam.b)))
    theta_T = spd_solve_np(G, rhs)  # (r+n+1, r)
    W = np.ascontiguousarray(theta_T[:r].T)
    V = np.ascontiguousarray(theta_T[r : r + n].T)
    b = theta_T[r + n].copy()
    A, c, D = _output_solve(problem, G2, rhs2, r, skip)
    return RNNWeights(W, V, b, A, c, D)


def _output_solve(problem, G2, rhs2, r, skip):
    lam = problem.lambdas
    T = problem.n_steps
    k = G2.shape[0] - r - 1  # columns of x_t in the output design (0 without skip)
    _add_ridge(G2, T, ((r, lam.A), (k, lam.D), (1, lam.c)))
    ac_T = spd_solve_np(G2, rhs2)  # (r+k+1, m)
    A = np.ascontiguousarray(ac_T[:r].T)
    c = ac_T[r + k].copy()
    D = np.ascontiguousarray(ac_T[r : r + k].T) if skip else None
    return A, c, D


def z_block(problem, H, U, Xi, gamma, skip=False):
    """Exact minimizer of L over z = (W, V, b, A, c) at fixed (h, u) (eq. 3.14).

    Theta = [W V b] solves (Z^T Z + (2/gamma) Lam_w) Theta^T = Z^T (U + Xi/gamma);
    [A c] solves (Ht^T Ht + T Lam_a) [A c]^T = Ht^T Y with Ht rows [h_t, 1].

    With ``skip=True`` z also holds the skip weights D, and the output regression is
    [A D c] from (Ht^T Ht + T Lam_a) [A D c]^T = Ht^T Y with Ht rows [h_t, x_t, 1] and
    Lam_a = diag(lambda_A 1_r, lambda_D 1_n, lambda_c).
    """
    sums = z_sums_rows(problem, H, U, Xi, gamma, skip, 0, H.shape[0])
    return z_solve(problem, sums, gamma, H.shape[1], skip, overwrite=True)


@singledispatch  # generic in the problem (skalm.distributed: rows in chunks on dask)
def output_block(problem, H, skip=False):
    """The output half of :func:`z_block`: (A, c, D) minimizing L (and R) at fixed h.

    The ridge regression of Y on the rows [h_t, 1] ([h_t, x_t, 1] with ``skip``; D is None
    without). It depends on h alone, so ADMMiRNN's output update and the forward-pass
    safeguard call it without solving for (W, V, b).
    """
    Ht = _output_design(problem, H, skip, 0, H.shape[0])
    return _output_solve(problem, Ht.T @ Ht, Ht.T @ problem.Y, H.shape[1], skip)


def h_matrices(weights, n_steps, gamma):
    """D1^{-1} and D2 of the h-block (eq. 3.18): D2 = (2/T) A^T A + gamma I and
    D1 = D2 + gamma W^T W.

    D1 is applied to all T rows, as a product with its inverse: a triangular solve with T
    right-hand sides runs at a third of the speed of the product in OpenBLAS (measured 64 ms
    against 19 ms at r = 200, T = 5000, one thread). D1 >= gamma I is well conditioned
    whenever gamma is not tiny against ||W||^2 and ||A||^2 / T, so the explicit inverse
    costs no accuracy that matters here (tests compare with the Kronecker form's solves)."""
    W, A = weights.W, weights.A
    D2 = (2.0 / n_steps) * (A.T @ A)
    np.einsum("ii->i", D2)[:] += gamma
    D1 = W.T @ W
    D1 *= gamma
    D1 += D2
    Linv = spd_inverse_factor(D1)
    if Linv is None:  # only when gamma is 0 or not finite
        return np.linalg.pinv(D1).astype(D1.dtype, copy=False), D2
    return Linv.T @ Linv, D2


def h_rows(problem, weights, U, Xi, Zeta, gamma, activation, XV, D1inv, D2, a, b, out,
           q_halo=None):
    """The h-block on rows [a, b), written into ``out[a:b]``. ``XV`` is X V^T on the rows of
    the arrays. q_b = xi_b / gamma + u_b - V x_b - b (the next row's, the halo) is ``q_halo``
    when given (held by the chunk after), else read from row b of the arrays if they have it;
    ``problem.n_steps`` is the total number of rows (it scales the data term). With the
    compiled kernels the elementwise steps are two fused passes, the same bits as numpy's."""
    W, b_, A, c = weights.W, weights.b, weights.A, weights.c
    twoT = 2.0 / problem.n_steps
    e = min(b + 1, U.shape[0]) if q_halo is None else b  # rows of Q held here (to e - 1)
    # Only q_{t+1} enters row t: Q from row a + 1 on, its product written straight into rhs.
    n_in = e - a - 1
    rhs = np.empty((b - a, U.shape[1]), dtype=np.result_type(U.dtype, W.dtype))
    Q = _kernels.next_q(Xi[a + 1 : e], U[a + 1 : e], XV[a + 1 : e], b_, gamma)
    if Q is None:
        Q = Xi[a + 1 : e] / gamma
        Q += U[a + 1 : e]
        Q -= XV[a + 1 : e]
        Q -= b_
    np.matmul(Q, W, out=rhs[:n_in])
    if q_halo is not None:
        rhs[-1] = q_halo @ W
    elif n_in < b - a:
        rhs[-1] = 0  # the last row of all: no next step
    last = problem.layout.last[a:b]
    rhs[last] = 0
    target = problem.Y[a:b] - c
    if weights.D is not None:
        target -= problem.X[a:b] @ weights.D.T
    TA = target @ A
    if not _kernels.h_right_hand_side(rhs, U[a:b], Zeta[a:b], TA, gamma, twoT, activation):
        rhs += activation.sigma(U[a:b])
        rhs *= gamma
        rhs -= Zeta[a:b]
        TA *= twoT
        rhs += TA
    # D1, D2 are symmetric, so row-wise solves are rhs D^{-1}. Solve every row with D1, then
    # redo the few last-of-sequence rows with D2: cheaper than splitting the matrix.
    np.matmul(rhs, D1inv, out=out[a:b])
    if last.any():
        out[a:b][last] = _last_rows_solve(rhs[last], A, D2, gamma, twoT)


def _last_rows_solve(R, A, D2, gamma, scale):
    """Rows R D2^{-1} for D2 = scale A^T A + gamma I (the last step of each sequence).

    With at most half as many outputs as hidden units (2 m <= r) and r >= 40, by the Woodbury
    identity: R D2^{-1} = (R - scale (R A^T) S^{-1} A) / gamma with S = gamma I_m +
    scale A A^T, an m x m system where the direct solve factors the r x r D2. One row, one
    thread: 13 against 64 microseconds at (r, m) = (100, 5), 25 against 64 at (100, 30),
    15 against 287 at (200, 5); at r = 20 the direct solve is faster (8 against 13), at
    (40, 30) too (15 against 21). Both are backward stable up to cond(D2); the direct LU
    solve also runs when gamma is not positive (D2 then has no gamma I to split off).
    """
    m, r = A.shape
    if r < 40 or 2 * m > r or not gamma > 0:
        # D2 >= gamma I: positive definite, and usually one row: LU beats forming a factor.
        return np.linalg.solve(D2, R.T).T
    S = A @ A.T
    S *= scale
    np.einsum("ii->i", S)[:] += gamma
    Y = np.linalg.solve(S, A @ R.T)  # S^{-1} A R^T, (m, rows)
    out = R - scale * (Y.T @ A)
    out /= gamma
    return out


def h_block(problem, weights, U, Xi, Zeta, gamma, activation, XV=None):
    """Exact minimizer of L over h at fixed (z, u) (eq. 3.18).

    D1 h_t = gamma W^T (u_{t+1} + xi_{t+1}/gamma - V x_{t+1} - b) + gamma sigma(u_t) - zeta_t
             + (2/T) A^T (y_t - c)  for steps that feed a next step; D2 (no W^T W term) for the
    last step of each sequence; y_t - c becomes y_t - c - D x_t with a skip connection.
    ``XV`` = X V^T may be passed in to share it with the u-block.
    """
    T = U.shape[0]
    if XV is None:
        XV = problem.X @ weights.V.T
    D1inv, D2 = h_matrices(weights, T, gamma)
    H = np.empty_like(U, dtype=np.result_type(U.dtype, weights.W.dtype))
    h_rows(problem, weights, U, Xi, Zeta, gamma, activation, XV, D1inv, D2, 0, T, H)
    return H


def _recurrent_rows(problem, weights, H, a, b, h_halo=None):
    """W h_{t-1} for t in [a, b) (zero at sequence starts)."""
    W = weights.W
    P = np.empty((b - a, W.shape[0]), dtype=np.result_type(H.dtype, W.dtype))
    if a > 0:
        np.matmul(H[a - 1 : b - 1], W.T, out=P)
    else:
        np.matmul(H[: b - 1], W.T, out=P[1:])
        P[0] = 0 if h_halo is None else W @ h_halo
    P[problem.layout.first[a:b]] = 0
    return P


def _input_rows(problem, weights, XV, a, b):
    """V x_t for t in [a, b): rows of ``XV`` when given."""
    return problem.X[a:b] @ weights.V.T if XV is None else XV[a:b]


def _preactivation_rows(problem, weights, H, XV, a, b, h_halo=None):
    P = _recurrent_rows(problem, weights, H, a, b, h_halo)
    P += _input_rows(problem, weights, XV, a, b)
    P += weights.b
    return P


def preactivation(problem, weights, H, XV=None):
    """p_t = W h_{t-1} + V x_t + b for every row (p = Psi(h) w in the paper)."""
    return _preactivation_rows(problem, weights, H, XV, 0, H.shape[0])


def u_rows(problem, weights, H, U_prev, Xi, Zeta, gamma, mu, activation, XV, a, b):
    """The u-block on rows [a, b): (U, P) of those rows; reads h_{a-1} (the halo)."""
    P = _preactivation_rows(problem, weights, H, XV, a, b)
    return _solve_u_rows(problem, H, U_prev, Xi, Zeta, gamma, mu, activation, P, a, b), P


def _solve_u_rows(problem, H, U_prev, Xi, Zeta, gamma, mu, activation, P, a, b):
    th1 = P - Xi[a:b] / gamma
    th2 = Zeta[a:b] / gamma
    th2 += H[a:b]
    U = activation.solve_u(th1, th2, U_prev[a:b], gamma, mu, problem.lambdas.u)
    return np.asarray(U, dtype=H.dtype)


def u_block(problem, weights, H, U_prev, Xi, Zeta, gamma, mu, activation, XV=None):
    """Global minimizer over u of L + (mu/2)||u - u_prev||^2 at fixed (z, h) (eq. 3.16).

    Returns the new U and P (the pre-activation of the new z, h, reused by the certificate).
    """
    return u_rows(problem, weights, H, U_prev, Xi, Zeta, gamma, mu, activation, XV, 0,
                  H.shape[0])


def u_constraints_rows(problem, weights, H, U_prev, Xi, Zeta, gamma, mu, activation, XV, a, b,
                       h_halo=None):
    """The u-block on rows [a, b) and the constraints there: (U, C1, C2) of those rows, with
    C1 = u - p and C2 = h - sigma(u) at the new point (reads h_{a-1}, or ``h_halo``).

    For ReLU and leaky ReLU with the compiled kernels (:mod:`skalm._kernels`) the input term
    of the pre-activation, the u-update and the constraints are one pass over the entries,
    the same arithmetic as the numpy path."""
    P = _recurrent_rows(problem, weights, H, a, b, h_halo)
    XV = _input_rows(problem, weights, XV, a, b)
    fused = _kernels.u_and_constraints(P, XV, weights.b, Xi[a:b], Zeta[a:b], H[a:b],
                                       U_prev[a:b], gamma, mu, problem.lambdas.u, activation)
    if fused is not None:
        return fused
    P += XV
    P += weights.b
    U = _solve_u_rows(problem, H, U_prev, Xi, Zeta, gamma, mu, activation, P, a, b)
    return U, U - P, H[a:b] - activation.sigma(U)
