"""Issue 15's smaller items, each against an independent oracle: the definition of
``history_["train_loss"]`` (scikit-learn's mean_squared_error), the warning for sequence
labels that come back, predict's bound on |X| (the same as fit's), and no blow-up warning
when the targets are all zero while a real blow-up on them is still caught."""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error

from skalm import ElmanRNNRegressor
from skalm.activations import get_activation
from skalm.model import Lambdas, RNNWeights
from skalm.solvers import SOLVERS, Problem
from skalm.solvers.base import SolverResult
from skalm.safety import check_forward_pass

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(T=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(T, 3))
    return X, np.sin(np.cumsum(X[:, 0]))


def test_train_loss_sums_over_the_outputs_as_documented():
    X, y = _data()
    Y = np.column_stack([y, 2 * y, -y])
    est = ElmanRNNRegressor(n_hidden=5, max_iter=5, n_iter_no_change=None,
                            random_state=0).fit(X, Y)
    # the returned weights are one of the recorded iterates (the last, or the best by R)
    mse = mean_squared_error(Y, est.predict(X))  # mean over rows and outputs
    history = np.asarray(est.history_["train_loss"])
    assert np.isclose(history, 3 * mse, rtol=1e-8, atol=0).any()
    assert not np.isclose(history, mse, rtol=1e-3, atol=0).any()
    doc = re.sub(r"\s+", " ", ElmanRNNRegressor.__doc__)
    assert "summed over the outputs and averaged over the time steps" in doc


@pytest.mark.parametrize("labels, n_warnings", [
    (np.tile([0, 1], 30), 1),                  # panel rows sorted by time: 60 runs
    (np.repeat([0, 1, 0], [20, 20, 20]), 1),   # a label that comes back
    (np.repeat(["a", "b", "c"], 20), 0),       # contiguous labels
    (np.repeat([2, 0, 1], 20), 0),             # unsorted but contiguous
])
def test_labels_that_come_back_warn(labels, n_warnings):
    X, y = _data()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est = ElmanRNNRegressor(n_hidden=3, max_iter=2, random_state=0)
        est.fit(X, y, sequence_id=labels)
    mine = [w for w in seen if "sequence_id" in str(w.message)]
    assert len(mine) == n_warnings
    if n_warnings:
        assert issubclass(mine[0].category, UserWarning)
        assert mine[0].filename == __file__  # points at the caller's fit
        runs = 1 + int(np.sum(labels[1:] != labels[:-1]))
        assert f"({runs} in all" in str(mine[0].message)
        with pytest.warns(UserWarning, match="sequence_id"):
            est.predict(X, sequence_id=labels)


def test_predict_rejects_what_fit_rejects():
    X, y = _data()
    big = np.full((3, 3), 1e300)
    with pytest.raises(ValueError, match="X has entries as large as 1e\\+300") as at_fit:
        ElmanRNNRegressor(n_hidden=3, max_iter=2).fit(np.vstack([X, big]), np.r_[y, 0, 0, 0])
    est = ElmanRNNRegressor(n_hidden=3, max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="X has entries as large as 1e\\+300") as at_predict:
        est.predict(big)
    assert str(at_predict.value) == str(at_fit.value)
    for dtype in (np.float64, np.float32):  # just inside the bound: accepted
        limit = 1e-4 * float(np.sqrt(np.finfo(dtype).max))
        assert est.predict(np.full((2, 3), limit / 2, dtype=dtype)).shape == (2,)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_no_blowup_warning_when_the_targets_are_zero(solver):
    X, _ = _data()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est = ElmanRNNRegressor(n_hidden=4, solver=solver, max_iter=5, random_state=0)
        est.fit(X, np.zeros(len(X)))
    assert not [w for w in seen if "forward pass of the solver" in str(w.message)]
    assert est.forward_check_["blowup"] is False
    assert est.forward_check_["kept"] == "solver"


def test_a_real_blowup_on_zero_targets_is_still_caught():
    """Weights whose forward pass runs away (W = 3 I) while the solver claims a tiny loss."""
    X, _ = _data()
    r = 4
    rng = np.random.RandomState(0)
    weights = RNNWeights(3.0 * np.eye(r), rng.normal(size=(r, 3)), np.zeros(r),
                         rng.normal(size=(1, r)), np.zeros(1))
    problem = Problem(X, np.zeros((len(X), 1)), Lambdas.from_alpha(1.0, r, 3, 1))
    result = SolverResult(weights, {}, 1, True, extras={"own_loss": 1e-6})
    with pytest.warns(ConvergenceWarning, match="forward pass of the solver"):
        _, info = check_forward_pass(result, problem, get_activation("tanh"))
    assert info["blowup"] is True
