"""The compiled u-subproblem of tanh (:mod:`skalm._kernels_tanh`) against the numpy path
(:func:`skalm.activations.tanh.solve_numpy`) and against a brute-force oracle.

The kernel does the numpy path's arithmetic in the same order with numpy's tanh, so the two
agree to the last bit on this machine; the comparisons allow 1e-12 of the size of the numbers
(a differently rounded tanh elsewhere may move a root by a few ulps), far below what a wrong
root, a wrong certificate or a wrong branch would change. The oracle shares no code with
either: psi on a dense grid over a range derived independently (below), the best grid point
polished by a bounded scalar minimization; both paths must be at least as good.

Range of the oracle: psi(v) = (v - c0)^2 + g (th2 - tanh v)^2 >= (v - c0)^2 and the minimizer
v* has psi(v*) <= psi(c0) = g (th2 - tanh c0)^2, so |v* - c0| <= sqrt(g) |th2 - tanh c0|.
"""

import functools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from skalm import ElmanRNNRegressor, _kernels, _kernels_tanh
from skalm.activations import Tanh
from skalm.activations import tanh as tanh_module

pytestmark = pytest.mark.skipif(not _kernels.numba_available(),
                                reason="needs the 'fast' extra (numba)")

EPS = np.finfo(np.float64).eps


@pytest.fixture(autouse=True)
def numba_on(monkeypatch):
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "0")
    assert _kernels.enabled()


