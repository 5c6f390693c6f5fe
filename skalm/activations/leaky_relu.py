"""The leaky ReLU activation: closed-form u-subproblem."""

from __future__ import annotations

import numpy as np

from ._base import IdentityOnPositives, register_activation

__all__ = ["LeakyReLU"]


@register_activation
class LeakyReLU(IdentityOnPositives):
    """sigma(u) = max(u, slope * u) with 0 < slope < 1.

    Parameters
    ----------
    slope : float, default=0.01
        The slope w on the negative half-line.
    """

    name = "leaky_relu"

    def __init__(self, slope=0.01):
        if not (0 < slope < 1):
            raise ValueError(f"slope must be in (0, 1), got {slope!r}.")
        self.slope = float(slope)

    def get_params(self, deep=True):
        return {"slope": self.slope}

    def sigma(self, u):
        return np.maximum(u, self.slope * u)

    def derivative(self, u):
        return np.where(u >= 0, 1.0, self.slope).astype(np.result_type(u, np.float32))

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        w = self.slope
        vp = self._positive_branch(th1, th2, th3, gamma, mu, l6)
        # The paper's eq. (4.35) keeps ReLU's test "gamma th1 + mu th3 < 0"; the minimizer on
        # v <= 0 of this quadratic is the clipped stationary point of the whole numerator.
        vm = np.minimum(
            0.0, (gamma * th1 + gamma * w * th2 + mu * th3) / (gamma + gamma * w * w + mu + 2 * l6)
        )
        return self._pick(vp, vm, th1, th2, th3, gamma, mu, l6)
