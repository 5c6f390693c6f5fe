"""Vectorized root finding for the u-subproblems without a closed form (ELU's v <= 0
branch and tanh).

Both divide phi by a = gamma + mu + 2 l6 and drop a per-entry constant:

    2 phi / a = psi(v) + const,   psi(v) = (v - c0)^2 + g (th2 - sigma(v))^2,
    c0 = (gamma th1 + mu th3) / a,   g = gamma / a in (0, 1],

so every number stays of the size of the th's, and candidates are compared without the
large constant. The root finder works on phi'(v) / a = v - c0 - g (th2 - sigma) sigma'.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = [
    "FDF_ROWS",
    "flat_inputs",
    "reduced",
    "solve_reduced",
    "scratch",
    "safeguarded_newton",
    "sign_change_roots",
    "piecewise_minimizers",
]

_EPS = np.finfo(np.float64).eps
_MAXITER = 200
FDF_ROWS = 7  # scratch rows an fdf(x, ..., work=W) may use


def flat_inputs(th1, th2, th3):
    """Broadcast, flatten to float64 (no copy when already so), remember shape and dtype.

    The solvers never write into these arrays."""
    arrs = np.broadcast_arrays(np.asarray(th1), np.asarray(th2), np.asarray(th3))
    dtype = np.result_type(*arrs)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    shape = arrs[0].shape
    flat = [np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in arrs]
    return flat, shape, dtype


def reduced(th1, th3, gamma, mu, l6):
    a = gamma + mu + 2.0 * l6
    return gamma / a, (gamma / a) * th1 + (mu / a) * th3


def solve_reduced(solve, th1, th2, th3, gamma, mu, l6):
    """The frame of a ``solve_u`` by root finding: ``solve(t1, t2, t3, gamma, mu, l6, g, c0)``
    on the th's broadcast and flattened to float64 (:func:`flat_inputs`), with the reduced
    ``g``, ``c0`` (:func:`reduced`) and floating-point warnings off (overflow and NaN are
    handled by the safeguards); its result takes the inputs' shape and dtype."""
    (t1, t2, t3), shape, dtype = flat_inputs(th1, th2, th3)
    gamma, mu, l6 = float(gamma), float(mu), float(l6)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        g, c0 = reduced(t1, t3, gamma, mu, l6)
        v = solve(t1, t2, t3, gamma, mu, l6, g, c0)
    return v.reshape(shape).astype(dtype, copy=False)


_SCRATCH = threading.local()
_SCRATCH_MAX_BYTES = 64 * 2**20


def scratch(nfloat, nbool=0, slot="newton"):
    """Float64 and bool work buffers of at least nfloat and nbool elements, kept per thread and
    per ``slot`` (up to ``_SCRATCH_MAX_BYTES`` each) and reused by later calls: the u-block runs
    every sweep with the same sizes, and freshly mapped multi-megabyte buffers cost more in
    page faults than the arithmetic done in them. One user at a time per slot and thread."""
    cache = getattr(_SCRATCH, slot, None)
    if cache is None:
        cache = [np.empty(0), np.empty(0, dtype=bool)]
        setattr(_SCRATCH, slot, cache)
    out = []
    for k, (size, dtype) in enumerate(((nfloat, np.float64), (nbool, bool))):
        buf = cache[k]
        if buf.size < size:
            buf = np.empty(size, dtype=dtype)
            if buf.nbytes <= _SCRATCH_MAX_BYTES:
                cache[k] = buf
        out.append(buf)
    return out


def _take(args, ind):
    return [v.take(ind) if isinstance(v, np.ndarray) else v for v in args]


def _repeat(args, k):
    return [np.repeat(v, k) if isinstance(v, np.ndarray) else v for v in args]


def _newton_and_halley_divisor(f, df, d2f, newton, corr):
    """The Newton step f / f' and the Halley divisor max(1 - (f / f') f'' / (2 f'), 1/2), in
    place in the buffers ``newton`` and ``corr``: newton / corr is the Halley step, at most
    twice the Newton step."""
    np.divide(f, df, out=newton)
    np.multiply(newton, d2f, out=corr)
    corr /= df
    corr *= -0.5
    corr += 1.0
    np.maximum(corr, 0.5, out=corr)
    return newton, corr


