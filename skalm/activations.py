"""Activation strategies: sigma, its derivative, and the global minimizer of the u-subproblem.

Each strategy owns everything the solvers need to know about one activation function. The
ALM-BCD u-block (spec section 3c, paper eq. 3.16) reduces to rT independent one-dimensional
problems

    phi(v) = (gamma/2)(v - th1)^2 + (gamma/2)(th2 - sigma(v))^2 + (mu/2)(v - th3)^2 + l6 v^2

and :meth:`Activation.solve_u` returns the *global* minimizer of every one of them at once
(arrays in, array out). Strategies are looked up by name in :data:`ACTIVATIONS`.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = [
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Tanh",
    "ACTIVATIONS",
    "get_activation",
    "phi",
]


def phi(v, th1, th2, th3, gamma, mu, l6, sigma):
    """The u-subproblem objective (spec 3c), elementwise. Used by strategies and tests."""
    return (
        0.5 * gamma * (v - th1) ** 2
        + 0.5 * gamma * (th2 - sigma(v)) ** 2
        + 0.5 * mu * (v - th3) ** 2
        + l6 * v**2
    )


class Activation:
    """Base class of an activation strategy.

    Subclasses implement :meth:`sigma`, :meth:`derivative` and :meth:`solve_u`.

    Attributes
    ----------
    name : str
        Registry name.
    smooth : bool
        Whether sigma is continuously differentiable (gradient solvers' finite-difference
        tests and the theory of smooth constraints use this).
    """

    name = ""
    smooth = False

    def sigma(self, u):
        """sigma(u), elementwise."""
        raise NotImplementedError

    def derivative(self, u):
        """sigma'(u), elementwise (at a kink: the right derivative)."""
        raise NotImplementedError

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        """Global minimizer of phi for every entry (arrays of one shape; scalars gamma, mu, l6)."""
        raise NotImplementedError

    def __call__(self, u):
        return self.sigma(u)

    def phi(self, v, th1, th2, th3, gamma, mu, l6):
        return phi(v, th1, th2, th3, gamma, mu, l6, self.sigma)

    def get_params(self):
        """The strategy's own parameters (e.g. ``{"slope": 0.01}``)."""
        return {}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_params().items()))))

    def _positive_branch(self, th1, th2, th3, gamma, mu, l6):
        # On v >= 0 every activation here with sigma(v) = v there (relu, leaky, elu) makes phi a
        # strongly convex quadratic: eq. (3.20).
        return np.maximum(0.0, (gamma * th1 + gamma * th2 + mu * th3) / (2 * gamma + mu + 2 * l6))

    def _pick(self, vp, vm, th1, th2, th3, gamma, mu, l6):
        # Ties go to the non-negative candidate (Remark 3.4).
        fp = self.phi(vp, th1, th2, th3, gamma, mu, l6)
        fm = self.phi(vm, th1, th2, th3, gamma, mu, l6)
        return np.where(fp <= fm, vp, vm)


class ReLU(Activation):
    """sigma(u) = max(u, 0) (the paper's main case)."""

    name = "relu"
    smooth = False

    def sigma(self, u):
        return np.maximum(u, 0)

    def derivative(self, u):
        return (u >= 0).astype(np.result_type(u, np.float32))

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        vp = self._positive_branch(th1, th2, th3, gamma, mu, l6)
        # eq. (3.21)-(3.22): on v < 0, sigma = 0 and phi is again a quadratic.
        vm = np.minimum(0.0, (gamma * th1 + mu * th3) / (gamma + mu + 2 * l6))
        return self._pick(vp, vm, th1, th2, th3, gamma, mu, l6)


class LeakyReLU(Activation):
    """sigma(u) = max(u, slope * u) with 0 < slope < 1.

    Parameters
    ----------
    slope : float, default=0.01
        The slope w on the negative half-line.
    """

    name = "leaky_relu"
    smooth = False

    def __init__(self, slope=0.01):
        if not (0 < slope < 1):
            raise ValueError(f"slope must be in (0, 1), got {slope!r}.")
        self.slope = float(slope)

    def get_params(self):
        return {"slope": self.slope}

    def sigma(self, u):
        return np.maximum(u, self.slope * u)

    def derivative(self, u):
        return np.where(u >= 0, 1.0, self.slope).astype(np.result_type(u, np.float32))

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        w = self.slope
        vp = self._positive_branch(th1, th2, th3, gamma, mu, l6)
        # The paper's eq. (4.35) keeps ReLU's test "gamma th1 + mu th3 < 0"; the minimizer on
        # v <= 0 of this quadratic is the clipped stationary point of the whole numerator.
        vm = np.minimum(
            0.0, (gamma * th1 + gamma * w * th2 + mu * th3) / (gamma + gamma * w * w + mu + 2 * l6)
        )
        return self._pick(vp, vm, th1, th2, th3, gamma, mu, l6)