def both(th1, th2, th3, gamma, mu, l6):
    """(kernel, numpy path), with no warning escaping either."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = _kernels_tanh.solve_u(th1, th2, th3, gamma, mu, l6)
        ref = tanh_module.solve_numpy(th1, th2, th3, gamma, mu, l6)
    assert fast is not None
    assert fast.shape == ref.shape and fast.dtype == ref.dtype
    return fast, ref


def assert_close(fast, ref, th1, th2, th3):
    size = 1.0 + np.abs(th1) + np.abs(th2) + np.abs(th3)
    both_nan = np.isnan(fast) & np.isnan(ref)
    err = np.where(both_nan, 0.0, np.abs(fast - ref))
    bad = ~(err <= 1e-12 * size)
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise AssertionError(f"kernel {fast.ravel()[i]!r} != numpy path {ref.ravel()[i]!r} at "
                             f"th = {th1.ravel()[i]!r}, {th2.ravel()[i]!r}, {th3.ravel()[i]!r}")


def adversarial(rng, n_c0=60):
    """th's at the edges of the certificates: |th2| near 1 (where (a) stops at g = 1), near
    and beyond 8 (the end of the table of (b)), huge; c0 across the bracket where phi is
    nonconvex; exact zeros; th1 = th3 (mu then does not move c0)."""
    th2_values = np.array([0.0, 0.5, 0.8, 0.86, 0.87, 0.999, 1.0, 1.001, 1.5, 2.0, 3.0, 4.0,
                           7.999, 8.0, 8.001, 12.0, 50.0, 1e6])
    th2_values = np.concatenate([th2_values, -th2_values])
    c0 = np.concatenate([np.linspace(-12.0, 12.0, n_c0), [0.0, 1e-300, -1e6, 1e6]])
    th1, th2 = (a.ravel() for a in np.meshgrid(c0, th2_values))
    th1 = th1 + 1e-3 * rng.standard_normal(th1.size) * (th1 != 0)
    return th1, th2, th1.copy()


# (gamma, mu, l6): g = gamma / (gamma + mu + 2 l6) from 1 (the hardest: mu = l6 = 0) down to
# tiny (phi convex everywhere), the sweep's own scales and large gamma.
PARAMS = [(1.0, 0.0, 0.0), (1.0, 1e-5, 1e-8), (1.7, 1e-3, 1e-3), (2.07, 1e-5, 1e-8),
          (1e8, 1e-12, 0.0), (1.0, 0.5, 0.1), (1e-6, 1.0, 0.0), (100.0, 3.0, 10.0)]


@pytest.mark.parametrize("gamma, mu, l6", PARAMS)
@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0, 1e3])
def test_kernel_matches_numpy_path_on_random_inputs(gamma, mu, l6, scale):
    rng = np.random.default_rng(int(scale * 10) + 7)
    th1, th2, th3 = (scale * rng.standard_normal((400, 25)) for _ in range(3))
    fast, ref = both(th1, th2, th3, gamma, mu, l6)
    assert_close(fast, ref, th1, th2, th3)


@pytest.mark.parametrize("gamma, mu, l6", PARAMS)
def test_kernel_matches_numpy_path_on_adversarial_inputs(gamma, mu, l6):
    th1, th2, th3 = adversarial(np.random.default_rng(0))
    fast, ref = both(th1, th2, th3, gamma, mu, l6)
    assert_close(fast, ref, th1, th2, th3)


def test_adversarial_inputs_reach_every_branch(monkeypatch):
    """The inputs above go through every part of the kernel: certificates (b)/(c)
    (``_certify``), iterations after the first safeguarded one (``_more``) and the hand-back
    to the numpy path (certificate (d), nonconvex entries): otherwise the comparisons would
    not test them."""
    calls = {"_certify": 0, "_more": 0, "solve_numpy": 0}

    def spy(module, name):
        inner = getattr(module, name)

        def wrapper(*args):
            calls[name] += 1
            return inner(*args)

        monkeypatch.setattr(module, name, wrapper)

    spy(_kernels_tanh, "_certify")
    spy(_kernels_tanh, "_more")
    spy(tanh_module, "solve_numpy")
    for gamma, mu, l6 in PARAMS:
        _kernels_tanh.solve_u(*adversarial(np.random.default_rng(0)), gamma, mu, l6)
    assert all(calls.values()), calls


@pytest.mark.parametrize("gamma, mu, l6", PARAMS[:4])
def test_float32_inputs(gamma, mu, l6):
    """float32 in, float32 out, both paths computing in float64: the same float32 (one ulp
    allowed for a double rounding at a tie)."""
    rng = np.random.default_rng(3)
    th1, th2, th3 = (rng.standard_normal(5000).astype(np.float32) for _ in range(3))
    fast, ref = both(th1, th2, th3, gamma, mu, l6)
    assert fast.dtype == np.float32
    np.testing.assert_array_max_ulp(fast, ref, maxulp=1)
    a1, a2, a3 = (a.astype(np.float32) for a in adversarial(np.random.default_rng(1)))
    fast, ref = both(a1, a2, a3, gamma, mu, l6)
    np.testing.assert_array_max_ulp(fast, ref, maxulp=1)


def test_non_finite_inputs_as_the_numpy_path():
    rng = np.random.default_rng(4)
    th1, th2, th3 = (rng.standard_normal((30, 4)) for _ in range(3))
    th1[0, 0], th2[1, 1], th3[2, 2], th2[3, 3] = np.nan, np.inf, -np.inf, np.nan
    th1[4, 0], th2[5, 1] = 1e308, -1e308  # finite, but the bracket overflows
    fast, ref = both(th1, th2, th3, 1.0, 1e-5, 1e-8)
    np.testing.assert_array_equal(fast, ref)  # NaN where NaN, inf where inf
    assert np.isnan(fast[0, 0]) and np.isfinite(fast[6:]).all()


def test_shapes_broadcasting_and_layouts():
    rng = np.random.default_rng(5)
    th1 = rng.standard_normal((7, 1))
    th2 = rng.standard_normal(5)
    fast, ref = both(th1, th2, np.float64(0.25), 1.0, 0.1, 0.0)
    assert fast.shape == (7, 5)
    np.testing.assert_array_equal(fast, ref)
    big = rng.standard_normal((3, 40, 6))
    strided = big[:, ::3, ::2]  # not contiguous
    fast, ref = both(strided, 2 * strided, strided.T.copy().T, 1.0, 1e-3, 0.0)
    assert fast.shape == strided.shape
    np.testing.assert_array_equal(fast, ref)
    fast, ref = both(np.empty((0, 3)), np.empty((0, 3)), np.empty((0, 3)), 1.0, 0.1, 0.1)
    assert fast.shape == (0, 3)


def test_tanh_solve_u_uses_the_kernel_when_it_can(monkeypatch):
    rng = np.random.default_rng(6)
    th = [rng.standard_normal((20, 3)) for _ in range(3)]
    used = []
    inner = _kernels_tanh.solve_u

    def spy(*args):
        out = inner(*args)
        used.append(out is not None)
        return out

    monkeypatch.setattr(_kernels_tanh, "solve_u", spy)
    ref = tanh_module.solve_numpy(*th, 1.0, 1e-5, 1e-8)
    np.testing.assert_array_equal(Tanh().solve_u(*th, 1.0, 1e-5, 1e-8), ref)
    assert used == [True]
    # mixed dtypes, integers: the kernel declines and the numpy path answers
    mixed = [th[0].astype(np.float32), th[1], th[2]]
    np.testing.assert_array_equal(Tanh().solve_u(*mixed, 1.0, 1e-5, 1e-8),
                                  tanh_module.solve_numpy(*mixed, 1.0, 1e-5, 1e-8))
    ints = [np.arange(6).reshape(2, 3)] * 3
    np.testing.assert_array_equal(Tanh().solve_u(*ints, 1.0, 1e-5, 1e-8),
                                  tanh_module.solve_numpy(*ints, 1.0, 1e-5, 1e-8))
    assert used == [True, False, False]
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1")
    np.testing.assert_array_equal(Tanh().solve_u(*th, 1.0, 1e-5, 1e-8), ref)
    assert used[-1] is False


# ------------------------------------------------------------------------ brute-force oracle


def psi_ref(v, c0, th2, g):
    return (v - c0) ** 2 + g * (th2 - np.tanh(v)) ** 2


def oracle_min(c0, th2, g, ngrid=4001):
    """The global minimum of psi for each entry: dense grid over the range of the module's
    docstring, the best grid point polished by a bounded Brent search between its grid
    neighbours (psi is smooth, so the global minimizer lies between the neighbours of the best
    grid point or of a grid point whose value is within the grid's resolution of it)."""
    out = np.empty(c0.size)
    t = np.linspace(-1.0, 1.0, ngrid)
    for i, (c, b) in enumerate(zip(c0, th2)):
        rho = np.sqrt(g) * abs(b - np.tanh(c))
        grid = c + rho * t
        vals = psi_ref(grid, c, b, g)
        best = vals.min()
        step = 2 * rho / (ngrid - 1)
        # every grid local minimum that could hide the global one (curvature of psi <= 2 + 6 g
        # times the size of th2, so within a grid step psi drops by at most that * step^2)
        drop = (2.0 + 6.0 * g * (1.0 + abs(b))) * step * step + 1e-12 * (1.0 + best)
        cand = np.flatnonzero(vals <= best + drop)
        for k in cand:
            lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, ngrid - 1)]
            if hi > lo:
                res = minimize_scalar(psi_ref, bounds=(lo, hi), args=(c, b, g),
                                      method="bounded", options={"xatol": 1e-14 * (1 + abs(c))})
                best = min(best, res.fun)
        out[i] = best
    return out


