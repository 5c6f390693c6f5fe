"""``max_iter=0``: no solver runs and the fitted network is the start itself.

Oracles: the previous fit's weights under ``warm_start`` (which must come back unchanged),
and scikit-learn's Ridge for the skip path's start.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.linear_model import Ridge

from skalm import ElmanRNNRegressor


def _data(T=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, 3))
    return X, X @ np.array([0.5, -1.0, 0.2]) + 0.1 * rng.standard_normal(T)


@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs", "adam"])
def test_warm_start_with_max_iter_zero_keeps_the_previous_weights(solver):
    X, y = _data()
    est = ElmanRNNRegressor(n_hidden=4, solver=solver, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    before = est.weights_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: zero iterations were asked
        est.set_params(warm_start=True, max_iter=0).fit(X, y)
    for a, b in zip(est.weights_, before):
        assert_array_equal(a, b)
    assert est.n_iter_ == 0 and all(len(v) == 0 for v in est.history_.values())
    assert est.get_params()["max_iter"] == 0  # fit does not touch the parameter


def test_max_iter_zero_with_the_skip_path_keeps_the_ridge_start():
    """The linear path starts at Ridge's solution with the matching penalty: with zero
    iterations the fitted skip weights and output bias are Ridge's."""
    X, y = _data()
    T, lam_D = len(y), 0.05
    est = ElmanRNNRegressor(n_hidden=4, skip_connection=True, lambda_D=lam_D, lambda_c=0.0,
                            max_iter=0, random_state=0).fit(X, y)
    ridge = Ridge(alpha=T * lam_D).fit(X, y)
    np.testing.assert_allclose(est.skip_weights_.ravel(), ridge.coef_, rtol=1e-8)
    np.testing.assert_allclose(est.output_bias_, [ridge.intercept_], rtol=1e-8)


def test_max_iter_must_not_be_negative():
    X, y = _data()
    with pytest.raises(ValueError, match="max_iter"):
        ElmanRNNRegressor(max_iter=-1).fit(X, y)
