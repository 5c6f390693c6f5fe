"""The ReLU activation (the paper's main case): closed-form u-subproblem."""

from __future__ import annotations

import numpy as np

from ._base import IdentityOnPositives, register_activation

__all__ = ["ReLU"]


@register_activation
class ReLU(IdentityOnPositives):
    """sigma(u) = max(u, 0) (the paper's main case)."""

    name = "relu"

    def sigma(self, u):
        return np.maximum(u, 0)

    def derivative(self, u):
        return (u >= 0).astype(np.result_type(u, np.float32))

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        vp = self._positive_branch(th1, th2, th3, gamma, mu, l6)
        # eq. (3.21)-(3.22): on v < 0, sigma = 0 and phi is again a quadratic.
        vm = np.minimum(0.0, (gamma * th1 + mu * th3) / (gamma + mu + 2 * l6))
        return self._pick(vp, vm, th1, th2, th3, gamma, mu, l6)
