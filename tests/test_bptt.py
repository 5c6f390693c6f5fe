"""The first-order BPTT solvers (skalm/solvers/bptt.py): absurd learning rates end in a
reported divergence (a ConvergenceWarning), never in NaN weights or predictions."""

import pytest

from _cases import assert_finite_model, fit_diverging, short_series
from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS
from skalm.solvers import Adam, GradientDescent, MiniBatchSGD, NesterovGradientDescent


@pytest.fixture(scope="module")
def series():
    return short_series()

@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("solver", [
    GradientDescent(learning_rate=1e10, max_iter=5),
    NesterovGradientDescent(learning_rate=1e10, max_iter=5),
    MiniBatchSGD(learning_rate=1e10, batch_size=10, max_iter=5),
    Adam(learning_rate=1e10, max_iter=5),
], ids=["gd", "nesterov", "sgd", "adam"])
def test_absurd_learning_rates_diverge_with_a_warning_not_nan(series, solver, activation):
    X, y = series
    est = ElmanRNNRegressor(solver=solver, activation=activation, n_hidden=3, random_state=0)
    est, _ = fit_diverging(est, X, y)
    assert est.n_iter_ < 5
    assert_finite_model(est, X)