# ---------------------------------------------------------------------------------------------
# Private helpers of the smooth-branch solvers (ELU's v <= 0 branch and tanh).
#
# Both divide phi by a = gamma + mu + 2 l6 and drop a per-entry constant:
#
#     2 phi / a = psi(v) + const,   psi(v) = (v - c0)^2 + g (th2 - sigma(v))^2,
#     c0 = (gamma th1 + mu th3) / a,   g = gamma / a in (0, 1],
#
# so every number stays of the size of the th's, and candidates are compared without the
# large constant. The root finder works on phi'(v) / a = v - c0 - g (th2 - sigma) sigma'.

_EPS = np.finfo(np.float64).eps
_MAXITER = 200
_FDF_ROWS = 7  # scratch rows an fdf(x, ..., work=W) may use


def _flat_inputs(th1, th2, th3):
    """Broadcast, flatten to float64 (no copy when already so), remember shape and dtype.

    The solvers never write into these arrays."""
    arrs = np.broadcast_arrays(np.asarray(th1), np.asarray(th2), np.asarray(th3))
    dtype = np.result_type(*arrs)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    shape = arrs[0].shape
    flat = [np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in arrs]
    return flat, shape, dtype


def _reduced(th1, th3, gamma, mu, l6):
    a = gamma + mu + 2.0 * l6
    return gamma / a, (gamma / a) * th1 + (mu / a) * th3


_SCRATCH = threading.local()
_SCRATCH_MAX_BYTES = 64 * 2**20


def _scratch(nfloat, nbool=0, slot="newton"):
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


