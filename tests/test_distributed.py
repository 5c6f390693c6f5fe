"""GridSearchCV over TimeSeriesSplit on a dask.distributed LocalCluster (the ``distributed``
extra), bound to 127.0.0.1 only and closed at the end. Skipped when dask is not installed."""

import re
import warnings

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs the 'distributed' extra (dask)")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.datasets import load_sp500_volatility  # noqa: E402

PARAM_GRID = {"alpha": [0.1, 1.0, 10.0], "gamma0": [0.1, 1.0]}
N_SPLITS = 3


def make_search(n_jobs):
    est = ElmanRNNRegressor(n_hidden=5, max_iter=4, max_inner_iter=10, random_state=0)
    return GridSearchCV(est, PARAM_GRID, cv=TimeSeriesSplit(N_SPLITS), n_jobs=n_jobs)


def test_grid_search_on_local_cluster_matches_sequential():
    X, y = load_sp500_volatility(return_X_y=True)
    X, y = X[:160], y[:160]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = make_search(n_jobs=None).fit(X, y)

    with distributed.LocalCluster(
        n_workers=2, processes=False, host="127.0.0.1", protocol="tcp://",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                search = make_search(n_jobs=-1).fit(X, y)
        # every fit of the search ran as a task on the cluster's workers (joblib batches
        # them into tasks named batch_of__fit_and_score_<n>_calls, or mixed_batch_of_... when
        # a batch spans several of its dispatches)
        n_fits = len(PARAM_GRID["alpha"]) * len(PARAM_GRID["gamma0"]) * N_SPLITS
        calls = [re.fullmatch(r"(?:mixed_)?batch_of__fit_and_score_(\d+)_calls-\w+", str(task["key"]))
                 for task in stream.data]
        assert all(calls), [task["key"] for task in stream.data]
        assert sum(int(match.group(1)) for match in calls) == n_fits
        assert {task["worker"] for task in stream.data} <= set(workers)
    assert cluster.status.name == "closed"

    # same fits, same scores and the same winner as without dask
    assert search.best_params_ == expected.best_params_
    for key in ("mean_test_score", "split0_test_score", f"split{N_SPLITS - 1}_test_score"):
        np.testing.assert_allclose(search.cv_results_[key], expected.cv_results_[key],
                                   rtol=1e-10)
    np.testing.assert_allclose(search.predict(X[:20]), expected.predict(X[:20]), rtol=1e-10)


def test_cv_paths_run_on_the_cluster_at_the_default_n_jobs():
    """ElmanRNNRegressorCV at its default n_jobs (-1) sends its (fold, start) paths to the
    active joblib backend: inside ``parallel_backend("dask")`` every path is a task on the
    cluster, and the scores and the refitted model equal the run in this process."""
    from skalm import ElmanRNNRegressorCV

    X, y = load_sp500_volatility(return_X_y=True)
    X, y = X[:150], y[:150]
    est = ElmanRNNRegressorCV(
        ElmanRNNRegressor(n_hidden=5, max_iter=4, max_inner_iter=10, random_state=0),
        alphas=(1.0, 0.3), cv=3, starts=("linear", "lags"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = clone(est).set_params(n_jobs=1).fit(X, y)

    with distributed.LocalCluster(
        n_workers=2, processes=False, host="127.0.0.1", protocol="tcp://",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted = est.fit(X, y)
        calls = [re.fullmatch(r"(?:mixed_)?batch_of__fold_path_(\d+)_calls-\w+", str(task["key"]))
                 for task in stream.data]
        assert all(calls), [task["key"] for task in stream.data]
        assert sum(int(match.group(1)) for match in calls) == 3 * 2  # folds x starts
        assert {task["worker"] for task in stream.data} <= set(client.scheduler_info()["workers"])

    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(fitted.cv_results_[key], expected.cv_results_[key])
    assert (fitted.alpha_, fitted.start_) == (expected.alpha_, expected.start_)
    np.testing.assert_array_equal(fitted.predict(X), expected.predict(X))
