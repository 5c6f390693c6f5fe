"""ALM-BCD's anchor (the best feasible point) against its definition.

``anchor="best"``: after every outer iteration the solver runs the weights forward; the anchor is
the forward pass (a feasible point) of the weights with the lowest objective R seen so far, and
an outer iteration whose weights run forward no better than the anchor sends the next inner loop
back to the anchor. ``anchor=None`` is the paper's rule (restart from s^0 only when
L(s^{k-1}) > Gamma). The oracle here is :func:`skalm.model.objective` and
:func:`skalm.model.forward`, computed independently of the solver's bookkeeping.

Divergence: when the penalty gamma or an iterate becomes non-finite or absurdly large (forced
by extreme ALM settings, data scaled by 1e100 or a failing linear solve), the fit stops,
keeps the last finite iterate and says so with a ConvergenceWarning; no weight or prediction
is NaN.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils import check_random_state

from _cases import TINY, assert_finite_model, fit_diverging, short_series
from skalm import ElmanRNNRegressor
from skalm.activations import get_activation
from skalm.model import Lambdas, forward, init_weights, objective
from skalm.solvers import Problem
from skalm.solvers.alm_bcd import ALMBCDSolver, constraints


def _problem(seed=0, T=60, n=2, r=6, alpha=0.3):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n))
    y = np.sin(2 * np.pi * np.arange(T) / 9.0) + 0.5 * X[:, 0]
    lam = Lambdas.from_alpha(alpha, r, n, 1)
    return Problem(X, y[:, None], lam), init_weights(r, n, 1, scale=0.3, random_state=seed)


def _run(solver, problem, act, w0, n_outer):
    state = solver.init_state(problem, act, w0)
    states = [state]
    with np.errstate(all="ignore"):
        for _ in range(n_outer):
            state = solver.update(state)
            states.append(state)
    return states


@pytest.mark.parametrize("act_name", ["tanh", "relu"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anchor_is_best_forward_point(act_name, seed):
    """The anchor holds the lowest forward-pass R among w0 and every iterate's weights, and it
    is their feasible point: (H, U) of forward(), constraints zero."""
    problem, w0 = _problem(seed)
    act = get_activation(act_name)
    solver = ALMBCDSolver(max_inner_iter=5, acceleration=None)
    states = _run(solver, problem, act, w0, 8)
    R = [objective(w0, problem.X, problem.Y, act, problem.lambdas)]
    for k, st in enumerate(states[1:], start=1):
        R.append(objective(st.s.weights, problem.X, problem.Y, act, problem.lambdas))
        best = int(np.argmin(R))
        assert st.anchor_R == pytest.approx(R[best], rel=1e-12)
        weights = w0 if best == 0 else states[best].s.weights
        for got, want in zip(st.anchor.weights, weights):
            np.testing.assert_array_equal(got, want)
        U, H = forward(st.anchor.weights, problem.X, act)
        np.testing.assert_allclose(st.anchor.H, H, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(st.anchor.U, U, rtol=1e-12, atol=1e-12)
        C1, C2 = constraints(problem, st.anchor, act)
        assert max(np.abs(C1).max(), np.abs(C2).max()) < 1e-10
        # The flag: this iterate's weights ran forward no better than the anchor before it.
        assert st.reanchor == (R[k] >= min(R[:k]))


def test_reanchor_restarts_the_next_inner_loop_from_the_anchor():
    """When an iterate's weights run forward worse than the anchor, the next outer iteration
    starts from the anchor (restarted=True) and its first sweep's z-block sees the anchor's h."""
    problem, w0 = _problem(3, alpha=0.05)
    act = get_activation("tanh")
    solver = ALMBCDSolver(max_inner_iter=5, acceleration=None)
    states = _run(solver, problem, act, w0, 12)
    flagged = [k for k in range(1, len(states) - 1) if states[k].reanchor]
    assert flagged, "the case must contain an iterate worse than the anchor"
    for k in flagged:
        start, restarted = solver.inner_start(states[k])
        assert restarted and start is states[k].anchor
        assert states[k + 1].restarted
    clean = [k for k in range(1, len(states) - 1) if not states[k].reanchor]
    for k in clean:
        assert solver.inner_start(states[k])[0] is not states[k].anchor


def test_anchor_none_is_the_papers_rule():
    """anchor=None: no iterate is sent back to the anchor; runs equal the paper's algorithm
    whatever the forward passes do (same iterates as a run that never computes them)."""
    problem, w0 = _problem(3, alpha=0.05)
    act = get_activation("tanh")
    a = _run(ALMBCDSolver(max_inner_iter=5, acceleration=None, anchor=None), problem, act, w0, 12)
    b = _run(ALMBCDSolver(max_inner_iter=5, acceleration=None), problem, act, w0, 12)
    # The anchored run departs from the paper's at the first re-anchoring, not before.
    first = next(k for k in range(1, len(b)) if b[k].reanchor)
    for k in range(1, first + 1):
        np.testing.assert_array_equal(a[k].s.H, b[k].s.H)
    assert not np.array_equal(a[first + 1].s.H, b[first + 1].s.H)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_anchor_never_returns_worse_than_the_start():
    """The solve's weights run forward at least as well as the anchor's record says."""
    problem, w0 = _problem(4, alpha=0.05)
    act = get_activation("tanh")
    res = ALMBCDSolver(max_iter=15, max_inner_iter=5, n_iter_no_change=None).solve(
        problem, act, w0)
    R_final = objective(res.weights, problem.X, problem.Y, act, problem.lambdas)
    assert R_final <= objective(w0, problem.X, problem.Y, act, problem.lambdas)
    assert R_final == pytest.approx(min(res.history["objective"]), rel=1e-12)


# -- divergence: the run stops, keeps a finite iterate and warns ----------------------------
@pytest.fixture(scope="module")
def series():
    return short_series()



def initial_weights(est, X, y):
    """The weights fit starts from (the same draw as the estimator's)."""
    m = 1 if np.ndim(y) == 1 else y.shape[1]
    return init_weights(est.n_hidden, X.shape[1], m, init=est.init, scale=est.init_scale,
                        random_state=check_random_state(est.random_state))


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
