"""BLAS thread limits under concurrent fits in threads.

The oracle is threadpoolctl's own report of the loaded BLAS libraries
(``threadpool_info()``), read before, during and after the limited blocks. The process is
first set to 2 BLAS threads so that a limit of 1 (and a failure to restore 2) can be seen.
"""

import threading

import numpy as np
import pytest
from joblib import parallel_backend
from threadpoolctl import threadpool_info, threadpool_limits

from skalm import ElmanRNNRegressor, RNNEnsembleRegressor
from skalm.solvers.base import blas_limit

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def blas_threads():
    """The set of thread counts of the loaded BLAS libraries."""
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def two_blas_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if blas_threads() != {2}:
            pytest.skip("cannot set the BLAS libraries to 2 threads here")
        yield


def _in_thread(target):
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_overlapping_limits_in_threads_hold_and_restore(two_blas_threads):
    """A enters, B enters, A leaves while B still runs, B leaves. B must keep its limit
    after A left, and the process must be back at 2 threads after both."""
    seen = {}
    a_in, b_in, a_out, b_checked = (threading.Event() for _ in range(4))

    def a():
        with blas_limit(1):
            seen["A inside"] = blas_threads()
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b():
        a_in.wait(5)
        with blas_limit(1):
            b_in.set()
            a_out.wait(5)
            seen["B after A left"] = blas_threads()
            b_checked.set()

    threads = [_in_thread(a), _in_thread(b)]
    for thread in threads:
        thread.join(10)
    assert seen == {"A inside": {1}, "B after A left": {1}}
    assert blas_threads() == {2}


def test_the_smallest_running_limit_applies(two_blas_threads):
    seen = []
    with blas_limit(2):
        seen.append(blas_threads())
        with blas_limit(1):
            seen.append(blas_threads())
        seen.append(blas_threads())
    with blas_limit(None):
        seen.append(blas_threads())
    assert seen == [{2}, {1}, {2}, {2}]


def test_concurrent_fits_leave_the_setting_and_run_limited(two_blas_threads, monkeypatch):
    """Three fits in threads: each solver runs under one BLAS thread at every moment it
    checks (also after another fit finished), and the process ends at 2 threads."""
    X = np.random.RandomState(0).uniform(-1, 1, size=(60, 2))
    y = np.sin(np.cumsum(X[:, 0]))
    seen = []
    barrier = threading.Barrier(3, timeout=10)
    from skalm.solvers import base as base_module  # Solver.solve takes the limit

    outer = base_module.blas_limit

    def watched_limit(n):
        limit = outer(n)

        class Watch:
            def __enter__(self):
                limit.__enter__()
                seen.append(blas_threads())
                barrier.wait()  # all three fits are inside their limits now
                return self

            def __exit__(self, *exc):
                seen.append(blas_threads())
                return limit.__exit__(*exc)

        return Watch()

    monkeypatch.setattr(base_module, "blas_limit", watched_limit)
    fits = [
        _in_thread(lambda s=s: ElmanRNNRegressor(n_hidden=4, max_iter=5 + 10 * s,
                                                 random_state=s).fit(X, y))
        for s in range(3)
    ]
    for thread in fits:
        thread.join(60)
    assert len(seen) == 6
    assert all(threads == {1} for threads in seen)
    assert blas_threads() == {2}


def test_ensemble_with_threads_leaves_the_setting(two_blas_threads):
    X = np.random.RandomState(1).uniform(-1, 1, size=(50, 2))
    y = X[:, 0] - np.r_[0, X[:-1, 1]]
    with parallel_backend("threading", n_jobs=3):
        RNNEnsembleRegressor(ElmanRNNRegressor(n_hidden=4, max_iter=10), n_estimators=3,
                             random_state=0).fit(X, y)
    assert blas_threads() == {2}


def test_openmp_limited_in_this_thread_and_restored():
    """Per-thread runtimes (OpenMP) are limited in the calling thread and set back after;
    oracle: threadpoolctl's report."""
    def openmp_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"]

    with threadpool_limits(limits=2, user_api="openmp"):
        before = openmp_threads()
        if not before or set(before) != {2}:
            pytest.skip("no OpenMP runtime that can be set to 2 threads here")
        with blas_limit(1):
            inside = openmp_threads()
        assert inside == [1] * len(before)
        assert openmp_threads() == before


def test_libraries_scanned_again_after_an_import(monkeypatch):
    """The scan of the loaded libraries is reused while no module is imported and done
    again after one (a new BLAS comes with an import)."""
    import sys
    import types

    from skalm import _threads

    scans = []
    real = _threads.ThreadpoolController

    def counting():
        scans.append(1)
        return real()

    monkeypatch.setattr(_threads, "ThreadpoolController", counting)
    monkeypatch.setattr(_threads, "_scan", [-1, []])
    for _ in range(3):
        with blas_limit(1):
            pass
    assert len(scans) == 1
    monkeypatch.setitem(sys.modules, "_skalm_test_new_module", types.ModuleType("m"))
    with blas_limit(1):
        pass
    assert len(scans) == 2
    assert _threads._scan[1] and all(hasattr(lib, "set_num_threads") for lib in _threads._scan[1])
