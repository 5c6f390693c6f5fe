"""ElmanRNNRegressorCV: the linear stage against RidgeCV, the path against fits made by hand,
the ridge fallback against Ridge, and its errors."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold, TimeSeriesSplit

from skalm import ElmanRNNRegressor, ElmanRNNRegressorCV
from skalm.datasets import make_hidden_oscillator

SMALL = dict(n_hidden=5, max_iter=15, max_inner_iter=10, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _linear(T=160, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, 3))
    return X, X @ np.array([1.0, -0.5, 0.25]) + 2.0 + 0.5 * rng.standard_normal(T)


def _memory(T=240, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, 2))
    y = np.zeros(T)
    for t in range(2, T):  # y depends on past inputs: a recurrence helps
        y[t] = 0.6 * y[t - 1] + np.tanh(X[t - 1, 0] * X[t - 2, 1]) + 0.3 * X[t, 1]
    return X, y


def test_linear_stage_is_ridgecv_on_the_same_folds():
    X, y = _linear()
    grid = np.logspace(-2, 4, 7)
    est = ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), alphas=(1.0,), linear_alphas=grid)
    est.fit(X, y)
    oracle = RidgeCV(alphas=grid, cv=TimeSeriesSplit(5), scoring="neg_mean_squared_error")
    assert est.linear_alpha_ == oracle.fit(X, y).alpha_
    for i, (tr, te) in enumerate(TimeSeriesSplit(5).split(X)):
        pred = Ridge(alpha=est.linear_alpha_).fit(X[tr], y[tr]).predict(X[te])
        assert est.cv_results_[f"split{i}_test_score"][0] == pytest.approx(
            -np.mean((pred - y[te]) ** 2), rel=1e-12
        )


@pytest.mark.parametrize("selection, cap, linear_cap",
                         [("min", None, None), ("one_se", 4, 6)])
def test_path_scores_and_refit_match_fits_made_by_hand(selection, cap, linear_cap):
    X, y = _memory()
    alphas = (3.0, 0.3)
    cv = TimeSeriesSplit(3)
    starts = ["recurrent", "linear", "delay", "lbfgs", "lags"]
    est = ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), alphas=alphas, cv=cv, starts=starts,
                              selection=selection, warm_up_max_iter=cap,
                              linear_start_max_iter=linear_cap,
                              fold_weights="train_size").fit(X, y)
    lam_D = est.linear_alpha_
    assert list(est.cv_results_["param_start"]) == ["none"] + [s for s in starts for _ in alphas]
    assert_array_equal(est.cv_results_["param_alpha"], [np.inf] + list(alphas) * 5)
    kept = {}  # the last fold's networks after each alpha, per start
    for i, (tr, te) in enumerate(cv.split(X)):
        for offset, start in [(1, "recurrent"), (3, "linear"), (5, "delay"), (7, "lbfgs"),
                              (9, "lags")]:
            net = ElmanRNNRegressor(**SMALL, skip_connection=True, lambda_c=0.0,
                                    lambda_D=lam_D / len(tr), warm_start=True)
            if start in ("linear", "delay", "lags"):  # linear_start_activation's default
                net.set_params(activation="relu")
            if start == "linear":  # its fits stop at linear_start_max_iter iterations
                net.set_params(max_iter=min(linear_cap or net.max_iter, net.max_iter))
            if start == "lags":  # the delay start itself at each alpha, not warm-started
                net.set_params(init="delay_prediction", max_iter=0, warm_start=False)
            if start == "delay":  # ridge on the inputs and their lags, early-stopped
                net.set_params(init="delay", early_stopping=True)
            if start == "lbfgs":  # 1000 L-BFGS iterations, no no-improvement rule
                net = ElmanRNNRegressor(n_hidden=5, random_state=0, solver="lbfgs",
                                        max_iter=1000, n_iter_no_change=None,
                                        skip_connection=True, lambda_c=0.0,
                                        lambda_D=lam_D / len(tr), warm_start=True)
            if start in ("recurrent", "lbfgs"):  # the warm-up: skip path off, largest alpha
                max_iter = net.max_iter
                if start == "recurrent":  # warm_up_max_iter caps this start's warm-up only
                    net.set_params(max_iter=min(cap or max_iter, max_iter))
                net.set_params(skip_connection=False, alpha=alphas[0]).fit(X[tr], y[tr])
                net.set_params(skip_connection=True, max_iter=max_iter)
            kept[start] = []
            for j, alpha in enumerate(alphas):  # the path, largest penalty first
                net.set_params(alpha=alpha).fit(X[tr], y[tr])
                kept[start].append(copy.deepcopy(net))
                pred = net.predict(X[: te[-1] + 1], initial_state="zeros")[te]
                assert est.cv_results_[f"split{i}_test_score"][offset + j] == pytest.approx(
                    -np.mean((pred - y[te]) ** 2), rel=1e-10
                )
    scores = np.array([est.cv_results_[f"split{i}_test_score"] for i in range(3)]).T
    # fold_weights="train_size": each fold weighs as many as its training rows (equal
    # weights: test_uniform_fold_weights_give_the_plain_mean)
    sizes = [len(tr) for tr, _ in cv.split(X)]
    mean = np.average(scores, axis=1, weights=sizes)
    assert_allclose(est.cv_results_["mean_test_score"], mean, rtol=1e-12)
    best = est.best_index_
    assert est.alpha_ == est.cv_results_["param_alpha"][best]
    assert est.best_score_ == pytest.approx(mean[best])
    if selection == "min":
        assert best == int(np.argmax(mean))
    else:
        assert best == _one_se_oracle(-scores, sizes)
    if best > 0:  # the refit starts from the last fold's fit at the winning alpha and start
        net = kept[est.start_][(best - 1) % 2].set_params(
            lambda_D=lam_D / len(y), warm_start=est.start_ != "lags").fit(X, y)
        assert_array_equal(est.predict(X), net.predict(X))
    else:
        assert est.start_ is None


def test_lbfgs_start_drops_the_other_solvers_settings():
    """The "lbfgs" start fits with L-BFGS: the estimator's ALM-BCD settings are not passed
    to it (no warning about ignored settings) and its fits are those of a network built
    with L-BFGS directly."""
    X, y = _memory(T=120)
    alm = ElmanRNNRegressor(n_hidden=4, random_state=0, gamma0=2.0, max_inner_iter=7,
                            max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        est = ElmanRNNRegressorCV(alm, alphas=(0.5,), starts=("lbfgs",),
                                  cv=TimeSeriesSplit(2), selection="min").fit(X, y)
    tr, te = list(TimeSeriesSplit(2).split(X))[0]
    net = ElmanRNNRegressor(n_hidden=4, random_state=0, solver="lbfgs", max_iter=1000,
                            n_iter_no_change=None, lambda_c=0.0, alpha=0.5,
                            lambda_D=est.linear_alpha_ / len(tr), warm_start=True)
    net.fit(X[tr], y[tr]).set_params(skip_connection=True).fit(X[tr], y[tr])
    pred = net.predict(X[: te[-1] + 1], initial_state="zeros")[te]
    assert est.cv_results_["split0_test_score"][1] == pytest.approx(
        -np.mean((pred - y[te]) ** 2), rel=1e-10)


def _one_se_oracle(mse, weights=None):
    """The one-standard-error rule written out fold by fold. With weights, the standard
    error of a weighted mean of k independent folds, each fold's variance estimated by its
    squared deviation (the sandwich estimate), times k / (k - 1)."""
    k = mse.shape[1]
    w = [1.0] * k if weights is None else list(weights)
    w = [wi / sum(w) for wi in w]
    chosen, chosen_mean = 0, np.inf
    for c in range(1, mse.shape[0]):
        gains = [mse[0, f] - mse[c, f] for f in range(k)]
        mean_gain = sum(wf * g for wf, g in zip(w, gains))
        var = sum(wf**2 * (g - mean_gain) ** 2 for wf, g in zip(w, gains)) * k / (k - 1)
        mean_c = sum(wf * m for wf, m in zip(w, mse[c]))
        if mean_gain > var**0.5 and mean_c < chosen_mean:
            chosen, chosen_mean = c, mean_c
    return chosen


def test_one_se_rule_cases():
    from skalm.cv import _select

    ridge = [1.0, 2.0, 1.0, 3.0, 1.0]
    # a steady gain on every fold is kept; one lucky fold is not, though its mean is lower
    steady = [0.9, 1.9, 0.9, 2.9, 0.9]
    lucky = [1.1, 2.1, 1.1, 0.5, 1.1]
    mse = np.array([ridge, lucky, steady])
    assert _select(mse, "min") == 1
    assert _select(mse, "one_se") == 2
    # nothing beats ridge by a standard error: ridge
    assert _select(np.array([ridge, lucky]), "one_se") == 0
    # a diverged candidate (inf) is never chosen
    assert _select(np.array([ridge, [np.inf] * 5, steady]), "one_se") == 2
    rng = np.random.RandomState(0)
    for _ in range(200):
        mse = rng.uniform(0.5, 1.5, size=(5, 4))
        sizes = rng.randint(1, 100, size=4)
        assert _select(mse, "one_se") == _one_se_oracle(mse)
        assert _select(mse, "one_se", sizes) == _one_se_oracle(mse, sizes)
        # equal weights are the unweighted rule, the textbook std(ddof=1) / sqrt(k)
        assert _select(mse, "one_se", [7.0] * 4) == _select(mse, "one_se")
        assert _select(mse, "min", sizes) == int(np.argmin(np.average(mse, 1, sizes)))


def test_fold_weights_favour_a_network_that_wins_once_trained_on_more_rows():
    """A network that loses on the first, shortest fold and wins on the others by the same
    margin: with equal weights its gains' spread keeps it within one standard error of
    ridge; weighted by training rows (TimeSeriesSplit's 1:2:3:4:5), it is chosen."""
    from skalm.cv import _select

    ridge = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    late = np.array([1.4, 0.9, 0.9, 0.9, 0.9])
    mse = np.array([ridge, late])
    assert _select(mse, "one_se") == 0
    assert _select(mse, "one_se", [1, 2, 3, 4, 5]) == 1
    assert _one_se_oracle(mse) == 0 and _one_se_oracle(mse, [1, 2, 3, 4, 5]) == 1


def test_more_features_than_hidden_units_leaves_the_delay_start_out():
    """The "delay" line holds the inputs in the hidden units; with wider X the search runs
    the other starts ("lags" holds only the prediction) and says which. At the defaults a
    fit on more features than hidden units raised from inside the "lags" start before."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((150, 7))  # SMALL has 5 hidden units
    y = X[:, 0] + 0.5 * np.roll(X[:, 1], 1)
    kw = dict(estimator=ElmanRNNRegressor(**SMALL), alphas=(1.0,), cv=TimeSeriesSplit(3))
    est = ElmanRNNRegressorCV(**kw).fit(X, y)
    assert list(est.cv_results_["param_start"]) == ["none", "recurrent", "linear", "lbfgs",
                                                    "lags"]
    assert est.predict(X).shape == (150,)
    with pytest.raises(ValueError, match="n_hidden=5 and X has 7 features"):
        ElmanRNNRegressorCV(starts=("delay",), **kw).fit(X, y)
    both = ElmanRNNRegressorCV(starts=("delay", "lags"), **kw).fit(X, y)
    assert list(both.cv_results_["param_start"]) == ["none", "lags"]
    # at n_features == n_hidden the inputs' line fits (it holds the inputs, no lags): kept
    narrow = ElmanRNNRegressorCV(starts=("delay",), **kw).fit(X[:, :5], y)
    assert list(narrow.cv_results_["param_start"]) == ["none", "delay"]


def test_verbose_reports_the_search_and_the_choice(capsys):
    X, y = _memory(T=160)
    kw = dict(estimator=ElmanRNNRegressor(**SMALL), alphas=(1.0,), cv=TimeSeriesSplit(3),
              starts=("lags", "recurrent"))
    ElmanRNNRegressorCV(**kw).fit(X, y)
    assert capsys.readouterr().out == ""  # silent by default
    est = ElmanRNNRegressorCV(verbose=1, **kw).fit(X, y)
    out = capsys.readouterr().out
    assert "3 folds x 2 starts (lags, recurrent), 1 alphas each" in out
    chosen = ("the ridge model" if est.best_index_ == 0
              else f"start {est.start_!r}, alpha={est.alpha_:g}")
    assert f"chose {chosen}, mean validation MSE {-est.best_score_:.4g}" in out


def test_uniform_fold_weights_give_the_plain_mean():
    X, y = _memory(T=160)
    kw = dict(estimator=ElmanRNNRegressor(**SMALL), alphas=(1.0,), cv=TimeSeriesSplit(3),
              starts=("lags", "recurrent"))
    plain = ElmanRNNRegressorCV(**kw).fit(X, y)  # equal weights, the default
    weighted = ElmanRNNRegressorCV(fold_weights="train_size", **kw).fit(X, y)
    scores = np.array([plain.cv_results_[f"split{i}_test_score"] for i in range(3)]).T
    for i in range(3):  # the weights change the means, not the fits
        assert_array_equal(weighted.cv_results_[f"split{i}_test_score"], scores[:, i])
    assert_allclose(plain.cv_results_["mean_test_score"], scores.mean(axis=1), rtol=1e-12)
    assert_allclose(plain.cv_results_["std_test_score"], scores.std(axis=1), rtol=1e-12)
    assert plain.best_index_ == _one_se_oracle(-scores)
    sizes = [len(tr) for tr, _ in TimeSeriesSplit(3).split(X)]
    mean = np.average(scores, axis=1, weights=sizes)
    assert_allclose(weighted.cv_results_["std_test_score"],
                    np.sqrt(np.average((scores - mean[:, None]) ** 2, 1, sizes)), rtol=1e-12)


@pytest.mark.parametrize("data_seed", [0])
def test_hidden_cycle_is_kept_and_beats_ridge(data_seed):
    """A cycle that no input carries (make_hidden_oscillator): the search keeps the network,
    whose test MSE on the rows after training is below half of RidgeCV's (the oracle)."""
    X, y = make_hidden_oscillator(600, random_state=data_seed)
    X = (X - X[:480].mean(0)) / X[:480].std(0)
    y = (y - y[:480].mean()) / y[:480].std()
    est = ElmanRNNRegressorCV(alphas=(1.0,), cv=3, random_state=0).fit(X[:480], y[:480])
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X[:480], y[:480])
    assert np.isfinite(est.alpha_)
    mse = np.mean((est.predict(X[480:]) - y[480:]) ** 2)
    assert mse < 0.5 * np.mean((ridge.predict(X[480:]) - y[480:]) ** 2)


