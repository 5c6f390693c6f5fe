"""A deliberately literal ALM-BCD, written from the paper's own formulas (Kronecker form).

This module is the *oracle* for ``tests/test_blocks_vs_kronecker.py``. It shares no code with
``skalm`` (only numpy/scipy): every quantity is built the way Wang, Zhang & Chen (2024) write
it, for tiny sizes only, in the paper's column-per-step layout:

* stacked vectors ``h = (h_1; ...; h_T)``, ``u = (u_1; ...; u_T)``, ``xi``, ``zeta`` in R^{rT}
  (so ``h[t*r:(t+1)*r]`` is the paper's h_{t+1} with 0-based ``t``);
* ``w = (vec(W); vec(V); b)`` and ``a = (vec(A); c)`` with the column-major ``vec`` of the
  paper (``vec(W h) = (h^T kron I_r) vec(W)``);
* eq. (2.3): Psi(h) has row block t equal to ``[h_{t-1}^T kron I_r, x_t^T kron I_r, I_r]``
  (h_0 = 0), Phi(h_t) = ``[h_t^T kron I_m, I_m]``;
* Lemma 3.1 (iii): Q1 = gamma Psi^T Psi + 2 Lambda_1, q1 = Psi^T (xi + gamma u),
  Q2 = (2/T) sum_t Phi_t^T Phi_t + 2 Lambda_2, q2 = (2/T) sum_t Phi_t^T y_t,
  grad_w L = Q1 w - q1, grad_a L = Q2 a - q2;
* Lemma 3.1 (iv) / eq. (3.18): D1, D2, d_{1t}, d_{2T}; h-update per time step in a loop;
* eq. (3.19)-(3.23): the u-update entry by entry in a Python loop. ReLU and leaky ReLU use the
  branch formulas (leaky ReLU with the whole-numerator rule of the spec, section 3c); ELU and
  tanh use :func:`scalar_global_min`, a brute-force scalar global minimizer (dense grid +
  root finding on the analytic derivative), *not* skalm's solver;
* eq. (3.1) augmented Lagrangian, (3.7) multipliers, (3.8)/(3.9) penalty, (3.13) restart,
  Algorithms 3.1/3.2 outer and inner loops with the certificate kappa of spec 3d.

Several independent sequences are supported by a boolean ``first`` array (True at the first
step of each sequence): there h_{t-1} is replaced by 0 in Psi(h), and the step before a start
is a "t = T" step of the h-update (D2, no W^T term).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq

# --------------------------------------------------------------------------------------------
# Activations: own scalar definitions (not skalm's).
# --------------------------------------------------------------------------------------------


class LitActivation(NamedTuple):
    """name in {"relu", "leaky_relu", "elu", "tanh"}; param = slope (leaky) or alpha (elu)."""

    name: str
    param: float = 0.0

    def sigma(self, v):
        v = float(v)
        if self.name == "relu":
            return v if v > 0 else 0.0
        if self.name == "leaky_relu":
            return v if v >= 0 else self.param * v
        if self.name == "elu":
            return v if v >= 0 else self.param * (math.exp(v) - 1.0)
        if self.name == "tanh":
            return math.tanh(v)
        raise ValueError(self.name)

    def sigma_vec(self, x):
        return np.array([self.sigma(v) for v in np.ravel(x)]).reshape(np.shape(x))


# --------------------------------------------------------------------------------------------
# Data in the paper's layout.
# --------------------------------------------------------------------------------------------


def vec(M):
    """Column-major vec, as in the paper."""
    return np.asarray(M, dtype=float).reshape(-1, order="F")


def unvec(v, rows, cols):
    return np.asarray(v).reshape((rows, cols), order="F")


class LitProblem:
    """x_t, y_t as columns (n x T, m x T), lambdas l1..l6, sequence starts ``first``."""

    def __init__(self, X_time_major, Y_time_major, lambdas, first=None):
        self.Xc = np.array(X_time_major, dtype=float).T  # n x T, column t = x_t
        self.Yc = np.array(Y_time_major, dtype=float).T  # m x T
        self.n, self.T = self.Xc.shape
        self.m = self.Yc.shape[0]
        self.lam = tuple(float(v) for v in lambdas)
        if first is None:
            first = np.zeros(self.T, dtype=bool)
            first[0] = True
        self.first = np.array(first, dtype=bool)
        assert self.first[0]
        self.last = np.zeros(self.T, dtype=bool)
        for t in range(self.T):
            self.last[t] = t == self.T - 1 or self.first[t + 1]


class LitPoint(NamedTuple):
    w: np.ndarray  # (vec W; vec V; b)
    a: np.ndarray  # (vec A; c)
    h: np.ndarray  # (h_1; ...; h_T)
    u: np.ndarray  # (u_1; ...; u_T)


def pack_w(W, V, b):
    return np.concatenate([vec(W), vec(V), np.asarray(b, float)])


def pack_a(A, c):
    return np.concatenate([vec(A), np.asarray(c, float)])


def unpack(pt, r, n, m):
    """(W, V, b, A, c) from a LitPoint."""
    w, a = pt.w, pt.a
    W = unvec(w[: r * r], r, r)
    V = unvec(w[r * r : r * r + r * n], r, n)
    b = w[r * r + r * n :].copy()
    A = unvec(a[: m * r], m, r)
    c = a[m * r :].copy()
    return W, V, b, A, c


def step(vecr, t, r):
    """The paper's h_{t+1} (0-based t) of a stacked vector in R^{rT}."""
    return vecr[t * r : (t + 1) * r]


