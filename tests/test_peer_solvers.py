"""The peer solvers (BPTT family, L-BFGS, ADMMiRNN, NAILS, NAILM) on the paper's T = 10 set.

Data: :func:`skalm.datasets.make_elman_sequence` defaults (T = 10, n = 5, m = 3, r = 4, true
weights N(0, 0.8), noise 1e-3, x ~ U(-1, 1), z-scored), the first 9 rows for training and the
last one for validation (the paper's 9:1 split), lambdas of Lambdas.from_alpha with tau = 12,
initial weights N(0, 0.1) with zero biases.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm.activations import get_activation
from skalm.datasets import make_elman_sequence
from skalm.model import Lambdas, init_weights, objective
from skalm.solvers import (
    HISTORY_KEYS,
    LBFGS,
    SOLVERS,
    Adam,
    ALMBCDSolver,
    GradientDescent,
    MiniBatchSGD,
    Problem,
)

PEERS = ["gd", "gd-clip", "nesterov", "sgd", "adam", "lbfgs", "admmirnn", "nails", "nailm"]
N_TRAIN = 9


def _problem(validation=False):
    X, Y = make_elman_sequence(return_params=False)
    lambdas = Lambdas.from_alpha(12, n_hidden=4, n_features=5, n_outputs=3)
    if validation:
        return Problem(X[:N_TRAIN], Y[:N_TRAIN], lambdas, X_val=X[N_TRAIN:], Y_val=Y[N_TRAIN:])
    return Problem(X[:N_TRAIN], Y[:N_TRAIN], lambdas)


def _weights0(seed=0):
    return init_weights(4, 5, 3, init="normal", scale=0.1, random_state=seed)


def _solver(name, **settings):
    if name == "sgd":
        settings.setdefault("batch_size", 2)  # the paper's batch size for this set
    return SOLVERS[name](**settings)


def _require_solve_u(activation):
    """ALM-BCD and ADMMiRNN need the activation's u-block minimizer (tanh's and elu's are
    being written alongside these solvers); skip, visibly, until it exists."""
    try:
        activation.solve_u(np.zeros(1), np.zeros(1), np.zeros(1), 1.0, 1e-5, 1e-8)
    except NotImplementedError:
        pytest.skip(f"{activation.name}.solve_u is not implemented yet")


def _R(problem, weights, activation):
    return objective(weights, problem.X, problem.Y, activation, problem.lambdas, problem.layout)


def test_every_peer_is_registered():
    assert set(PEERS) <= set(SOLVERS)
    for name in PEERS:
        assert SOLVERS[name].name == name
        # The estimator passes these flat parameters by name; every peer accepts them.
        assert set(SOLVERS[name].estimator_params) <= set(SOLVERS[name]().get_params())


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("name", PEERS)
def test_solver_lowers_R_on_the_T10_set(name, activation):
    """From R(z_0) ~ 3.8 every peer ends at least 10% lower (measured: 3.03 to 3.22 with these
    defaults; the (1/T) loss with tau = 12 keeps R near 3, spec section 6)."""
    problem, act = _problem(), get_activation(activation)
    if name == "admmirnn":
        _require_solve_u(act)
    w0 = _weights0()
    R0 = _R(problem, w0, act)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = _solver(name, max_iter=300).solve(problem, act, w0, random_state=0)
    assert res.weights.all_finite()
    assert not res.diverged
    R_end = _R(problem, res.weights, act)
    assert R_end < 0.9 * R0
    # The returned weights are the recorded iterate with the lowest R of the forward pass.
    best = int(np.argmin(res.history["objective"]))
    assert res.history["objective"][best] == pytest.approx(R_end, rel=1e-10)
    loss, *_ = problem.evaluate(res.weights, act)
    assert res.history["train_loss"][best] == pytest.approx(loss, rel=1e-10)


def test_history_keys_are_the_same_for_every_solver():
    problem, act = _problem(validation=True), get_activation("relu")
    keys = {}
    for name in PEERS + ["alm-bcd"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = _solver(name, max_iter=4).solve(problem, act, _weights0(), random_state=0)
        keys[name] = set(res.history)
        lengths = {len(v) for v in res.history.values()}
        assert lengths == {res.n_iter}, name
        assert np.all(np.isfinite(res.history["objective"]))
    assert all(k == set(HISTORY_KEYS) | {"val_loss"} for k in keys.values()), keys
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = _solver("adam", max_iter=3).solve(_problem(), act, _weights0())
    assert set(res.history) == set(HISTORY_KEYS)


def test_forward_pass_methods_report_no_feasibility_gap_and_admm_does():
    problem, act = _problem(), get_activation("relu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lb = LBFGS(max_iter=5).solve(problem, act, _weights0())
        ad = SOLVERS["admmirnn"](max_iter=5).solve(problem, act, _weights0())
    assert lb.history["feasibility"] == [0.0] * lb.n_iter
    assert np.all(np.isnan(lb.history["gamma"]))
    assert np.all(np.array(lb.history["kappa"]) > 0)
    assert all(f > 0 for f in ad.history["feasibility"])
    assert ad.history["gamma"] == [10.0 / N_TRAIN] * ad.n_iter  # rho per step / T


@pytest.mark.parametrize("name", PEERS)
def test_convergence_warning_at_the_cap(name):
    problem, act = _problem(), get_activation("relu")
    solver = _solver(name, max_iter=2, n_iter_no_change=None)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        res = solver.solve(problem, act, _weights0(), random_state=0)
    assert res.n_iter == 2
    assert not res.converged
    assert not res.diverged


def test_stopping_rule_converges_without_warning():
    problem, act = _problem(), get_activation("tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = Adam(max_iter=5000, tol=1e-4, n_iter_no_change=10).solve(problem, act, _weights0())
    assert res.converged
    assert res.n_iter < 5000
    assert "did not improve" in res.message


def test_validation_keeps_the_best_validated_weights():
    problem, act = _problem(validation=True), get_activation("relu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = GradientDescent(learning_rate=0.05, max_iter=200, tol=0.0,
                              n_iter_no_change=5).solve(problem, act, _weights0())
    val = res.history["val_loss"]
    *_, h_last, _, _ = problem.evaluate(res.weights, act)
    assert problem.validation_loss(res.weights, act, h_last) == pytest.approx(min(val))
    # The run went on past the best iterate, and the returned weights are not the last ones.
    assert int(np.argmin(val)) < res.n_iter - 1


def test_sgd_honours_random_state():
    problem, act = _problem(), get_activation("tanh")

    def run(seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            solver = MiniBatchSGD(learning_rate=0.05, batch_size=2, max_iter=5)
            return solver.solve(problem, act, _weights0(), random_state=seed).weights

    a, b, c = run(0), run(0), run(1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c))
    d = run(np.random.RandomState(0))
    for x, y in zip(a, d):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["gd", "nesterov", "sgd", "adam"])
def test_divergence_returns_finite_weights_and_warns(name):
    problem, act = _problem(), get_activation("relu")
    solver = _solver(name, learning_rate=1e6, max_iter=50)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        res = solver.solve(problem, act, _weights0(), random_state=0)
    assert res.diverged
    assert not res.converged
    assert res.weights.all_finite()
    assert np.isfinite(_R(problem, res.weights, act))
    assert res.n_iter < 50


@pytest.mark.parametrize("name", ["nails", "nailm"])
def test_gauss_newton_dense_and_matrix_free_take_the_same_steps(name):
    problem, act = _problem(), get_activation("tanh")
    runs = {}
    for linear_solver in ("dense", "cg"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            solver = SOLVERS[name](linear_solver=linear_solver, max_iter=3, cg_tol=1e-12,
                                   cg_max_iter=1000)
            runs[linear_solver] = solver.solve(problem, act, _weights0())
    assert runs["dense"].extras["linear_solver"] == "dense"
    assert runs["cg"].extras["linear_solver"] == "cg"
    np.testing.assert_allclose(runs["dense"].history["objective"],
                               runs["cg"].history["objective"], rtol=1e-8)
    with pytest.raises(ValueError, match="max_dense_mb"):
        SOLVERS[name](linear_solver="dense", max_dense_mb=1e-3).solve(problem, act, _weights0())


def test_lbfgs_and_alm_bcd_reach_the_same_R_on_tanh():
    """From the same start on tanh, L-BFGS (run to scipy's convergence test) and ALM-BCD (50
    outer iterations, paper settings) end at the same R to 1e-6 relative.

    Measured: L-BFGS 3.0259733979 (33 iterations), ALM-BCD 3.0259733973 (FeasVio 1e-6);
    after 100 outer iterations ALM-BCD is at 3.02597339699, 1e-9 *below* L-BFGS, which stops
    on its relative-reduction test. On elu the two can end in different local minima from the
    same start (initial seed 2: ALM-BCD 2.9113, L-BFGS 3.0883; seeds 0 and 1 agree or differ
    the other way), so elu is not compared: agreement there is not a property of either
    method.
    """
    problem, act = _problem(), get_activation("tanh")
    _require_solve_u(act)
    w0 = _weights0(seed=0)
    lb = LBFGS(max_iter=2000, gtol=1e-10, n_iter_no_change=None).solve(problem, act, w0)
    assert lb.converged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alm = ALMBCDSolver(max_iter=50, n_iter_no_change=None).solve(problem, act, w0)
    R_lb, R_alm = _R(problem, lb.weights, act), _R(problem, alm.weights, act)
    assert R_lb < 0.85 * _R(problem, w0, act)
    assert R_alm == pytest.approx(R_lb, rel=1e-6)


@pytest.mark.parametrize("name", PEERS)
def test_reachable_through_the_estimator(name):
    X, Y = make_elman_sequence(return_params=False)
    est = ElmanRNNRegressor(n_hidden=4, solver=name, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert set(est.history_) == set(HISTORY_KEYS)
    assert np.all(np.isfinite(est.predict(X)))


def test_solver_settings_are_tunable_through_the_estimator():
    est = ElmanRNNRegressor(n_hidden=4, solver=Adam(learning_rate=0.05))
    assert est.get_params()["solver__learning_rate"] == 0.05
    est.set_params(solver__learning_rate=0.2, solver__batch_size=3)
    assert (est.solver.learning_rate, est.solver.batch_size) == (0.2, 3)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_admm_multipliers_drive_the_iterates_to_feasibility(activation):
    """Measured after 200 iterations (rho = 10 per step): FeasVio 9e-7 (relu), 6e-5 (tanh),
    from 0.12 after the first sweep. Without the multiplier steps (a fixed quadratic penalty,
    the seed's nu-relaxation) it stalls near 0.4, and R of the forward pass is 1% higher."""
    problem, act = _problem(), get_activation(activation)
    _require_solve_u(act)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = SOLVERS["admmirnn"](max_iter=200, n_iter_no_change=None).solve(
            problem, act, _weights0()
        )
    feas = res.history["feasibility"]
    assert feas[-1] < 1e-3
    assert feas[-1] < 0.01 * feas[0]
    if activation == "tanh":
        # the value L-BFGS and ALM-BCD reach from this start (measured 3.025987 vs 3.025973)
        lb = LBFGS(max_iter=2000, gtol=1e-10, n_iter_no_change=None).solve(problem, act,
                                                                           _weights0())
        assert res.history["objective"][-1] == pytest.approx(lb.history["objective"][-1],
                                                             rel=1e-4)
