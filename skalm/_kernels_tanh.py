"""Compiled u-subproblem of tanh (optional: the ``fast`` extra, numba).

:meth:`skalm.activations.tanh.Tanh.solve_u` minimizes, for every entry,

    psi(v) = (v - c0)^2 + g (th2 - tanh v)^2

(see :mod:`skalm.activations._roots`). The numpy path (:func:`skalm.activations.tanh.
_tanh_solve`) certifies psi convex on the bracket of its stationary points for almost every
entry and runs a vectorized safeguarded Newton/Halley iteration there, a dozen passes over the
arrays per iteration. The kernels here do the same arithmetic per entry in a few fused passes,
in the same operation order: the same bracket, certificates (a) to (c), start, steps and
convergence test. Entries that these certificates leave open (certificate (d) and the split
at the inflection points, rare in fits) and entries with a non-finite input go to the numpy
path, which gets only those (it treats every entry on its own). So both paths give the same
bits.

Nearly every entry converges at the first safeguarded iteration after the two warm-up Halley
steps: four evaluations of tanh per entry. A scalar ``tanh`` of the C library costs ten times
numpy's vectorized loop (17 against 1.8 ns per value here) and may differ from it in the last
bit, so the passes stop at each of them and numpy computes them: ``_setup`` (c0, certificate
(a), error bounds), [tanh, ``_certify`` (certificates (b), (c), where (a) fails)], tanh,
``_start`` (the Newton step from c0), tanh, ``_warm``, tanh, ``_warm``, tanh, ``_finish``
(the first safeguarded iteration), then tanh and ``_more`` (one more iteration) for the few
entries still open, until none is. The loops of the passes have no branches and vectorize.

The kernels run when :func:`skalm._kernels.enabled` (numba importable, ``SKALM_DISABLE_NUMBA``
unset) and the inputs are float32 or float64 of one dtype; they compute in float64, as the
numpy path does, and round the result to the inputs' dtype. The numpy path stays the fallback
and the reference of ``tests/test_kernels_tanh.py``.
"""

from __future__ import annotations

import numpy as np

from . import _kernels

__all__ = ["solve_u"]


if _kernels.numba_available():
    _njit = _kernels._numba.njit(cache=True, nogil=True, error_model="numpy")
else:  # pragma: no cover - plain functions, never called: solve_u declines without numba
    def _njit(func):
        return func


@_njit
def _npmax(a, b):  # numpy's maximum: NaN propagates
    if a != a or b != b:
        return a + b
    return a if a >= b else b


@_njit
def _npmin(a, b):  # numpy's minimum
    if a != a or b != b:
        return a + b
    return a if a <= b else b


@_njit
def _bracket(c0, th2, g):
    # Every stationary point satisfies |v - c0| = g |th2 - w| (1 - w^2) <= g (|th2| + 1).
    delta = abs(th2) * g + g
    return c0 - delta, c0 + delta


@_njit
def _fdf(v, w, c0, th2, g):
    # skalm.activations.tanh._tanh_fdf at v, w = tanh v, operation by operation.
    s = (1.0 - w) * (1.0 + w)
    t = s * g
    f = (v - (th2 - w) * t) - c0
    d2 = th2 * w
    df = ((((s * 3.0 - 2.0) + d2) + d2) * t) + 1.0
    a = (d2 * w) * -4.0
    b = ((s * -12.0) + 4.0) * w
    e = th2 * s
    d2f = ((a + b) + (e + e)) * t
    return f, df, d2f


@_njit
def _halley(f, df, d2f):
    # _roots._newton_and_halley_divisor: the Newton step and the Halley step
    newton = f / df
    return newton, newton / _npmax((((newton * d2f) / df) * -0.5) + 1.0, 0.5)


@_njit
def _iteration(x, f, df, d2f, lo, hi, adx2, xtol, kb):
    # One iteration of _roots.safeguarded_newton at x, given f and its derivatives there:
    # (frozen, new x, new lo, new hi, |step|). kb = NaN stands for kbound=None. No
    # branches, so that loops over entries calling it vectorize.
    newton, step = _halley(f, df, d2f)
    # f < 0 moves lo to x, f > 0 moves hi, by the sign bit as the numpy path's copysign
    # (x, lo and hi are finite here: the plain max and min vectorize, numpy's do not)
    neg = np.signbit(f)
    lo = max(lo, x) if neg else lo
    hi = hi if neg else min(hi, x)
    xn = x - step
    astep = abs(step)
    bis = (xn < lo) | (xn > hi) | (xn != xn) | (astep + astep > adx2)
    small = (abs(newton - step) + (f * f) * kb <= xtol) & ~bis
    xn = (lo + hi) * 0.5 if bis else xn
    dx = abs(xn - x)
    return (dx <= xtol) | (hi - lo <= xtol) | small, xn, lo, hi, dx


@_njit
def _xtol_of(lo, hi, eps4):  # safeguarded_newton's xtol (tol = 0)
    return max(max(abs(lo), abs(hi)) * eps4, 1e-300)


