"""Tests of the activation strategies, above all of ``solve_u`` (spec 3c): the global minimizer of

    phi(v) = (gamma/2)(v - th1)^2 + (gamma/2)(th2 - sigma(v))^2 + (mu/2)(v - th3)^2 + l6 v^2.

The oracle is a plain dense grid. Why the grid range is enough and how the tolerance is chosen:

* Range. Let a = gamma + mu + 2 l6 and c0 = (gamma th1 + mu th3) / a. Up to a constant,
  phi(v) = (a/2)(v - c0)^2 + (gamma/2)(th2 - sigma(v))^2. The minimizer v* has
  phi(v*) <= phi(c0), i.e. (a/2)(v* - c0)^2 <= (gamma/2)(th2 - sigma(c0))^2, so
  |v* - c0| <= rho := sqrt(gamma/a) |th2 - sigma(c0)| for every activation. The grid covers
  [c0 - rho, c0 + rho] with 20001 equally spaced points (plus v = 0, the kink).
* Tolerance. The grid points are feasible, so the exact global minimum is <= phi(every grid
  point): the solver must be at least as good as the whole grid, whatever the spacing. The only
  slack needed is floating point: phi is a sum of four non-negative rounded terms (relative
  error below 8 eps each, hence 64 eps relative is generous), and the returned v is a float
  within ~1e-9 * (size of the numbers) of the exact minimizer, which costs at most
  (curvature / 2) * (1e-9 * scale)^2 with curvature <= a + gamma * (bound on |(sigma^2/2)''|)
  at a smooth minimizer (kinks are returned exactly). No curvature * spacing^2 term: that would
  be the slack for the opposite question (is the grid as good as the solver).
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skalm.activations import ACTIVATIONS, ELU, Activation, LeakyReLU, ReLU, Tanh, get_activation

EPS = np.finfo(np.float64).eps
NGRID = 20001
NENTRIES = 64


# ------------------------------------------------------------------------ independent references


def sigma_ref(act, v):
    """sigma written independently of the package (the oracle must not share its code)."""
    if isinstance(act, LeakyReLU):
        return np.where(v >= 0, v, act.slope * v)
    if isinstance(act, ReLU):
        return np.where(v >= 0, v, 0.0)
    if isinstance(act, ELU):
        return np.where(v >= 0, v, act.alpha * np.expm1(np.minimum(v, 0.0)))
    if isinstance(act, Tanh):
        return np.tanh(v)
    raise AssertionError(f"no reference for {act!r}")


def phi_ref(act, v, th1, th2, th3, gamma, mu, l6):
    return (
        0.5 * gamma * (v - th1) ** 2
        + 0.5 * gamma * (th2 - sigma_ref(act, v)) ** 2
        + 0.5 * mu * (v - th3) ** 2
        + l6 * v * v
    )


def curvature_bound(act, th2, gamma, mu, l6):
    """Upper bound of phi'' at a smooth point (used only for the rounding slack)."""
    a = gamma + mu + 2.0 * l6
    at2 = np.abs(th2)
    if isinstance(act, Tanh):
        extra = 1.0 + 2.0 * (at2 + 1.0)  # |sech^4| + |th2 - tanh| |2 tanh sech^2|
    elif isinstance(act, ELU):
        al = act.alpha
        extra = 1.0 + 2.0 * al * al + al * (at2 + al)
    else:
        extra = 1.0
    return a + gamma * extra


def grid_oracle(act, th1, th2, th3, gamma, mu, l6):
    """Minimum of phi over the dense grid of each entry, and the slack of the comparison."""
    a = gamma + mu + 2.0 * l6
    c0 = (gamma * th1 + mu * th3) / a
    rho = np.sqrt(gamma / a) * np.abs(th2 - sigma_ref(act, c0))
    t = np.linspace(-1.0, 1.0, NGRID)
    grid = c0[:, None] + rho[:, None] * t[None, :]
    grid = np.concatenate([grid, np.zeros((grid.shape[0], 1))], axis=1)
    vals = phi_ref(act, grid, th1[:, None], th2[:, None], th3[:, None], gamma, mu, l6)
    gmin = vals.min(axis=1)
    scale = 1.0 + np.abs(c0) + rho
    slack = 64 * EPS * gmin + 0.5 * curvature_bound(act, th2, gamma, mu, l6) * (1e-9 * scale) ** 2
    return gmin, slack, grid[np.arange(grid.shape[0]), vals.argmin(axis=1)]


def check_against_grid(act, th1, th2, th3, gamma, mu, l6):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape solve_u
        v = act.solve_u(th1, th2, th3, gamma, mu, l6)
    assert v.shape == th1.shape and v.dtype == np.float64
    assert np.all(np.isfinite(v)), "non-finite minimizer"
    fv = phi_ref(act, v, th1, th2, th3, gamma, mu, l6)
    gmin, slack, _ = grid_oracle(act, th1, th2, th3, gamma, mu, l6)
    bad = ~(fv <= gmin + slack)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AssertionError(
            f"{act!r}: phi(solve_u) = {fv[i]!r} > grid minimum {gmin[i]!r} + {slack[i]!r} at "
            f"th=({th1[i]!r}, {th2[i]!r}, {th3[i]!r}), gamma={gamma!r}, mu={mu!r}, l6={l6!r}, "
            f"v={v[i]!r}"
        )
    return v


# ------------------------------------------------------------------------ hypothesis strategies


def log_uniform(lo_exp, hi_exp):
    return st.floats(lo_exp, hi_exp, allow_nan=False, allow_infinity=False).map(lambda e: 10.0**e)


scales = st.one_of(st.sampled_from([0.0, 1e-3, 1.0, 1e3, 1e6]), log_uniform(-3, 6))


@st.composite
def problems(draw):
    """NENTRIES entries per example: wide, extreme ranges of gamma, mu, l6 and of the th's,
    mixed with entries aimed at the interesting regions (th2 large positive: nonconvex phi for
    ELU and tanh; th's near 0: the kink; exact zeros and exact extremes)."""
    gamma = draw(st.one_of(st.sampled_from([1e-6, 1.0, 1e8]), log_uniform(-6, 8)))
    mu = draw(st.one_of(st.sampled_from([1e-12, 1.0, 1e3]), log_uniform(-12, 3)))
    l6 = draw(st.one_of(st.just(0.0), st.sampled_from([1e-6, 1e3]), log_uniform(-6, 3)))
    s1, s2, s3 = draw(scales), draw(scales), draw(scales)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = NENTRIES
    th1 = s1 * rng.standard_normal(n)
    th2 = s2 * rng.standard_normal(n)
    th3 = s3 * rng.standard_normal(n)
    # a quarter of the entries: moderate numbers in the nonconvex regime of ELU and tanh
    k = n // 4
    th1[:k] = rng.uniform(-12.0, 6.0, k)
    th2[:k] = rng.uniform(-3.0, 12.0, k)
    th3[:k] = rng.uniform(-12.0, 6.0, k)
    # a few exact special values
    th1[k] = th2[k] = th3[k] = 0.0
    th1[k + 1], th2[k + 1], th3[k + 1] = 1e6, -1e6, 1e6
    th1[k + 2], th2[k + 2], th3[k + 2] = -1e6, 1e6, -1e6
    return th1, th2, th3, gamma, mu, l6


HYP = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _activation_from(name, param):
    if name == "leaky_relu":
        return LeakyReLU(slope=param)
    if name == "elu":
        return ELU(alpha=param)
    return get_activation(name)


param_for = {
    "relu": st.just(None),
    "leaky_relu": st.one_of(st.sampled_from([0.01, 0.1, 0.5, 0.99]), st.floats(1e-3, 0.999)),
    "elu": st.one_of(st.sampled_from([1.0, 0.1, 5.0, 20.0]), log_uniform(-1.3, 1.3)),
    "tanh": st.just(None),
}


def test_every_registered_activation_is_tested():
    assert set(param_for) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@HYP
@given(data=st.data())
def test_solve_u_beats_dense_grid(name, data):
    act = _activation_from(name, data.draw(param_for[name], label="param"))
    th1, th2, th3, gamma, mu, l6 = data.draw(problems(), label="problem")
    check_against_grid(act, th1, th2, th3, gamma, mu, l6)


# ------------------------------------------------------------------------ deterministic cases

ALL = [ReLU(), LeakyReLU(0.01), LeakyReLU(0.3), ELU(1.0), ELU(0.25), ELU(4.0), Tanh()]


@pytest.mark.parametrize("act", ALL, ids=repr)
def test_grid_on_fixed_random_entries(act):
    rng = np.random.default_rng(1234)
    for gamma, mu, l6, s in [(1.0, 1e-3, 0.0, 1.0), (1e4, 1e-8, 1e-4, 10.0), (1e-3, 10.0, 1.0, 3.0)]:
        th1, th2, th3 = (s * rng.standard_normal(200) for _ in range(3))
        check_against_grid(act, th1, th2, th3, gamma, mu, l6)


def test_relu_closed_form_branches():
    act = ReLU()
    # v+ branch optimal: phi(v) = 0 at v = 2 (all three squares vanish)
    assert act.solve_u(np.array([2.0]), np.array([2.0]), np.array([2.0]), 1.0, 1.0, 0.0)[0] == 2.0
    # v- branch optimal: th2 = 0, v = -2 makes every term vanish
    assert act.solve_u(np.array([-2.0]), np.array([0.0]), np.array([-2.0]), 1.0, 1.0, 0.0)[0] == -2.0
    # gamma=2, mu=1, l6=0.5, th=(3, 1, 0): v+ = (6 + 2 + 0) / (4 + 1 + 1) = 4/3, v- = 0
    v = act.solve_u(np.array([3.0]), np.array([1.0]), np.array([0.0]), 2.0, 1.0, 0.5)[0]
    assert v == pytest.approx(4.0 / 3.0, rel=1e-15)
    # both branches feasible, the negative one better: th=(-1, 0.2, -1), gamma=mu=1, l6=0:
    # v+ = max(0, -1.8/3) = 0 (phi = 1.02), v- = -1 (phi = 0.02)
    v = act.solve_u(np.array([-1.0]), np.array([0.2]), np.array([-1.0]), 1.0, 1.0, 0.0)[0]
    assert v == -1.0


def _misprinted_leaky(act, th1, th2, th3, gamma, mu, l6):
    """The paper's printed eq. (4.35): ReLU's test 'gamma th1 + mu th3 < 0' kept."""
    w = act.slope
    vp = np.maximum(0.0, (gamma * th1 + gamma * th2 + mu * th3) / (2 * gamma + mu + 2 * l6))
    stat = (gamma * th1 + gamma * w * th2 + mu * th3) / (gamma + gamma * w * w + mu + 2 * l6)
    vm = np.where(gamma * th1 + mu * th3 < 0, stat, 0.0)
    fp = phi_ref(act, vp, th1, th2, th3, gamma, mu, l6)
    fm = phi_ref(act, vm, th1, th2, th3, gamma, mu, l6)
    return np.where(fp <= fm, vp, vm)


@pytest.mark.parametrize("slope", [0.01, 0.2, 0.5])
def test_leaky_relu_beats_misprinted_rule(slope):
    act = LeakyReLU(slope)
    rng = np.random.default_rng(7)
    n = 20000
    th1, th2, th3 = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    gamma, mu, l6 = 1.0, 0.1, 0.01
    ours = act.solve_u(th1, th2, th3, gamma, mu, l6)
    printed = _misprinted_leaky(act, th1, th2, th3, gamma, mu, l6)
    f_ours = phi_ref(act, ours, th1, th2, th3, gamma, mu, l6)
    f_printed = phi_ref(act, printed, th1, th2, th3, gamma, mu, l6)
    scale = 1.0 + f_printed
    assert np.all(f_ours <= f_printed + 1e-13 * scale)  # ours is never worse
    worse = f_printed > f_ours + 1e-9 * scale
    assert worse.sum() >= 10  # and the printed rule is strictly worse on some entries


def _local_minima_on_grid(act, th1, th2, th3, gamma, mu, l6, lo, hi, n=400001):
    v = np.linspace(lo, hi, n)
    p = phi_ref(act, v, th1, th2, th3, gamma, mu, l6)
    idx = np.flatnonzero((p[1:-1] < p[:-2]) & (p[1:-1] < p[2:])) + 1
    return v[idx], p[idx]


@pytest.mark.parametrize(
    "act, th2, th1_left_global, th1_right_global",
    [(Tanh(), 4.0, -3.2, -2.8), (ELU(5.0), 0.6, -6.0, -5.0)],
    ids=["tanh", "elu-alpha5"],
)
def test_nonconvex_two_local_minima_picks_global(act, th2, th1_left_global, th1_right_global):
    gamma, mu, l6, th3 = 1.0, 1e-9, 0.0, 0.0
    for th1, want_left in [(th1_left_global, True), (th1_right_global, False)]:
        locs, vals = _local_minima_on_grid(act, th1, th2, th3, gamma, mu, l6, -20.0, 10.0)
        assert len(locs) == 2, "the constructed case must have exactly two local minima"
        assert abs(vals[0] - vals[1]) > 0.05
        target = locs[0] if want_left else locs[1]
        assert (vals[0] < vals[1]) == want_left
        v = act.solve_u(np.array([th1]), np.array([th2]), np.array([th3]), gamma, mu, l6)[0]
        assert abs(v - target) < 1e-3  # in the global basin (grid spacing 7.5e-5)
        f = phi_ref(act, v, th1, th2, th3, gamma, mu, l6)
        assert f <= min(vals) + 1e-12
        assert f < max(vals) - 0.05


@pytest.mark.parametrize("th2v", [0.3, 1.5, -2.5])
def test_tanh_minimizer_is_stationary(th2v):
    # phi is smooth, so the global minimizer is a root of phi'. The tolerance is the rounding
    # of phi' itself: a few eps * (gamma + a) * (size of the numbers), a + gamma = 4.7 here.
    # (th2 = 0.3 makes phi convex since 1 + g (1 - w^2)(1 - 3 w^2 + 0.6 w) > 0; 1.5 and -2.5
    # do not, for some th1, th3.)
    act = Tanh()
    rng = np.random.default_rng(3)
    th1, th3 = 3 * rng.standard_normal(2000), 3 * rng.standard_normal(2000)
    th2 = np.full(2000, th2v)
    gamma, mu, l6 = 2.0, 0.5, 0.1
    v = act.solve_u(th1, th2, th3, gamma, mu, l6)
    w = np.tanh(v)
    dphi = gamma * (v - th1) - gamma * (th2 - w) * (1 - w * w) + mu * (v - th3) + 2 * l6 * v
    assert np.all(np.abs(dphi) <= 2e-14 * (1 + np.abs(th1) + np.abs(th3) + np.abs(th2)))


def test_tanh_symmetric_case_exact():
    # th1 = th3 = th2 = 0: phi(v) = a v^2 / 2 + gamma tanh(v)^2 / 2, minimizer exactly 0
    z = np.zeros(1)
    assert Tanh().solve_u(z, z, z, 1.0, 1.0, 0.0)[0] == 0.0


def test_elu_negative_branch_is_stationary():
    # where the answer is strictly negative it is a root of phi' (ELU is smooth on v < 0)
    act = ELU(1.5)
    rng = np.random.default_rng(5)
    n = 2000
    th1, th2, th3 = (3 * rng.standard_normal(n) for _ in range(3))
    gamma, mu, l6 = 1.5, 0.2, 0.05
    v = act.solve_u(th1, th2, th3, gamma, mu, l6)
    neg = v < 0
    assert neg.sum() > 100
    s = act.alpha * np.expm1(v[neg])
    ds = act.alpha * np.exp(v[neg])
    dphi = (
        gamma * (v[neg] - th1[neg])
        - gamma * (th2[neg] - s) * ds
        + mu * (v[neg] - th3[neg])
        + 2 * l6 * v[neg]
    )
    scale = 1 + np.abs(th1[neg]) + np.abs(th2[neg]) + np.abs(th3[neg])
    assert np.all(np.abs(dphi) <= 5e-14 * scale)  # rounding of phi' (alpha = 1.5 enters it)


@pytest.mark.parametrize("act", ALL, ids=repr)
def test_float32_in_float32_out(act):
    rng = np.random.default_rng(0)
    th = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3)]
    v = act.solve_u(*th, 1.0, 0.1, 0.01)
    assert v.dtype == np.float32 and v.shape == (4, 5)
    v64 = act.solve_u(*(t.astype(np.float64) for t in th), 1.0, 0.1, 0.01)
    np.testing.assert_allclose(v, v64, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("act", ALL, ids=repr)
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (2, 3, 4), (0,), (0, 3)])
def test_shape_preserved(act, shape):
    rng = np.random.default_rng(1)
    th = [rng.standard_normal(shape) for _ in range(3)]
    v = act.solve_u(*th, 1.0, 0.5, 0.0)
    assert np.shape(v) == shape
    if v.size:
        flat = act.solve_u(*(np.ravel(t) for t in th), 1.0, 0.5, 0.0)
        np.testing.assert_array_equal(np.ravel(v), flat)