def sizes(prob, pt):
    r = pt.h.size // prob.T
    return r, prob.n, prob.m, prob.T


# --------------------------------------------------------------------------------------------
# Eq. (2.3), Lemma 3.1.
# --------------------------------------------------------------------------------------------


def Psi(prob, h, r):
    """Psi(h) of eq. (2.3): rT x (r^2 + rn + r)."""
    I_r = np.eye(r)
    rows = []
    for t in range(prob.T):
        hprev = np.zeros(r) if prob.first[t] else step(h, t - 1, r)
        rows.append(
            np.hstack([
                np.kron(hprev[None, :], I_r),
                np.kron(prob.Xc[:, t][None, :], I_r),
                I_r,
            ])
        )
    return np.vstack(rows)


def Phi(h_t, m):
    """Phi(h_t) of eq. (2.3): m x (mr + m)."""
    return np.hstack([np.kron(np.asarray(h_t)[None, :], np.eye(m)), np.eye(m)])


def Lambda1(prob, r):
    l1, l2, l3, l4, l5, l6 = prob.lam[:6]  # the paper has no skip weights
    return np.diag(np.concatenate([np.full(r * r, l2), np.full(r * prob.n, l3), np.full(r, l4)]))


def Lambda2(prob, r):
    l1, l2, l3, l4, l5, l6 = prob.lam[:6]  # the paper has no skip weights
    return np.diag(np.concatenate([np.full(prob.m * r, l1), np.full(prob.m, l5)]))


def Q1q1(prob, h, u, xi, gamma, r):
    P = Psi(prob, h, r)
    Q1 = gamma * P.T @ P + 2 * Lambda1(prob, r)
    q1 = P.T @ (xi + gamma * u)
    return Q1, q1


def Q2q2(prob, h, r):
    m, T = prob.m, prob.T
    Q2 = 2 * Lambda2(prob, r)
    q2 = np.zeros(m * r + m)
    for t in range(T):
        F = Phi(step(h, t, r), m)
        Q2 = Q2 + (2.0 / T) * F.T @ F
        q2 = q2 + (2.0 / T) * F.T @ prob.Yc[:, t]
    return Q2, q2


def D1D2(prob, W, A, gamma, r):
    T = prob.T
    D1 = gamma * W.T @ W + (2.0 / T) * A.T @ A + gamma * np.eye(r)
    D2 = (2.0 / T) * A.T @ A + gamma * np.eye(r)
    return D1, D2


def d_rhs(prob, t, W, V, b, A, c, u, xi, zeta, gamma, act, r):
    """d_{1t} (a step that feeds a next one) or d_{2T} (last step of a sequence)."""
    T = prob.T
    u_t = step(u, t, r)
    d = gamma * act.sigma_vec(u_t) - step(zeta, t, r) + (2.0 / T) * A.T @ (prob.Yc[:, t] - c)
    if not prob.last[t]:
        d = d + W.T @ (step(xi, t + 1, r) + gamma * (step(u, t + 1, r) - V @ prob.Xc[:, t + 1] - b))
    return d


# --------------------------------------------------------------------------------------------
# Constraints, objective, augmented Lagrangian (eq. 2.4-2.6, 3.1), gradients (Lemma 3.1).
# --------------------------------------------------------------------------------------------


