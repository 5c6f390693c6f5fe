"""ElmanRNNRegressor: parameters reach the solver, fitted attributes, hidden-state rule.

The oracles here are independent of skalm's own forward pass: predictions and hidden states
are recomputed with a plain numpy loop over the time steps from the fitted weights, and
the regularization weights from the paper's Table 2 formulas. Also: the skip connection at
the estimator (``skip_weights_``, predictions that use D, grid search, validation, history
with D); ``history_["train_loss"]`` against scikit-learn's mean_squared_error; predict's
bound on |X| (the same as fit's); persistence (pickle and joblib round trips give
bit-identical predictions; set_params on a parameter predict does not read leaves a fitted
model's predictions untouched); determinism (same data and integer random_state give
bit-identical weights for every solver; GridSearchCV with n_jobs=2 equals n_jobs=1).
"""

import io
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate
from sklearn.utils import get_tags

from _cases import TINY, hand_forward, linear_data, quick_estimator, quiet_fit, walk_series
from _cases import short_series as short_series_data
from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS
from skalm.model import RNNWeights, objective
from skalm.solvers import (
    SOLVERS, Adam, ALMBCDSolver, Solver, SolverResult, register_solver,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small and quick: every fit below takes well under a second.
FAST = dict(n_hidden=6, max_iter=8, max_inner_iter=10, random_state=0)

SIGMAS = {
    "relu": lambda u: np.maximum(u, 0.0),
    "tanh": np.tanh,
}


def memory_series(T=150, n=2, seed=0):
    """Inputs and a target that depends on past inputs (so the hidden state matters)."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(T, n))
    y = np.zeros(T)
    for t in range(T):
        y[t] = X[t, 0] + 0.8 * (X[t - 1, 0] if t >= 1 else 0) - 0.5 * (X[t - 2, 1] if t >= 2 else 0)
    return X, y


def manual_forward(est, X, h0=None, starts=(), sigma=None):
    """Plain loop h_t = sigma(W h_{t-1} + V x_t + b), yhat_t = A h_t + c; h resets at starts."""
    W, V, b = est.recurrent_weights_, est.input_weights_, est.hidden_bias_
    A, c = est.output_weights_, est.output_bias_
    sigma = sigma or SIGMAS[est.activation]
    h = np.zeros(W.shape[0]) if h0 is None else np.array(h0, dtype=float)
    H, Yhat = [], []
    for t in range(X.shape[0]):
        if t in set(starts) and t > 0:
            h = np.zeros(W.shape[0])
        h = sigma(W @ h + V @ X[t] + b)
        H.append(h)
        Yhat.append(A @ h + c)
    return np.array(Yhat), np.array(H)


@pytest.fixture(scope="module")
def series():
    return memory_series()


@pytest.fixture(scope="module")
def fitted(series):
    X, y = series
    return ElmanRNNRegressor(**FAST).fit(X[:120], y[:120])


# -- parameters -----------------------------------------------------------------------------
def test_alpha_is_tau_of_table_2_and_lambdas_can_be_set_one_by_one(series):
    X, y = series
    r, n, m, tau = 6, X.shape[1], 1, 3.0
    est = ElmanRNNRegressor(alpha=tau, **FAST).fit(X, y)
    expected = [tau / (r * m), tau / r**2, tau / (r * n), tau / r, tau / m, 1e-8, tau / (r * m)]
    assert_allclose(list(est.lambdas_), expected, rtol=1e-15)

    est = ElmanRNNRegressor(alpha=tau, lambda_W=0.5, lambda_c=0.0, lambda_u=1e-3, **FAST)
    est.fit(X, y)
    expected = [tau / (r * m), 0.5, tau / (r * n), tau / r, 0.0, 1e-3, tau / (r * m)]
    assert_allclose(list(est.lambdas_), expected, rtol=1e-15)

    # lambda_D follows lambda_A unless set; set, it moves D's penalty alone
    est = ElmanRNNRegressor(alpha=tau, lambda_A=0.25, **FAST).fit(X, y)
    assert est.lambdas_.D == est.lambdas_.A == 0.25
    est = ElmanRNNRegressor(alpha=tau, lambda_D=0.125, skip_connection=True, **FAST).fit(X, y)
    assert (est.lambdas_.A, est.lambdas_.D) == (tau / (r * m), 0.125)


def test_lambdas_reach_the_solver(series):
    """history_['objective'] - history_['train_loss'] is the penalty P(s) of eq. (2.5),
    recomputed here from the fitted weights, the manual forward pass and Table 2 lambdas."""
    X, y = series
    r, n, m = 6, X.shape[1], 1
    params = dict(alpha=2.0, lambda_A=0.3, lambda_u=0.01)
    est = ElmanRNNRegressor(n_iter_no_change=None, **params, **FAST).fit(X, y)
    lam = [0.3, 2.0 / r**2, 2.0 / (r * n), 2.0 / r, 2.0 / m, 0.01]
    _, H = manual_forward(est, X)
    # pre-activations of the manual pass
    Hprev = np.vstack([np.zeros(r), H[:-1]])
    U = Hprev @ est.recurrent_weights_.T + X @ est.input_weights_.T + est.hidden_bias_
    sq = lambda a: float(np.sum(np.square(a)))  # noqa: E731
    P = (
        lam[0] * sq(est.output_weights_) + lam[1] * sq(est.recurrent_weights_)
        + lam[2] * sq(est.input_weights_) + lam[3] * sq(est.hidden_bias_)
        + lam[4] * sq(est.output_bias_) + lam[5] * sq(U)
    )
    history = est.history_
    # without early stopping the returned weights are those of the last iteration
    assert_allclose(history["objective"][-1] - history["train_loss"][-1], P, rtol=1e-8)


class _SpySolver(Solver):
    """Registered under a test name; records what the estimator built it with."""

    name = "spy-for-tests"
    estimator_params = ALMBCDSolver.estimator_params
    built_with = None

    def __init__(self, **kwargs):
        type(self).built_with = kwargs
        self._inner = ALMBCDSolver(**kwargs)

    def solve(self, problem, activation, weights0, random_state=None):
        type(self).seen = (problem, activation, weights0)
        return self._inner.solve(problem, activation, weights0, random_state)


class _NaNSolver(Solver):
    name = "nan-for-tests"
    estimator_params = ()

    def solve(self, problem, activation, weights0, random_state=None):
        bad = weights0.copy()
        bad.W[0, 0] = np.nan
        return SolverResult(weights=bad, history={}, n_iter=1, converged=True)


@pytest.fixture
def test_solvers():
    register_solver(_SpySolver)
    register_solver(_NaNSolver)
    yield
    SOLVERS.pop(_SpySolver.name)
    SOLVERS.pop(_NaNSolver.name)


def test_solver_is_built_from_the_estimator_params_it_declares(series, test_solvers):
    X, y = series
    settings = dict(
        gamma0=2.5, eta1=0.9, eta2=0.8, eta3=0.015, eta4=0.7, mu=1e-4, max_iter=3,
        max_inner_iter=4, tol=1e-2, n_iter_no_change=5, blas_threads=None, verbose=0,
        acceleration=None,
    )
    est = ElmanRNNRegressor(solver="spy-for-tests", n_hidden=5, random_state=0, **settings)
    est.fit(X, y)
    assert _SpySolver.built_with == settings
    problem, activation, weights0 = _SpySolver.seen
    assert problem.X.shape == X.shape and problem.Y.shape == (X.shape[0], 1)
    assert activation.name == "tanh"  # the default
    assert weights0.W.shape == (5, 5)
    assert est.n_iter_ == len(est.history_["train_loss"]) <= 3


def test_unknown_solver_error_lists_the_registered_ones(series):
    X, y = series
    with pytest.raises(ValueError, match="solver") as info:
        ElmanRNNRegressor(solver="no-such-solver").fit(X, y)
    for name in SOLVERS:
        assert repr(name) in str(info.value)


def test_unknown_activation_error_lists_the_registered_ones(series):
    X, y = series
    with pytest.raises(ValueError, match="activation") as info:
        ElmanRNNRegressor(activation="softplus").fit(X, y)
    for name in ACTIVATIONS:
        assert repr(name) in str(info.value)


def test_solver_instance_is_used_as_given_and_never_modified(series):
    X, y = series
    solver = ALMBCDSolver(max_iter=2, n_iter_no_change=None, eps0=0.05)
    before = repr(solver)
    est = ElmanRNNRegressor(solver=solver, max_iter=50, n_hidden=5, random_state=0).fit(X, y)
    assert est.n_iter_ == 2  # the instance's max_iter, not the estimator's
    assert est.solver is solver and repr(solver) == before
    # its settings are nested parameters, so they can be tuned
    assert est.get_params()["solver__eps0"] == 0.05
    est.set_params(solver__max_iter=3)
    assert solver.max_iter == 3


def test_non_finite_solver_result_is_never_returned(series, test_solvers):
    """The forward-pass check replaces it by a finite candidate, and says so."""
    X, y = series
    est = ElmanRNNRegressor(solver="nan-for-tests", random_state=0)
    with pytest.warns(ConvergenceWarning, match="forward pass of the solver's weights"):
        est.fit(X, y)
    assert est.weights_.all_finite() and est.forward_check_["kept"] != "solver"
    assert np.all(np.isfinite(est.predict(X)))


@pytest.mark.parametrize(
    "activation, params, sigma",
    [
        ("leaky_relu", {"leaky_slope": 0.2}, lambda u: np.where(u >= 0, u, 0.2 * u)),
        ("elu", {"elu_alpha": 0.5}, lambda u: np.where(u >= 0, u, 0.5 * (np.exp(u) - 1))),
    ],
)
def test_activation_parameters_reach_the_activation(series, activation, params, sigma):
    X, y = series
    est = ElmanRNNRegressor(activation=activation, n_hidden=5, max_iter=2, max_inner_iter=3,
                            random_state=0, **params)
    est.fit(X, y)
    expected, _ = manual_forward(est, X, sigma=sigma)
    assert_allclose(est.predict(X), expected.ravel(), rtol=1e-10, atol=1e-12)


def test_every_parameter_is_documented_with_its_paper_symbol():
    doc = ElmanRNNRegressor.__doc__
    section = doc.split("Parameters\n    ----------")[1].split("Attributes\n    ----------")[0]
    entries, name = {}, None
    for line in section.splitlines():
        head = re.match(r"^    (\w+) : ", line)
        if head:
            name = head.group(1)
            entries[name] = line
        elif name is not None:
            entries[name] += "\n" + line
    assert set(entries) == set(ElmanRNNRegressor().get_params(deep=False))
    with_symbol = {
        "n_hidden", "activation", "alpha", "lambda_A", "lambda_W", "lambda_V", "lambda_b",
        "lambda_c", "lambda_u", "leaky_slope", "elu_alpha", "gamma0", "eta1", "eta2", "eta3",
        "eta4", "mu", "max_iter", "init_scale",
    }
    for name in with_symbol:
        assert ":math:" in entries[name], name
    for i, name in enumerate(["lambda_A", "lambda_W", "lambda_V", "lambda_b", "lambda_c",
                              "lambda_u"], start=1):
        assert rf"\lambda_{i}" in entries[name], name


# -- fitted attributes ----------------------------------------------------------------------
def test_fitted_attributes(series, fitted):
    X, y = series
    est = fitted
    r, n = 6, X.shape[1]
    assert est.recurrent_weights_.shape == (r, r)
    assert est.input_weights_.shape == (r, n)
    assert est.hidden_bias_.shape == (r,)
    assert est.output_weights_.shape == (1, r)
    assert est.output_bias_.shape == (1,)
    assert isinstance(est.weights_, RNNWeights)
    assert est.weights_.W is est.recurrent_weights_ and est.weights_.c is est.output_bias_
    assert est.n_features_in_ == n and est.n_outputs_ == 1
    assert not hasattr(est, "feature_names_in_")

    keys = {"train_loss", "feasibility", "kappa", "gamma", "n_inner", "time"}
    assert keys <= set(est.history_)
    lengths = {len(v) for v in est.history_.values()}
    assert lengths == {est.n_iter_} and est.n_iter_ >= 1
    assert np.all(np.diff(est.history_["time"]) >= 0)

    # hidden_state_ is the end state of the training rows, by the manual recurrence
    yhat, H = manual_forward(est, X[:120])
    assert_allclose(est.hidden_state_, H[-1], rtol=1e-10, atol=1e-12)
    # the last recorded training loss is the MSE of the true forward pass
    assert_allclose(est.history_["train_loss"][-1], np.mean((yhat.ravel() - y[:120]) ** 2),
                    rtol=1e-8)


def test_feature_names_in_when_given(series):
    pd = pytest.importorskip("pandas")
    X, y = series
    df = pd.DataFrame(X, columns=["a", "b"])
    est = ElmanRNNRegressor(**FAST).fit(df, y)
    assert_array_equal(est.feature_names_in_, ["a", "b"])


def test_predict_is_the_true_forward_pass(series, fitted):
    X, _ = series
    expected, _ = manual_forward(fitted, X[:120])
    assert_allclose(fitted.predict(X[:120]), expected.ravel(), rtol=1e-10, atol=1e-12)


def test_output_shape_follows_y(series):
    X, y = series
    est = ElmanRNNRegressor(**FAST)
    assert est.fit(X, y).predict(X).shape == (len(X),)
    assert est.fit(X, y[:, None]).predict(X).shape == (len(X), 1)
    Y = np.column_stack([y, -y, np.roll(y, 1)])
    est.fit(X, Y)
    assert est.n_outputs_ == 3 and est.predict(X).shape == (len(X), 3)
    expected, _ = manual_forward(est, X)
    assert_allclose(est.predict(X), expected, rtol=1e-10, atol=1e-12)


def test_float32_end_to_end(series):
    X, y = series
    est = ElmanRNNRegressor(**FAST).fit(X.astype(np.float32), y.astype(np.float32))
    assert all(w.dtype == np.float32 for w in est.weights_)
    assert est.hidden_state_.dtype == np.float32
    assert est.predict(X.astype(np.float32)).dtype == np.float32
    assert est.predict(X).dtype == np.float64


def test_convergence_warning_only_when_the_cap_ends_the_fit(series):
    X, y = series
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        ElmanRNNRegressor(n_hidden=4, max_iter=2, max_inner_iter=2, n_iter_no_change=None,
                          random_state=0).fit(X, y)
    # a stopping rule (eps_k <= eps_*) ends this one after one outer iteration
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = ElmanRNNRegressor(n_hidden=4, solver=ALMBCDSolver(eps_star=0.5, max_iter=5),
                                random_state=0).fit(X, y)
    assert est.n_iter_ == 1


def test_verbose_prints_one_line_per_outer_iteration(series, capsys):
    X, y = series
    est = ElmanRNNRegressor(n_hidden=4, max_iter=4, max_inner_iter=3, n_iter_no_change=None,
                            verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows = lines[0], lines[1:]
    for word in ("loss", "FeasVio", "kappa", "gamma"):
        assert word in header
    assert len(rows) == est.n_iter_ == 4
    for k, row in enumerate(rows, start=1):
        fields = row.split()
        assert int(fields[0]) == k
        assert_allclose(float(fields[1]), est.history_["train_loss"][k - 1], rtol=1e-4)
        assert fields[-2].endswith("s")  # elapsed time


def test_warm_start_continues_from_the_fitted_weights(series):
    X, y = series
    est = ElmanRNNRegressor(**FAST).fit(X, y)
    w_first = est.weights_.copy()
    est.set_params(warm_start=True, max_iter=2)
    est.fit(X, y)
    # oracle: the solver run by hand from the first fit's weights
    from skalm.activations import get_activation
    from skalm.model import Lambdas
    from skalm.solvers import Problem

    solver = ALMBCDSolver(max_iter=2, max_inner_iter=10)
    problem = Problem(X, y[:, None], Lambdas.from_alpha(1.0, 6, 2, 1))
    result = solver.solve(problem, get_activation("tanh"), w_first)  # the default activation
    for got, want in zip(est.weights_, result.weights):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)

    with pytest.raises(ValueError, match="warm_start"):
        est.fit(np.hstack([X, X]), y)


def test_sequence_id_resets_the_state_and_reaches_the_solver(series):
    X, y = series
    sid = np.repeat([3, 1, 7], [50, 40, 60])  # labels need not be sorted
    est = ElmanRNNRegressor(**FAST).fit(X, y, sequence_id=sid)
    starts = (0, 50, 90)
    expected, H = manual_forward(est, X, starts=starts)
    # training X under "auto" is replayed with the training sequences
    assert_allclose(est.predict(X), expected.ravel(), rtol=1e-10, atol=1e-12)
    assert_allclose(est.hidden_state_, H[-1], rtol=1e-10, atol=1e-12)
    # the solver trained on these sequences: its recorded loss is the per-sequence MSE
    assert_allclose(est.history_["train_loss"][-1], np.mean((expected.ravel() - y) ** 2),
                    rtol=1e-8)
    # and it differs from treating the rows as one sequence
    one_seq, _ = manual_forward(est, X)
    assert not np.allclose(one_seq, expected)


def test_sequence_id_must_have_one_label_per_row(series):
    X, y = series
    with pytest.raises(ValueError, match="sequence_id"):
        ElmanRNNRegressor(**FAST).fit(X, y, sequence_id=np.zeros(len(X) - 1))
    est = ElmanRNNRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="sequence_id"):
        est.predict(X, sequence_id=np.zeros((len(X), 2)))


def test_predict_with_sequence_id(series, fitted):
    X, _ = series
    X_new = X[120:]
    sid = np.repeat([0, 1], [10, 20])
    # first sequence continues (auto: not the training X), the second starts from zero
    expected, _ = manual_forward(fitted, X_new, h0=fitted.hidden_state_, starts=(10,))
    assert_allclose(fitted.predict(X_new, sequence_id=sid), expected.ravel(), rtol=1e-10,
                    atol=1e-12)


# -- the hidden-state rule ------------------------------------------------------------------
def test_auto_replays_training_rows_and_continues_other_rows(series, fitted):
    X, _ = series
    X_train, X_test = X[:120], X[120:]
    # the paper's protocol: one recurrence through training and test rows from h_0 = 0
    whole, _ = manual_forward(fitted, X)
    assert_allclose(fitted.predict(X_train), whole[:120].ravel(), rtol=1e-10, atol=1e-12)
    assert_allclose(fitted.predict(X_test), whole[120:].ravel(), rtol=1e-10, atol=1e-12)
    # a copy of the training X (other memory, F order) is still the training X
    assert_allclose(fitted.predict(np.asfortranarray(X_train.copy())), whole[:120].ravel(),
                    rtol=1e-10, atol=1e-12)
    # starting the test rows from zero would give something else (the test can tell)
    from_zero, _ = manual_forward(fitted, X_test)
    assert np.max(np.abs(from_zero - whole[120:])) > 1e-3


def test_explicit_initial_states(series, fitted):
    X, _ = series
    X_train, X_test = X[:120], X[120:]
    zero_train, _ = manual_forward(fitted, X_train)
    zero_test, _ = manual_forward(fitted, X_test)
    cont_train, _ = manual_forward(fitted, X_train, h0=fitted.hidden_state_)
    cont_test, _ = manual_forward(fitted, X_test, h0=fitted.hidden_state_)

    assert_allclose(fitted.predict(X_test, initial_state="zeros"), zero_test.ravel(), rtol=1e-10)
    assert_allclose(fitted.predict(X_train, initial_state="continue"), cont_train.ravel(),
                    rtol=1e-10)
    assert_allclose(fitted.predict(X_train, initial_state="zeros"), zero_train.ravel(),
                    rtol=1e-10)
    assert_allclose(fitted.predict(X_test, initial_state="continue"), cont_test.ravel(),
                    rtol=1e-10)
    h0 = np.linspace(0, 1, 6)
    custom, _ = manual_forward(fitted, X_test, h0=h0)
    assert_allclose(fitted.predict(X_test, initial_state=h0), custom.ravel(), rtol=1e-10)

    # the constructor parameter sets the default of every call
    est = pickle.loads(pickle.dumps(fitted))
    est.set_params(initial_state="zeros")
    assert_allclose(est.predict(X_test), zero_test.ravel(), rtol=1e-10)
    est.set_params(initial_state="continue")
    assert_allclose(est.predict(X_train), cont_train.ravel(), rtol=1e-10)
    assert_allclose(est.predict(X_train, initial_state="auto"), zero_train.ravel(), rtol=1e-10)

    with pytest.raises(ValueError, match="initial_state"):
        fitted.predict(X_test, initial_state="previous")
    with pytest.raises(ValueError, match="initial_state"):
        fitted.predict(X_test, initial_state=np.zeros(5))


def test_predict_never_writes_to_the_estimator(series, fitted):
    X, y = series
    before = pickle.dumps(fitted)
    for rows in (slice(0, 120), slice(120, None), slice(None)):
        for initial_state in ("auto", "zeros", "continue", np.ones(6)):
            fitted.predict(X[rows], initial_state=initial_state)
        fitted.predict(X[rows], sequence_id=np.arange(len(X))[rows] // 25)
        fitted.score(X[rows], y[rows])
    assert pickle.dumps(fitted) == before
    assert_array_equal(fitted.predict(X[120:]), fitted.predict(X[120:]))


def test_cross_validate_time_series_split_scores(series):
    """Train scores replay the training fold from h_0 = 0; test scores continue from the
    hidden state at the end of the training fold. Both recomputed by hand."""
    X, y = series
    cv = TimeSeriesSplit(n_splits=3)
    res = cross_validate(ElmanRNNRegressor(**FAST), X, y, cv=cv, return_train_score=True,
                         return_estimator=True)
    for (train, test), est, train_score, test_score in zip(
        cv.split(X), res["estimator"], res["train_score"], res["test_score"]
    ):
        yhat_train, H_train = manual_forward(est, X[train])
        yhat_test, _ = manual_forward(est, X[test], h0=H_train[-1])
        assert_allclose(train_score, r2_score(y[train], yhat_train.ravel()), rtol=1e-10)
        assert_allclose(test_score, r2_score(y[test], yhat_test.ravel()), rtol=1e-10)
        # the alternatives are measurably different, so the check above can fail
        yhat_test_zero, _ = manual_forward(est, X[test])
        yhat_train_cont, _ = manual_forward(est, X[train], h0=H_train[-1])
        assert abs(test_score - r2_score(y[test], yhat_test_zero.ravel())) > 1e-6
        assert abs(train_score - r2_score(y[train], yhat_train_cont.ravel())) > 1e-9


def _starts(sid):
    sid = np.asarray(sid)
    return tuple(np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]]))


def _check_fold_used_its_sequences(est, X, y, sid):
    """The fold's estimator trained on the fold's slice of sequence_id: its recorded loss
    equals the per-sequence MSE of the manual recurrence on the fold's rows."""
    yhat, _ = manual_forward(est, X, starts=_starts(sid))
    assert_allclose(est.history_["train_loss"][-1], np.mean((yhat.ravel() - y) ** 2), rtol=1e-8)
    one_seq, _ = manual_forward(est, X)
    assert not np.allclose(one_seq, yhat)


def test_sequence_id_is_sliced_by_cross_validation(series):
    X, y = series
    sid = np.repeat(np.arange(6), 25)
    cv = TimeSeriesSplit(n_splits=2)
    res = cross_validate(ElmanRNNRegressor(**FAST), X, y, cv=cv, params={"sequence_id": sid},
                         return_estimator=True)
    for (train, _), est in zip(cv.split(X), res["estimator"]):
        _check_fold_used_its_sequences(est, X[train], y[train], sid[train])


def test_sequence_id_with_metadata_routing_in_grid_search(series):
    X, y = series
    sid = np.repeat(np.arange(6), 25)
    cv = TimeSeriesSplit(n_splits=2)
    with sklearn.config_context(enable_metadata_routing=True):
        est = ElmanRNNRegressor(**FAST).set_fit_request(sequence_id=True)
        search = GridSearchCV(est, {"alpha": [0.5, 2.0]}, cv=cv)
        search.fit(X, y, sequence_id=sid)
        _check_fold_used_its_sequences(search.best_estimator_, X, y, sid)
        res = cross_validate(est, X, y, cv=cv, params={"sequence_id": sid},
                             return_estimator=True)
    for (train, _), fold_est in zip(cv.split(X), res["estimator"]):
        _check_fold_used_its_sequences(fold_est, X[train], y[train], sid[train])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_early_stopping_holds_out_the_last_rows(series):
    X, y = series
    est = ElmanRNNRegressor(early_stopping=True, validation_fraction=0.2,
                            n_iter_no_change=3, **{**FAST, "max_iter": 12}).fit(X, y)
    assert "val_loss" in est.history_
    assert len(est.history_["val_loss"]) == est.n_iter_
    # the kept weights are the best validated ones: their validation loss, recomputed by
    # running on from the end of the first 80% of the rows, is the smallest recorded
    split = 120
    _, H = manual_forward(est, X[:split])
    yhat_val, _ = manual_forward(est, X[split:], h0=H[-1])
    val = np.mean((yhat_val.ravel() - y[split:]) ** 2)
    assert_allclose(val, min(est.history_["val_loss"]), rtol=1e-8)
    # hidden_state_ is the end of all rows given to fit
    _, H_all = manual_forward(est, X)
    assert_allclose(est.hidden_state_, H_all[-1], rtol=1e-10, atol=1e-12)

    with pytest.raises(ValueError, match="sequence"):
        ElmanRNNRegressor(early_stopping=True, **FAST).fit(
            X, y, sequence_id=np.repeat([0, 1], [140, 10])
        )


def test_tags():
    tags = get_tags(ElmanRNNRegressor())
    assert tags.estimator_type == "regressor"
    assert tags.input_tags.allow_nan is False
    assert tags.target_tags.multi_output is True
    assert tags.target_tags.required is True
    assert tags.non_deterministic is False
    assert tags.regressor_tags.poor_score is False


def test_default_settings_fit_check_regressors_train_data():
    """check_regressors_train (i.i.d. data, alpha set to 0.01 by the check) with the
    *default* ALM-BCD settings: the training R^2 is far above the check's 0.5 (measured
    0.99997 for relu); tests/test_common.py runs the checks with smaller caps for speed."""
    from sklearn.preprocessing import scale
    from sklearn.utils.estimator_checks import _regression_dataset

    X, y = _regression_dataset()
    y = scale(y)
    est = ElmanRNNRegressor(alpha=0.01, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.99


# -- the skip connection ---------------------------------------------------------------------


def test_estimator_without_skip_fits_the_model_without_D():
    X, Y, _, _ = linear_data(Tn=60)
    est = ElmanRNNRegressor(n_hidden=3, max_iter=3, max_inner_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert est.skip_weights_ is None and est.weights_.D is None and len(est.weights_) == 5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_skip_weights_shape_and_predictions_use_them(dtype):
    X, Y, _, _ = linear_data(Tn=80)
    X, Y = X.astype(dtype), Y.astype(dtype)
    est = quick_estimator(skip_connection=True).fit(X, Y)
    assert est.skip_weights_.shape == (2, 3) and est.skip_weights_.dtype == dtype
    assert est.weights_.D is est.skip_weights_
    assert np.max(np.abs(est.skip_weights_)) > 0.1
    # predict = A h_t + D x_t + c with h from a hand-written recurrence (h_0 = 0)
    X_new = np.random.RandomState(5).uniform(-1, 1, (15, 3)).astype(dtype)
    w = est.weights_.astype(np.float64)
    _, H = hand_forward(w, X_new.astype(np.float64), est.activation_, {0})
    want = H @ w.A.T + X_new @ w.D.T + w.c
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(est.predict(X_new, initial_state="zeros"), want, rtol=rtol,
                               atol=rtol)
    # 1-D y: one output row
    est1 = quick_estimator(skip_connection=True).fit(X, Y[:, 0])
    assert est1.skip_weights_.shape == (1, 3) and est1.predict(X_new).shape == (15,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_skip_connection():
    X, Y, _, _ = linear_data(Tn=120)
    gs = GridSearchCV(quick_estimator(), {"skip_connection": [False, True]}, cv=TimeSeriesSplit(3))
    gs.fit(X, Y[:, 0])
    assert [p["skip_connection"] for p in gs.cv_results_["params"]] == [False, True]
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    best = gs.best_estimator_
    assert (best.skip_weights_ is not None) == gs.best_params_["skip_connection"]
    assert gs.get_params()["estimator__skip_connection"] is False  # not overwritten


@pytest.mark.parametrize("bad", ["yes", None, 1, 0.0, [True]])
def test_invalid_skip_connection_raises(bad):
    X, Y, _, _ = linear_data(Tn=20)
    est = quick_estimator(skip_connection=bad)
    with pytest.raises((ValueError, TypeError), match="skip_connection"):
        est.fit(X, Y)
    assert est.skip_connection is bad  # fit does not overwrite the parameter


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs"])
def test_history_and_validation_loss_include_D(solver):
    """The recorded objective and validation loss are those of the model with D: the
    returned weights are one of the recorded iterates, so their R (checked against a
    hand-written sum above) and their validation loss, computed here by hand from the hidden
    state at the end of the training rows, appear in the history (at the same iteration)."""
    X, Y, _, _ = linear_data(Tn=100)
    Y = Y + 0.1 * np.sin(np.cumsum(X[:, :1], axis=0))  # something for the recurrence
    est = ElmanRNNRegressor(n_hidden=3, skip_connection=True, solver=solver, max_iter=8,
                            max_inner_iter=10, n_iter_no_change=None, early_stopping=True,
                            validation_fraction=0.2, random_state=0).fit(X, Y)
    w, act = est.weights_, est.activation_
    assert w.D is not None and np.max(np.abs(w.D)) > 0.1
    split = 80
    _, H_train = hand_forward(w, X[:split], act, {0})
    h = H_train[-1]
    val = []
    for t in range(split, 100):
        h = act.sigma(w.W @ h + w.V @ X[t] + w.b)
        val.append(np.sum((Y[t] - w.A @ h - w.D @ X[t] - w.c) ** 2))
    R = objective(w, X[:split], Y[:split], act, est.lambdas_)
    hist = est.history_
    match = [k for k in range(est.n_iter_)
             if abs(hist["val_loss"][k] - np.mean(val)) <= 1e-9 * np.mean(val)
             and abs(hist["objective"][k] - R) <= 1e-9 * R]
    assert match, (np.mean(val), R, hist["val_loss"], hist["objective"])


# -- history_ and predict's input checks -------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_train_loss_sums_over_the_outputs_as_documented():
    X, y = walk_series()
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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_predict_rejects_what_fit_rejects():
    X, y = walk_series()
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


# -- persistence: pickle/joblib round trips, set_params after fit ------------------------------
@pytest.fixture(scope="module")
def short_series():
    return short_series_data()



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
def test_round_trip_gives_bit_identical_predictions(short_series, name, how):
    X, y = short_series
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
def test_fitted_model_keeps_working_after_set_params(short_series, param):
    X, y = short_series
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


def test_initial_state_errors_give_the_fitted_size_after_set_params_n_hidden(short_series):
    X, y = short_series
    est = quiet_fit(ElmanRNNRegressor(**TINY), X[:48], y[:48]).set_params(n_hidden=7)
    with pytest.raises(ValueError, match=r"initial_state.*\(3,\)"):
        est.predict(X[48:], initial_state="previous")
    with pytest.raises(ValueError, match=r"initial_state.*\(3,\)"):
        est.predict(X[48:], initial_state=np.zeros(7))


def test_set_params_initial_state_changes_only_the_start_of_predict(short_series):
    X, y = short_series
    est = quiet_fit(ElmanRNNRegressor(**TINY), X[:48], y[:48])
    zeros = est.predict(X[48:], initial_state="zeros")
    est.set_params(initial_state="zeros")
    assert_array_equal(est.predict(X[48:]), zeros)


# -- determinism ------------------------------------------------------------------------------


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
def test_same_data_and_random_state_give_bit_identical_weights(short_series, solver):
    X, y = short_series
    a, b = _fit_twice(X, y, solver=solver)
    _assert_identical_fits(a, b, X)
    # the same for a refit of the same estimator object (fit resets everything)
    c = quiet_fit(a, X, y)
    _assert_identical_fits(c, b, X)
    # and a different seed gives different weights (so the check above can fail)
    d = quiet_fit(ElmanRNNRegressor(**{**TINY, "random_state": 1, "solver": solver}), X, y)
    assert any(not np.array_equal(u, v) for u, v in zip(d.weights_, b.weights_))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_determinism_with_sequences_and_early_stopping(short_series, activation):
    X, y = short_series
    sid = np.repeat([0, 1], [20, 40])
    a = quiet_fit(ElmanRNNRegressor(activation=activation, early_stopping=True, **TINY), X, y,
                  sequence_id=sid)
    b = quiet_fit(ElmanRNNRegressor(activation=activation, early_stopping=True, **TINY), X, y,
                  sequence_id=sid)
    _assert_identical_fits(a, b, X)


def test_grid_search_n_jobs_2_equals_n_jobs_1(short_series):
    X, y = short_series
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
