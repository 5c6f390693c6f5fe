"""GridSearchCV over TimeSeriesSplit on a dask.distributed LocalCluster (the ``distributed``
extra), bound to 127.0.0.1 only and closed at the end. Skipped when dask is not installed."""

import re
import warnings

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs the 'distributed' extra (dask)")

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