def test_ridge_fallback_predicts_as_ridge():
    """Linear data and a weak penalty (the RNN overfits the folds): the search falls back to
    the ridge model, whose refit predicts as sklearn's Ridge, here and on later rows."""
    X, y = _linear(T=200)
    est = ElmanRNNRegressorCV(
        ElmanRNNRegressor(n_hidden=20, max_iter=30, random_state=0), alphas=(1e-3,)
    ).fit(X[:150], y[:150])
    assert est.alpha_ == np.inf
    ridge = Ridge(alpha=est.linear_alpha_).fit(X[:150], y[:150])
    assert_allclose(est.predict(X[:150]), ridge.predict(X[:150]), atol=1e-8, rtol=0)
    assert_allclose(est.predict(X[150:]), ridge.predict(X[150:]), atol=1e-8, rtol=0)


def test_clone_pickle_and_params_untouched():
    X, y = _linear(T=80)
    base = ElmanRNNRegressor(**SMALL)
    est = ElmanRNNRegressorCV(base, alphas=[1.0], cv=2)
    est.fit(X, y)
    assert base.get_params() == ElmanRNNRegressor(**SMALL).get_params()  # not modified
    assert est.alphas == [1.0]
    # the default starts: every start but "delay"
    assert list(est.cv_results_["param_start"]) == ["none", "recurrent", "linear", "lbfgs",
                                                    "lags"]
    again = pickle.loads(pickle.dumps(est))
    assert_array_equal(again.predict(X), est.predict(X))
    assert clone(est).get_params()["alphas"] == [1.0]


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alphas": [1.0, -1.0]}, ValueError, "alphas"),
        ({"alphas": []}, ValueError, "alphas"),
        ({"linear_alphas": [np.nan]}, ValueError, "linear_alphas"),
        ({"estimator": Ridge()}, TypeError, "ElmanRNNRegressor"),
        ({"cv": KFold(3)}, ValueError, "time-ordered"),
        ({"starts": ["recurrent", "other"]}, ValueError, "starts"),
        ({"starts": []}, ValueError, "starts"),
        ({"selection": "best"}, ValueError, "selection"),
        ({"fold_weights": "rows"}, ValueError, "fold_weights"),
        ({"starts": ["delay"], "linear_start_activation": None}, ValueError, "init='delay'"),
    ],
)
def test_bad_settings_raise_naming_them(params, error, match):
    X, y = _linear(T=60)
    with pytest.raises(error, match=match):
        ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), **params).fit(X, y)