@pytest.mark.parametrize("act", ALL, ids=repr)
def test_extreme_values_finite_and_silent(act):
    rng = np.random.default_rng(11)
    n = 300
    th = [rng.choice([-1e6, -1.0, 0.0, 1e-9, 1.0, 1e6], n) * rng.uniform(0.5, 1.0, n) for _ in range(3)]
    for gamma in (1e-6, 1.0, 1e8):
        for mu in (1e-12, 1.0, 1e3):
            for l6 in (0.0, 1e3):
                with np.errstate(all="raise"), warnings.catch_warnings():
                    warnings.simplefilter("error")
                    v = act.solve_u(*th, gamma, mu, l6)
                assert np.all(np.isfinite(v))


@pytest.mark.parametrize("act", ALL, ids=repr)
def test_sigma_and_derivative_match_references(act):
    rng = np.random.default_rng(2)
    u = rng.uniform(-6, 6, 4000)
    u = u[np.abs(u) > 1e-3]  # away from the kink at 0
    np.testing.assert_allclose(act.sigma(u), sigma_ref(act, u), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(act(u), act.sigma(u), rtol=0, atol=0)
    h = 1e-6
    fd = (act.sigma(u + h) - act.sigma(u - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(u), fd, rtol=1e-7, atol=1e-8)


def test_phi_method_matches_reference():
    rng = np.random.default_rng(4)
    v, th1, th2, th3 = (rng.standard_normal(50) for _ in range(4))
    for act in ALL:
        np.testing.assert_allclose(
            act.phi(v, th1, th2, th3, 1.3, 0.2, 0.1),
            phi_ref(act, v, th1, th2, th3, 1.3, 0.2, 0.1),
            rtol=1e-14,
        )


def test_registry_and_params():
    assert isinstance(get_activation("tanh"), Tanh)
    assert get_activation("elu", alpha=2.0) == ELU(2.0)
    assert isinstance(get_activation(ELU(3.0)), Activation)
    with pytest.raises(ValueError):
        get_activation("sigmoid")
    with pytest.raises(ValueError):
        ELU(alpha=0.0)
    with pytest.raises(ValueError):
        LeakyReLU(slope=1.0)


@pytest.mark.parametrize("act", [ELU(1.0), ELU(6.0), Tanh()], ids=repr)
def test_repeated_and_threaded_calls_agree(act):
    # the iterative solvers reuse per-thread work buffers between calls: results must not
    # depend on what ran before, on sizes changing, or on other threads running concurrently
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    probs = []
    for n in (5000, 37, 20000, 1, 5000):
        th = [4 * rng.standard_normal(n) for _ in range(3)]
        th[1] += rng.choice([0.0, 3.0], n)  # some nonconvex entries
        probs.append((th, 1.0 + rng.uniform(), 10 ** rng.uniform(-6, 0), 0.01))
    ref = [act.solve_u(*th, g, mu, l6) for th, g, mu, l6 in probs]
    again = [act.solve_u(*th, g, mu, l6) for th, g, mu, l6 in reversed(probs)][::-1]
    for a, b in zip(ref, again):
        np.testing.assert_array_equal(a, b)
    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(act.solve_u, *th, g, mu, l6) for _ in range(3) for th, g, mu, l6 in probs]
        got = [f.result() for f in futs]
    for i, r in enumerate(got):
        np.testing.assert_array_equal(r, ref[i % len(probs)])