@functools.lru_cache(maxsize=None)
def tie_entries(g=1.0):
    """(c0, th2) where psi has two global minimizers (to bisection accuracy): for th2 = 3 and
    4, the c0 where the best of the left and of the right local minimum swap."""
    c0s, th2s = [], []
    for th2 in (3.0, 4.0, -3.0):
        def side(c):  # > 0 when the left local minimum is the better one
            v = np.linspace(-12.0, 12.0, 240001)
            p = psi_ref(v, c, th2, g)
            mins = np.flatnonzero((p[1:-1] < p[:-2]) & (p[1:-1] < p[2:])) + 1
            if mins.size < 2:
                return None
            return p[mins[-1]] - p[mins[0]]

        lo, hi = -8.0, 8.0
        grid = np.linspace(lo, hi, 161)
        sides = [side(c) for c in grid]
        k = next(j for j in range(len(grid) - 1) if sides[j] is not None
                 and sides[j + 1] is not None and np.sign(sides[j]) != np.sign(sides[j + 1]))
        a, b = grid[k], grid[k + 1]
        for _ in range(50):
            m = 0.5 * (a + b)
            if np.sign(side(m)) == np.sign(sides[k]):
                a = m
            else:
                b = m
        c0s.append(0.5 * (a + b))
        th2s.append(th2)
    return tuple(c0s), tuple(th2s)


