"""Tests of the synthetic memory series: make_narma10, make_hidden_oscillator,
make_wiener_hammerstein.

The oracles are plain Python loops over the stated difference equations, fed with the draws
that the docstrings say each generator makes (same seed, same order), and checks that need
only the returned arrays (the NARMA recursion, the period of the hidden sine).
"""

import math

import numpy as np
import pytest

import skalm.datasets
from skalm.datasets import make_hidden_oscillator, make_narma10, make_wiener_hammerstein

GENERATORS = [make_narma10, make_hidden_oscillator, make_wiener_hammerstein]
N_FEATURES = {make_narma10: 1, make_hidden_oscillator: 2, make_wiener_hammerstein: 1}


def test_exported_from_skalm_datasets():
    for f in GENERATORS:
        assert f.__name__ in skalm.datasets.__all__
        assert getattr(skalm.datasets, f.__name__) is f


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n_steps", [1, 37, 2000])
def test_shapes_dtypes_and_finite(make, n_steps):
    X, y = make(n_steps, random_state=0)
    assert X.shape == (n_steps, N_FEATURES[make])
    assert y.shape == (n_steps,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


@pytest.mark.parametrize("make", GENERATORS)
def test_default_length_is_2000(make):
    X, y = make(random_state=1)
    assert X.shape[0] == y.shape[0] == 2000


@pytest.mark.parametrize("make", GENERATORS)
def test_deterministic_for_a_seed_and_seed_dependent(make):
    X1, y1 = make(300, random_state=5)
    X2, y2 = make(300, random_state=5)
    X3, y3 = make(300, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(X1, X3)
    np.testing.assert_array_equal(y1, y3)
    X4, y4 = make(300, random_state=6)
    assert not np.array_equal(X1, X4)
    assert not np.array_equal(y1, y4)


@pytest.mark.parametrize("make", GENERATORS)
def test_does_not_touch_the_global_random_state(make):
    np.random.seed(0)
    expected = np.random.rand()
    np.random.seed(0)
    make(50, random_state=3)
    assert np.random.rand() == expected


@pytest.mark.parametrize("make", GENERATORS)
def test_stable_over_many_seeds_and_long_draws(make):
    # NARMA-10 diverges on some long draws (see test_narma10_divergence_raises_clearly).
    n = 2000 if make is make_narma10 else 20_000
    for seed in range(10):
        X, y = make(n, random_state=seed)
        assert np.all(np.isfinite(y))
        # A guard against blow-up or runaway drift, not a stationarity test: NARMA-10's slow
        # bursts move its half-series means by up to about 0.3 std and spreads by about 15 %.
        a, b = y[: n // 2], y[n // 2 :]
        assert 0.5 < b.std() / a.std() < 2.0
        assert abs(a.mean() - b.mean()) < a.std()


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "10", None])
def test_invalid_n_steps(make, bad):
    with pytest.raises(ValueError, match="n_steps"):
        make(bad)


@pytest.mark.parametrize("make", GENERATORS)
def test_invalid_random_state(make):
    with pytest.raises(ValueError):
        make(10, random_state="seed")


# --------------------------------------------------------------------------------------------
# NARMA-10
# --------------------------------------------------------------------------------------------


def _narma_oracle(n_steps, burn_in, seed):
    """Simulate from the stated definition, with an explicit sum at every step."""
    u = np.random.RandomState(seed).uniform(0.0, 0.5, size=burn_in + n_steps)
    y = [0.0] * (burn_in + n_steps + 1)
    for t in range(9, burn_in + n_steps):
        y[t + 1] = (0.3 * y[t] + 0.05 * y[t] * math.fsum(y[t - 9 : t + 1])
                    + 1.5 * u[t - 9] * u[t] + 0.1)
    return u[burn_in:], np.array(y[burn_in + 1 :])


@pytest.mark.parametrize("burn_in", [9, 10, 200])
def test_narma10_equals_brute_force_simulation(burn_in):
    X, y = make_narma10(600, burn_in=burn_in, random_state=11)
    u_ref, y_ref = _narma_oracle(600, burn_in, 11)
    np.testing.assert_array_equal(X[:, 0], u_ref)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=0)


