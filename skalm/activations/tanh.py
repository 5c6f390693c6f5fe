"""The tanh activation (not in the paper): the u-subproblem by a convexity certificate and
bracketed root finding, split at the inflection points where phi is not convex."""

from __future__ import annotations

import numpy as np

from .. import _kernels_tanh
from ._base import Activation, register_activation
from ._roots import (
    FDF_ROWS,
    piecewise_minimizers,
    safeguarded_newton,
    scratch,
    sign_change_roots,
    solve_reduced,
)

__all__ = ["Tanh"]

# ---- tanh: w = tanh v, s = sech^2 v = 1 - w^2.


def _tanh_fdf(v, c0, th2, g, work=None):
    if work is None:
        work = np.empty((FDF_ROWS,) + np.broadcast(v, c0, th2).shape)
    w, s, t, f, df, d2 = work[0], work[1], work[2], work[3], work[4], work[5]
    np.tanh(v, out=w)
    np.subtract(1.0, w, out=s)
    s *= np.add(1.0, w, out=t)  # s = 1 - w^2
    np.multiply(s, g, out=t)  # t = g s
    np.subtract(th2, w, out=f)
    f *= t
    np.subtract(v, f, out=f)
    f -= c0  # v - c0 - g s (th2 - w)
    np.multiply(th2, w, out=d2)  # d2 = th2 w (scratch)
    np.multiply(s, 3.0, out=df)
    df -= 2.0
    df += d2
    df += d2
    df *= t
    df += 1.0  # 1 + g s (3 s - 2 + 2 th2 w)
    d2 *= w
    d2 *= -4.0  # -4 th2 w^2
    tmp = np.multiply(s, -12.0, out=work[6])
    tmp += 4.0
    tmp *= w
    d2 += tmp  # (4 - 12 s) w - 4 th2 w^2
    np.multiply(th2, s, out=tmp)
    tmp += tmp
    d2 += tmp
    d2 *= t  # g s ((4 - 12 s) w - 4 th2 w^2 + 2 th2 s)
    return f, df, d2


def _tanh_psi(v, c0, th2, g):
    return (v - c0) ** 2 + g * (th2 - np.tanh(v)) ** 2


# phi''(v)/a = 1 + g h(w), h(w) = (1 - w^2)(1 - 3 w^2 + 2 th2 w), and 1 + g h = g q(w) with the
# quartic q(w) = 3 w^4 - 2 th2 w^3 - 4 w^2 + 2 th2 w + C, C = 1 + 1/g.
def _q_fdf(w, th2, C, work=None):
    return (
        (((3.0 * w - 2.0 * th2) * w - 4.0) * w + 2.0 * th2) * w + C,
        ((12.0 * w - 6.0 * th2) * w - 8.0) * w + 2.0 * th2,
        (36.0 * w - 12.0 * th2) * w - 8.0,
    )


def _dq_fdf(w, th2, work=None):
    return (
        ((12.0 * w - 6.0 * th2) * w - 8.0) * w + 2.0 * th2,
        (36.0 * w - 12.0 * th2) * w - 8.0,
        72.0 * w - 12.0 * th2,
    )


def _dq_roots(th2):
    """The three real roots of q'(w) = 12 w^3 - 6 th2 w^2 - 8 w + 2 th2, shape (m, 3).

    With w = t + th2/6, q'/12 = t^3 + P t + Q, P = -(8 + th2^2)/12 < 0, Q = th2 (6 - th2^2)/108,
    and 4 P^3 + 27 Q^2 = -(36 th2^4 + 156 th2^2 + 512)/432 < 0: always three distinct real
    roots, given by the trigonometric formula, then polished by two Newton steps (accepted
    only where they decrease |q'|). A critical point misplaced by e moves q there by O(e^2)
    only, so the monotone pieces of q are right up to that (see ``_tanh_solve``).
    """
    t = th2[:, None]
    P = -(8.0 + th2 * th2) / 12.0
    Q = th2 * (6.0 - th2 * th2) / 108.0
    r = np.sqrt(-P / 3.0)
    cosarg = np.clip(3.0 * Q / (2.0 * P * r), -1.0, 1.0)  # = (3Q / 2P) sqrt(-3/P)
    ang = np.arccos(cosarg)[:, None] / 3.0 - (2.0 * np.pi / 3.0) * np.arange(3)
    w = 2.0 * r[:, None] * np.cos(ang) + t / 6.0
    for _ in range(2):
        f, df, _ = _dq_fdf(w, t)
        wn = w - f / df
        w = np.where(np.abs(_dq_fdf(wn, t)[0]) < np.abs(f), wn, w)
    return w


