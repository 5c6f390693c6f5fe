"""The optional linear skip connection yhat_t = A h_t + D x_t + c (``skip_connection=True``).

Every check compares with something computed independently of the code under test:

* R with D against a hand-written loop over the time steps; the BPTT gradient (all blocks,
  D included) and the NAILS forward sensitivities against central differences, for every
  activation;
* ALM-BCD's z-block against a ridge regression solved by ``numpy.linalg.lstsq`` on the
  stacked design [h_t, x_t, 1], and the gradient of the augmented Lagrangian in (A, D, c)
  after it against central differences (~0); the h-block the same way in h; the analytic
  gradients behind kappa (with grad_D) against central differences;
* a target that is an exact linear function of x: every solver family reaches R within a
  factor 2 of the value of the known point (A, V, W, b) = 0, (D, c) = truth, which bounds the
  training error and the error of D;
* D = None and D = 0 give the same numbers (the paper's model is unchanged);
* the estimator: ``skip_weights_``, predictions that use D, grid search, parameter
  validation and warm starts that switch the skip connection on and off.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from _cases import (
    EPS, LAMBDAS, LAYOUTS, M, N, R_HIDDEN, T, alm_case, central_differences, gradient_point,
)
from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS, get_activation
from skalm.model import (
    forward,
    init_weights,
    mse_loss,
    objective,
    penalty,
    predict_outputs,
)
from skalm.solvers.alm_bcd import (
    augmented_lagrangian,
    certificate,
    gradients,
    h_block,
    z_block,
)
from skalm.solvers.base import History, Solver, SolverResult
from skalm.solvers.gradient import (
    evaluate_with_gradient,
    flatten,
    objective_and_gradient,
    unflatten,
)
from skalm.solvers.nails import GaussNewtonSystem, forward_sensitivities

def _hand_forward(weights, X, activation, starts=()):
    """The recurrence written out step by step (h reset to 0 at each start)."""
    W, V, b = weights.W, weights.V, weights.b
    h = np.zeros(W.shape[0])
    U, H = [], []
    for t in range(X.shape[0]):
        if t in starts:
            h = np.zeros(W.shape[0])
        u = W @ h + V @ X[t] + b
        h = activation.sigma(u)
        U.append(u)
        H.append(h)
    return np.array(U), np.array(H)


# ------------------------------------------------------------------------------------------
# The weights container
# ------------------------------------------------------------------------------------------


def test_weights_iterate_over_the_blocks_present():
    w = init_weights(3, 2, 1, random_state=0)
    assert w.D is None and len(w) == 5 and len(list(w)) == 5 and not w.has_skip
    ws = init_weights(3, 2, 1, random_state=0, skip_connection=True)
    assert ws.has_skip and len(ws) == 6 and len(list(ws)) == 6
    np.testing.assert_array_equal(ws.D, np.zeros((1, 2)))
    # D draws nothing: the other blocks are those of the fit without a skip connection.
    for a, b in zip(w, ws):
        np.testing.assert_array_equal(a, b)
    assert ws.astype(np.float32).D.dtype == np.float32
    assert ws.copy().D is not ws.D
    assert not ws._replace(D=np.full((1, 2), np.nan)).all_finite()
    assert ws._replace(D=np.full((1, 2), -7.0)).max_abs() == 7.0
    assert ws._replace(D=None).D is None and len(ws._replace(D=None)) == 5
    with pytest.raises(ValueError, match="unexpected field"):
        ws._replace(E=1)
    with pytest.raises(ValueError, match="too many values"):
        W, V, b, A, c = ws  # code that does not know D must not drop it silently
    assert flatten(ws).size == flatten(w).size + 2
    np.testing.assert_array_equal(unflatten(flatten(ws), ws).D, ws.D)


# ------------------------------------------------------------------------------------------
# (1) R and its BPTT gradient with D
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_objective_with_skip_matches_a_hand_written_sum(name, starts):
    activation = get_activation(name)
    problem, w = gradient_point(activation, starts, seed=0, skip=True)
    U, H = _hand_forward(w, problem.X, activation, set(starts or [0]))
    loss = sum(
        float(np.sum((problem.Y[t] - w.A @ H[t] - w.D @ problem.X[t] - w.c) ** 2))
        for t in range(T)
    ) / T
    l1, l2, l3, l4, l5, l6, lD = LAMBDAS
    pen = (l1 * np.sum(w.A**2) + l2 * np.sum(w.W**2) + l3 * np.sum(w.V**2) + l4 * np.sum(w.b**2)
           + l5 * np.sum(w.c**2) + l6 * np.sum(U**2) + lD * np.sum(w.D**2))
    R = objective(w, problem.X, problem.Y, activation, LAMBDAS, problem.layout)
    assert R == pytest.approx(loss + pen, rel=1e-12)
    assert objective_and_gradient(w, problem, activation)[0] == pytest.approx(R, rel=1e-12)
    assert problem.evaluate(w, activation)[1] == pytest.approx(R, rel=1e-12)


def test_outputs_need_x_when_there_is_a_skip_connection():
    _, w = gradient_point(get_activation("tanh"), None, seed=0, skip=True)
    with pytest.raises(ValueError, match="X is required"):
        predict_outputs(w, np.zeros((T, R_HIDDEN)))


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_bptt_gradient_with_skip_matches_central_differences(name, starts):
    activation = get_activation(name)
    for seed in range(3):
        problem, w = gradient_point(activation, starts, seed, skip=True)
        _, grad = objective_and_gradient(w, problem, activation)
        assert grad.D is not None and grad.D.shape == (M, N)

        def f(x):
            return objective(unflatten(x, w), problem.X, problem.Y, activation, LAMBDAS,
                             problem.layout)

        fd = central_differences(f, flatten(w))
        # Central differences are accurate to ~1e-9 here (as in tests/test_gradient.py); a
        # missing D term or a wrong penalty weight changes entries at the 1e-2 level.
        np.testing.assert_allclose(flatten(grad), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["tanh", "elu", "relu", "leaky_relu"])
def test_forward_sensitivities_with_skip_match_central_differences(name):
    """The NAILS Jacobian columns, D's included, against differences of the outputs."""
    activation = get_activation(name)
    problem, w = gradient_point(activation, [0, 5], seed=2, skip=True)
    fp = evaluate_with_gradient(w, problem, activation)
    x = flatten(w)
    rng = np.random.RandomState(0)
    dirs = rng.standard_normal((x.size, 3))
    dirs[:, 0] = 0.0
    dirs[-M * N:, 0] = rng.standard_normal(M * N)  # a direction that moves only D
    dU, dY = forward_sensitivities(w, problem.X, problem.layout, activation, fp.U, fp.H, dirs)
    for k in range(dirs.shape[1]):
        outs = []
        for sign in (1, -1):
            wk = unflatten(x + sign * EPS * dirs[:, k], w)
            Uk, Hk = _hand_forward(wk, problem.X, activation, {0, 5})
            outs.append((Uk, Hk @ wk.A.T + problem.X @ wk.D.T + wk.c))
        np.testing.assert_allclose(dU[:, :, k], (outs[0][0] - outs[1][0]) / (2 * EPS),
                                   atol=1e-7)
        np.testing.assert_allclose(dY[:, :, k], (outs[0][1] - outs[1][1]) / (2 * EPS),
                                   atol=1e-7)
    assert np.max(np.abs(dY[:, :, 0])) > 0.1  # D moves the outputs ...
    assert np.max(np.abs(dU[:, :, 0])) == 0.0  # ... and not the hidden states