def test_failed_refit_leaves_the_fitted_model(monkeypatch):
    X, y = _linear(T=80)
    est = ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), alphas=[1.0], cv=2).fit(X, y)
    before = est.predict(X)
    state = dict(vars(est))

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ElmanRNNRegressor, "fit", boom)
    with pytest.raises(KeyboardInterrupt):
        est.fit(np.hstack([X, X]), y)  # a new feature count: n_features_in_ would change
    assert vars(est).keys() == state.keys()
    assert est.n_features_in_ == 3
    assert_array_equal(est.predict(X), before)


@pytest.mark.parametrize("n_jobs", [2, "default"])
def test_parallel_folds_give_the_sequential_result(n_jobs):
    """n_jobs=2 and the default (-1) run the (fold, start) paths in worker processes,
    longest folds first: the candidates' scores and the refitted model equal the run in
    this process (n_jobs=1)."""
    X, y = _memory(T=150)
    kw = dict(estimator=ElmanRNNRegressor(**SMALL), alphas=(1.0, 0.3), cv=TimeSeriesSplit(3),
              starts=("recurrent", "linear"), selection="min")
    seq = ElmanRNNRegressorCV(**kw, n_jobs=1).fit(X, y)
    par = ElmanRNNRegressorCV(**kw, **({} if n_jobs == "default" else {"n_jobs": n_jobs}))
    assert par.get_params()["n_jobs"] == (-1 if n_jobs == "default" else n_jobs)
    par.fit(X, y)
    for key in ["split0_test_score", "split1_test_score", "split2_test_score"]:
        assert_array_equal(par.cv_results_[key], seq.cv_results_[key])
    assert (par.alpha_, par.start_) == (seq.alpha_, seq.start_)
    assert_array_equal(par.predict(X), seq.predict(X))


