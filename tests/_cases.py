"""Test cases and checks shared by several test modules (imported like ``kron_reference``).

``gradient_point`` and ``central_differences`` serve the finite-difference checks of the BPTT
gradient and the NAILS sensitivities (``test_gradient.py``, ``test_model.py``); ``alm_case``
serves the checks of the ALM-BCD blocks (``test_bcd_properties.py``). With ``skip=True`` each
also draws skip weights D, after the other draws, so a case without them is the same as
before the skip connection existed.

The rest serves the estimator-level tests: small series (``short_series``, ``walk_series``,
``linear_data``: a target that is an exact linear function of x), ``hand_forward`` (the
recurrence written out step by step, an oracle independent of :func:`skalm.model.forward`),
and the divergence checks ``fit_diverging`` and ``assert_finite_model``.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm.model import Lambdas, RNNWeights, SequenceLayout, forward, init_weights
from skalm.solvers import Problem
from skalm.solvers.alm_bcd import ALMPoint

T, N, M, R_HIDDEN = 12, 3, 2, 4
# D differs from A, so that a test which mixes up the two blocks' lambdas fails.
LAMBDAS = Lambdas(0.11, 0.07, 0.05, 0.13, 0.03, 0.02, D=0.17)
LAYOUTS = {"one sequence": None, "three sequences": [0, 4, 9]}
EPS = 1e-6


def gradient_point(activation, starts, seed, skip=False):
    """A random problem and weights (with random skip weights D if ``skip``) whose
    pre-activations stay at least 0.05 from 0 (the kink of relu, leaky_relu and elu), so
    central differences with step 1e-6 never straddle it."""
    rng = np.random.RandomState(seed)
    layout = SequenceLayout.from_starts(T, starts)
    for _ in range(200):
        X = rng.standard_normal((T, N))
        Y = rng.standard_normal((T, M))
        w = init_weights(R_HIDDEN, N, M, scale=0.6, random_state=rng, skip_connection=skip)
        b = 0.3 * rng.standard_normal(R_HIDDEN)
        c = rng.standard_normal(M)
        D = rng.standard_normal((M, N)) if skip else None
        w = w._replace(b=b, c=c, D=D)
        U, _ = forward(w, X, activation, layout)
        if np.min(np.abs(U)) > 0.05:
            return Problem(X, Y, LAMBDAS, layout), w
    raise AssertionError("no point away from the kinks found")  # pragma: no cover


def central_differences(f, x, step=EPS):
    """Central differences of the scalar function ``f`` at the vector ``x``."""
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        g[i] = (f(x + e) - f(x - e)) / (2 * step)
    return g


def alm_case(seed, starts=None, n_steps=9, r=3, n=2, m=2, skip=False):
    """Random non-feasible ALM point (with random skip weights D if ``skip``), random
    lambdas, nonzero multipliers and gamma != 1: ``(problem, s, Xi, Zeta, gamma)``."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n_steps, n))
    Y = rng.standard_normal((n_steps, m))
    lam = Lambdas(*rng.uniform(0.02, 0.3, 5), 1e-3)
    prob = Problem(X, Y, lam, SequenceLayout.from_starts(n_steps, starts))
    weights = RNNWeights(
        0.5 * rng.standard_normal((r, r)), rng.standard_normal((r, n)),
        0.3 * rng.standard_normal(r), rng.standard_normal((m, r)), 0.3 * rng.standard_normal(m),
        rng.standard_normal((m, n)) if skip else None,
    )
    s = ALMPoint(weights, rng.standard_normal((n_steps, r)), rng.standard_normal((n_steps, r)))
    Xi = 0.3 * rng.standard_normal((n_steps, r))
    Zeta = 0.3 * rng.standard_normal((n_steps, r))
    gamma = float(rng.uniform(1.5, 4.0))
    return prob, s, Xi, Zeta, gamma


# -- estimator-level cases and checks -----------------------------------------------------
TINY = dict(n_hidden=3, max_iter=3, max_inner_iter=4, random_state=0)


def short_series():
    """Inputs and a target with memory; the first 48 rows train, the last 12 follow them."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    y = np.convolve(X[:, 0], [0.5, 0.3, 0.2])[:60] + 0.1 * X[:, 1]
    return X, y


def walk_series(T=60, seed=0):
    """Three uniform inputs and y = sin of the running sum of the first: memory of every step."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(T, 3))
    return X, np.sin(np.cumsum(X[:, 0]))


def linear_data(seed=0, Tn=200, n=3, m=2):
    """i.i.d. inputs and y_t = D_true x_t + c_true exactly: ``(X, Y, D_true, c_true)``."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (Tn, n))
    D_true = rng.standard_normal((m, n))
    c_true = rng.standard_normal(m)
    return X, X @ D_true.T + c_true, D_true, c_true


def hand_forward(weights, X, activation, starts=()):
    """The recurrence written out step by step (h reset to 0 at each start)."""
    W, V, b = weights.W, weights.V, weights.b
    h = np.zeros(W.shape[0])
    U, H = [], []
    for t in range(X.shape[0]):
        if t in starts:
            h = np.zeros(W.shape[0])
        u = W @ h + V @ X[t] + b
        h = activation.sigma(u)
        U.append(u)
        H.append(h)
    return np.array(U), np.array(H)


def quick_estimator(**params):
    """A small L-BFGS-trained estimator with ``params`` on top."""
    base = dict(n_hidden=4, solver="lbfgs", max_iter=30, random_state=0)
    base.update(params)
    return ElmanRNNRegressor(**base)


def quiet_fit(est, *args, **kwargs):
    """``est.fit`` with ConvergenceWarnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def fit_diverging(est, X, y):
    """Fit, require a 'diverged' ConvergenceWarning and no RuntimeWarning leak; return est."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any("diverged" in m for m in messages), messages
    leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not leaked, leaked
    return est, messages


def assert_finite_model(est, X):
    assert est.weights_.all_finite()
    for name in ("recurrent_weights_", "input_weights_", "hidden_bias_", "output_weights_",
                 "output_bias_", "hidden_state_"):
        assert np.all(np.isfinite(getattr(est, name))), name
    for key, values in est.history_.items():
        if key != "gamma":  # NaN for solvers without a penalty
            assert np.all(np.isfinite(values)), key
    assert np.all(np.isfinite(est.predict(X)))
    assert np.all(np.isfinite(est.predict(X, initial_state="zeros")))