def test_dense_gauss_newton_with_skip_equals_matrix_free_products():
    activation = get_activation("tanh")
    problem, w = gradient_point(activation, [0, 6], seed=3, skip=True)
    fp = evaluate_with_gradient(w, problem, activation)
    dense = GaussNewtonSystem(w, problem, activation, fp, dense=True)
    free = GaussNewtonSystem(w, problem, activation, fp, dense=False)
    P = flatten(w).size
    M_free = np.column_stack([free.matvec(e) for e in np.eye(P)])
    np.testing.assert_allclose(M_free, dense.M, rtol=1e-10, atol=1e-12)
    # The D-D block of J^T J is X^T X / T (kron I_m) plus l1 on the diagonal.
    DD = dense.M[-M * N:, -M * N:]
    expected = np.kron(np.eye(M), problem.X.T @ problem.X / T) + LAMBDAS.D * np.eye(M * N)
    np.testing.assert_allclose(DD, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------
# (2), (3) ALM-BCD blocks with D
# ------------------------------------------------------------------------------------------


ALM_ACTIVATIONS = ["relu", "leaky_relu", "elu", "tanh"]


def _fd_output_gradient(prob, s, Xi, Zeta, gamma, act, step=1e-4):
    """Central differences of L in every entry of A, D and c. L is quadratic in them, so the
    differences are exact up to rounding."""
    def L(weights):
        return augmented_lagrangian(prob, s._replace(weights=weights), Xi, Zeta, gamma, act)

    out = {}
    for name in ("A", "D", "c"):
        base = getattr(s.weights, name)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += step
            minus[idx] -= step
            g[idx] = (L(s.weights._replace(**{name: plus}))
                      - L(s.weights._replace(**{name: minus}))) / (2 * step)
        out[name] = g
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_z_block_with_skip_is_the_ridge_regression_on_h_x_1(name, seed):
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(seed, [0, 5] if seed == 2 else None, skip=True)
    Tn, r = s.H.shape
    n = prob.X.shape[1]
    l1, l5 = prob.lambdas.D, prob.lambdas.c
    new = z_block(prob, s.H, s.U, Xi, gamma, skip=True)

    # Independent: (1/T)||Y - [H X 1] B||^2 + l1(||A||^2 + ||D||^2) + l5||c||^2 as one
    # least-squares problem on the stacked design [[H X 1] / sqrt(T); sqrt(Lam)].
    design = np.hstack([s.H, prob.X, np.ones((Tn, 1))]) / np.sqrt(Tn)
    ridge = np.diag(np.sqrt(np.r_[np.full(r + n, l1), l5]))
    B = np.linalg.lstsq(np.vstack([design, ridge]),
                        np.vstack([prob.Y / np.sqrt(Tn), np.zeros((r + n + 1, prob.Y.shape[1]))]),
                        rcond=None)[0]
    np.testing.assert_allclose(new.A, B[:r].T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.D, B[r:r + n].T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.c, B[r + n], rtol=1e-10, atol=1e-12)

    # ... and the gradient of L in (A, D, c) vanishes there, but not at the starting point.
    before = _fd_output_gradient(prob, s, Xi, Zeta, gamma, act)
    after = _fd_output_gradient(prob, s._replace(weights=new), Xi, Zeta, gamma, act)
    assert np.sqrt(sum(np.sum(g**2) for g in before.values())) > 0.1
    # rounding of L (~1e-16 |L|) over the step 1e-4: ~1e-12 |L|
    scale = max(1.0, abs(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act)))
    for g in after.values():
        np.testing.assert_allclose(g, 0.0, atol=1e-9 * scale)

    # The recurrent half does not see D: exactly the z-block of the model without it.
    plain = z_block(prob, s.H, s.U, Xi, gamma)
    for name_ in ("W", "V", "b"):
        np.testing.assert_array_equal(getattr(new, name_), getattr(plain, name_))
    assert plain.D is None