@_njit
def _setup(T1, T2, T3, g, ca, ka0, ka1, c0s, kbs, D, kind):
    # c0, the convexity bound kappa of certificate (a) of _tanh_solve and from it the error
    # bound kb = M2 / (2 m1^3) of the root finder, in a loop without branches. kind: 0
    # certified convex, 1 (a) fails (D = the distance of the bracket from 0, for _certify),
    # 2 a non-finite input. Returns the number of entries of kind 1 and of kind 2.
    kb2 = 4.0 * 0.5 * g
    kb8 = 8.0 * 0.5 * g
    nflag = 0
    nbad = 0
    for i in range(T2.size):
        c0 = g * np.float64(T1[i]) + ca * np.float64(T3[i])
        c0s[i] = c0
        th2 = np.float64(T2[i])
        at2 = abs(th2)
        kappa = at2 * ka0 + ka1
        kbs[i] = (((at2 * kb2 + kb8) / kappa) / kappa) / kappa
        lo, hi = _bracket(c0, th2, g)
        D[i] = 0.0 if (lo <= 0) & (hi >= 0) else min(abs(lo), abs(hi))
        bad = ~(np.isfinite(lo) & np.isfinite(hi))  # then c0 or th2 is not finite
        flag = (kappa <= 1e-9) & ~bad
        kind[i] = 2 if bad else (1 if flag else 0)
        nflag += flag
        nbad += bad
    return nflag, nbad


@_njit
def _certify(T2, g, hb0, hb1, htab, tend, hstep, WD, kbs, kind):
    # Certificates (b) and (c) of _tanh_solve where (a) fails (kind 1; WD = tanh of the
    # distance of the bracket from 0): kind 0 and kb where they hold, else kind 2 (left to
    # the numpy path: certificate (d) and the split at the inflection points). Returns the
    # number of the latter.
    kb2 = 4.0 * 0.5 * g
    kb8 = 8.0 * 0.5 * g
    ntab = htab.size
    nbad = 0
    for i in range(T2.size):
        if kind[i] != 1:
            continue
        at2 = abs(np.float64(T2[i]))
        # (b) the tabulated concave lower bound of min_w h, (c) the sech^2 bound
        hmin = hb0 - hb1 * at2
        if at2 < tend:
            u = at2 / hstep
            k = min(int(u), ntab - 2)
            frac = u - k
            hmin = _npmax(hmin, htab[k] + frac * (htab[k + 1] - htab[k]))
        wd = WD[i]
        hmin = _npmax(hmin, (-(1.0 - wd) * (1.0 + wd)) * (2.0 + 2.0 * at2))
        kappa = 1.0 + g * hmin
        if kappa <= 1e-9:
            kind[i] = 2
            nbad += 1
        else:
            kind[i] = 0
            kbs[i] = (((at2 * kb2 + kb8) / kappa) / kappa) / kappa
    return nbad


@_njit
def _start(c0s, T2, g, W, X):
    # One Newton step from c0 (phi'' > 0 there), w = tanh c0 given, clipped to the bracket.
    for i in range(c0s.size):
        c0 = c0s[i]
        th2 = np.float64(T2[i])
        w = W[i]
        s = (1.0 - w) * (1.0 + w)
        t = th2 * w - 1.0
        t = (((t + t) + s) + s) + s
        s = s * g
        t = t * s + 1.0
        x0 = (((th2 - w) * s) / t) + c0
        lo, hi = _bracket(c0, th2, g)
        X[i] = _npmin(_npmax(x0, lo), hi) if x0 == x0 else lo  # np.fmin(np.fmax(x0, lo), hi)


@_njit
def _warm(c0s, T2, g, W, X):
    # A plain Halley step clipped to the bracket (the ``warm`` iterations), w = tanh x given.
    for i in range(c0s.size):
        c0 = c0s[i]
        th2 = np.float64(T2[i])
        lo, hi = _bracket(c0, th2, g)
        x = X[i]
        f, df, d2f = _fdf(x, W[i], c0, th2, g)
        x = x - _halley(f, df, d2f)[1]
        X[i] = lo if x != x else min(max(x, lo), hi)


@_njit
def _first(i, c0s, T2, g, W, X, kbs, eps4):
    # The first safeguarded iteration of entry i from the initial bracket (w = tanh x given):
    # (frozen, x, lo, hi, |step|, width of the initial bracket).
    c0 = c0s[i]
    th2 = np.float64(T2[i])
    lo, hi = _bracket(c0, th2, g)
    x = X[i]
    f, df, d2f = _fdf(x, W[i], c0, th2, g)
    return _iteration(x, f, df, d2f, lo, hi, hi - lo, _xtol_of(lo, hi, eps4), kbs[i]) + (
        hi - lo,)


