"""The ELU activation (paper section 4.3): closed form on v >= 0, bracketed root finding
on v <= 0."""

from __future__ import annotations

import numpy as np

from ._base import IdentityOnPositives, register_activation
from ._roots import FDF_ROWS, piecewise_minimizers, safeguarded_newton, scratch, solve_reduced

__all__ = ["ELU"]

# ---- ELU on v <= 0: z = e^v, sigma = alpha (z - 1), sigma' = sigma'' = alpha z, p = th2 + alpha.


def _elu_fdf(v, c0, p, g, alpha, work=None):
    if work is None:
        work = np.empty((FDF_ROWS,) + np.broadcast(v, c0, p).shape)
    az, gaz, f, df, d2 = work[0], work[1], work[2], work[3], work[4]
    np.exp(v, out=az)
    az *= alpha
    np.multiply(az, g, out=gaz)
    np.subtract(p, az, out=f)
    f *= gaz
    np.subtract(v, f, out=f)
    f -= c0  # v - c0 - g az (p - az)
    np.multiply(az, 2.0, out=df)
    df -= p
    df *= gaz
    df += 1.0  # 1 + g az (2 az - p)
    np.multiply(az, 4.0, out=d2)
    d2 -= p
    d2 *= gaz  # g az (4 az - p)
    return f, df, d2


def _elu_psi(v, c0, p, g, alpha):
    return (v - c0) ** 2 + g * (p - alpha * np.exp(v)) ** 2


def _elu_negative_branch(c0, th2, g, alpha):
    """argmin of psi over v <= 0 for sigma(v) = alpha (e^v - 1) (spec 3c, paper 4.37-4.40)."""
    p = th2 + alpha
    # Lower bound v_lo. The minimizer over (-inf, 0] is 0 or a stationary point v < 0, and there
    # (i)  |v - c0| = g |th2 - sigma| sigma' <= g alpha max(|th2|, |th2 + alpha|),
    # (ii) psi(v) <= psi(0), so (v - c0)^2 <= c0^2 + g (th2^2 - min_{s in [-alpha, 0]} (th2 - s)^2)
    #      because sigma ranges over (-alpha, 0] on v < 0.
    # So it lies in [v_lo, 0] with v_lo = min(0, max(i, ii)); phi(v) > phi(0) below (ii).
    b1 = c0 - g * alpha * np.maximum(np.abs(th2), np.abs(p))
    dist = th2 - np.clip(th2, -alpha, 0.0)
    b2 = c0 - np.sqrt(c0 * c0 + g * np.maximum(th2 * th2 - dist * dist, 0.0))
    vlo = np.minimum(0.0, np.maximum(b1, b2))

    # phi''/a = 2 g alpha^2 z^2 - g alpha p z + 1: an upward parabola in z, negative only between
    # its roots zs < zb, which exist iff p > 0 and g p^2 > 8. Where the concave interval
    # (log zs, log zb) misses (v_lo, 0), phi is convex on [v_lo, 0].
    nonconvex = np.zeros(c0.shape, dtype=bool)
    maybe = np.flatnonzero((p > 0) & (g * p * p > 8.0))
    if maybe.size:
        pm = p[maybe]
        zb = (pm + np.sqrt(pm * pm - 8.0 / g)) / (4.0 * alpha)
        zs = 1.0 / (2.0 * g * alpha * alpha * zb)  # product of the roots: stable
        s1, s2 = np.log(zs), np.log(zb)
        hit = (s1 < 0) & (s2 > vlo[maybe])
        maybe, s1, s2 = maybe[hit], s1[hit], s2[hit]
        nonconvex[maybe] = True

    # Convex on [v_lo, 0]: phi'(0-) <= 0 gives 0, phi'(v_lo) >= 0 gives v_lo, else one root.
    vm = np.zeros_like(c0)
    f0 = -c0 - g * alpha * th2  # phi'(0-) / a
    pos = np.flatnonzero((f0 > 0) & ~nonconvex)
    if pos.size:
        lo, c1, p1 = vlo[pos], c0[pos], p[pos]
        W = scratch(FDF_ROWS * lo.size, slot="elu")[0][: FDF_ROWS * lo.size]
        flo = _elu_fdf(lo, c1, p1, g, alpha, work=W.reshape(FDF_ROWS, lo.size))[0]
        vm[pos] = lo
        need = np.flatnonzero(flo < 0)
        if need.size:
            lo, c1, p1 = lo[need], c1[need], p1[need]
            # Start: one Newton step from min(c0, 0) (phi'' > 0 on the convex [v_lo, 0]).
            x = np.maximum(np.minimum(c1, 0.0), lo)
            W = scratch(FDF_ROWS * x.size, slot="elu")[0][: FDF_ROWS * x.size]
            f, df, _ = _elu_fdf(x, c1, p1, g, alpha, work=W.reshape(FDF_ROWS, x.size))
            x0 = x - f / df
            # Error bound of the root finder: with y = alpha e^v in [alpha e^v_lo, alpha],
            # phi''/a = 2 g y^2 - g p y + 1 >= its minimum m1 there (vertex y = p / 4) and
            # |phi'''/a| = |g y (4 y - p)| <= g alpha (4 alpha + |p|).
            y = np.minimum(np.maximum(0.25 * p1, alpha * np.exp(lo)), alpha)
            m1 = (2.0 * g * y - g * p1) * y + 1.0
            m1 = np.where(m1 > 1e-9, m1, 0.0)
            kb = (0.5 * g * alpha) * (4.0 * alpha + np.abs(p1)) / (m1 * m1 * m1)
            vm[pos[need]] = safeguarded_newton(
                _elu_fdf, lo, np.zeros_like(lo), x0, [c1, p1, g, alpha], kb, warm=2
            )
    # Convex / concave / convex pieces split at log zs, log zb (clipped to [v_lo, 0]).
    if maybe.size:
        lo = vlo[maybe]
        bps = np.column_stack(
            [lo, np.clip(s1, lo, 0.0), np.clip(s2, lo, 0.0), np.zeros_like(lo)]
        )
        vm[maybe] = piecewise_minimizers(
            bps, _elu_fdf, [c0[maybe], p[maybe], g, alpha], _elu_psi
        )
    return vm


