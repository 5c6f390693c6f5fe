"""What fit sets up before a solver runs (skalm/_setup.py): the check of the starting
weights' forward pass, and warm starts: the second fit starts from the fitted weights (also
when the skip connection is switched on or off) and does not end worse."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from _cases import TINY, linear_data, quick_estimator, quiet_fit, short_series
from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS
from skalm.model import objective
from skalm.solvers import SOLVERS, ALMBCDSolver
from skalm.solvers.base import History, Solver, SolverResult


@pytest.fixture(scope="module")
def series():
    return short_series()

def test_initial_weights_whose_loss_overflows_are_a_documented_error():
    """leaky_relu with init_scale=1e5 used to reach ALM-BCD with an initial training loss of
    inf, where a block's least-squares fallback raised LinAlgError (with numpy overflow
    warnings). The initial forward pass and loss are now checked first: a ValueError naming
    init_scale, X and y."""
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    est = ElmanRNNRegressor(activation="leaky_relu", init_scale=1e5, n_hidden=3, random_state=0,
                            solver=ALMBCDSolver(max_iter=3, max_inner_iter=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(ValueError, match="init_scale=100000.0.*Scale X and y"):
            est.fit(X, y)
    assert not hasattr(est, "weights_")


class _RecordingALM(ALMBCDSolver):
    """Records the weights every solve starts from (the estimator uses a copy of it)."""

    starts = []

    def solve(self, problem, activation, weights0, random_state=None):
        type(self).starts.append(weights0.copy())
        return super().solve(problem, activation, weights0, random_state)


def test_warm_start_second_fit_starts_from_the_fitted_weights(series):
    X, y = series
    _RecordingALM.starts = []
    est = ElmanRNNRegressor(solver=_RecordingALM(max_iter=3, max_inner_iter=4), n_hidden=3,
                            random_state=0)
    quiet_fit(est, X, y)
    fitted = est.weights_.copy()
    quiet_fit(est.set_params(warm_start=True), X, y)
    assert len(_RecordingALM.starts) == 2
    for got, want in zip(_RecordingALM.starts[1], fitted):
        assert_array_equal(got, want)
    # without warm_start the second fit starts from a fresh draw
    quiet_fit(est.set_params(warm_start=False), X, y)
    for got, want in zip(_RecordingALM.starts[2], _RecordingALM.starts[0]):
        assert_array_equal(got, want)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_warm_start_objective_does_not_increase(series, solver, activation):
    """R of the true forward pass after a warm-started second fit <= after the first."""
    X, y = series
    est = ElmanRNNRegressor(solver=solver, activation=activation, **TINY)
    quiet_fit(est, X, y)

    def R():
        return objective(est.weights_, X, y[:, None], est.activation_, est.lambdas_)

    first = R()
    assert np.isclose(first, min(est.history_["objective"]), rtol=1e-10) or est.n_iter_ == 0
    quiet_fit(est.set_params(warm_start=True), X, y)
    assert R() <= first


class _ReturnStart(Solver):
    """A solver that returns its starting weights: shows what fit starts from."""

    name = "return-start"
    estimator_params = ()

    def solve(self, problem, activation, weights0, random_state=None):
        return SolverResult(weights=weights0, history=History().as_dict(), n_iter=0,
                            converged=True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_switching_the_skip_connection():
    X, Y, _, _ = linear_data(Tn=80)
    est = quick_estimator(skip_connection=False, warm_start=True).fit(X, Y)
    previous, previous_pred = est.weights_, est.predict(X)

    # on: the previous W, V, b, A, c and D = 0, so the start predicts as the previous fit
    est.set_params(skip_connection=True, solver=_ReturnStart()).fit(X, Y)
    for a, b in zip(est.weights_, previous):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.skip_weights_, np.zeros((2, 3)))
    np.testing.assert_array_equal(est.predict(X), previous_pred)

    # a real warm-started fit with skip on from there learns D
    est.set_params(solver="lbfgs").fit(X, Y)
    with_D = est.weights_
    assert np.max(np.abs(with_D.D)) > 0.1

    # kept: D carried over as it is
    est.set_params(solver=_ReturnStart()).fit(X, Y)
    np.testing.assert_array_equal(est.skip_weights_, with_D.D)

    # off: D dropped, the rest kept
    est.set_params(skip_connection=False).fit(X, Y)
    assert est.skip_weights_ is None and len(est.weights_) == 5
    for a, b in zip(est.weights_, with_D):
        np.testing.assert_array_equal(a, b)
