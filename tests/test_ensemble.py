"""RNNEnsembleRegressor: the average of K fits, checked against independent oracles.

* the members are exactly the ElmanRNNRegressor fits one gets by hand with the seeds
  ``RandomState(random_state).randint(2**31 - 1, size=K)``, and the prediction is their mean;
* the average is the prediction of ONE Elman RNN of width K r built by hand (block-diagonal W,
  stacked V, b and hidden state, A / K), run through skalm.model.forward: the documented
  identity, on the training rows (from h = 0) and on later rows (from the stacked states).
"""

import pickle
import warnings

import numpy as np
import pytest
from scipy.linalg import block_diag
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalm import ElmanRNNRegressor, RNNEnsembleRegressor
from skalm.activations import get_activation
from skalm.model import RNNWeights, forward, predict_outputs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(T=60, n=3, m=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(T, n))
    Y = np.column_stack([np.sin(np.cumsum(X[:, 0])), X[:, 1] * X[:, 2]])[:, :m]
    return X, Y


def _member(**kw):
    return ElmanRNNRegressor(n_hidden=6, solver="lbfgs", max_iter=30, **kw)


def _seeds(random_state, k):
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max, size=k)


@pytest.mark.parametrize("y_1d", [False, True])
def test_prediction_is_the_mean_of_members_fitted_by_hand(y_1d):
    X, Y = _data()
    y = Y[:, 0] if y_1d else Y
    ens = RNNEnsembleRegressor(_member(), n_estimators=3, random_state=7).fit(X[:45], y[:45])
    by_hand = [_member(random_state=int(s)).fit(X[:45], y[:45]) for s in _seeds(7, 3)]
    for rows in (slice(0, 45), slice(45, None)):
        expected = np.mean([est.predict(X[rows]) for est in by_hand], axis=0)
        np.testing.assert_allclose(ens.predict(X[rows]), expected, rtol=1e-12, atol=1e-12)
    assert ens.predict(X[45:]).shape == y[45:].shape
    assert [e.random_state for e in ens.estimators_] == [int(s) for s in _seeds(7, 3)]


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_average_is_one_wide_elman_rnn(skip, activation):
    X, Y = _data(seed=1)
    member = _member(activation=activation, skip_connection=skip)
    ens = RNNEnsembleRegressor(member, n_estimators=3, random_state=0).fit(X[:45], Y[:45])
    ws = [e.weights_ for e in ens.estimators_]
    K = len(ws)
    wide = RNNWeights(
        block_diag(*[w.W for w in ws]),
        np.vstack([w.V for w in ws]),
        np.concatenate([w.b for w in ws]),
        np.hstack([w.A for w in ws]) / K,
        np.mean([w.c for w in ws], axis=0),
        np.mean([w.D for w in ws], axis=0) if skip else None,
    )
    sigma = get_activation(activation)
    _, H = forward(wide, X[:45], sigma)  # training rows: h_0 = 0
    np.testing.assert_allclose(ens.predict(X[:45]), predict_outputs(wide, H, X[:45]),
                               rtol=1e-10, atol=1e-10)
    h_end = np.concatenate([e.hidden_state_ for e in ens.estimators_])
    _, H = forward(wide, X[45:], sigma, h0=h_end)  # later rows continue from the end
    np.testing.assert_allclose(ens.predict(X[45:]), predict_outputs(wide, H, X[45:]),
                               rtol=1e-10, atol=1e-10)


def test_one_member_is_the_member():
    X, Y = _data(seed=2)
    ens = RNNEnsembleRegressor(_member(), n_estimators=1, random_state=3).fit(X, Y)
    single = _member(random_state=int(_seeds(3, 1)[0])).fit(X, Y)
    np.testing.assert_array_equal(ens.predict(X), single.predict(X))