@pytest.mark.parametrize("path", ["kernel", "numpy"])
@pytest.mark.parametrize("gamma, mu, l6", [(1.0, 0.0, 0.0), (1.7, 1e-3, 1e-3), (1.0, 0.5, 0.1)])
def test_both_paths_reach_the_brute_force_minimum(path, gamma, mu, l6):
    rng = np.random.default_rng(8)
    n = 150
    th1 = rng.uniform(-8.0, 8.0, n)
    th2 = np.concatenate([rng.uniform(-6.0, 6.0, n - 40), rng.uniform(0.8, 1.2, 20),
                          rng.uniform(-1.2, -0.8, 20)])
    th3 = rng.uniform(-3.0, 3.0, n)
    tc, tt = (np.array(a) for a in tie_entries())
    if mu == 0.0 and l6 == 0.0:  # c0 = th1 exactly: the ties stay ties
        th1, th2, th3 = (np.concatenate([a, b]) for a, b in ((th1, tc), (th2, tt), (th3, tc)))
    solve = _kernels_tanh.solve_u if path == "kernel" else tanh_module.solve_numpy
    v = solve(th1, th2, th3, gamma, mu, l6)
    a = gamma + mu + 2.0 * l6
    g = gamma / a
    c0 = (gamma * th1 + mu * th3) / a
    got = psi_ref(v, c0, th2, g)
    best = oracle_min(c0, th2, g)
    slack = 16 * EPS * (1.0 + best + c0 * c0)
    bad = ~(got <= best + slack)
    assert not bad.any(), (
        f"psi(v) {got[bad][:3]} > brute-force minimum {best[bad][:3]} at c0 {c0[bad][:3]}, "
        f"th2 {th2[bad][:3]}")


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(gamma=st.floats(1e-6, 1e8), mu=st.floats(0.0, 1e3), l6=st.floats(0.0, 1e3),
       scale=st.sampled_from([1e-3, 0.3, 1.0, 3.0, 30.0, 1e6]),
       seed=st.integers(0, 2**32 - 1), f32=st.booleans())
def test_kernel_matches_numpy_path_property(gamma, mu, l6, scale, seed, f32):
    rng = np.random.default_rng(seed)
    th1, th2, th3 = (scale * rng.standard_normal(257) for _ in range(3))
    th2[:64] = rng.uniform(-1.5, 1.5, 64)  # the edge of certificate (a) at g near 1
    if f32:
        th1, th2, th3 = (a.astype(np.float32) for a in (th1, th2, th3))
    fast, ref = both(th1, th2, th3, gamma, mu, l6)
    if f32:
        np.testing.assert_array_max_ulp(fast, ref, maxulp=1)
    else:
        assert_close(fast, ref, th1, th2, th3)


def test_fit_identical_with_and_without_the_kernel(monkeypatch):
    """A whole ALM-BCD fit (every sweep's u-block through the kernel) gives the numpy path's
    predictions."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((300, 3))
    y = np.sin(np.arange(300) / 5.0) + 0.3 * X[:, 0]

    def fit():
        est = ElmanRNNRegressor(n_hidden=6, activation="tanh", max_iter=4, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X, y).predict(X)

    calls = []
    inner = _kernels_tanh.solve_u
    monkeypatch.setattr(_kernels_tanh, "solve_u", lambda *a: calls.append(1) or inner(*a))
    with_kernel = fit()
    assert calls
    monkeypatch.setattr(_kernels_tanh, "solve_u", lambda *a: None)
    without = fit()
    np.testing.assert_allclose(with_kernel, without, rtol=1e-10, atol=1e-12)