@_njit
def _finish(c0s, T2, g, W, X, kbs, kind, eps4, out):
    # The first safeguarded iteration for every entry, in a loop without branches; then the
    # state after it (x, lo, hi, |last step|, |step before|) of the certified entries
    # (kind 0) that it does not freeze, for _more: (their number, their indices, their
    # states).
    n = c0s.size
    ntodo = 0
    for i in range(n):
        frozen, x, lo, hi, dx, width = _first(i, c0s, T2, g, W, X, kbs, eps4)
        out[i] = x
        ntodo += ~frozen & (kind[i] == 0)
    idx = np.empty(ntodo, dtype=np.intp)
    state = np.empty((5, ntodo))
    m = 0
    for i in range(n if ntodo else 0):
        frozen, x, lo, hi, dx, width = _first(i, c0s, T2, g, W, X, kbs, eps4)
        if not frozen and kind[i] == 0:
            idx[m] = i
            state[0, m], state[1, m], state[2, m], state[3, m], state[4, m] = (
                x, lo, hi, dx, width)
            m += 1
    return m, idx, state


@_njit
def _more(idx, state, W, c0s, T2, g, kbs, eps4, m, out):
    # One more safeguarded iteration for the m entries idx[:m] of state[:, :m] (W = tanh of
    # their x): the frozen ones go to out, the others stay, moved to the front. Returns how
    # many stay.
    k = 0
    for j in range(m):
        i = idx[j]
        c0 = c0s[i]
        th2 = np.float64(T2[i])
        lo, hi = _bracket(c0, th2, g)
        x = state[0, j]
        f, df, d2f = _fdf(x, W[j], c0, th2, g)
        frozen, x, lo, hi, dx = _iteration(x, f, df, d2f, state[1, j], state[2, j],
                                           state[4, j], _xtol_of(lo, hi, eps4), kbs[i])
        if frozen:
            out[i] = x
        else:
            idx[k] = i
            state[4, k] = state[3, j]
            state[0, k], state[1, k], state[2, k], state[3, k] = x, lo, hi, dx
            k += 1
    return k


_WARM = 2  # the numpy path's safeguarded_newton(..., warm=2)


def solve_u(th1, th2, th3, gamma, mu, l6):
    """:meth:`Tanh.solve_u <skalm.activations.tanh.Tanh.solve_u>` by the kernel, or None when
    it cannot run (numba missing or switched off, or inputs not float32/float64 of one dtype):
    then the caller runs the numpy path.

    Parameters
    ----------
    th1, th2, th3 : ndarray
        Broadcast against each other.
    gamma, mu, l6 : float

    Returns
    -------
    ndarray or None
        The minimizer in the broadcast shape and the inputs' dtype.
    """
    arrs = np.broadcast_arrays(np.asarray(th1), np.asarray(th2), np.asarray(th3))
    if not _kernels._same_float(*arrs):
        return None
    dtype = arrs[0].dtype
    from .activations import _roots
    from .activations import tanh as _tanh

    shape = arrs[0].shape
    t1, t2, t3 = (np.ravel(x) for x in arrs)  # views when already contiguous
    n = t2.size
    gamma, mu, l6 = float(gamma), float(mu), float(l6)
    # the Python-float scalars of _roots.reduced and _tanh_solve
    a = gamma + mu + 2.0 * l6
    g, ca = gamma / a, mu / a
    fbuf, bbuf = _roots.scratch(4 * n, n, slot="tanh_kernel")
    c0, kb, x, w = (fbuf[j * n : (j + 1) * n] for j in range(4))
    kind = bbuf[:n].view(np.uint8)
    nflag, nbad = _setup(t1, t2, t3, g, ca, -g * 4.0 / (3.0 * np.sqrt(3.0)), 1.0 - g / 3.0,
                         c0, kb, w, kind)
    # numpy's tanh between the passes (see the module's docstring)
    if nflag:
        nbad += _certify(t2, g, -1.0 / 3.0, 4.0 / (3.0 * np.sqrt(3.0)), _tanh._H_MIN,
                         float(_tanh._H_MIN_T[-1]), float(_tanh._H_MIN_STEP),
                         np.tanh(w, out=w), kb, kind)
    _start(c0, t2, g, np.tanh(c0, out=w), x)
    for _ in range(_WARM):
        _warm(c0, t2, g, np.tanh(x, out=w), x)
    out = np.empty(n, dtype=dtype)
    eps4 = 4.0 * _roots._EPS
    m, idx, state = _finish(c0, t2, g, np.tanh(x, out=w), x, kb, kind, eps4, out)
    # the few entries that the first safeguarded iteration leaves open: the further ones
    # as numpy does them, all at once with numpy's tanh, until they are frozen
    for _ in range(_roots._MAXITER - _WARM - 1):
        if not m:
            break
        m = _more(idx, state, np.tanh(state[0, :m]), c0, t2, g, kb, eps4, m, out)
    out[idx[:m]] = state[0, :m]  # not reached in practice (as in _roots.safeguarded_newton)
    if nbad:
        idx = np.flatnonzero(kind == 2)
        out[idx] = _tanh.solve_numpy(t1[idx], t2[idx], t3[idx], gamma, mu, l6).ravel()
    return out.reshape(shape)
