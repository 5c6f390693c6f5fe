"""The closed-form block updates of the augmented Lagrangian (spec section 3, paper eqs.
3.14-3.16): ALM-BCD sweeps them in the order z, h, u; ADMMiRNN symmetrically.

The paper writes them with Kronecker products (Psi(h) has rT rows and r^2+rn+r columns). Here
each is the same minimizer written with small dense matrices on time-major (T, .) arrays:

* z-block: two ridge regressions solved by Cholesky,
* h-block: two r x r matrices D1, D2 factored once, all T right-hand sides solved at once,
* u-block: rT independent 1-D problems, solved by the activation strategy, vectorized.

``tests/test_blocks_vs_kronecker.py`` checks every block against a literal Kronecker
implementation of the paper's formulas.

With the optional skip connection (yhat_t = A h_t + D x_t + c, not in the paper) only the
output side changes: the output ridge regression's design widens from [h_t, 1] to
[h_t, x_t, 1] (D penalized with its own lambda_D, c with lambda_c as before), and the h-block's data term
uses y_t - c - D x_t in place of y_t - c. The recurrent side, the u-block and the constraints
do not involve D.
"""

from __future__ import annotations

import numpy as np

from ..linalg import spd_solve
from ..model import RNNWeights

__all__ = ["z_block", "output_block", "h_block", "u_block", "preactivation"]


def _design(problem, H):
    """Z with rows [h_{t-1}, x_t, 1]: the design of the recurrent ridge regression."""
    Hprev = problem.layout.shift_down(H)
    ones = np.ones((H.shape[0], 1), dtype=H.dtype)
    return np.hstack([Hprev, problem.X, ones])


def z_block(problem, H, U, Xi, gamma, skip=False):
    """Exact minimizer of L over z = (W, V, b, A, c) at fixed (h, u) (eq. 3.14).

    Theta = [W V b] solves (Z^T Z + (2/gamma) Lam_w) Theta^T = Z^T (U + Xi/gamma);
    [A c] solves (Ht^T Ht + T Lam_a) [A c]^T = Ht^T Y with Ht rows [h_t, 1].

    With ``skip=True`` z also holds the skip weights D, and the output regression is
    [A D c] from (Ht^T Ht + T Lam_a) [A D c]^T = Ht^T Y with Ht rows [h_t, x_t, 1] and
    Lam_a = diag(lambda_A 1_r, lambda_D 1_n, lambda_c).
    """
    lam = problem.lambdas
    r = H.shape[1]
    n = problem.X.shape[1]
    dtype = H.dtype

    Z = _design(problem, H)
    G = Z.T @ Z
    lam_w = np.concatenate([np.full(r, lam.W), np.full(n, lam.V), [lam.b]]).astype(dtype)
    G[np.diag_indices_from(G)] += (2.0 / gamma) * lam_w
    theta_T = spd_solve(G, Z.T @ (U + Xi / gamma))  # (r+n+1, r)
    W = np.ascontiguousarray(theta_T[:r].T)
    V = np.ascontiguousarray(theta_T[r : r + n].T)
    b = theta_T[r + n].copy()
    A, c, D = output_block(problem, H, skip)
    return RNNWeights(W, V, b, A, c, D)


def output_block(problem, H, skip=False):
    """The output half of :func:`z_block`: (A, c, D) minimizing L (and R) at fixed h.

    The ridge regression of Y on the rows [h_t, 1] ([h_t, x_t, 1] with ``skip``; D is None
    without). It depends on h alone, so ADMMiRNN's output update and the forward-pass
    safeguard call it without solving for (W, V, b).
    """
    lam = problem.lambdas
    T, r = H.shape
    k = problem.X.shape[1] if skip else 0  # columns of x_t in the output design
    ones = np.ones((T, 1), dtype=H.dtype)
    Ht = np.hstack([H, problem.X, ones] if skip else [H, ones])
    G2 = Ht.T @ Ht
    lam_a = np.concatenate([np.full(r, lam.A), np.full(k, lam.D), [lam.c]]).astype(H.dtype)
    G2[np.diag_indices_from(G2)] += T * lam_a
    ac_T = spd_solve(G2, Ht.T @ problem.Y)  # (r+k+1, m)
    A = np.ascontiguousarray(ac_T[:r].T)
    c = ac_T[r + k].copy()
    D = np.ascontiguousarray(ac_T[r : r + k].T) if skip else None
    return A, c, D


def h_block(problem, weights, U, Xi, Zeta, gamma, activation, XV=None):
    """Exact minimizer of L over h at fixed (z, u) (eq. 3.18).

    D1 h_t = gamma W^T (u_{t+1} + xi_{t+1}/gamma - V x_{t+1} - b) + gamma sigma(u_t) - zeta_t
             + (2/T) A^T (y_t - c)  for steps that feed a next step; D2 (no W^T W term) for the
    last step of each sequence; y_t - c becomes y_t - c - D x_t with a skip connection.
    ``XV`` = X V^T may be passed in to share it with the u-block.
    """
    W, V, b, A, c = weights.W, weights.V, weights.b, weights.A, weights.c
    T, r = U.shape
    layout = problem.layout
    twoT = 2.0 / T
    D2 = twoT * (A.T @ A)
    D2[np.diag_indices_from(D2)] += gamma
    D1 = D2 + gamma * (W.T @ W)

    if XV is None:
        XV = problem.X @ V.T
    Q = Xi / gamma
    Q += U
    Q -= XV
    Q -= b
    # Shifting rows commutes with right-multiplication: shift(Q) W = shift(Q W), no copy of Q.
    rhs = layout.shift_up(Q @ W)
    rhs *= gamma
    rhs += gamma * activation.sigma(U)
    rhs -= Zeta
    target = problem.Y - c
    if weights.D is not None:
        target -= problem.X @ weights.D.T
    rhs += twoT * (target @ A)

    # D1, D2 are symmetric, so row-wise solves are D^{-1} rhs^T. Solve every row with D1, then
    # redo the few last-of-sequence rows with D2: cheaper than splitting the matrix.
    last = layout.last
    H = spd_solve(D1, rhs.T).T
    H[last] = spd_solve(D2, rhs[last].T).T
    return np.ascontiguousarray(H)


def preactivation(problem, weights, H, XV=None):
    """p_t = W h_{t-1} + V x_t + b for every row (p = Psi(h) w in the paper)."""
    W, V, b = weights.W, weights.V, weights.b
    P = problem.layout.shift_down(H @ W.T)
    P += problem.X @ V.T if XV is None else XV
    P += b
    return P


def u_block(problem, weights, H, U_prev, Xi, Zeta, gamma, mu, activation, XV=None):
    """Global minimizer over u of L + (mu/2)||u - u_prev||^2 at fixed (z, h) (eq. 3.16).

    Returns the new U and P (the pre-activation of the new z, h, reused by the certificate).
    """
    P = preactivation(problem, weights, H, XV)
    th1 = P - Xi / gamma
    th2 = Zeta / gamma
    th2 += H
    U = activation.solve_u(th1, th2, U_prev, gamma, mu, problem.lambdas.u)
    return np.asarray(U, dtype=H.dtype), P