def safeguarded_newton(fdf, lo, hi, x0, args, kbound=None, warm=0, tol=0.0):
    """A root of f in [lo, hi] for every entry, given f(lo) <= 0 <= f(hi) (vectorized rtsafe).

    ``fdf(x, *args, work=W)`` returns (f, f', f''), possibly as views of the scratch array W
    (``FDF_ROWS`` rows); array ``args`` are per-entry parameters. The bracket is kept on every
    step (f < 0 moves lo, f > 0 moves hi); the Halley step (capped at twice the Newton step) is
    taken only if it stays in the bracket and is at most half the step before last, otherwise
    the bracket is bisected. So the iteration converges at least like bisection whatever f is,
    and cubically near a simple root.

    An entry has converged when its last step or its bracket is below 4 ulps of the initial
    bracket's magnitude (or below ``tol`` if that is larger), or, if ``kbound`` =
    M2 / (2 m1^3) is given (m1 <= f', M2 >= |f''| on the whole bracket), when the rigorous
    bound on the error of the new point, |x_Halley - x_Newton| + kbound f(x)^2, is below that
    (Taylor: |x_Newton - x*| <= M2 e^2 / (2 f'(x)), and e = |x - x*| <= |f(x)| / m1).
    Converged entries are frozen, and dropped from the working set once they are a quarter
    of it. At most ``_MAXITER`` iterations.

    The first ``warm`` iterations are plain Halley steps clipped to [lo, hi] (for a good start
    they already converge; the safeguarded iteration then starts from their result, with the
    initial bracket). All per-iteration arithmetic is done in place in a few preallocated
    arrays: with tens of thousands of entries, fresh temporaries on every operation cost more
    than the arithmetic.
    """
    n = lo.size
    out = np.empty(n)
    if n == 0:
        return out
    args = list(args)
    arr = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    nst = 6 if kbound is None else 7
    # state rows: x, lo, hi, |last step|, |step before last|, xtol, [kbound], array args;
    # then the fdf's scratch rows W and the loop's L, and 4 boolean rows B
    ns = nst + len(arr)
    fbuf, bbuf = scratch((ns + FDF_ROWS + 6) * n, 4 * n)
    S = fbuf[: ns * n].reshape(ns, n)
    W = fbuf[ns * n : (ns + FDF_ROWS) * n].reshape(FDF_ROWS, n)
    L = fbuf[(ns + FDF_ROWS) * n : (ns + FDF_ROWS + 6) * n].reshape(6, n)
    B = bbuf[: 4 * n].reshape(4, n)
    S[1], S[2] = lo, hi
    np.fmin(np.fmax(x0, lo), hi, out=S[0])  # a NaN start becomes lo
    np.subtract(hi, lo, out=S[3])
    S[4] = S[3]
    np.maximum(np.abs(lo), np.abs(hi), out=S[5])
    S[5] *= 4.0 * _EPS
    np.maximum(S[5], max(tol, 1e-300), out=S[5])
    if kbound is not None:
        S[6] = kbound
    for j, i in enumerate(arr):
        S[nst + j] = args[i]
    ids = np.arange(n)
    m = n
    frozen = None
    for it in range(_MAXITER):
        x, lo, hi, adx1, adx2, xtol = S[0, :m], S[1, :m], S[2, :m], S[3, :m], S[4, :m], S[5, :m]
        for j, i in enumerate(arr):
            args[i] = S[nst + j, :m]
        f, df, d2f = fdf(x, *args, work=W[:, :m])
        b0 = B[0, :m]
        if it < warm:
            # cheap Halley step clipped to the initial bracket: no sign bookkeeping yet
            newton, corr = _newton_and_halley_divisor(f, df, d2f, L[0, :m], L[1, :m])
            newton /= corr
            x -= newton
            np.maximum(x, lo, out=x)
            np.minimum(x, hi, out=x)
            np.putmask(x, np.isnan(x, out=b0), lo)
            continue
        # bracket update without masked stores: d = -inf where f > 0, +inf where f < 0;
        # lo = max(lo, min(x, d)) moves lo to x iff f < 0, hi = min(hi, max(x, d)) iff f > 0
        d = np.copysign(np.inf, f, out=L[0, :m])
        np.negative(d, out=d)
        np.maximum(lo, np.minimum(x, d, out=L[1, :m]), out=lo)
        np.minimum(hi, np.maximum(x, d, out=L[1, :m]), out=hi)
        newton, corr = _newton_and_halley_divisor(f, df, d2f, L[0, :m], L[1, :m])
        step = np.divide(newton, corr, out=L[2, :m])  # Halley, at most twice the Newton step
        xn = np.subtract(x, step, out=L[3, :m])
        if kbound is not None:
            err = np.subtract(newton, step, out=L[4, :m])
            np.abs(err, out=err)
            ff = np.multiply(f, f, out=L[5, :m])
            ff *= S[6, :m]
            err += ff
            small = np.less_equal(err, xtol, out=B[3, :m])
        bis = np.less(xn, lo, out=B[1, :m])
        bis |= np.greater(xn, hi, out=b0)
        bis |= np.isnan(xn, out=b0)
        np.abs(step, out=step)
        step += step
        bis |= np.greater(step, adx2, out=b0)
        if bis.any():
            mid = np.add(lo, hi, out=L[0, :m])
            mid *= 0.5
            np.putmask(xn, bis, mid)
            if kbound is not None:
                small &= np.logical_not(bis, out=b0)
        if frozen is not None:
            np.putmask(xn, frozen, x)
        dx = np.subtract(xn, x, out=L[1, :m])
        np.abs(dx, out=dx)
        frozen = np.less_equal(dx, xtol, out=B[2, :m])
        frozen |= np.less_equal(np.subtract(hi, lo, out=L[0, :m]), xtol, out=b0)
        if kbound is not None:
            frozen |= small
        adx2[...] = adx1
        adx1[...] = dx
        x[...] = xn
        nconv = np.count_nonzero(frozen)
        if nconv == m:
            out[ids] = x
            return out
        if 4 * nconv >= m:
            done, keep = np.flatnonzero(frozen), np.flatnonzero(~frozen)
            out[ids.take(done)] = x.take(done)
            m = keep.size
            S[:, :m] = S[:, keep]
            ids = ids.take(keep)
            frozen = None
    out[ids] = S[0, :m]  # not reached in practice: the bracket halves at least every other step
    return out


