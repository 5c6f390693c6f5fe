"""Activation strategies: sigma, its derivative, and the global minimizer of the u-subproblem.

Each strategy owns everything the solvers need to know about one activation function. The
ALM-BCD u-block (spec section 3c, paper eq. 3.16) reduces to rT independent one-dimensional
problems

    phi(v) = (gamma/2)(v - th1)^2 + (gamma/2)(th2 - sigma(v))^2 + (mu/2)(v - th3)^2 + l6 v^2

and :meth:`Activation.solve_u` returns the *global* minimizer of every one of them at once
(arrays in, array out). Strategies are looked up by name in :data:`ACTIVATIONS`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Tanh",
    "ACTIVATIONS",
    "get_activation",
    "phi",
]


def phi(v, th1, th2, th3, gamma, mu, l6, sigma):
    """The u-subproblem objective (spec 3c), elementwise. Used by strategies and tests."""
    return (
        0.5 * gamma * (v - th1) ** 2
        + 0.5 * gamma * (th2 - sigma(v)) ** 2
        + 0.5 * mu * (v - th3) ** 2
        + l6 * v**2
    )


class Activation:
    """Base class of an activation strategy.

    Subclasses implement :meth:`sigma`, :meth:`derivative` and :meth:`solve_u`.

    Attributes
    ----------
    name : str
        Registry name.
    smooth : bool
        Whether sigma is continuously differentiable (gradient solvers' finite-difference
        tests and the theory of smooth constraints use this).
    """

    name = ""
    smooth = False

    def sigma(self, u):
        """sigma(u), elementwise."""
        raise NotImplementedError

    def derivative(self, u):
        """sigma'(u), elementwise (at a kink: the right derivative)."""
        raise NotImplementedError

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        """Global minimizer of phi for every entry (arrays of one shape; scalars gamma, mu, l6)."""
        raise NotImplementedError

    def __call__(self, u):
        return self.sigma(u)

    def phi(self, v, th1, th2, th3, gamma, mu, l6):
        return phi(v, th1, th2, th3, gamma, mu, l6, self.sigma)

    def get_params(self):
        """The strategy's own parameters (e.g. ``{"slope": 0.01}``)."""
        return {}

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_params().items()))))

    def _positive_branch(self, th1, th2, th3, gamma, mu, l6):
        # On v >= 0 every activation here with sigma(v) = v there (relu, leaky, elu) makes phi a
        # strongly convex quadratic: eq. (3.20).
        return np.maximum(0.0, (gamma * th1 + gamma * th2 + mu * th3) / (2 * gamma + mu + 2 * l6))

    def _pick(self, vp, vm, th1, th2, th3, gamma, mu, l6):
        # Ties go to the non-negative candidate (Remark 3.4).
        fp = self.phi(vp, th1, th2, th3, gamma, mu, l6)
        fm = self.phi(vm, th1, th2, th3, gamma, mu, l6)
        return np.where(fp <= fm, vp, vm)


class ReLU(Activation):
    """sigma(u) = max(u, 0) (the paper's main case)."""

    name = "relu"
    smooth = False

    def sigma(self, u):
        return np.maximum(u, 0)

    def derivative(self, u):
        return (u >= 0).astype(np.result_type(u, np.float32))

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        vp = self._positive_branch(th1, th2, th3, gamma, mu, l6)
        # eq. (3.21)-(3.22): on v < 0, sigma = 0 and phi is again a quadratic.
        vm = np.minimum(0.0, (gamma * th1 + mu * th3) / (gamma + mu + 2 * l6))
        return self._pick(vp, vm, th1, th2, th3, gamma, mu, l6)


class LeakyReLU(Activation):
    """sigma(u) = max(u, slope * u) with 0 < slope < 1.

    Parameters
    ----------
    slope : float, default=0.01
        The slope w on the negative half-line.
    """

    name = "leaky_relu"
    smooth = False

    def __init__(self, slope=0.01):
        if not (0 < slope < 1):
            raise ValueError(f"slope must be in (0, 1), got {slope!r}.")
        self.slope = float(slope)

    def get_params(self):
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


class ELU(Activation):
    """sigma(u) = u for u >= 0, alpha (e^u - 1) for u < 0 (paper section 4.3).

    Parameters
    ----------
    alpha : float, default=1.0
        Scale of the negative branch (the paper uses 1).
    """

    name = "elu"
    smooth = False  # C^1 only when alpha == 1

    def __init__(self, alpha=1.0):
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}.")
        self.alpha = float(alpha)

    def get_params(self):
        return {"alpha": self.alpha}

    def sigma(self, u):
        return np.where(u >= 0, u, self.alpha * np.expm1(np.minimum(u, 0)))

    def derivative(self, u):
        return np.where(u >= 0, 1.0, self.alpha * np.exp(np.minimum(u, 0))).astype(
            np.result_type(u, np.float32)
        )

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        raise NotImplementedError  # filled in by the ELU strategy work


class Tanh(Activation):
    """sigma(u) = tanh(u). Not in the paper; smooth, so its theory applies."""

    name = "tanh"
    smooth = True

    def sigma(self, u):
        return np.tanh(u)

    def derivative(self, u):
        t = np.tanh(u)
        return 1 - t * t

    def solve_u(self, th1, th2, th3, gamma, mu, l6):
        raise NotImplementedError  # filled in by the tanh strategy work


#: Activation name -> strategy class.
ACTIVATIONS = {cls.name: cls for cls in (ReLU, LeakyReLU, ELU, Tanh)}


def get_activation(name, **params):
    """Instantiate the strategy registered under ``name`` with its own parameters."""
    if isinstance(name, Activation):
        return name
    try:
        cls = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}."
        ) from None
    return cls(**params)
