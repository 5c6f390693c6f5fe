"""The practical stopping rule shared by every solver (skalm.solvers.monitor)."""

import numpy as np
import pytest

from skalm.activations import ReLU
from skalm.model import Lambdas, RNNWeights
from skalm.solvers.base import Problem
from skalm.solvers.monitor import IterationMonitor


def _monitor(n_iter_no_change=5, tol=1e-3):
    rng = np.random.RandomState(0)
    T, n, m, r = 20, 2, 1, 3
    prob = Problem(rng.standard_normal((T, n)), rng.standard_normal((T, m)),
                   Lambdas(0.1, 0.1, 0.1, 0.1, 0.1, 0.0))
    w = RNNWeights(0.1 * rng.standard_normal((r, r)), rng.standard_normal((r, n)), np.zeros(r),
                   rng.standard_normal((m, r)), np.zeros(m))
    mon = IterationMonitor("test", prob, ReLU(), w, 100, tol, n_iter_no_change, 0)
    return mon, w


def _run(mon, w, feas_seq, objective=1.0, scale=0.0):
    """Record a flat objective with the given FeasVio sequence; iterations until stop."""
    for k, feas in enumerate(feas_seq, start=1):
        if mon.record(w, kappa=0.0, n_inner=1, loss=objective, objective=objective,
                      feasibility=feas, feasibility_scale=scale):
            return k
    return None


def test_shrinking_material_feasvio_counts_as_progress():
    mon, w = _monitor()
    # FeasVio halves each time and stays above tol * scale (10 * 0.5^11 > 1e-3): no stall
    assert _run(mon, w, 10.0 * 0.5 ** np.arange(12), scale=1.0) is None


def test_feasvio_below_tol_times_scale_no_longer_resets_the_count():
    mon, w = _monitor(n_iter_no_change=5, tol=1e-3)
    # scale 100: floor 0.1. FeasVio 0.05 * 0.5^k is below it from the start; the objective
    # is flat, so the rule fires at the 6th record (1 best + 5 without improvement).
    assert _run(mon, w, 0.05 * 0.5 ** np.arange(30), scale=100.0) == 6
    assert mon.converged and "did not improve" in mon.message


def test_feasvio_progress_stops_counting_once_it_crosses_the_floor():
    mon, w = _monitor(n_iter_no_change=4, tol=1e-3)
    # floor 1.0: 8, 4, 2 are material progress, 1, 0.5, ... are not
    feas = 8.0 * 0.5 ** np.arange(30)
    assert _run(mon, w, feas, scale=1000.0) == 3 + 4


def test_objective_progress_alone_keeps_the_run_going():
    mon, w = _monitor(n_iter_no_change=3, tol=1e-3)
    for k in range(20):
        R = 10.0 * (1 - 0.01) ** k  # 1 % per iteration > tol
        assert not mon.record(w, kappa=0.0, n_inner=1, loss=R, objective=R,
                              feasibility=0.0, feasibility_scale=1.0)


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_alm_bcd_default_rule_fires_before_the_cap_on_the_paper_t10_set():
    """With the floor, ALM-BCD's default rule stops a run on the paper's T=10 set well
    before max_iter (it used to run to the cap: FeasVio kept shrinking)."""
    from skalm import ElmanRNNRegressor
    from skalm.datasets import make_elman_sequence

    X, Y, _ = make_elman_sequence(10, 5, 3, 4, random_state=0)
    est = ElmanRNNRegressor(n_hidden=4, max_iter=300, random_state=0)
    est.fit(X[:9], Y[:9])
    assert est.n_iter_ < 300