def _secant_start(lo, hi, flo, fhi):
    """Regula-falsi point of a sign-changing bracket (the midpoint if that is not finite)."""
    x = lo - flo * ((hi - lo) / (fhi - flo))
    return np.where(np.isfinite(x), x, 0.5 * (lo + hi))


def sign_change_roots(bps, F, fdf, args, tol=0.0):
    """Roots of a function monotone between consecutive breakpoints (rows of ``bps`` sorted).

    ``F`` holds its values at ``bps``. Returns an (m, k-1) array: the root on every piece where
    the function changes sign strictly, NaN elsewhere (a monotone piece holds at most one root,
    and a root at a breakpoint is a breakpoint already).
    """
    m, k = bps.shape
    out = np.full((m, k - 1), np.nan)
    rows, cols = np.nonzero(np.sign(F[:, :-1]) * np.sign(F[:, 1:]) < 0)
    if rows.size:
        sgn = np.sign(F[rows, cols + 1])

        def oriented(x, s, *a, work=None):
            f, df, d2f = fdf(x, *a)
            return s * f, s * df, s * d2f

        lo, hi = bps[rows, cols], bps[rows, cols + 1]
        out[rows, cols] = safeguarded_newton(
            oriented, lo, hi, _secant_start(lo, hi, F[rows, cols], F[rows, cols + 1]),
            [sgn] + _take(args, rows),
            tol=tol,
        )
    return out


def piecewise_minimizers(bps, fdf, args, psi):
    """Global minimizer over [bps[:, 0], bps[:, -1]] when phi' is monotone between consecutive
    breakpoints (rows of ``bps`` sorted ascending).

    On a piece where phi' increases (phi convex) the piece minimizer is an endpoint or the
    unique sign change of phi' from - to +; on a piece where phi' decreases (concave) it is an
    endpoint, and phi' cannot go from - to +. So the candidates are every breakpoint and the
    root of phi' on every piece with phi'(left) < 0 < phi'(right); the best one by ``psi``
    (same arguments as ``fdf``) wins.
    """
    m, k = bps.shape
    W = scratch(FDF_ROWS * m * k, slot="pieces")[0][: FDF_ROWS * m * k]
    F = fdf(bps.ravel(), *_repeat(args, k), work=W.reshape(FDF_ROWS, m * k))[0].reshape(m, k)
    rows, cols = np.nonzero((F[:, :-1] < 0) & (F[:, 1:] > 0))
    cands = np.empty((m, 2 * k - 1))
    cands[:, :k] = bps
    cands[:, k:] = bps[:, :1]
    if rows.size:
        lo, hi = bps[rows, cols], bps[rows, cols + 1]
        cands[rows, k + cols] = safeguarded_newton(
            fdf, lo, hi, 0.5 * (lo + hi), _take(args, rows)
        )
    vals = psi(cands.ravel(), *_repeat(args, 2 * k - 1)).reshape(m, 2 * k - 1)
    return cands[np.arange(m), np.argmin(vals, axis=1)]