def constraints(prob, pt, act):
    r, n, m, T = sizes(prob, pt)
    C1 = pt.u - Psi(prob, pt.h, r) @ pt.w
    C2 = pt.h - act.sigma_vec(pt.u)
    return C1, C2


def loss(prob, pt):
    r, n, m, T = sizes(prob, pt)
    total = 0.0
    for t in range(T):
        e = prob.Yc[:, t] - Phi(step(pt.h, t, r), m) @ pt.a
        total += float(e @ e)
    return total / T


def penalty(prob, pt):
    r, n, m, T = sizes(prob, pt)
    l1, l2, l3, l4, l5, l6 = prob.lam[:6]  # the paper has no skip weights
    W, V, b, A, c = unpack(pt, r, n, m)
    return (
        l1 * np.sum(A * A) + l2 * np.sum(W * W) + l3 * np.sum(V * V) + l4 * b @ b
        + l5 * c @ c + l6 * pt.u @ pt.u
    )


def R(prob, pt):
    return loss(prob, pt) + penalty(prob, pt)


def lagrangian(prob, pt, xi, zeta, gamma, act):
    C1, C2 = constraints(prob, pt, act)
    return R(prob, pt) + xi @ C1 + zeta @ C2 + 0.5 * gamma * (C1 @ C1 + C2 @ C2)


def feasvio(C1, C2):
    return max(float(np.linalg.norm(C1)), float(np.linalg.norm(C2)))


def grad_z(prob, pt, xi, gamma):
    r = pt.h.size // prob.T
    Q1, q1 = Q1q1(prob, pt.h, pt.u, xi, gamma, r)
    Q2, q2 = Q2q2(prob, pt.h, r)
    return Q1 @ pt.w - q1, Q2 @ pt.a - q2


def grad_h(prob, pt, xi, zeta, gamma, act):
    r, n, m, T = sizes(prob, pt)
    W, V, b, A, c = unpack(pt, r, n, m)
    D1, D2 = D1D2(prob, W, A, gamma, r)
    g = np.zeros(r * T)
    for t in range(T):
        D = D2 if prob.last[t] else D1
        g[t * r : (t + 1) * r] = D @ step(pt.h, t, r) - d_rhs(
            prob, t, W, V, b, A, c, pt.u, xi, zeta, gamma, act, r
        )
    return g


def kappa(prob, pt, u_prev, xi, zeta, gamma, mu, act):
    gw, ga = grad_z(prob, pt, xi, gamma)
    gh = grad_h(prob, pt, xi, zeta, gamma, act)
    du = pt.u - u_prev
    return math.sqrt(gw @ gw + ga @ ga + gh @ gh + mu * mu * (du @ du))


# --------------------------------------------------------------------------------------------
# The three block updates (eq. 3.14-3.16 / 3.18-3.23).
# --------------------------------------------------------------------------------------------


def z_update(prob, pt, xi, gamma):
    r = pt.h.size // prob.T
    Q1, q1 = Q1q1(prob, pt.h, pt.u, xi, gamma, r)
    Q2, q2 = Q2q2(prob, pt.h, r)
    return pt._replace(w=np.linalg.solve(Q1, q1), a=np.linalg.solve(Q2, q2))


def h_update(prob, pt, xi, zeta, gamma, act):
    r, n, m, T = sizes(prob, pt)
    W, V, b, A, c = unpack(pt, r, n, m)
    D1, D2 = D1D2(prob, W, A, gamma, r)
    h = np.zeros(r * T)
    for t in range(T):
        d = d_rhs(prob, t, W, V, b, A, c, pt.u, xi, zeta, gamma, act, r)
        h[t * r : (t + 1) * r] = np.linalg.solve(D2 if prob.last[t] else D1, d)
    return pt._replace(h=h)


def phi_scalar(v, th1, th2, th3, gamma, mu, l6, act):
    return (
        0.5 * gamma * (v - th1) ** 2 + 0.5 * gamma * (th2 - act.sigma(v)) ** 2
        + 0.5 * mu * (v - th3) ** 2 + l6 * v * v
    )


def _sigma_arr(act, v):
    """Vectorized copy of LitActivation.sigma for the brute-force grid."""
    if act.name == "relu":
        return np.where(v > 0, v, 0.0)
    if act.name == "leaky_relu":
        return np.where(v >= 0, v, act.param * v)
    if act.name == "elu":
        return np.where(v >= 0, v, act.param * np.expm1(np.minimum(v, 0.0)))
    return np.tanh(v)


