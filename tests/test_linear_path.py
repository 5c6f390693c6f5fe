"""The linear path: lambda_D of its own, the ridge start, and the ridge limit of the model.

Oracles: scikit-learn's Ridge, and least squares on a design augmented with penalty rows. A
target that is an exact linear function of x: every solver family reaches R within a factor 2
of the value of the known point (A, V, W, b) = 0, (D, c) = truth, which bounds the training
error and the error of D; without the skip connection the same target is not fitted.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

from _cases import linear_data
from skalm import ElmanRNNRegressor
from skalm.model import Lambdas, linear_path_start, objective


def _data(T=150, n=3, m=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n))
    Y = X @ rng.standard_normal((n, m)) + 0.3 * np.sin(np.arange(T) / 4.0)[:, None] + 1.5
    Y += 0.1 * rng.standard_normal((T, m))
    return X, Y


@pytest.mark.parametrize("m", [1, 2])
def test_linear_path_start_is_sklearn_ridge_when_c_is_free(m):
    X, Y = _data(m=m)
    T = X.shape[0]
    lam = Lambdas(1.0, 1.0, 1.0, 1.0, 0.0, 0.0, D=0.05)
    D, c = linear_path_start(X, Y, lam)
    ridge = Ridge(alpha=T * 0.05).fit(X, Y)
    assert_allclose(D, ridge.coef_.reshape(m, -1), rtol=1e-10, atol=1e-12)
    assert_allclose(c, np.ravel(ridge.intercept_), rtol=1e-10, atol=1e-12)


def test_linear_path_start_penalizes_c_with_lambda_c():
    """Oracle: ordinary least squares on the design with sqrt(T lambda) penalty rows."""
    X, Y = _data(m=2, seed=1)
    T, n = X.shape
    lam = Lambdas(1.0, 1.0, 1.0, 1.0, 0.3, 0.0, D=0.02)
    Z = np.hstack([X, np.ones((T, 1))])
    penalty_rows = np.diag(np.sqrt(T * np.append(np.full(n, lam.D), lam.c)))
    coef = np.linalg.lstsq(
        np.vstack([Z, penalty_rows]), np.vstack([Y, np.zeros((n + 1, 2))]), rcond=None
    )[0]
    D, c = linear_path_start(X, Y, lam)
    assert_allclose(D, coef[:n].T, rtol=1e-10)
    assert_allclose(c, coef[n], rtol=1e-10)


@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs"])
@pytest.mark.parametrize("ridge_alpha", [0.5, 20.0])
def test_recurrent_part_off_by_its_penalty_is_ridge(solver, ridge_alpha):
    """lambda_A huge (A = 0), lambda_c = 0, lambda_D = alpha/T: the predictions are Ridge's,
    on the training rows and on rows after them."""
    X, Y = _data(T=200)
    y = Y.ravel()
    T = 150
    est = ElmanRNNRegressor(
        n_hidden=5, solver=solver, skip_connection=True, lambda_A=1e12, lambda_c=0.0,
        lambda_D=ridge_alpha / T, max_iter=20, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:T], y[:T])
    ridge = Ridge(alpha=ridge_alpha).fit(X[:T], y[:T])
    assert_allclose(est.predict(X[:T]), ridge.predict(X[:T]), atol=1e-8, rtol=0)
    assert_allclose(est.predict(X[T:]), ridge.predict(X[T:]), atol=1e-8, rtol=0)


def test_lambda_D_moves_the_skip_weights_alone():
    """A larger lambda_D shrinks D; the recurrent blocks' lambdas do not change."""
    X, Y = _data()
    y = Y.ravel()
    common = dict(n_hidden=4, skip_connection=True, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        small = ElmanRNNRegressor(lambda_D=1e-4, **common).fit(X, y)
        large = ElmanRNNRegressor(lambda_D=10.0, **common).fit(X, y)
    assert small.lambdas_[:6] == large.lambdas_[:6]
    assert np.linalg.norm(large.skip_weights_) < 0.2 * np.linalg.norm(small.skip_weights_)


# -- a target that is an exact linear function of x ----------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs", "nails", "nailm", "admmirnn"])
def test_linear_target_is_fitted_through_the_skip_connection(solver):
    """y_t = D_true x_t + c_true exactly, i.i.d. inputs (no memory to find).

    The point (A, W, V, b) = 0, (D, c) = (D_true, c_true) has zero loss, so the optimum of R
    is at most R_bound = l1 ||D_true||^2 + l5 ||c_true||^2 (~1e-6 with alpha = 1e-6).
    lambda_V = lambda_W = 1 makes any use of the hidden path to carry x cost more than it
    saves (A V = E costs at least 2 sqrt(l1 l3) ||E||_*, more than l1's saving while
    ||D||_2 < sqrt(l3 / l1) ~ 2000). Requiring R(fit) <= 2 R_bound (a factor 2 for incomplete
    convergence) gives: training loss <= 2 R_bound (near zero), and since the fitted hidden
    states carry no x, loss >= lam_min(cov x) ||D - D_true||_F^2 roughly, so
    ||D - D_true||_F <= sqrt(2 R_bound / (lam_min / 4)) (a factor 4 for the part of x the
    hidden states and the bias can still explain in a finite sample).
    """
    X, Y, D_true, c_true = linear_data()
    est = ElmanRNNRegressor(
        n_hidden=3, activation="tanh", skip_connection=True, alpha=1e-6, lambda_V=1.0,
        lambda_W=1.0, solver=solver, max_iter=100, random_state=0,
    ).fit(X, Y)
    lam = est.lambdas_
    R_bound = lam.D * np.sum(D_true**2) + lam.c * np.sum(c_true**2)
    R_fit = objective(est.weights_, X, Y, est.activation_, lam)
    assert R_fit <= 2 * R_bound, (R_fit, R_bound)
    loss = np.mean(np.sum((est.predict(X) - Y) ** 2, axis=1))
    assert loss <= 2 * R_bound
    lam_min = np.linalg.eigvalsh(np.cov(X.T, bias=True))[0]
    assert np.linalg.norm(est.skip_weights_ - D_true) <= np.sqrt(2 * R_bound / (lam_min / 4))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_without_skip_the_same_linear_target_is_not_fitted():
    """Contrast for the test above: the same settings without D cannot reach its bound (the
    hidden path is too expensive), so that test measures the skip connection."""
    X, Y, D_true, c_true = linear_data()
    est = ElmanRNNRegressor(
        n_hidden=3, activation="tanh", alpha=1e-6, lambda_V=1.0, lambda_W=1.0,
        solver="lbfgs", max_iter=100, random_state=0,
    ).fit(X, Y)
    lam = est.lambdas_
    R_bound = lam.D * np.sum(D_true**2) + lam.c * np.sum(c_true**2)
    assert objective(est.weights_, X, Y, est.activation_, lam) > 100 * R_bound