def test_narma10_rows_satisfy_the_recursion():
    # Needs only the returned arrays: row t holds u_t and y_{t+1}, so y_t is row t-1's target.
    X, y = make_narma10(400, random_state=2)
    u = X[:, 0]
    # Every term is >= 0 once y >= 0, so y >= 0.1 after the zero start.
    assert y.min() >= 0.1
    for t in range(10, 400):
        y_t = y[t - 1]
        expected = 0.3 * y_t + 0.05 * y_t * math.fsum(y[t - 10 : t]) + 1.5 * u[t - 9] * u[t] + 0.1
        assert y[t] == pytest.approx(expected, rel=1e-12)


def test_narma10_inputs_uniform_on_0_half():
    X, _ = make_narma10(20_000, random_state=4)
    u = X[:, 0]
    assert u.min() >= 0.0 and u.max() <= 0.5
    # U[0, 0.5]: mean 0.25, variance 1/48; 6 standard errors.
    assert abs(u.mean() - 0.25) < 6 * math.sqrt(1 / 48 / u.size)
    assert abs(u.var() - 1 / 48) < 0.05 / 48


def test_narma10_burn_in_drops_the_start():
    _, y_long = make_narma10(100, burn_in=300, random_state=8)
    _, y_ref = _narma_oracle(100, 300, 8)
    np.testing.assert_allclose(y_long, y_ref, rtol=1e-12)
    # Without the burn-in the first outputs are the zero start's transient, not the same.
    _, y_short = make_narma10(100, burn_in=9, random_state=8)
    assert not np.allclose(y_long, y_short)


def test_narma10_divergence_raises_clearly():
    # Seed 142 is one of the rare draws on which the recursion blows up (the oracle agrees).
    with np.errstate(all="ignore"):
        _, y_ref = _narma_oracle(2000, 200, 142)
    assert not np.all(np.isfinite(y_ref))
    with pytest.raises(ValueError, match="diverged.*random_state"):
        make_narma10(2000, random_state=142)
    X, y = make_narma10(2000, random_state=141)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("bad", [8, -1, 1.5, None])
def test_narma10_invalid_burn_in(bad):
    with pytest.raises(ValueError, match="burn_in"):
        make_narma10(10, burn_in=bad)


# --------------------------------------------------------------------------------------------
# Hidden oscillator
# --------------------------------------------------------------------------------------------


def test_hidden_oscillator_equals_loop_from_the_stated_draws():
    T, seed = 250, 13
    X, y = make_hidden_oscillator(T, random_state=seed)
    rng = np.random.RandomState(seed)
    e = rng.standard_normal(size=(T, 2))
    eps = rng.standard_normal(size=T)
    x = np.empty((T, 2))
    x[0] = e[0]
    for t in range(1, T):
        x[t] = 0.5 * x[t - 1] + math.sqrt(0.75) * e[t]
    np.testing.assert_allclose(X, x, rtol=1e-12, atol=1e-14)
    y_ref = [math.sin(2 * math.pi * t / 25) + 0.5 * x[t, 0] - 0.3 * x[t, 1] + 0.1 * eps[t]
             for t in range(T)]
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)


def test_hidden_oscillator_inputs_are_unit_variance_ar1_and_independent():
    X, _ = make_hidden_oscillator(40_000, random_state=3)
    n = X.shape[0]
    for j in range(2):
        x = X[:, j]
        assert abs(x.var() - 1.0) < 0.05
        rho = np.corrcoef(x[1:], x[:-1])[0, 1]
        assert abs(rho - 0.5) < 6 / math.sqrt(n)
        rho2 = np.corrcoef(x[2:], x[:-2])[0, 1]
        assert abs(rho2 - 0.25) < 6 / math.sqrt(n)
    assert abs(np.corrcoef(X[:, 0], X[:, 1])[0, 1]) < 6 / math.sqrt(n)