def _dsigma_arr(act, v):
    """sigma' (right derivative at a kink)."""
    if act.name == "relu":
        return np.where(v >= 0, 1.0, 0.0)
    if act.name == "leaky_relu":
        return np.where(v >= 0, 1.0, act.param)
    if act.name == "elu":
        return np.where(v >= 0, 1.0, act.param * np.exp(np.minimum(v, 0.0)))
    return 1.0 - np.tanh(v) ** 2


def scalar_global_min(th1, th2, th3, gamma, mu, l6, act, n_grid=4001, full_output=False):
    """Brute-force global minimizer of phi (eq. 3.19) for any of the four activations.

    Bracket: phi(v) >= (gamma/2)(v - th1)^2, so a global minimizer v* has
    (gamma/2)(v* - th1)^2 <= phi(v*) <= phi(0), i.e. |v* - th1| <= sqrt(2 phi(0)/gamma).
    A dense grid over the (padded) bracket, with 0 (the kink) added, locates every sign change
    - to + of the analytic phi' (local minima); each is refined by brentq on phi'. The answer
    is the best of those roots, the bracket ends, 0 and the best grid point. Ties (equal phi)
    go to the larger v, i.e. the non-negative branch (Remark 3.4). ``full_output``: also return
    the number of interior local minima found (> 1: a non-convex instance).
    """
    def f(v):
        return (
            0.5 * gamma * (v - th1) ** 2 + 0.5 * gamma * (th2 - _sigma_arr(act, v)) ** 2
            + 0.5 * mu * (v - th3) ** 2 + l6 * v * v
        )

    def df(v):
        return (
            gamma * (v - th1) - gamma * (th2 - _sigma_arr(act, v)) * _dsigma_arr(act, v)
            + mu * (v - th3) + 2 * l6 * v
        )

    rad = math.sqrt(2.0 * float(f(np.float64(0.0))) / gamma)
    lo = min(0.0, th1 - rad) - 0.5
    hi = max(0.0, th1 + rad) + 0.5
    grid = np.unique(np.append(np.linspace(lo, hi, n_grid), 0.0))
    d = df(grid)
    fg = f(grid)
    cands = [lo, hi, 0.0, float(grid[np.argmin(fg)])]
    cands += [float(v) for v in grid[d == 0.0]]
    changes = np.flatnonzero((d[:-1] < 0.0) & (d[1:] > 0.0))
    for i in changes:
        cands.append(brentq(lambda v: float(df(np.float64(v))), grid[i], grid[i + 1],
                            xtol=1e-15, rtol=1e-15, maxiter=500))
    cands = np.array(sorted(cands, reverse=True))  # larger v first: ties to the v >= 0 side
    best = float(cands[int(np.argmin(f(cands)))])
    return (best, len(changes)) if full_output else best


def u_entry(th1, th2, th3, gamma, mu, l6, act):
    """Global minimizer of phi for one entry (eq. 3.20-3.23; ties to u+, Remark 3.4).

    ReLU / leaky ReLU: the branch formulas (leaky: min(0, whole numerator), spec 3c); ELU and
    tanh: :func:`scalar_global_min`.
    """
    if act.name in ("relu", "leaky_relu"):
        num_p = gamma * th1 + gamma * th2 + mu * th3
        u_plus = num_p / (2 * gamma + mu + 2 * l6) if num_p > 0 else 0.0
        if act.name == "relu":
            num_m = gamma * th1 + mu * th3
            u_minus = num_m / (gamma + mu + 2 * l6) if num_m < 0 else 0.0
        else:
            w = act.param
            num_m = gamma * th1 + gamma * w * th2 + mu * th3
            u_minus = num_m / (gamma + gamma * w * w + mu + 2 * l6) if num_m < 0 else 0.0
        fp = phi_scalar(u_plus, th1, th2, th3, gamma, mu, l6, act)
        fm = phi_scalar(u_minus, th1, th2, th3, gamma, mu, l6, act)
        return u_plus if fp <= fm else u_minus
    return scalar_global_min(th1, th2, th3, gamma, mu, l6, act)


