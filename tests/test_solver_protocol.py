"""The solver protocol: every registered solver steps by hand as its ``solve`` does.

``Solver.solve`` is one loop shared by every solver but L-BFGS (scipy runs that one):
``init_state``, then ``update`` once per iteration, each iterate recorded from ``report``. So
stepping a solver by hand must reproduce, iteration by iteration, the history that ``solve``
records, and what ``report`` says of an iterate must be what a forward pass of its weights
gives (an independent evaluation through :func:`skalm.model.objective`).
"""

import numpy as np
import pytest

from skalm.activations import Activation, get_activation
from skalm.model import Lambdas, SequenceLayout, init_weights, objective
from skalm.solvers import SOLVERS, Problem, Solver
from skalm.solvers.base import EndOfRun

N_STEPS = 5
STEPPED = sorted(name for name, cls in SOLVERS.items() if cls.solve is Solver.solve)


def _problem(seed=0, T=30, n=2, m=2, r=4):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n))
    Y = np.column_stack([np.sin(np.cumsum(X[:, 0])), X[:, 1]])[:, :m]
    lambdas = Lambdas(0.02, 0.01, 0.03, 0.01, 0.02, 1e-3)
    problem = Problem(X, Y, lambdas, SequenceLayout.from_starts(T, [0, 17]))
    return problem, init_weights(r, n, m, scale=0.3, random_state=rng)


def test_only_lbfgs_runs_its_own_loop():
    assert sorted(set(SOLVERS) - set(STEPPED)) == ["lbfgs"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # max_iter
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("name", STEPPED)
def test_stepping_by_hand_reproduces_solve(name, activation):
    problem, w0 = _problem()
    act = get_activation(activation)
    solver = SOLVERS[name](max_iter=N_STEPS, n_iter_no_change=None)
    result = solver.solve(problem, act, w0, random_state=np.random.RandomState(1))

    state = solver.init_state(problem, act, w0.astype(problem.dtype),
                              random_state=np.random.RandomState(1))
    reports = []
    for _ in range(N_STEPS):
        try:
            with np.errstate(all="ignore"):
                state = solver.update(state)
        except EndOfRun:
            break
        reports.append(solver.report(state))

    history = result.history
    assert len(reports) == result.n_iter == len(history["objective"]) > 0
    for k, rep in enumerate(reports):
        weights = rep["weights"]
        R = objective(weights, problem.X, problem.Y, act, problem.lambdas, problem.layout)
        np.testing.assert_allclose(history["objective"][k], R, rtol=1e-12)
        if "objective" in rep:  # the solver's own value of R must be the forward pass's
            np.testing.assert_allclose(rep["objective"], R, rtol=1e-12)
        assert history["kappa"][k] == rep["kappa"]
        assert history["n_inner"][k] == rep["n_inner"]
        assert history["feasibility"][k] == rep.get("feasibility", 0.0)
    np.testing.assert_array_equal(np.concatenate([a.ravel() for a in result.weights]),
                                  np.concatenate([a.ravel() for a in _best(reports, history)]))


def _best(reports, history):
    """The weights ``solve`` returns without validation data: the lowest objective R."""
    return reports[int(np.argmin(history["objective"]))]["weights"]


class _SigmaOnly(Activation):
    """An activation strategy that implements sigma and nothing else."""

    name = "sigma-only"

    def sigma(self, u):
        return np.tanh(u)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_a_solver_names_the_methods_an_activation_lacks(name):
    solver = SOLVERS[name](max_iter=1)
    problem, w0 = _problem()
    assert set(solver.activation_needs) <= {"sigma", "derivative", "solve_u"}
    lacking = sorted(set(solver.activation_needs) - {"sigma"})
    assert lacking  # every solver needs more than sigma
    with pytest.raises(TypeError, match=rf"{type(solver).__name__} needs .*{lacking[0]}"):
        solver.solve(problem, _SigmaOnly(), w0)
