"""A refit that raises, at any stage of ``fit``, leaves the fitted model exactly as it was.

The oracle is the estimator itself before the failed refit: its pickled bytes (every
attribute) and its predictions must be unchanged afterwards.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

import skalm._setup
import skalm.ensemble
import skalm.estimator
from skalm import ElmanRNNRegressor, RNNEnsembleRegressor
from skalm._state import TrainingRows
from skalm.solvers import ALMBCDSolver

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(n_hidden=5, max_iter=5, random_state=0)


class Boom(Exception):
    pass


def _raise(exc):
    def raiser(*args, **kwargs):
        raise exc
    return raiser


@pytest.fixture
def data():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(80, 3))
    y = X[:, 0] + 0.5 * np.r_[0, X[:-1, 1]]
    return pd.DataFrame(X, columns=["a", "b", "c"]), y


# (name, estimator parameters for the refit, how the refit's data differ, patch)
STAGES = {
    "y too large (after validate_data reset)": (
        {}, lambda X, y: (X.to_numpy()[:, :2], np.full(len(y), 1e300)), None),
    "missing sequence labels": (
        {}, lambda X, y: (X.to_numpy()[:, :2], y, {"sequence_id": np.r_[np.nan, np.ones(79)]}),
        None),
    "warm_start with other features": (
        {"warm_start": True}, lambda X, y: (np.hstack([X.to_numpy()] * 2), y), None),
    "early_stopping layout": (
        {"early_stopping": True},
        lambda X, y: (X.to_numpy()[:, :2], y, {"sequence_id": np.repeat([0, 1], [75, 5])}),
        None),
    "initial forward check": (
        {}, lambda X, y: (X.to_numpy()[:, :2], y),
        (skalm._setup, "check_initial_forward", Boom("initial"))),
    "solver interrupted (KeyboardInterrupt)": (
        {}, lambda X, y: (X.to_numpy()[:, :2], y),
        (ALMBCDSolver, "solve", KeyboardInterrupt())),
    "forward-pass safety check": (
        {}, lambda X, y: (X.to_numpy()[:, :2], y),
        (skalm.estimator, "check_forward_pass", Boom("safety"))),
    "the last step (state index)": (
        {}, lambda X, y: (X.to_numpy()[:, :2], y),
        (TrainingRows, "__init__", MemoryError())),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_failed_refit_leaves_the_model_as_it_was(data, stage, monkeypatch):
    X, y = data
    est = ElmanRNNRegressor(**FAST).fit(X, y)
    X_next = X.iloc[60:]
    before_bytes = pickle.dumps(est)
    before_pred = est.predict(X_next)
    before_attrs = {k: v for k, v in vars(est).items() if k.endswith("_")}

    params, make, patch = STAGES[stage]
    args = make(X, y)
    kwargs = args[2] if len(args) > 2 else {}
    if patch is not None:
        target, name, exc = patch
        monkeypatch.setattr(target, name, _raise(exc))
    est.set_params(**params)
    with pytest.raises(BaseException) as info:
        est.fit(args[0], args[1], **kwargs)
    assert not isinstance(info.value, AssertionError)
    monkeypatch.undo()
    est.set_params(**{name: ElmanRNNRegressor().get_params()[name] for name in params})

    assert pickle.dumps(est) == before_bytes
    assert_array_equal(est.predict(X_next), before_pred)
    after_attrs = {k: v for k, v in vars(est).items() if k.endswith("_")}
    assert after_attrs.keys() == before_attrs.keys()
    assert all(after_attrs[k] is before_attrs[k] for k in before_attrs)
    assert est.n_features_in_ == 3
    assert_array_equal(est.feature_names_in_, ["a", "b", "c"])


def test_the_stages_are_reached(data, monkeypatch):
    """Each refit above fails where its name says: the patched step is really called (the
    test could not pass by failing earlier)."""
    X, y = data
    for stage, (params, make, patch) in STAGES.items():
        if patch is None:
            continue
        target, name, _ = patch
        est = ElmanRNNRegressor(**FAST).fit(X, y).set_params(**params)
        monkeypatch.setattr(target, name, _raise(Boom(stage)))
        with pytest.raises(Boom, match=stage.split(" (")[0][:10]):
            args = make(X, y)
            est.fit(args[0], args[1])
        monkeypatch.undo()


def test_failed_first_fit_leaves_an_unfitted_estimator(data, monkeypatch):
    X, y = data
    est = ElmanRNNRegressor(**FAST)
    monkeypatch.setattr(ALMBCDSolver, "solve", _raise(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_") and not hasattr(est, "feature_names_in_")
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_failed_ensemble_refit_leaves_the_ensemble_as_it_was(data, monkeypatch):
    X, y = data
    ens = RNNEnsembleRegressor(ElmanRNNRegressor(**FAST), n_estimators=3, random_state=0)
    ens.fit(X, y)
    before_bytes, before_pred = pickle.dumps(ens), ens.predict(X.iloc[60:])
    calls = []
    original = skalm.ensemble._fit_member

    def second_member_interrupted(estimator, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(estimator, *args)

    monkeypatch.setattr(skalm.ensemble, "_fit_member", second_member_interrupted)
    with pytest.raises(KeyboardInterrupt):
        ens.fit(X.to_numpy()[:, :2], y)
    assert len(calls) == 2
    assert pickle.dumps(ens) == before_bytes
    assert_array_equal(ens.predict(X.iloc[60:]), before_pred)
    assert ens.n_features_in_ == 3
