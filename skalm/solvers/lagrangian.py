"""The augmented Lagrangian of problem (2.6) and what is measured on it: the point s, the
constraints, FeasVio, L, its gradients and the stationarity certificate. Shared by ALM-BCD and
ADMMiRNN.

``s`` = (weights, H, U) with time-major H, U of shape (T, r). Multipliers Xi (for C1) and Zeta
(for C2) have the same shape. With a skip connection the weights also hold D
(yhat_t = A h_t + D x_t + c); it enters L only through the loss and its penalty lambda_D ||D||^2.
"""

from __future__ import annotations

from functools import singledispatch
from typing import NamedTuple

import numpy as np

from ..model import mse_loss, penalty, predict_outputs
from .blocks import preactivation

__all__ = [
    "ALMPoint",
    "constraints",
    "feasibility",
    "augmented_lagrangian",
    "gradients",
    "certificate",
]


class ALMPoint(NamedTuple):
    """A point s = (z, h, u) of problem (2.6)."""

    weights: object
    H: np.ndarray
    U: np.ndarray


def constraints(problem, s, activation, P=None):
    """C1 = u - (W h_{t-1} + V x_t + b) and C2 = h - sigma(u), each (T, r)."""
    if P is None:
        P = preactivation(problem, s.weights, s.H)
    return s.U - P, s.H - activation.sigma(s.U)


def feasibility(C1, C2):
    """FeasVio = max(||C1||, ||C2||), Euclidean norms over all entries."""
    return max(float(np.linalg.norm(C1)), float(np.linalg.norm(C2)))


@singledispatch  # generic in the problem (skalm.distributed: rows in chunks on dask)
def augmented_lagrangian(problem, s, Xi, Zeta, gamma, activation, C=None):
    """L(s; xi, zeta, gamma) of eq. (3.1)."""
    C1, C2 = constraints(problem, s, activation) if C is None else C
    R = mse_loss(s.weights, s.H, problem.Y, problem.X) + penalty(
        s.weights, s.U, problem.lambdas
    )
    return (
        R
        + float(np.vdot(Xi, C1))
        + float(np.vdot(Zeta, C2))
        + 0.5 * gamma * (float(np.vdot(C1, C1)) + float(np.vdot(C2, C2)))
    )


def gradients(problem, s, Xi, Zeta, gamma, activation, C=None):
    """Gradients of L with respect to z (as an RNNWeights of arrays) and to h.

    With E1 = xi + gamma C1, E2 = zeta + gamma C2 and residuals R_t = A h_t + c - y_t
    (+ D x_t with a skip connection):
    grad_W = 2 l_W W - E1^T Hprev, grad_V = 2 l_V V - E1^T X, grad_b = 2 l_b b - sum_t E1_t,
    grad_A = (2/T) R^T H + 2 l_A A, grad_c = (2/T) sum_t R_t + 2 l_c c,
    grad_h_t = (2/T) A^T R_t + E2_t - W^T E1_{t+1} (the last term only inside a sequence),
    and with a skip connection grad_D = (2/T) R^T X + 2 l_D D, the sixth entry of the z part.
    """
    W, V, b, A, c = s.weights.W, s.weights.V, s.weights.b, s.weights.A, s.weights.c
    lam = problem.lambdas
    layout = problem.layout
    T = s.H.shape[0]
    C1, C2 = constraints(problem, s, activation) if C is None else C
    E1 = Xi + gamma * C1
    E2 = Zeta + gamma * C2
    Res = predict_outputs(s.weights, s.H, problem.X) - problem.Y
    # sum_t E1_t h_{t-1}^T without building the shifted H: E1 shifted up meets H unshifted.
    E1next = layout.shift_up(E1)
    gW = 2 * lam.W * W - E1next.T @ s.H
    gV = 2 * lam.V * V - E1.T @ problem.X
    gb = 2 * lam.b * b - E1.sum(axis=0)
    gA = (2.0 / T) * (Res.T @ s.H) + 2 * lam.A * A
    gc = (2.0 / T) * Res.sum(axis=0) + 2 * lam.c * c
    gH = (2.0 / T) * (Res @ A)
    gH += E2
    gH -= E1next @ W
    gz = (gW, gV, gb, gA, gc)
    if s.weights.D is not None:
        gz += ((2.0 / T) * (Res.T @ problem.X) + 2 * lam.D * s.weights.D,)
    return gz, gH


@singledispatch  # generic in the problem (skalm.distributed: rows in chunks on dask)
def certificate(problem, s, U_prev, Xi, Zeta, gamma, mu, activation, C=None):
    """kappa = sqrt(||grad_z L||^2 + ||grad_h L||^2 + mu^2 ||u - u_prev||^2) (spec 3d).

    An upper bound on dist(0, dL(s)) at the point after a sweep: the quantity of the inner
    stopping condition (3.6).
    """
    gz, gH = gradients(problem, s, Xi, Zeta, gamma, activation, C)
    total = sum(float(np.vdot(g, g)) for g in gz) + float(np.vdot(gH, gH))
    dU = s.U - U_prev
    total += mu * mu * float(np.vdot(dU, dU))
    return float(np.sqrt(total))