def _h_min_table(t_max=8.0, num=257):
    """Lower bounds of m(t) = min_{|w| <= 1} h(w; t) on a grid of t in [0, t_max].

    h is affine in t, so m is concave (a minimum of affine functions) and even in t: linear
    interpolation of lower bounds of m at the nodes is a lower bound of m between them. m(t) is
    the smallest of h(+-1) = 0 and h at the critical points in [-1, 1] (roots of the cubic
    dh/dw, from companion eigenvalues; every real part is tried, which can only lower the
    value), less a margin for rounding.
    """
    t = np.linspace(0.0, t_max, num)
    comp = np.zeros((num, 3, 3))
    comp[:, 0, 0] = t / 2.0  # dh/dw / 12 = w^3 - (t/2) w^2 - (2/3) w + t/6
    comp[:, 0, 1] = 2.0 / 3.0
    comp[:, 0, 2] = -t / 6.0
    comp[:, 1, 0] = comp[:, 2, 1] = 1.0
    w = np.clip(np.linalg.eigvals(comp).real, -1.0, 1.0)
    h = (1.0 - w * w) * (1.0 - 3.0 * w * w + 2.0 * t[:, None] * w)
    return t, np.minimum(h.min(axis=1), 0.0) - 1e-12 * (1.0 + t)


_H_MIN_T, _H_MIN = _h_min_table()
_H_MIN_STEP = _H_MIN_T[1] - _H_MIN_T[0]


def _h_min_lower_bound(at):
    """Lower bound of min_{|w| <= 1} h(w; t) for |t| = at: linear interpolation of the table
    (a lower bound by concavity) where at is inside it, else the analytic bound (a)."""
    out = -1.0 / 3.0 - (4.0 / (3.0 * np.sqrt(3.0))) * at
    inside = np.flatnonzero(at < _H_MIN_T[-1])
    if inside.size:
        u = at[inside] / _H_MIN_STEP
        k = np.minimum(u.astype(np.intp), _H_MIN.size - 2)
        frac = u - k
        interp = _H_MIN[k] + frac * (_H_MIN[k + 1] - _H_MIN[k])
        out[inside] = np.maximum(out[inside], interp)
    return out