@register_activation
class ELU(IdentityOnPositives):
    """sigma(u) = u for u >= 0, alpha (e^u - 1) for u < 0 (paper section 4.3).

    Parameters
    ----------
    alpha : float, default=1.0
        Scale of the negative branch (the paper uses 1).
    """

    name = "elu"

    def __init__(self, alpha=1.0):
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}.")
        self.alpha = float(alpha)

    def get_params(self, deep=True):
        return {"alpha": self.alpha}

    def sigma(self, u):
        return np.where(u >= 0, u, self.alpha * np.expm1(np.minimum(u, 0)))

    def derivative(self, u):
        return np.where(u >= 0, 1.0, self.alpha * np.exp(np.minimum(u, 0))).astype(
            np.result_type(u, np.float32)
        )

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        """Global minimizer of phi, elementwise (spec 3c).

        v+ is the closed form of the v >= 0 branch. On v <= 0, [v_lo, 0] contains the branch
        minimizer (v_lo from the stationarity and descent bounds in ``_elu_negative_branch``);
        phi'' is an upward parabola in z = e^v, so [v_lo, 0] is convex except on at most one
        concave interval between its two closed-form roots. Entries without that interval need
        at most one bracketed safeguarded-Newton root of phi'; the others compare the breakpoints
        and the root of phi' on every piece where it changes sign from - to +. Ties go to v+.
        """
        alpha = self.alpha

        def solve(t1, t2, t3, gamma, mu, l6, g, c0):
            vp = self._positive_branch(t1, t2, t3, gamma, mu, l6)
            vm = _elu_negative_branch(c0, t2, g, alpha)
            # psi = 2 phi / a - const: same comparison as ``_pick`` without the large constant.
            psi_p = (vp - c0) ** 2 + g * (t2 - vp) ** 2
            psi_m = (vm - c0) ** 2 + g * (t2 - alpha * np.expm1(vm)) ** 2
            return np.where(psi_p <= psi_m, vp, vm)

        return solve_reduced(solve, th1, th2, th3, gamma, mu, l6)