@pytest.mark.parametrize("layout", [None, [0, 5]], ids=["one", "two"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_h_block_with_skip_zeroes_the_gradient_in_h(name, seed, layout):
    """L is a strictly convex quadratic in h at fixed (z, u): its central differences are
    exact, and they vanish at the h-block's answer (which the model without D does not
    give)."""
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(seed, layout, skip=True)
    s = s._replace(weights=z_block(prob, s.H, s.U, Xi, gamma, skip=True))
    step = 1e-4

    def fd_grad_h(H):
        def L(Hx):
            return augmented_lagrangian(prob, s._replace(H=Hx), Xi, Zeta, gamma, act)

        g = np.zeros_like(H)
        for idx in np.ndindex(H.shape):
            Hp, Hm = H.copy(), H.copy()
            Hp[idx] += step
            Hm[idx] -= step
            g[idx] = (L(Hp) - L(Hm)) / (2 * step)
        return g

    assert np.linalg.norm(fd_grad_h(s.H)) > 0.1
    H1 = h_block(prob, s.weights, s.U, Xi, Zeta, gamma, act)
    scale = max(1.0, abs(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act)))
    np.testing.assert_allclose(fd_grad_h(H1), 0.0, atol=1e-9 * scale)
    H_without = h_block(prob, s.weights._replace(D=None), s.U, Xi, Zeta, gamma, act)
    assert np.max(np.abs(H_without - H1)) > 1e-3


@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_alm_gradients_and_kappa_include_D(name):
    """gradients() (grad_D included) against central differences of L, and kappa equal to
    the norm of the differences."""
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(3, [0, 4], skip=True)
    gz, gH = gradients(prob, s, Xi, Zeta, gamma, act)
    assert len(gz) == 6
    fd = _fd_output_gradient(prob, s, Xi, Zeta, gamma, act)
    np.testing.assert_allclose(gz[5], fd["D"], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(gz[3], fd["A"], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(gz[4], fd["c"], rtol=1e-9, atol=1e-8)
    mu = 0.05
    dU = np.random.RandomState(1).standard_normal(s.U.shape)
    kappa = certificate(prob, s, s.U - dU, Xi, Zeta, gamma, mu, act)
    without_D = np.sqrt(sum(np.sum(g**2) for g in gz[:5]) + np.sum(gH**2)
                        + mu**2 * np.sum(dU**2))
    expected = np.sqrt(without_D**2 + np.sum(fd["D"] ** 2))
    assert kappa == pytest.approx(expected, rel=1e-9)
    assert expected - without_D > 1e-3  # D's term matters here


# ------------------------------------------------------------------------------------------
# (4) closed-form special case: y an exact linear function of x
# ------------------------------------------------------------------------------------------


def _linear_data(seed=0, Tn=200, n=3, m=2):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (Tn, n))
    D_true = rng.standard_normal((m, n))
    c_true = rng.standard_normal(m)
    return X, X @ D_true.T + c_true, D_true, c_true


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs", "nails", "nailm", "admmirnn"])
def test_linear_target_is_fitted_through_the_skip_connection(solver):
    """y_t = D_true x_t + c_true exactly, i.i.d. inputs (no memory to find).

    The point (A, W, V, b) = 0, (D, c) = (D_true, c_true) has zero loss, so the optimum of R
    is at most R_bound = l1 ||D_true||^2 + l5 ||c_true||^2 (~1e-6 with alpha = 1e-6).
    lambda_V = lambda_W = 1 makes any use of the hidden path to carry x cost more than it
    saves (A V = E costs at least 2 sqrt(l1 l3) ||E||_*, more than l1's saving while
    ||D||_2 < sqrt(l3 / l1) ~ 2000). Requiring R(fit) <= 2 R_bound (a factor 2 for incomplete
    convergence) gives: training loss <= 2 R_bound (near zero), and since the fitted hidden
    states carry no x, loss >= lam_min(cov x) ||D - D_true||_F^2 roughly, so
    ||D - D_true||_F <= sqrt(2 R_bound / (lam_min / 4)) (a factor 4 for the part of x the
    hidden states and the bias can still explain in a finite sample).
    """
    X, Y, D_true, c_true = _linear_data()
    est = ElmanRNNRegressor(
        n_hidden=3, activation="tanh", skip_connection=True, alpha=1e-6, lambda_V=1.0,
        lambda_W=1.0, solver=solver, max_iter=100, random_state=0,
    ).fit(X, Y)
    lam = est.lambdas_
    R_bound = lam.D * np.sum(D_true**2) + lam.c * np.sum(c_true**2)
    R_fit = objective(est.weights_, X, Y, est.activation_, lam)
    assert R_fit <= 2 * R_bound, (R_fit, R_bound)
    loss = np.mean(np.sum((est.predict(X) - Y) ** 2, axis=1))
    assert loss <= 2 * R_bound
    lam_min = np.linalg.eigvalsh(np.cov(X.T, bias=True))[0]
    assert np.linalg.norm(est.skip_weights_ - D_true) <= np.sqrt(2 * R_bound / (lam_min / 4))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_without_skip_the_same_linear_target_is_not_fitted():
    """Contrast for the test above: the same settings without D cannot reach its bound (the
    hidden path is too expensive), so that test measures the skip connection."""
    X, Y, D_true, c_true = _linear_data()
    est = ElmanRNNRegressor(
        n_hidden=3, activation="tanh", alpha=1e-6, lambda_V=1.0, lambda_W=1.0,
        solver="lbfgs", max_iter=100, random_state=0,
    ).fit(X, Y)
    lam = est.lambdas_
    R_bound = lam.D * np.sum(D_true**2) + lam.c * np.sum(c_true**2)
    assert objective(est.weights_, X, Y, est.activation_, lam) > 100 * R_bound


# ------------------------------------------------------------------------------------------
# (5) D = None is the paper's model; D = 0 computes the same numbers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_zero_skip_weights_change_nothing(name):
    activation = get_activation(name)
    problem, w = gradient_point(activation, [0, 7], seed=4, skip=True)
    plain = w._replace(D=None)
    zero = w._replace(D=np.zeros((M, N)))
    U0, H0 = forward(plain, problem.X, activation, problem.layout)
    U1, H1 = forward(zero, problem.X, activation, problem.layout)
    np.testing.assert_array_equal(U0, U1)
    np.testing.assert_array_equal(H0, H1)
    np.testing.assert_array_equal(predict_outputs(plain, H0),
                                  predict_outputs(zero, H1, problem.X))
    assert mse_loss(plain, H0, problem.Y) == mse_loss(zero, H1, problem.Y, problem.X)
    assert penalty(plain, U0, LAMBDAS) == penalty(zero, U1, LAMBDAS)
    R0, g0 = objective_and_gradient(plain, problem, activation)
    R1, g1 = objective_and_gradient(zero, problem, activation)
    assert R0 == R1
    assert len(g0) == 5 and len(g1) == 6
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)
    # grad_D at D = 0 is the data term's (2/T) sum_t (yhat_t - y_t) x_t^T.
    res = H0 @ w.A.T + w.c - problem.Y
    np.testing.assert_allclose(g1.D, (2.0 / T) * res.T @ problem.X, rtol=1e-12)


def test_estimator_without_skip_fits_the_model_without_D():
    X, Y, _, _ = _linear_data(Tn=60)
    est = ElmanRNNRegressor(n_hidden=3, max_iter=3, max_inner_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    assert est.skip_weights_ is None and est.weights_.D is None and len(est.weights_) == 5


# ------------------------------------------------------------------------------------------
# (6) the estimator
# ------------------------------------------------------------------------------------------


def _quick(**params):
    base = dict(n_hidden=4, solver="lbfgs", max_iter=30, random_state=0)
    base.update(params)
    return ElmanRNNRegressor(**base)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_skip_weights_shape_and_predictions_use_them(dtype):
    X, Y, _, _ = _linear_data(Tn=80)
    X, Y = X.astype(dtype), Y.astype(dtype)
    est = _quick(skip_connection=True).fit(X, Y)
    assert est.skip_weights_.shape == (2, 3) and est.skip_weights_.dtype == dtype
    assert est.weights_.D is est.skip_weights_
    assert np.max(np.abs(est.skip_weights_)) > 0.1
    # predict = A h_t + D x_t + c with h from a hand-written recurrence (h_0 = 0)
    X_new = np.random.RandomState(5).uniform(-1, 1, (15, 3)).astype(dtype)
    w = est.weights_.astype(np.float64)
    _, H = _hand_forward(w, X_new.astype(np.float64), est.activation_, {0})
    want = H @ w.A.T + X_new @ w.D.T + w.c
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(est.predict(X_new, initial_state="zeros"), want, rtol=rtol,
                               atol=rtol)
    # 1-D y: one output row
    est1 = _quick(skip_connection=True).fit(X, Y[:, 0])
    assert est1.skip_weights_.shape == (1, 3) and est1.predict(X_new).shape == (15,)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_skip_connection():
    X, Y, _, _ = _linear_data(Tn=120)
    gs = GridSearchCV(_quick(), {"skip_connection": [False, True]}, cv=TimeSeriesSplit(3))
    gs.fit(X, Y[:, 0])
    assert [p["skip_connection"] for p in gs.cv_results_["params"]] == [False, True]
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    best = gs.best_estimator_
    assert (best.skip_weights_ is not None) == gs.best_params_["skip_connection"]
    assert gs.get_params()["estimator__skip_connection"] is False  # not overwritten


@pytest.mark.parametrize("bad", ["yes", None, 1, 0.0, [True]])
def test_invalid_skip_connection_raises(bad):
    X, Y, _, _ = _linear_data(Tn=20)
    est = _quick(skip_connection=bad)
    with pytest.raises((ValueError, TypeError), match="skip_connection"):
        est.fit(X, Y)
    assert est.skip_connection is bad  # fit does not overwrite the parameter


class _ReturnStart(Solver):
    """A solver that returns its starting weights: shows what fit starts from."""

    name = "return-start"
    estimator_params = ()

    def solve(self, problem, activation, weights0, random_state=None):
        return SolverResult(weights=weights0, history=History().as_dict(), n_iter=0,
                            converged=True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_switching_the_skip_connection():
    X, Y, _, _ = _linear_data(Tn=80)
    est = _quick(skip_connection=False, warm_start=True).fit(X, Y)
    previous, previous_pred = est.weights_, est.predict(X)

    # on: the previous W, V, b, A, c and D = 0, so the start predicts as the previous fit
    est.set_params(skip_connection=True, solver=_ReturnStart()).fit(X, Y)
    for a, b in zip(est.weights_, previous):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est.skip_weights_, np.zeros((2, 3)))
    np.testing.assert_array_equal(est.predict(X), previous_pred)

    # a real warm-started fit with skip on from there learns D
    est.set_params(solver="lbfgs").fit(X, Y)
    with_D = est.weights_
    assert np.max(np.abs(with_D.D)) > 0.1

    # kept: D carried over as it is
    est.set_params(solver=_ReturnStart()).fit(X, Y)
    np.testing.assert_array_equal(est.skip_weights_, with_D.D)

    # off: D dropped, the rest kept
    est.set_params(skip_connection=False).fit(X, Y)
    assert est.skip_weights_ is None and len(est.weights_) == 5
    for a, b in zip(est.weights_, with_D):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs"])
def test_history_and_validation_loss_include_D(solver):
    """The recorded objective and validation loss are those of the model with D: the
    returned weights are one of the recorded iterates, so their R (checked against a
    hand-written sum above) and their validation loss, computed here by hand from the hidden
    state at the end of the training rows, appear in the history (at the same iteration)."""
    X, Y, _, _ = _linear_data(Tn=100)
    Y = Y + 0.1 * np.sin(np.cumsum(X[:, :1], axis=0))  # something for the recurrence
    est = ElmanRNNRegressor(n_hidden=3, skip_connection=True, solver=solver, max_iter=8,
                            max_inner_iter=10, n_iter_no_change=None, early_stopping=True,
                            validation_fraction=0.2, random_state=0).fit(X, Y)
    w, act = est.weights_, est.activation_
    assert w.D is not None and np.max(np.abs(w.D)) > 0.1
    split = 80
    _, H_train = _hand_forward(w, X[:split], act, {0})
    h = H_train[-1]
    val = []
    for t in range(split, 100):
        h = act.sigma(w.W @ h + w.V @ X[t] + w.b)
        val.append(np.sum((Y[t] - w.A @ h - w.D @ X[t] - w.c) ** 2))
    R = objective(w, X[:split], Y[:split], act, est.lambdas_)
    hist = est.history_
    match = [k for k in range(est.n_iter_)
             if abs(hist["val_loss"][k] - np.mean(val)) <= 1e-9 * np.mean(val)
             and abs(hist["objective"][k] - R) <= 1e-9 * R]
    assert match, (np.mean(val), R, hist["val_loss"], hist["objective"])