def _tanh_solve(c0, th2, g):
    """Global minimizer of psi(v) = (v - c0)^2 + g (th2 - tanh v)^2 for every entry."""
    n = c0.size
    fbuf = scratch(7 * n, slot="tanh")[0]
    at2, lo, hi, kappa, x0, kb, t = (fbuf[k * n : (k + 1) * n] for k in range(7))
    np.abs(th2, out=at2)
    # Every stationary point satisfies |v - c0| = g |th2 - w| (1 - w^2) <= g (|th2| + 1).
    delta = np.multiply(at2, g, out=t)
    delta += g
    np.subtract(c0, delta, out=lo)
    np.add(c0, delta, out=hi)
    # Convexity certificate: phi''/a = 1 + g h >= kappa := 1 + g * (lower bound of h on the
    # bracket) > 0, with the largest of the lower bounds
    # (a) h >= -1/3 - (4 / (3 sqrt 3)) |th2| on (-1, 1)  [(1-w^2)(1-3w^2) >= -1/3,
    #     |w| (1 - w^2) <= 2 / (3 sqrt 3)],
    # (b) the tabulated concave lower bound of min_w h for |th2| <= 8,
    # (c) h >= -s_max (2 + 2 |th2|) on the bracket, s_max the largest sech^2 there,
    # (d) for entries that (a)-(c) leave open: the minimum of q = (1 + g h) / g over the
    #     bracket, which is attained at the ends or at critical points of q (closed form).
    np.multiply(at2, -g * 4.0 / (3.0 * np.sqrt(3.0)), out=kappa)
    kappa += 1.0 - g / 3.0
    flagged = kappa <= 1e-9
    nc = np.flatnonzero(flagged) if flagged.any() else None
    if nc is not None:
        a1, l1, h1 = at2[nc], lo[nc], hi[nc]
        hmin = _h_min_lower_bound(a1)
        dmin = np.where((l1 <= 0) & (h1 >= 0), 0.0, np.minimum(np.abs(l1), np.abs(h1)))
        wd = np.tanh(dmin)
        hmin = np.maximum(hmin, -(1.0 - wd) * (1.0 + wd) * (2.0 + 2.0 * a1))
        k1 = 1.0 + g * hmin
        kappa[nc] = k1
        nc = nc[k1 <= 1e-9]
    if nc is not None and nc.size:
        # (d). Inflection points are the roots of q on [tanh lo, tanh hi]; q is monotone
        # between its critical points (the roots of the cubic q', in closed form, polished),
        # so those roots are bracketed sign changes between consecutive critical points.
        t1, l1, h1 = th2[nc], lo[nc], hi[nc]
        wl, wh = np.tanh(l1), np.tanh(h1)
        crit = np.clip(_dq_roots(t1), wl[:, None], wh[:, None])
        bC = np.sort(np.column_stack([wl, crit, wh]), axis=1)
        C = 1.0 + 1.0 / g
        Q = _q_fdf(bC, t1[:, None], C)[0]
        qmin = Q.min(axis=1)
        # convex after all (half the computed minimum: margin for the rounding of q)
        ok = qmin > 1e-6
        kappa[nc] = np.where(ok, 0.5 * g * qmin, -1.0)
        nc, bC, Q = nc[~ok], bC[~ok], Q[~ok]

    # phi convex on the bracket, phi'(lo) <= 0 <= phi'(hi): one root of phi', starting from
    # one Newton step from c0 (phi'' > 0 there). Error bound of the root finder: phi''/a >=
    # kappa and |phi'''/a| = |g s ((4 - 12 s) w + th2 (2 s - 4 w^2))| <= g (8 + 4 |th2|).
    # The entries left in nc (nonconvex) go through the same cheap iteration (it still
    # returns a stationary point, without the early stop: kbound = inf) and are redone below:
    # cheaper than extracting the convex ones.
    w = np.tanh(c0, out=x0)
    s = np.subtract(1.0, w, out=kb)
    s *= np.add(1.0, w, out=t)  # s = 1 - w^2
    np.multiply(th2, w, out=t)
    t -= 1.0
    t += t
    t += s
    t += s
    t += s  # 3 s - 2 + 2 th2 w
    s *= g  # g s
    t *= s
    t += 1.0  # phi''(c0) / a
    np.subtract(th2, w, out=x0)
    x0 *= s
    x0 /= t
    x0 += c0  # c0 - phi'(c0) / phi''(c0)
    np.multiply(at2, 4.0 * 0.5 * g, out=kb)
    kb += 8.0 * 0.5 * g
    kb /= kappa
    kb /= kappa
    kb /= kappa
    if nc is not None and nc.size:
        kb[nc] = np.inf
    v = safeguarded_newton(_tanh_fdf, lo, hi, x0, [c0, th2, g], kb, warm=2)
    if nc is None or not nc.size:
        return v
    # Nonconvex on the bracket: split it at the inflection points (roots of q, to 1e-13 in w).
    #
    # Rigour of the split: the global minimizer is a local one, so it lies where phi is convex
    # and is either a breakpoint or the sign change of phi' on its piece. A breakpoint computed
    # with an error e only lets a piece reach e into a neighbouring one, where |phi''| <=
    # |phi'''| e; phi' is monotone on the rest of the piece, so the candidate found there is off
    # by at most |phi'''| e^2 * (piece length) in phi (e ~ 1e-16 for the critical points of q,
    # which are simple, 1e-13 for its roots). Extra breakpoints never hurt.
    c1, t1, l1, h1 = c0[nc], th2[nc], lo[nc], hi[nc]
    infl = sign_change_roots(bC, Q, _q_fdf, [t1, C], tol=1e-13)
    vi = np.arctanh(infl)
    vi = np.where(np.isnan(vi), l1[:, None], np.clip(vi, l1[:, None], h1[:, None]))
    bps = np.sort(np.column_stack([l1, vi, h1]), axis=1)
    v[nc] = piecewise_minimizers(bps, _tanh_fdf, [c1, t1, g], _tanh_psi)
    return v


def solve_numpy(th1, th2, th3, gamma, mu, l6):
    """:meth:`Tanh.solve_u` by the numpy path (the reference of the compiled kernel)."""
    return solve_reduced(
        lambda t1, t2, t3, gamma, mu, l6, g, c0: _tanh_solve(c0, t2, g),
        th1, th2, th3, gamma, mu, l6,
    )


@register_activation
class Tanh(Activation):
    """sigma(u) = tanh(u). Not in the paper; smooth, so its theory applies."""

    name = "tanh"

    def sigma(self, u):
        return np.tanh(u)

    def derivative(self, u):
        t = np.tanh(u)
        return 1 - t * t

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        """Global minimizer of phi, elementwise.

        All stationary points lie in [c0 - delta, c0 + delta], c0 = (gamma th1 + mu th3)/a,
        delta = gamma (|th2| + 1)/a, a = gamma + mu + 2 l6. A cheap bound certifies phi convex on
        that bracket for most entries (one safeguarded-Newton root of phi'). For the rest, the
        inflection points are the roots w = tanh v of a quartic on the bracket (bracketed
        roots between the closed-form critical points of the quartic); phi' is monotone between
        them, and the best of the breakpoints and of the roots of phi' on the pieces where it
        changes sign from - to + is the global minimizer.

        With the ``fast`` extra the entries certified convex by (a) to (c) are solved by a
        compiled kernel (:mod:`skalm._kernels_tanh`: the same arithmetic in a few fused
        passes, the same bits), the others by the numpy path (:func:`solve_numpy`).
        """
        v = _kernels_tanh.solve_u(th1, th2, th3, gamma, mu, l6)
        return solve_numpy(th1, th2, th3, gamma, mu, l6) if v is None else v