def _safeguarded_newton(fdf, lo, hi, x0, args, kbound=None, warm=0, tol=0.0):
    """A root of f in [lo, hi] for every entry, given f(lo) <= 0 <= f(hi) (vectorized rtsafe).

    ``fdf(x, *args, work=W)`` returns (f, f', f''), possibly as views of the scratch array W
    (``_FDF_ROWS`` rows); array ``args`` are per-entry parameters. The bracket is kept on every
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
    fbuf, bbuf = _scratch((ns + _FDF_ROWS + 6) * n, 4 * n)
    S = fbuf[: ns * n].reshape(ns, n)
    W = fbuf[ns * n : (ns + _FDF_ROWS) * n].reshape(_FDF_ROWS, n)
    L = fbuf[(ns + _FDF_ROWS) * n : (ns + _FDF_ROWS + 6) * n].reshape(6, n)
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
            newton = np.divide(f, df, out=L[0, :m])
            corr = np.multiply(newton, d2f, out=L[1, :m])
            corr /= df
            corr *= -0.5
            corr += 1.0
            np.maximum(corr, 0.5, out=corr)
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
        newton = np.divide(f, df, out=L[0, :m])
        corr = np.multiply(newton, d2f, out=L[1, :m])
        corr /= df
        corr *= -0.5
        corr += 1.0
        np.maximum(corr, 0.5, out=corr)
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


def _sign_change_roots(bps, F, fdf, args, tol=0.0):
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
        out[rows, cols] = _safeguarded_newton(
            oriented, lo, hi, _secant_start(lo, hi, F[rows, cols], F[rows, cols + 1]),
            [sgn] + _take(args, rows),
            tol=tol,
        )
    return out


def _piecewise_minimizers(bps, fdf, args, psi):
    """Global minimizer over [bps[:, 0], bps[:, -1]] when phi' is monotone between consecutive
    breakpoints (rows of ``bps`` sorted ascending).

    On a piece where phi' increases (phi convex) the piece minimizer is an endpoint or the
    unique sign change of phi' from - to +; on a piece where phi' decreases (concave) it is an
    endpoint, and phi' cannot go from - to +. So the candidates are every breakpoint and the
    root of phi' on every piece with phi'(left) < 0 < phi'(right); the best one by ``psi``
    (same arguments as ``fdf``) wins.
    """
    m, k = bps.shape
    W = _scratch(_FDF_ROWS * m * k, slot="pieces")[0][: _FDF_ROWS * m * k]
    F = fdf(bps.ravel(), *_repeat(args, k), work=W.reshape(_FDF_ROWS, m * k))[0].reshape(m, k)
    rows, cols = np.nonzero((F[:, :-1] < 0) & (F[:, 1:] > 0))
    cands = np.empty((m, 2 * k - 1))
    cands[:, :k] = bps
    cands[:, k:] = bps[:, :1]
    if rows.size:
        lo, hi = bps[rows, cols], bps[rows, cols + 1]
        cands[rows, k + cols] = _safeguarded_newton(
            fdf, lo, hi, 0.5 * (lo + hi), _take(args, rows)
        )
    vals = psi(cands.ravel(), *_repeat(args, 2 * k - 1)).reshape(m, 2 * k - 1)
    return cands[np.arange(m), np.argmin(vals, axis=1)]


# ---- ELU on v <= 0: z = e^v, sigma = alpha (z - 1), sigma' = sigma'' = alpha z, p = th2 + alpha.


def _elu_fdf(v, c0, p, g, alpha, work=None):
    if work is None:
        work = np.empty((_FDF_ROWS,) + np.broadcast(v, c0, p).shape)
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
        W = _scratch(_FDF_ROWS * lo.size, slot="elu")[0][: _FDF_ROWS * lo.size]
        flo = _elu_fdf(lo, c1, p1, g, alpha, work=W.reshape(_FDF_ROWS, lo.size))[0]
        vm[pos] = lo
        need = np.flatnonzero(flo < 0)
        if need.size:
            lo, c1, p1 = lo[need], c1[need], p1[need]
            # Start: one Newton step from min(c0, 0) (phi'' > 0 on the convex [v_lo, 0]).
            x = np.maximum(np.minimum(c1, 0.0), lo)
            W = _scratch(_FDF_ROWS * x.size, slot="elu")[0][: _FDF_ROWS * x.size]
            f, df, _ = _elu_fdf(x, c1, p1, g, alpha, work=W.reshape(_FDF_ROWS, x.size))
            x0 = x - f / df
            # Error bound of the root finder: with y = alpha e^v in [alpha e^v_lo, alpha],
            # phi''/a = 2 g y^2 - g p y + 1 >= its minimum m1 there (vertex y = p / 4) and
            # |phi'''/a| = |g y (4 y - p)| <= g alpha (4 alpha + |p|).
            y = np.minimum(np.maximum(0.25 * p1, alpha * np.exp(lo)), alpha)
            m1 = (2.0 * g * y - g * p1) * y + 1.0
            m1 = np.where(m1 > 1e-9, m1, 0.0)
            kb = (0.5 * g * alpha) * (4.0 * alpha + np.abs(p1)) / (m1 * m1 * m1)
            vm[pos[need]] = _safeguarded_newton(
                _elu_fdf, lo, np.zeros_like(lo), x0, [c1, p1, g, alpha], kb, warm=2
            )
    # Convex / concave / convex pieces split at log zs, log zb (clipped to [v_lo, 0]).
    if maybe.size:
        lo = vlo[maybe]
        bps = np.column_stack(
            [lo, np.clip(s1, lo, 0.0), np.clip(s2, lo, 0.0), np.zeros_like(lo)]
        )
        vm[maybe] = _piecewise_minimizers(
            bps, _elu_fdf, [c0[maybe], p[maybe], g, alpha], _elu_psi
        )
    return vm


# ---- tanh: w = tanh v, s = sech^2 v = 1 - w^2.


def _tanh_fdf(v, c0, th2, g, work=None):
    if work is None:
        work = np.empty((_FDF_ROWS,) + np.broadcast(v, c0, th2).shape)
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
    fbuf = _scratch(7 * n, slot="tanh")[0]
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
    v = _safeguarded_newton(_tanh_fdf, lo, hi, x0, [c0, th2, g], kb, warm=2)
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
    infl = _sign_change_roots(bC, Q, _q_fdf, [t1, C], tol=1e-13)
    vi = np.arctanh(infl)
    vi = np.where(np.isnan(vi), l1[:, None], np.clip(vi, l1[:, None], h1[:, None]))
    bps = np.sort(np.column_stack([l1, vi, h1]), axis=1)
    v[nc] = _piecewise_minimizers(bps, _tanh_fdf, [c1, t1, g], _tanh_psi)
    return v


class ELU(Activation):
    """sigma(u) = u for u >= 0, alpha (e^u - 1) for u < 0 (paper section 4.3).

    Parameters
    ----------
    alpha : float, default=1.0
        Scale of the negative branch (the paper uses 1).
    """

    name = "elu"
    smooth = False  # C^1 only when alpha == 1

    def __init__(self, alpha=1.0):
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}.")
        self.alpha = float(alpha)

    def get_params(self):
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
        (t1, t2, t3), shape, dtype = _flat_inputs(th1, th2, th3)
        gamma, mu, l6, alpha = float(gamma), float(mu), float(l6), self.alpha
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            g, c0 = _reduced(t1, t3, gamma, mu, l6)
            vp = self._positive_branch(t1, t2, t3, gamma, mu, l6)
            vm = _elu_negative_branch(c0, t2, g, alpha)
            # psi = 2 phi / a - const: same comparison as ``_pick`` without the large constant.
            psi_p = (vp - c0) ** 2 + g * (t2 - vp) ** 2
            psi_m = (vm - c0) ** 2 + g * (t2 - alpha * np.expm1(vm)) ** 2
            v = np.where(psi_p <= psi_m, vp, vm)
        return v.reshape(shape).astype(dtype, copy=False)


class Tanh(Activation):
    """sigma(u) = tanh(u). Not in the paper; smooth, so its theory applies."""

    name = "tanh"
    smooth = True

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
        """
        (t1, t2, t3), shape, dtype = _flat_inputs(th1, th2, th3)
        gamma, mu, l6 = float(gamma), float(mu), float(l6)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            g, c0 = _reduced(t1, t3, gamma, mu, l6)
            v = _tanh_solve(c0, t2, g)
        return v.reshape(shape).astype(dtype, copy=False)


#: Activation name -> strategy class.
ACTIVATIONS = {cls.name: cls for cls in (ReLU, LeakyReLU, ELU, Tanh)}


def get_activation(name, **params):
    """Instantiate the strategy registered under ``name`` with its own parameters."""
    if isinstance(name, Activation):
        return name
    try:
        cls = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None
    return cls(**params)