@pytest.mark.parametrize("period", [25, 40, 7.5])
def test_hidden_oscillator_target_minus_x_part_has_the_period(period):
    T = 4000
    X, y = make_hidden_oscillator(T, period=period, random_state=21)
    s = y - 0.5 * X[:, 0] + 0.3 * X[:, 1]
    t = np.arange(T)

    def sine_fit(p):
        B = np.column_stack([np.sin(2 * np.pi * t / p), np.cos(2 * np.pi * t / p)])
        coef, *_ = np.linalg.lstsq(B, s, rcond=None)
        return coef, np.std(s - B @ coef)

    (a, b), resid = sine_fit(period)
    # sin(2 pi t / P) exactly, with phase 0 and amplitude 1; what is left is the 0.1 noise.
    assert a == pytest.approx(1.0, abs=0.01)
    assert b == pytest.approx(0.0, abs=0.01)
    assert resid == pytest.approx(0.1, rel=0.05)
    # Another period does not explain it.
    _, resid_other = sine_fit(period * 1.3)
    assert resid_other > 0.6
    # No input carries the cycle: the inputs are uncorrelated with the sine.
    sine = np.sin(2 * np.pi * t / period)
    for j in range(2):
        assert abs(np.corrcoef(X[:, j], sine)[0, 1]) < 6 / math.sqrt(T / 3)


def test_hidden_oscillator_integer_period_repeats_exactly_up_to_noise():
    X, y = make_hidden_oscillator(3000, period=25, random_state=2)
    s = y - 0.5 * X[:, 0] + 0.3 * X[:, 1]
    d = s[25:] - s[:-25]
    # Two independent 0.1 N(0, 1) noise terms: std 0.1 * sqrt(2).
    assert np.std(d) == pytest.approx(0.1 * math.sqrt(2), rel=0.06)
    assert np.std(s[12:] - s[:-12]) > 1.0


@pytest.mark.parametrize("bad", [0, -25, float("nan"), float("inf"), "25", None])
def test_hidden_oscillator_invalid_period(bad):
    with pytest.raises(ValueError, match="period"):
        make_hidden_oscillator(10, period=bad)


# --------------------------------------------------------------------------------------------
# Wiener-Hammerstein
# --------------------------------------------------------------------------------------------


def _wh_oracle(u):
    """The two filters as difference equations, started at rest; no noise."""
    T = len(u)
    v = [0.0] * T
    g = [0.0] * T
    for t in range(T):
        v1 = v[t - 1] if t >= 1 else 0.0
        v2 = v[t - 2] if t >= 2 else 0.0
        v[t] = 1.4 * v1 - 0.53 * v2 + 0.13 * u[t]
    w = [math.tanh(1.5 * vt) + 0.3 * vt * vt for vt in v]
    for t in range(T):
        g1 = g[t - 1] if t >= 1 else 0.0
        g2 = g[t - 2] if t >= 2 else 0.0
        g[t] = 1.3 * g1 - 0.4 * g2 + 0.1 * w[t]
    return np.array(v), np.array(g)


def test_wiener_hammerstein_equals_difference_equations():
    T, seed = 500, 17
    X, y = make_wiener_hammerstein(T, random_state=seed)
    rng = np.random.RandomState(seed)
    u = rng.standard_normal(size=T)
    eps = rng.standard_normal(size=T)
    np.testing.assert_array_equal(X[:, 0], u)
    _, g = _wh_oracle(u)
    np.testing.assert_allclose(y, g + 0.05 * eps, rtol=1e-10, atol=1e-12)


def test_wiener_hammerstein_filters_are_stable_low_pass_with_unit_dc_gain():
    # The oracle's own coefficients: poles 0.7 +- 0.2j and {0.5, 0.8}, gain 1 at frequency 0.
    np.testing.assert_allclose(sorted(np.abs(np.roots([1, -1.4, 0.53]))),
                               [abs(0.7 + 0.2j)] * 2)
    np.testing.assert_allclose(sorted(np.roots([1, -1.3, 0.4]).real), [0.5, 0.8])
    # A constant input settles at the static map of that constant: unit DC gain end to end.
    _, g = _wh_oracle(np.full(400, 0.7))
    assert g[-1] == pytest.approx(math.tanh(1.05) + 0.3 * 0.49, rel=1e-9)


def test_wiener_hammerstein_noise_level_and_memory():
    X, y = make_wiener_hammerstein(20_000, random_state=9)
    _, g = _wh_oracle(X[:, 0])
    assert np.std(y - g) == pytest.approx(0.05, rel=0.03)
    # The output depends on past inputs: its correlation with u_{t-2} is far from zero,
    # while a static map of u_t alone would give none.
    u = X[:, 0]
    assert np.corrcoef(y[2:], u[:-2])[0, 1] > 0.1