def test_parallel_fit_gives_the_same_members():
    X, Y = _data(seed=3)
    a = RNNEnsembleRegressor(_member(), n_estimators=2, random_state=0, n_jobs=1).fit(X, Y)
    b = RNNEnsembleRegressor(_member(), n_estimators=2, random_state=0, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_parallel_workers_keep_the_callers_warning_filters():
    # A member stopped by max_iter warns; with the caller's filter turning that warning into
    # an error, the error must come out of the worker processes too (plain joblib workers
    # start with default filters and would only print it).
    X, Y = _data(seed=3)
    member = _member().set_params(max_iter=1)
    ens = RNNEnsembleRegressor(member, n_estimators=2, random_state=0, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with pytest.raises(ConvergenceWarning, match="max_iter"):
            ens.fit(X, Y)


def test_fit_keeps_the_template_and_predict_writes_nothing():
    X, Y = _data(seed=4)
    template = _member(random_state=5)
    ens = RNNEnsembleRegressor(template, n_estimators=2, random_state=0)
    ens.fit(X[:45], Y[:45])
    assert template.random_state == 5 and not hasattr(template, "weights_")
    state = pickle.dumps(ens.__dict__)
    ens.predict(X[45:])
    ens.score(X[45:], Y[45:])
    assert pickle.dumps(ens.__dict__) == state


def test_sequence_id_reaches_every_member():
    X, Y = _data(T=60, seed=5)
    sid = np.repeat([0, 1, 2], 20)
    ens = RNNEnsembleRegressor(_member(), n_estimators=2, random_state=0).fit(X, Y, sid)
    by_hand = [_member(random_state=int(s)).fit(X, Y, sequence_id=sid) for s in _seeds(0, 2)]
    expected = np.mean([e.predict(X, sequence_id=sid) for e in by_hand], axis=0)
    np.testing.assert_allclose(ens.predict(X, sequence_id=sid), expected, rtol=1e-12)
    # and the sequences matter: without the labels the later rows see a different state
    assert not np.allclose(ens.predict(X, initial_state="zeros"), expected)


def test_grid_search_over_member_parameters_with_time_series_split():
    X, Y = _data(T=80, seed=6)
    pipe = make_pipeline(StandardScaler(),
                         RNNEnsembleRegressor(_member(), n_estimators=2, random_state=0))
    gs = GridSearchCV(pipe, {"rnnensembleregressor__estimator__alpha": [0.1, 10.0]},
                      cv=TimeSeriesSplit(3)).fit(X, Y)
    assert gs.best_params_["rnnensembleregressor__estimator__alpha"] in (0.1, 10.0)
    assert np.isfinite(gs.score(X, Y))


class _NoSeed(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize(
    "params, exc, words",
    [
        (dict(n_estimators=0), ValueError, "n_estimators"),
        (dict(n_estimators=2.5), ValueError, "n_estimators"),
        (dict(estimator="lbfgs"), ValueError, "estimator"),
        (dict(estimator=_NoSeed()), TypeError, "random_state"),
        (dict(n_jobs="two"), ValueError, "n_jobs"),
    ],
)
def test_bad_parameters_are_named(params, exc, words):
    X, Y = _data()
    with pytest.raises(exc, match=words):
        RNNEnsembleRegressor(**params).fit(X, Y)


def test_bad_arrays_are_named():
    X, Y = _data()
    ens = RNNEnsembleRegressor(_member(), n_estimators=2, random_state=0)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        ens.fit(X_nan, Y)
    with pytest.raises(ValueError, match="rows"):
        ens.fit(X, Y[:-1])
    ens.fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        ens.predict(X[:, :2])


def test_default_member_is_elman_rnn_with_defaults():
    X, Y = _data(T=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = RNNEnsembleRegressor(n_estimators=1, random_state=0).fit(X, Y)
    member = ens.estimators_[0]
    assert isinstance(member, ElmanRNNRegressor)
    defaults = ElmanRNNRegressor().get_params()
    assert {k: v for k, v in member.get_params().items() if k != "random_state"} == {
        k: v for k, v in defaults.items() if k != "random_state"
    }