def u_update(prob, pt, xi, zeta, gamma, mu, act):
    r = pt.h.size // prob.T
    l6 = prob.lam[5]
    p = Psi(prob, pt.h, r) @ pt.w
    u = np.zeros_like(pt.u)
    for i in range(u.size):
        th1 = p[i] - xi[i] / gamma
        th2 = pt.h[i] + zeta[i] / gamma
        th3 = pt.u[i]
        u[i] = u_entry(th1, th2, th3, gamma, mu, l6, act)
    return pt._replace(u=u)


def sweep(prob, pt, xi, zeta, gamma, mu, act):
    """One BCD sweep (Algorithm 3.2, Step 1): z, then h, then u."""
    pt = z_update(prob, pt, xi, gamma)
    pt = h_update(prob, pt, xi, zeta, gamma, act)
    return u_update(prob, pt, xi, zeta, gamma, mu, act)


# --------------------------------------------------------------------------------------------
# Algorithm 3.1 with Algorithm 3.2 inside.
# --------------------------------------------------------------------------------------------


def forward_point(prob, W, V, b, A, c, act):
    """The feasible s^0 of Algorithm 3.1, step 1: h_0 = 0, u_t = W h_{t-1} + V x_t + b."""
    r = W.shape[0]
    h = np.zeros(r * prob.T)
    u = np.zeros(r * prob.T)
    hprev = np.zeros(r)
    for t in range(prob.T):
        if prob.first[t]:
            hprev = np.zeros(r)
        ut = W @ hprev + V @ prob.Xc[:, t] + b
        ht = act.sigma_vec(ut)
        u[t * r : (t + 1) * r] = ut
        h[t * r : (t + 1) * r] = ht
        hprev = ht
    return LitPoint(pack_w(W, V, b), pack_a(A, c), h, u)


def alm(prob, act, W, V, b, A, c, *, gamma0=1.0, eta1=0.99, eta2=5 / 6, eta3=0.01,
        eta4=5 / 6, eps0=0.1, mu=1e-5, max_iter=5, max_inner_iter=5, restart_bound=None):
    """Literal Algorithm 3.1; returns one record per outer iteration k = 1..max_iter.

    Each record holds the state *after* iteration k: s^k, xi^k, zeta^k, gamma_k, eps_k,
    FeasVio(s^k), the number of sweeps, the last kappa and whether the inner loop restarted
    from s^0 (eq. 3.13: k > 1 and L(s^{k-1}; xi^{k-1}, zeta^{k-1}, gamma_{k-1}) > Gamma),
    and which rule set gamma_k ("kept" by (3.8), else the largest term of (3.9)).
    """
    s0 = forward_point(prob, W, V, b, A, c, act)
    rT = s0.u.size
    xi = np.zeros(rT)
    zeta = np.zeros(rT)
    gamma, eps = float(gamma0), float(eps0)
    Gamma = R(prob, s0) if restart_bound is None else float(restart_bound)
    feas_prev = feasvio(*constraints(prob, s0, act))
    s = s0
    records = []
    for k in range(1, max_iter + 1):
        restarted = False
        if k > 1:
            if lagrangian(prob, s, xi, zeta, gamma, act) <= Gamma:
                start = s
            else:
                start, restarted = s0, True
        else:
            start = s0
        s = start
        kap = math.inf
        for j in range(1, max_inner_iter + 1):
            u_prev = s.u
            s = sweep(prob, s, xi, zeta, gamma, mu, act)
            kap = kappa(prob, s, u_prev, xi, zeta, gamma, mu, act)
            if kap <= eps:
                break
        C1, C2 = constraints(prob, s, act)
        feas = feasvio(C1, C2)
        eps = eta4 * eps
        xi = xi + gamma * C1  # eq. (3.7)
        zeta = zeta + gamma * C2
        if feas <= eta1 * feas_prev:  # eq. (3.8)
            branch = "kept"
        else:  # eq. (3.9)
            options = [gamma / eta2, np.linalg.norm(xi) ** (1 + eta3),
                       np.linalg.norm(zeta) ** (1 + eta3)]
            branch = ("gamma/eta2", "||xi||", "||zeta||")[int(np.argmax(options))]
            gamma = max(options)
        feas_prev = feas
        records.append(dict(k=k, s=s, xi=xi.copy(), zeta=zeta.copy(), gamma=gamma, eps=eps,
                            feas=feas, n_inner=j, kappa=kap, restarted=restarted,
                            gamma_branch=branch))
    return records
