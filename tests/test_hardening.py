"""Divergence, persistence, determinism and warm_start of ElmanRNNRegressor.

* Divergence: when the penalty gamma or an iterate becomes non-finite or absurdly large, the
  fit stops, keeps the last finite iterate and says so with a ConvergenceWarning; forced here
  by extreme ALM settings, data scaled by 1e100, absurd learning rates and a failing linear
  solve. No weight or prediction may be NaN.
* Persistence: pickle and joblib round trips give bit-identical predictions; set_params on a
  parameter predict does not read leaves a fitted model's predictions untouched.
* Determinism: two fits with the same data and integer random_state give bit-identical
  weights, for every solver; GridSearchCV with n_jobs=2 gives the same results as n_jobs=1.
* warm_start: the second fit starts from the fitted weights and does not end worse.
"""

import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.utils import check_random_state

from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS
from skalm.model import init_weights, objective
from skalm.solvers import (
    SOLVERS,
    Adam,
    ALMBCDSolver,
    GradientDescent,
    MiniBatchSGD,
    NesterovGradientDescent,
)

TINY = dict(n_hidden=3, max_iter=3, max_inner_iter=4, random_state=0)


@pytest.fixture(scope="module")
def series():
    """Inputs and a target with memory; the first 48 rows train, the last 12 follow them."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    y = np.convolve(X[:, 0], [0.5, 0.3, 0.2])[:60] + 0.1 * X[:, 1]
    return X, y


def quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def initial_weights(est, X, y):
    """The weights fit starts from (the same draw as the estimator's)."""
    m = 1 if np.ndim(y) == 1 else y.shape[1]
    return init_weights(est.n_hidden, X.shape[1], m, init=est.init, scale=est.init_scale,
                        random_state=check_random_state(est.random_state))


# -- divergence -----------------------------------------------------------------------------
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


@pytest.mark.parametrize("solver", [
    ALMBCDSolver(gamma0=1e300, max_iter=3, max_inner_iter=3),  # gamma overflows at once
    ALMBCDSolver(eta1=1e-300, eta2=1e-300, max_iter=3, max_inner_iter=3),  # gamma *= 1e300
    ALMBCDSolver(mu=1e300, max_iter=3, max_inner_iter=3),  # infinite certificate
], ids=["gamma0=1e300", "eta2=1e-300", "mu=1e300"])
def test_alm_divergence_at_the_first_iteration_keeps_the_initial_weights(series, solver):
    X, y = series
    est = ElmanRNNRegressor(solver=solver, n_hidden=3, random_state=0)
    est, messages = fit_diverging(est, X, y)
    assert est.n_iter_ == 0  # nothing accepted: the last finite iterate is the start
    for got, want in zip(est.weights_, initial_weights(est, X, y)):
        assert_array_equal(got, want)
    assert_finite_model(est, X)


def test_alm_divergence_after_some_iterations_keeps_a_recorded_iterate(series):
    """The penalty may not exceed max_gamma: with eta1 tiny it grows by 1/eta2 = 1.25 every
    outer iteration, so the third iteration's gamma (1.25**3 = 1.95) passes max_gamma=1.9."""
    X, y = series
    solver = ALMBCDSolver(eta1=1e-12, eta2=0.8, max_gamma=1.9, max_iter=20, max_inner_iter=3,
                          n_iter_no_change=None)
    est, messages = fit_diverging(ElmanRNNRegressor(solver=solver, n_hidden=3, random_state=0),
                                  X, y)
    assert est.n_iter_ == 2 and "iteration 3" in messages[0]
    assert max(est.history_["gamma"]) <= 1.9
    # the weights are those of a recorded iterate: their objective is one of the history's
    R = objective(est.weights_, X, y[:, None], est.activation_, est.lambdas_)
    assert np.isclose(R, est.history_["objective"], rtol=1e-12).any()
    assert_finite_model(est, X)


def test_data_scaled_by_1e100_diverges_with_a_warning_not_nan(series):
    X, y = series
    est = ElmanRNNRegressor(**TINY)
    est, _ = fit_diverging(est, X * 1e100, y * 1e100)
    assert_finite_model(est, X * 1e100)


class _FailingLinearSolve(ALMBCDSolver):
    """ALM-BCD whose third outer iteration hits a singular, non-finite block system."""

    def inner_start(self, state):
        if state.k == 2:
            raise np.linalg.LinAlgError("SVD did not converge in Linear Least Squares")
        return super().inner_start(state)


def test_a_failing_linear_solve_is_divergence_not_a_crash(series):
    X, y = series
    solver = _FailingLinearSolve(max_iter=10, max_inner_iter=3, n_iter_no_change=None)
    est, messages = fit_diverging(ElmanRNNRegressor(solver=solver, n_hidden=3, random_state=0),
                                  X, y)
    assert est.n_iter_ == 2 and "linear algebra" in messages[0]
    assert_finite_model(est, X)


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


# -- persistence ----------------------------------------------------------------------------
PERSISTED = {
    "relu": dict(),
    "tanh-multioutput": dict(activation="tanh"),
    "elu-float32": dict(activation="elu", elu_alpha=0.7),
    "leaky_relu-sequences": dict(activation="leaky_relu", leaky_slope=0.2),
    "early_stopping": dict(early_stopping=True, validation_fraction=0.2),
    "adam-instance": dict(solver=Adam(learning_rate=0.05, max_iter=4)),
    "lbfgs": dict(solver="lbfgs"),
}


def _persisted_model(name, X, y):
    params = {**TINY, **PERSISTED[name]}
    fit_args = {}
    if name == "tanh-multioutput":
        y = np.column_stack([y, np.roll(y, 1)])
    if name == "elu-float32":
        X, y = X.astype(np.float32), y.astype(np.float32)
    if name == "leaky_relu-sequences":
        fit_args["sequence_id"] = np.repeat([0, 1, 2], 16)
    return quiet_fit(ElmanRNNRegressor(**params), X[:48], y[:48], **fit_args), X


def _predictions(est, X):
    """Every kind of prediction: replayed training rows, continuation, explicit states."""
    h = np.linspace(-0.5, 0.5, est.hidden_state_.shape[0])  # the fitted size
    return [
        est.predict(X[:48]), est.predict(X[48:]), est.predict(X[:48], initial_state="zeros"),
        est.predict(X[48:], initial_state="continue"), est.predict(X[48:], initial_state=h),
        est.predict(X, sequence_id=np.repeat([0, 1], 30)),
    ]


def _joblib_round_trip(est, compress):
    buffer = io.BytesIO()
    joblib.dump(est, buffer, compress=compress)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("name", sorted(PERSISTED))
@pytest.mark.parametrize("how", ["pickle", "pickle-protocol-2", "joblib", "joblib-compressed"])
def test_round_trip_gives_bit_identical_predictions(series, name, how):
    X, y = series
    est, X = _persisted_model(name, X, y)
    back = {
        "pickle": lambda: pickle.loads(pickle.dumps(est)),
        "pickle-protocol-2": lambda: pickle.loads(pickle.dumps(est, protocol=2)),
        "joblib": lambda: _joblib_round_trip(est, 0),
        "joblib-compressed": lambda: _joblib_round_trip(est, 3),
    }[how]()
    assert back is not est
    for got, want in zip(_predictions(back, X), _predictions(est, X)):
        assert got.dtype == want.dtype
        assert_array_equal(got, want)
    for got, want in zip(back.weights_, est.weights_):
        assert_array_equal(got, want)
    assert_array_equal(back.hidden_state_, est.hidden_state_)
    assert back.get_params().keys() == est.get_params().keys()
    # the loaded model can be refitted, and refits exactly like the original
    refit_back = quiet_fit(clone(back), X[:48], est.predict(X[:48]))
    refit_est = quiet_fit(clone(est), X[:48], est.predict(X[:48]))
    assert_array_equal(refit_back.predict(X[48:]), refit_est.predict(X[48:]))


#: A different valid value for every parameter predict does not read. initial_state is the
#: one parameter predict reads (by design it chooses the hidden state predictions start from).
OTHER_VALUES = dict(
    n_hidden=5, activation="relu", solver="adam", alpha=3.0, lambda_A=0.5, lambda_W=0.5,
    lambda_V=0.5, lambda_b=0.5, lambda_c=0.5, lambda_u=0.1, lambda_D=0.5, leaky_slope=0.3,
    elu_alpha=2.0,
    gamma0=5.0, eta1=0.5, eta2=0.5, eta3=0.5, eta4=0.5, mu=1e-3, max_iter=7,
    max_inner_iter=9, tol=0.5, n_iter_no_change=None, early_stopping=True,
    validation_fraction=0.3, init="he", init_scale=0.5, random_state=11, verbose=1,
    warm_start=True, blas_threads=None, acceleration=None, skip_connection=True,
)
PREDICT_READS = {"initial_state"}


def test_other_values_cover_every_parameter():
    params = set(ElmanRNNRegressor().get_params(deep=False))
    assert set(OTHER_VALUES) | PREDICT_READS == params
    defaults = ElmanRNNRegressor().get_params(deep=False)
    assert all(OTHER_VALUES[p] != defaults[p] for p in OTHER_VALUES)


@pytest.mark.parametrize("param", sorted(OTHER_VALUES))
def test_fitted_model_keeps_working_after_set_params(series, param):
    X, y = series
    est = quiet_fit(ElmanRNNRegressor(**TINY), X[:48], y[:48])
    before = _predictions(est, X)
    weights = est.weights_.copy()
    score = est.score(X[48:], y[48:])
    est.set_params(**{param: OTHER_VALUES[param]})
    for got, want in zip(_predictions(est, X), before):
        assert_array_equal(got, want)
    for got, want in zip(est.weights_, weights):
        assert_array_equal(got, want)
    assert est.score(X[48:], y[48:]) == score
    assert pickle.loads(pickle.dumps(est)).predict(X[48:]).tobytes() == before[1].tobytes()


def test_initial_state_errors_give_the_fitted_size_after_set_params_n_hidden(series):
    X, y = series
    est = quiet_fit(ElmanRNNRegressor(**TINY), X[:48], y[:48]).set_params(n_hidden=7)
    with pytest.raises(ValueError, match=r"initial_state.*\(3,\)"):
        est.predict(X[48:], initial_state="previous")
    with pytest.raises(ValueError, match=r"initial_state.*\(3,\)"):
        est.predict(X[48:], initial_state=np.zeros(7))


def test_set_params_initial_state_changes_only_the_start_of_predict(series):
    X, y = series
    est = quiet_fit(ElmanRNNRegressor(**TINY), X[:48], y[:48])
    zeros = est.predict(X[48:], initial_state="zeros")
    est.set_params(initial_state="zeros")
    assert_array_equal(est.predict(X[48:]), zeros)


# -- determinism ----------------------------------------------------------------------------
def _fit_twice(X, y, **params):
    first = quiet_fit(ElmanRNNRegressor(**{**TINY, **params}), X, y)
    second = quiet_fit(ElmanRNNRegressor(**{**TINY, **params}), X, y)
    return first, second


def _assert_identical_fits(a, b, X):
    for got, want in zip(a.weights_, b.weights_):
        assert_array_equal(got, want)
    assert_array_equal(a.hidden_state_, b.hidden_state_)
    assert a.n_iter_ == b.n_iter_
    for key in a.history_:
        if key != "time":
            assert_array_equal(a.history_[key], b.history_[key])
    assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_same_data_and_random_state_give_bit_identical_weights(series, solver):
    X, y = series
    a, b = _fit_twice(X, y, solver=solver)
    _assert_identical_fits(a, b, X)
    # the same for a refit of the same estimator object (fit resets everything)
    c = quiet_fit(a, X, y)
    _assert_identical_fits(c, b, X)
    # and a different seed gives different weights (so the check above can fail)
    d = quiet_fit(ElmanRNNRegressor(**{**TINY, "random_state": 1, "solver": solver}), X, y)
    assert any(not np.array_equal(u, v) for u, v in zip(d.weights_, b.weights_))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_determinism_with_sequences_and_early_stopping(series, activation):
    X, y = series
    sid = np.repeat([0, 1], [20, 40])
    a = quiet_fit(ElmanRNNRegressor(activation=activation, early_stopping=True, **TINY), X, y,
                  sequence_id=sid)
    b = quiet_fit(ElmanRNNRegressor(activation=activation, early_stopping=True, **TINY), X, y,
                  sequence_id=sid)
    _assert_identical_fits(a, b, X)


def test_grid_search_n_jobs_2_equals_n_jobs_1(series):
    X, y = series
    est = ElmanRNNRegressor(**TINY)
    grid = {"alpha": [0.1, 1.0], "activation": ["relu", "tanh"], "solver": ["alm-bcd", "adam"]}
    cv = TimeSeriesSplit(n_splits=3)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for n_jobs in (1, 2):
            results[n_jobs] = GridSearchCV(est, grid, cv=cv, n_jobs=n_jobs,
                                           return_train_score=True).fit(X, y)
    one, two = results[1], results[2]
    assert one.best_params_ == two.best_params_
    assert one.best_index_ == two.best_index_
    for key in ["mean_test_score", "std_test_score", "mean_train_score", "rank_test_score"] + [
        f"split{k}_test_score" for k in range(3)
    ]:
        assert_array_equal(one.cv_results_[key], two.cv_results_[key], err_msg=key)
    assert len(set(one.cv_results_["mean_test_score"])) > 1  # the candidates differ
    for got, want in zip(one.best_estimator_.weights_, two.best_estimator_.weights_):
        assert_array_equal(got, want)
    assert_array_equal(one.predict(X), two.predict(X))


# -- warm_start -----------------------------------------------------------------------------
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
