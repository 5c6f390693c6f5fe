"""ElmanRNNRegressor inside scikit-learn's meta-estimators and model selection tools."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skalm import ElmanRNNRegressor
from skalm.solvers import ALMBCDSolver

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(n_hidden=6, max_iter=6, max_inner_iter=10, random_state=0)


@pytest.fixture(scope="module")
def data():
    """Unscaled inputs (offset and spread differ per column), target with memory."""
    rng = np.random.RandomState(1)
    T = 160
    X = rng.normal(size=(T, 3)) * [1.0, 5.0, 0.2] + [0.0, 10.0, -3.0]
    z = (X - X.mean(0)) / X.std(0)
    y = np.tanh(z[:, 0]) + 0.5 * np.r_[0.0, z[:-1, 1]] + 0.1 * rng.normal(size=T)
    return X, 3.0 * y + 7.0


def test_pipeline_with_standard_scaler(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), ElmanRNNRegressor(**FAST)).fit(X[:120], y[:120])
    # oracle: the same steps by hand
    scaler = StandardScaler().fit(X[:120])
    est = ElmanRNNRegressor(**FAST).fit(scaler.transform(X[:120]), y[:120])
    for rows in (slice(0, 120), slice(120, None)):
        assert_allclose(pipe.predict(X[rows]), est.predict(scaler.transform(X[rows])),
                        rtol=1e-12)
    # through the pipeline, the training rows are still recognised and replayed from zero
    assert_allclose(pipe.predict(X[:120]),
                    est.predict(scaler.transform(X[:120]), initial_state="zeros"), rtol=1e-12)
    assert_allclose(pipe.predict(X[120:]),
                    est.predict(scaler.transform(X[120:]), initial_state="continue"), rtol=1e-12)


def test_cross_validate_pipeline_time_series_split(data):
    """The hidden-state rule holds through a Pipeline: train scores from zero, test
    scores continued from the end of the training fold."""
    X, y = data
    cv = TimeSeriesSplit(n_splits=3)
    pipe = make_pipeline(StandardScaler(), ElmanRNNRegressor(**FAST))
    res = cross_validate(pipe, X, y, cv=cv, return_train_score=True, return_estimator=True)
    for (train, test), fitted, tr, te in zip(cv.split(X), res["estimator"], res["train_score"],
                                             res["test_score"]):
        scaler, est = fitted[0], fitted[-1]
        Z_train, Z_test = scaler.transform(X[train]), scaler.transform(X[test])
        assert_allclose(tr, r2_score(y[train], est.predict(Z_train, initial_state="zeros")),
                        rtol=1e-12)
        assert_allclose(te, r2_score(y[test], est.predict(Z_test, initial_state="continue")),
                        rtol=1e-12)
        assert te != r2_score(y[test], est.predict(Z_test, initial_state="zeros"))


def test_grid_search_time_series_split_parallel(data):
    X, y = data
    X = StandardScaler().fit_transform(X)
    est = ElmanRNNRegressor(**FAST)
    grid = {"alpha": [0.1, 1.0], "gamma0": [0.5, 2.0], "eta1": [0.9, 0.99]}
    cv = TimeSeriesSplit(n_splits=3)
    search = GridSearchCV(est, grid, cv=cv, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # the settings reached the solver: different candidates, different scores
    assert len(set(np.round(search.cv_results_["mean_test_score"], 12))) > 1
    # worker processes score exactly as an in-process cross_validate does
    best = search.best_index_
    params = search.cv_results_["params"][best]
    direct = cross_validate(clone(est).set_params(**params), X, y, cv=cv)
    for k in range(3):
        assert_allclose(search.cv_results_[f"split{k}_test_score"][best],
                        direct["test_score"][k], rtol=1e-12)
    # the refit model is the one fitted directly with the best parameters
    refit = clone(est).set_params(**params).fit(X, y)
    assert_allclose(search.predict(X), refit.predict(X), rtol=1e-12)


def test_grid_search_over_solver_settings_of_a_solver_instance(data):
    X, y = data
    est = ElmanRNNRegressor(solver=ALMBCDSolver(max_iter=3, max_inner_iter=5), n_hidden=5,
                            random_state=0)
    search = GridSearchCV(est, {"solver__eps0": [0.1, 0.01]}, cv=TimeSeriesSplit(2)).fit(X, y)
    assert search.best_estimator_.solver.eps0 in (0.1, 0.01)
    assert est.solver.eps0 == 0.1  # the template was not modified
    assert search.best_estimator_.n_iter_ == 3  # the instance's own max_iter


def test_transformed_target_regressor(data):
    X, y = data
    ttr = TransformedTargetRegressor(regressor=ElmanRNNRegressor(**FAST),
                                     transformer=StandardScaler()).fit(X, y)
    scaler = StandardScaler().fit(y[:, None])
    est = ElmanRNNRegressor(**FAST).fit(X, scaler.transform(y[:, None]).ravel())
    expected = scaler.inverse_transform(est.predict(X)[:, None]).ravel()
    assert ttr.predict(X).shape == y.shape
    assert_allclose(ttr.predict(X), expected, rtol=1e-12)


def test_clone(data):
    X, y = data
    est = ElmanRNNRegressor(activation="leaky_relu", leaky_slope=0.1, alpha=3.0,
                            lambda_W=0.2, initial_state="zeros", **FAST).fit(X, y)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "weights_")
    with pytest.raises(NotFittedError):
        twin.predict(X)
    assert_allclose(twin.fit(X, y).predict(X), est.predict(X), rtol=1e-12)


def test_pickle_round_trip_keeps_predictions_and_the_state_rule(data):
    X, y = data
    est = ElmanRNNRegressor(**FAST).fit(X[:120], y[:120])
    back = pickle.loads(pickle.dumps(est))
    for rows in (slice(0, 120), slice(120, None)):
        assert_array_equal(back.predict(X[rows]), est.predict(X[rows]))
    assert_array_equal(back.hidden_state_, est.hidden_state_)
    assert back.history_ == est.history_ and back.n_iter_ == est.n_iter_
    # the unpickled model still recognises the training rows (replayed from zero)
    assert_array_equal(back.predict(X[:120]), est.predict(X[:120], initial_state="zeros"))


def test_command_line_usage_and_demo(capsys):
    from skalm.__main__ import main
    from skalm.datasets import load_sp500_volatility

    assert main([]) == 0
    assert "demo" in capsys.readouterr().out

    assert main(["demo", "--max-iter", "2"]) == 0
    out = capsys.readouterr().out
    assert "first 393 rows train, last 44 rows test" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.strip().startswith(("Elman", "OLS"))}
    assert set(rows) == {"Elman", "OLS"}
    # the OLS figures, recomputed with numpy's least squares
    data = load_sp500_volatility()
    X = np.column_stack([data.data, np.ones(len(data.data))])
    y, n = data.target, data.n_train
    coef = np.linalg.lstsq(X[:n], y[:n], rcond=None)[0]
    train_mse = np.mean((X[:n] @ coef - y[:n]) ** 2)
    test_mse = np.mean((X[n:] @ coef - y[n:]) ** 2)
    assert float(rows["OLS"][-3]) == pytest.approx(train_mse, abs=1e-4)
    assert float(rows["OLS"][-2]) == pytest.approx(test_mse, abs=1e-4)
    # the RNN's test error is the continued forward pass of a fit with the same settings
    est = ElmanRNNRegressor(n_hidden=20, activation="relu", max_iter=2,  # the demo's settings
                            random_state=0).fit(data.data[:n], y[:n])
    _, H = _forward_relu(est, data.data)
    test_pred = H[n:] @ est.output_weights_.ravel() + est.output_bias_[0]
    assert float(rows["Elman"][-2]) == pytest.approx(np.mean((test_pred - y[n:]) ** 2), abs=1e-4)


def _forward_relu(est, X):
    h = np.zeros(est.n_hidden)
    H = []
    for x in X:
        h = np.maximum(est.recurrent_weights_ @ h + est.input_weights_ @ x + est.hidden_bias_, 0)
        H.append(h)
    return None, np.array(H)
