"""The model (skalm/model.py) with the optional skip connection yhat_t = A h_t + D x_t + c.

* The weights container iterates over the blocks present (D only with a skip connection).
* R with D against a hand-written loop over the time steps (``hand_forward``), every
  activation, one sequence and several.
* D = None and D = 0 give the same numbers: the paper's model is unchanged.
"""

import numpy as np
import pytest

from _cases import LAMBDAS, LAYOUTS, M, N, R_HIDDEN, T, gradient_point, hand_forward
from skalm.activations import ACTIVATIONS, get_activation
from skalm.model import (
    forward,
    init_weights,
    mse_loss,
    objective,
    penalty,
    predict_outputs,
)
from skalm.solvers.gradient import flatten, objective_and_gradient, unflatten

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


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_objective_with_skip_matches_a_hand_written_sum(name, starts):
    activation = get_activation(name)
    problem, w = gradient_point(activation, starts, seed=0, skip=True)
    U, H = hand_forward(w, problem.X, activation, set(starts or [0]))
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