def _paths_n_jobs(n_jobs, n_paths=100):
    from skalm.cv import _path_jobs

    return _path_jobs(n_jobs, n_paths)


def test_paths_run_in_this_process_inside_an_outer_parallel_loop():
    """Inside a worker of an outer joblib loop (processes or threads) the fold paths run in
    that worker, one after another; at the top level and inside a sequential outer loop
    (which nests nothing) they get joblib's count for n_jobs, at most one worker per path.
    The oracles are joblib's own: its nesting (the same function called at the top level,
    in a sequential loop and in parallel ones) and its effective_n_jobs."""
    from joblib import Parallel, delayed, effective_n_jobs, parallel_config

    cores = effective_n_jobs(-1)
    assert _paths_n_jobs(-1) == cores
    assert _paths_n_jobs(-1, n_paths=1) == 1
    assert _paths_n_jobs(cores + 5, n_paths=cores + 2) == cores + 2
    assert _paths_n_jobs(None) == 1
    with parallel_config(n_jobs=3):
        assert _paths_n_jobs(None) == 3
    assert Parallel(n_jobs=1)(delayed(_paths_n_jobs)(-1) for _ in range(2)) == [cores, cores]
    for prefer in ("processes", "threads"):
        assert Parallel(n_jobs=2, prefer=prefer)(
            delayed(_paths_n_jobs)(-1) for _ in range(2)) == [1, 1]


