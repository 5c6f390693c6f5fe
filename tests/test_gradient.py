"""The analytic derivatives of R used by the peer solvers, against finite differences.

* ``objective_and_gradient`` (BPTT) vs central differences of :func:`skalm.model.objective`,
  for every activation, one sequence and several, at random points away from the kinks.
* The mini-batch window estimates average to R and grad R exactly over an even split.
* The forward sensitivities (J v) of NAILS/NAILM vs central differences of the forward pass,
  and the dense J^T J vs the matrix-free products.
* The same with the skip connection D (its gradient, its Jacobian columns, its J^T J block).
"""

import numpy as np
import pytest

from _cases import (
    EPS, LAMBDAS, LAYOUTS, M, N, T, central_differences, gradient_point, hand_forward,
)
from skalm.activations import ACTIVATIONS, get_activation
from skalm.model import forward, init_weights, objective
from skalm.solvers.bptt import window_value_and_gradient
from skalm.solvers.gradient import (
    evaluate_with_gradient,
    flatten,
    objective_and_gradient,
    unflatten,
)
from skalm.solvers.nails import GaussNewtonSystem, forward_sensitivities

@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_bptt_gradient_matches_central_differences(name, starts):
    activation = get_activation(name)
    for seed in range(3):
        problem, w = gradient_point(activation, starts, seed)
        R, grad = objective_and_gradient(w, problem, activation)
        assert R == pytest.approx(
            objective(w, problem.X, problem.Y, activation, LAMBDAS, problem.layout), rel=1e-12
        )

        def f(x):
            return objective(unflatten(x, w), problem.X, problem.Y, activation, LAMBDAS,
                             problem.layout)

        fd = central_differences(f, flatten(w))
        g = flatten(grad)
        # Central differences are accurate to ~1e-9 here; an error in one block or a missing
        # reset at a sequence start changes entries at the 1e-2 level.
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


def test_elu_with_other_alpha_and_leaky_slope():
    for activation in (get_activation("elu", alpha=0.5), get_activation("leaky_relu", slope=0.2)):
        problem, w = gradient_point(activation, [0, 7], seed=5)
        _, grad = objective_and_gradient(w, problem, activation)

        def f(x):
            return objective(unflatten(x, w), problem.X, problem.Y, activation, LAMBDAS,
                             problem.layout)

        np.testing.assert_allclose(flatten(grad), central_differences(f, flatten(w)),
                                   rtol=1e-6, atol=1e-7)


def test_flatten_round_trip_and_order():
    w = init_weights(3, 2, 2, random_state=0)._replace(b=np.arange(3.0), c=np.arange(2.0))
    x = flatten(w)
    assert x.shape == (9 + 6 + 3 + 6 + 2,)
    np.testing.assert_array_equal(x[:9], w.W.ravel())
    np.testing.assert_array_equal(x[15:18], w.b)
    back = unflatten(x, w)
    for a, b in zip(back, w):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="entries"):
        unflatten(x[:-1], w)


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_window_estimates_average_to_R_and_its_gradient(starts):
    """Windows of 3 rows split T = 12 evenly: the mean of the window objectives is R and the
    mean of their gradients is grad R (the estimate is unbiased, gradient through the prefix
    rows included)."""
    activation = get_activation("tanh")
    problem, w = gradient_point(activation, starts, seed=1)
    full = evaluate_with_gradient(w, problem, activation)
    parts = [window_value_and_gradient(w, problem, activation, a, a + 3) for a in range(0, T, 3)]
    assert np.mean([p.objective for p in parts]) == pytest.approx(full.objective, rel=1e-12)
    mean_grad = np.mean([flatten(p.grad) for p in parts], axis=0)
    np.testing.assert_allclose(mean_grad, flatten(full.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["tanh", "elu", "relu"])
def test_forward_sensitivities_match_central_differences(name):
    activation = get_activation(name)
    problem, w = gradient_point(activation, [0, 5], seed=2)
    fp = evaluate_with_gradient(w, problem, activation)
    x = flatten(w)
    D = np.random.RandomState(0).standard_normal((x.size, 3))
    dU, dY = forward_sensitivities(w, problem.X, problem.layout, activation, fp.U, fp.H, D)
    for k in range(3):
        outs = []
        for sign in (1, -1):
            wk = unflatten(x + sign * EPS * D[:, k], w)
            U, H = forward(wk, problem.X, activation, problem.layout)
            outs.append((U, H @ wk.A.T + wk.c))
        np.testing.assert_allclose(dU[:, :, k], (outs[0][0] - outs[1][0]) / (2 * EPS),
                                   atol=1e-7)
        np.testing.assert_allclose(dY[:, :, k], (outs[0][1] - outs[1][1]) / (2 * EPS),
                                   atol=1e-7)


@pytest.mark.parametrize("skip", [False, True], ids=["no_skip", "skip"])
def test_dense_gauss_newton_matrix_equals_matrix_free_products(skip):
    activation = get_activation("tanh")
    problem, w = gradient_point(activation, [0, 6], seed=3, skip=skip)
    fp = evaluate_with_gradient(w, problem, activation)
    dense = GaussNewtonSystem(w, problem, activation, fp, dense=True)
    free = GaussNewtonSystem(w, problem, activation, fp, dense=False)
    P = flatten(w).size
    # J^T J from products with the identity, column by column.
    M_free = np.column_stack([free.matvec(e) for e in np.eye(P)])
    np.testing.assert_allclose(M_free, dense.M, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(M_free, M_free.T, atol=1e-12)
    # The right-hand side is -J^T e = -grad R / 2, and both solvers give the same step.
    np.testing.assert_allclose(dense.rhs, -0.5 * flatten(fp.grad))
    np.testing.assert_allclose(
        free.solve(0.1, cg_tol=1e-13, cg_max_iter=10 * P), dense.solve(0.1), rtol=1e-8,
        atol=1e-10,
    )
    if skip:
        # The D-D block of J^T J is X^T X / T (kron I_m) plus l1 on the diagonal.
        DD = dense.M[-M * N:, -M * N:]
        expected = (np.kron(np.eye(M), problem.X.T @ problem.X / T)
                    + LAMBDAS.D * np.eye(M * N))
        np.testing.assert_allclose(DD, expected, rtol=1e-12, atol=1e-14)


# -- with the skip connection D -------------------------------------------------------------


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
            Uk, Hk = hand_forward(wk, problem.X, activation, {0, 5})
            outs.append((Uk, Hk @ wk.A.T + problem.X @ wk.D.T + wk.c))
        np.testing.assert_allclose(dU[:, :, k], (outs[0][0] - outs[1][0]) / (2 * EPS),
                                   atol=1e-7)
        np.testing.assert_allclose(dY[:, :, k], (outs[0][1] - outs[1][1]) / (2 * EPS),
                                   atol=1e-7)
    assert np.max(np.abs(dY[:, :, 0])) > 0.1  # D moves the outputs ...
    assert np.max(np.abs(dU[:, :, 0])) == 0.0  # ... and not the hidden states
