"""The regularized objective R(s) of a forward pass and its analytic gradient (BPTT).

Every forward-pass peer solver (the gradient family of :mod:`.bptt`, L-BFGS, NAILS/NAILM)
optimizes the same function of the weights z = (W, V, b, A, c) as ALM-BCD's objective
:func:`skalm.model.objective`: the hidden states are those of the true forward pass, so

    R(z) = (1/T) sum_t ||y_t - A h_t - c||^2 + l1||A||^2 + l2||W||^2 + l3||V||^2
           + l4||b||^2 + l5||c||^2 + l6 ||u||^2,        u_t = W h_{t-1} + V x_t + b,

with the same loss scaling and the same lambdas (with a skip connection, yhat_t = A h_t + D x_t
+ c and R gains lambda_D ||D||^2, see :mod:`skalm.model`). Its gradient is computed by backpropagation
through time: everything is a matrix product over all T rows except the one backward
recurrence over time, which cannot be vectorized.

:func:`backprop` is the reverse-mode core: it takes the partial derivatives of any scalar with
respect to the outputs yhat_t and the pre-activations u_t and returns the total derivative with
respect to the weights. :func:`objective_and_gradient` calls it for R; the Gauss-Newton solvers
call it for Jacobian-transpose products.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _kernels
from ..model import RNNWeights, forward, penalty, predict_outputs

__all__ = [
    "ForwardPass",
    "backprop",
    "weight_penalty_gradient",
    "objective_and_gradient",
    "grad_norm",
    "value_and_gradient",
    "evaluate_with_gradient",
    "flatten",
    "unflatten",
]


class ForwardPass(NamedTuple):
    """Everything a forward pass and its gradient produce at one point.

    Attributes
    ----------
    loss : float
        (1/T) sum_t ||y_t - yhat_t||^2 (the paper's TrainErr).
    objective : float
        R = loss + penalty.
    grad : RNNWeights
        Gradient of R.
    U, H : ndarray of shape (T, r)
        Pre-activations and hidden states of the forward pass.
    """

    loss: float
    objective: float
    grad: RNNWeights
    U: np.ndarray
    H: np.ndarray


def backprop(weights, X, layout, activation, U, H, G_out, G_pre):
    """Reverse mode through the recurrence: total derivative of a scalar f with respect to z.

    Parameters
    ----------
    weights : RNNWeights
    X : ndarray of shape (T, n)
    layout : SequenceLayout
        h is reset to 0 at each sequence start, so nothing flows back across a start.
    activation : Activation
    U, H : ndarray of shape (T, r)
        The forward pass of ``weights``.
    G_out : ndarray of shape (T, m)
        Partial derivatives of f with respect to yhat_t = A h_t + c (+ D x_t).
    G_pre : ndarray of shape (T, r) or None
        Partial derivatives of f with respect to u_t that do not pass through h_t
        (e.g. 2 l6 u_t for the l6 term of R). None: zero.

    Returns
    -------
    RNNWeights
        df/dW, df/dV, df/db, df/dA, df/dc, and df/dD = sum_t G_out_t x_t^T when the weights
        have a skip connection (D None otherwise).

    Notes
    -----
    With delta_t = df/du_t (total), the recurrence is

        delta_t = sigma'(u_t) * (G_out_t A + delta_{t+1} W) + G_pre_t,

    where the delta_{t+1} term is absent at the last row of each sequence. Then
    df/dW = sum_t delta_t h_{t-1}^T, df/dV = sum_t delta_t x_t^T, df/db = sum_t delta_t.
    """
    W, A = weights.W, weights.A
    dA = G_out.T @ H
    dc = G_out.sum(axis=0)
    Dsig = activation.derivative(U)
    # Direct part of every row at once; only the delta_{t+1} W term needs the loop.
    Delta = (G_out @ A) * Dsig
    if G_pre is not None:
        Delta += G_pre
    if not _kernels.backward_loop(Delta, Dsig, W, layout.last, activation):
        _backward_numpy(Delta, Dsig, W, layout.last)
    Hprev = layout.shift_down(H)
    dW = Delta.T @ Hprev
    dV = Delta.T @ X
    db = Delta.sum(axis=0)
    dD = None if weights.D is None else G_out.T @ X
    return RNNWeights(dW, dV, db, dA, dc, dD)


def _backward_numpy(Delta, Dsig, W, last):
    """The BPTT recurrence of :func:`backprop` as a numpy loop, in place on Delta: the
    fallback without the compiled kernel, and its reference in the tests."""
    last = last.tolist()  # Python bools: cheaper to test per step than numpy's
    # Hot path (one backward pass per function evaluation): the product goes into a buffer.
    buf = np.empty(W.shape[1], dtype=np.result_type(Delta.dtype, W.dtype))
    dot, multiply, add = np.dot, np.multiply, np.add
    carry = None
    for t in range(Delta.shape[0] - 1, -1, -1):
        if carry is not None and not last[t]:
            add(Delta[t], multiply(dot(carry, W, out=buf), Dsig[t], out=buf), out=Delta[t])
        carry = Delta[t]


def weight_penalty_gradient(weights, lambdas):
    """Gradient of the weights' penalty lambda_A||A||^2 + ... + lambda_c||c||^2 (+ lambda_D||D||^2)."""
    return RNNWeights(*(2 * lam * a for lam, a in zip(lambdas.for_blocks(weights), weights)))


def _add(a, b):
    return RNNWeights(*(x + y for x, y in zip(a, b)))


def value_and_gradient(weights, X, Y, layout, activation, lambdas, out_weight, pre_weight):
    """Weighted objective and its gradient on explicit arrays (the core of the evaluators).

    The objective is

        sum_t out_weight_t ||y_t - yhat_t||^2 + lambda_u sum_t pre_weight_t ||u_t||^2
        + lambda_A||A||^2 + lambda_W||W||^2 + ... + lambda_c||c||^2  (+ lambda_D||D||^2),

    ``out_weight`` and ``pre_weight`` being scalars or arrays of shape (T,). R itself is
    ``out_weight = 1/T, pre_weight = 1``; mini-batch SGD uses ``1/|window|`` and
    ``T/|window|`` on a window's rows and 0 elsewhere, an unbiased estimate of R when the
    windows split the rows evenly.

    Returns
    -------
    ForwardPass
        ``loss`` is the weighted data term ``sum_t out_weight_t ||y_t - yhat_t||^2``.
    """
    U, H = forward(weights, X, activation, layout)
    Res = predict_outputs(weights, H, X) - Y
    out_weight = np.asarray(out_weight, dtype=U.dtype)
    pre_weight = np.asarray(pre_weight, dtype=U.dtype)
    ow = out_weight[:, None] if out_weight.ndim else out_weight
    pw = pre_weight[:, None] if pre_weight.ndim else pre_weight
    G_out = (2.0 * ow) * Res
    G_pre = (2.0 * lambdas.u * pw) * U
    loss = 0.5 * float(np.vdot(G_out, Res))
    objective = loss + penalty(weights, None, lambdas) + 0.5 * float(np.vdot(G_pre, U))
    grad = backprop(weights, X, layout, activation, U, H, G_out, G_pre)
    grad = _add(grad, weight_penalty_gradient(weights, lambdas))
    return ForwardPass(loss, objective, grad, U, H)


def evaluate_with_gradient(weights, problem, activation):
    """Forward pass, loss, R and its gradient at ``weights`` (a :class:`ForwardPass`)."""
    T = max(problem.n_steps, 1)
    return value_and_gradient(
        weights, problem.X, problem.Y, problem.layout, activation, problem.lambdas, 1.0 / T, 1.0
    )


def objective_and_gradient(weights, problem, activation):
    """R(z) of :func:`skalm.model.objective` and its gradient (an :class:`RNNWeights`)."""
    fp = evaluate_with_gradient(weights, problem, activation)
    return fp.objective, fp.grad


def grad_norm(grad):
    """Euclidean norm of a gradient over all its blocks (the ``kappa`` of the peer solvers)."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grad)))


def flatten(weights, dtype=None):
    """One vector [W, V, b, A, c] (C order), e.g. for scipy.optimize; [W, V, b, A, c, D]
    with a skip connection."""
    flat = np.concatenate([np.ravel(a) for a in weights])
    return flat.astype(dtype or weights.W.dtype, copy=False)


def unflatten(vector, like):
    """Inverse of :func:`flatten`: an RNNWeights shaped (and typed) like ``like``."""
    vector = np.asarray(vector)
    size = sum(a.size for a in like)
    if vector.shape != (size,):
        raise ValueError(f"vector has shape {vector.shape}, the weights {size} entries.")
    out, start = [], 0
    for a in like:
        stop = start + a.size
        out.append(vector[start:stop].reshape(a.shape).astype(a.dtype, copy=True))
        start = stop
    return RNNWeights(*out)