def _lags_cv(**kw):
    return ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), alphas=(1.0,), cv=2,
                               starts=("lags",), **kw)


def _fit_in_pool_worker():
    X, y = _memory(T=90)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _lags_cv().fit(X, y)
    return [str(w.message) for w in caught], est.predict(X)


def test_default_n_jobs_in_a_multiprocessing_pool_worker_fits_without_warning():
    """A Pool worker is daemonic and cannot start processes: there the default n_jobs=-1
    runs the paths in the worker itself, silently (joblib would warn that it falls back to
    n_jobs=1), with the result of n_jobs=1 in this process."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        messages, pred = pool.apply(_fit_in_pool_worker)
    assert messages == []
    X, y = _memory(T=90)
    assert_array_equal(pred, _lags_cv(n_jobs=1).fit(X, y).predict(X))


def test_cross_val_score_in_parallel_equals_sequential():
    """The CV nested in cross_val_score(n_jobs=2) (its paths then run in the outer workers)
    scores as the fully sequential run."""
    from sklearn.model_selection import cross_val_score

    X, y = _memory(T=150)
    est = ElmanRNNRegressorCV(ElmanRNNRegressor(**SMALL), alphas=(1.0,), cv=2,
                              starts=("linear", "lags"))
    sequential = cross_val_score(clone(est).set_params(n_jobs=1), X, y,
                                 cv=TimeSeriesSplit(2), n_jobs=1)
    nested = cross_val_score(est, X, y, cv=TimeSeriesSplit(2), n_jobs=2)
    assert_array_equal(nested, sequential)


def test_lags_start_refits_the_ridge_regression_on_the_prediction_lags():
    """The "lags" candidates are the delay line's start itself (no solver iteration): its
    refit on all rows predicts as scikit-learn's Ridge on the inputs and the lags of their
    linear prediction, built here by hand, with the network's two penalties (lambda_A on the
    lags, lambda_D on the inputs) as one Ridge penalty on rescaled columns."""
    rng = np.random.RandomState(3)
    T, n, r, alpha = 300, 2, 8, 0.5
    X = rng.standard_normal((T, n))
    w = np.array([1.0, -0.5])
    y = X @ w + 0.1 * rng.standard_normal(T)
    y[3:] += 0.8 * (X[:-3] @ w)  # the prediction 3 steps back
    est = ElmanRNNRegressorCV(ElmanRNNRegressor(n_hidden=r), alphas=(alpha,),
                              starts=("lags",), cv=TimeSeriesSplit(3), selection="min")
    est.fit(X, y)
    assert est.start_ == "lags" and est.best_estimator_.n_iter_ == 0
    lam_A, lam_D = alpha / r, est.linear_alpha_ / T
    s = X @ Ridge(alpha=est.linear_alpha_).fit(X, y).coef_
    shift = max(0.0, -s.min()) + s.std()
    # the line is all r units (D carries x_t): s_t, then r - 1 lags of it
    lags = np.column_stack([np.r_[np.zeros(j), s[:-j] + shift] for j in range(1, r)])
    Z = np.hstack([lags, X * np.sqrt(lam_A / lam_D)])
    oracle = Ridge(alpha=T * lam_A).fit(Z, y)
    assert_allclose(est.predict(X), oracle.predict(Z), rtol=1e-8, atol=1e-10)
    # and it beats ridge on the inputs alone on these rows
    ridge = Ridge(alpha=est.linear_alpha_).fit(X, y)
    assert np.mean((est.predict(X) - y) ** 2) < 0.5 * np.mean((ridge.predict(X) - y) ** 2)


@pytest.mark.parametrize("selection", ["one_se", "min"])
def test_choice_among_fewer_starts_follows_from_a_larger_run(selection):
    """Each start's candidates are scored on their own (same folds, same initial draw), so a
    CV fitted with a subset of the starts has exactly those rows of a larger run's
    cv_results_, and chooses what the selection rule chooses among them
    (benchmarks/cv_candidates.py relies on this)."""
    from skalm.cv import _select

    X, y = _memory(T=160)
    kw = dict(estimator=ElmanRNNRegressor(**{**SMALL, "random_state": None}),
              alphas=(1.0, 0.1), cv=TimeSeriesSplit(3), selection=selection,
              random_state=3)  # the CV's draw seeds every start's network
    big = ElmanRNNRegressorCV(starts=("recurrent", "linear", "lbfgs", "lags"), **kw).fit(X, y)
    small = ElmanRNNRegressorCV(starts=("lags", "recurrent"), **kw).fit(X, y)
    starts = big.cv_results_["param_start"]
    rows = [0] + [k for s in ("lags", "recurrent") for k in np.flatnonzero(starts == s)]
    for i in range(3):
        assert_array_equal(small.cv_results_[f"split{i}_test_score"],
                           big.cv_results_[f"split{i}_test_score"][rows])
    mse = -np.array([big.cv_results_[f"split{i}_test_score"][rows] for i in range(3)]).T
    assert small.best_index_ == _select(mse, selection)
