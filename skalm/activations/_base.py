"""The activation interface, its registry, and the u-subproblem objective phi."""

from __future__ import annotations

import numpy as np

from .._registry import look_up, register

__all__ = [
    "Activation",
    "IdentityOnPositives",
    "ACTIVATIONS",
    "register_activation",
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
    """

    name = ""

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

    def get_params(self, deep=True):
        """The strategy's own parameters (e.g. ``{"slope": 0.01}``), the keyword arguments
        of its constructor: so that scikit-learn can clone it and tune it as
        ``activation__<name>``."""
        return {}

    def set_params(self, **params):
        """Set parameters through the constructor (so its checks apply); returns self."""
        unknown = set(params) - set(self.get_params())
        if unknown:
            raise ValueError(
                f"Invalid parameters {sorted(unknown)} for {type(self).__name__}; valid: "
                f"{sorted(self.get_params())}."
            )
        fresh = type(self)(**{**self.get_params(), **params})
        vars(self).update(vars(fresh))
        return self

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_params().items()))))

    def _pick(self, vp, vm, th1, th2, th3, gamma, mu, l6):
        # Ties go to the non-negative candidate (Remark 3.4).
        fp = self.phi(vp, th1, th2, th3, gamma, mu, l6)
        fm = self.phi(vm, th1, th2, th3, gamma, mu, l6)
        return np.where(fp <= fm, vp, vm)


class IdentityOnPositives(Activation):
    """Base of the activations with sigma(v) = v for v >= 0 (relu, leaky_relu, elu).

    On v >= 0 their u-subproblem is one and the same strongly convex quadratic, whose
    minimizer :meth:`_positive_branch` gives in closed form.
    """

    def _positive_branch(self, th1, th2, th3, gamma, mu, l6):
        # On v >= 0, sigma(v) = v makes phi a strongly convex quadratic: eq. (3.20).
        return np.maximum(0.0, (gamma * th1 + gamma * th2 + mu * th3) / (2 * gamma + mu + 2 * l6))


#: Activation name -> strategy class (filled by :func:`register_activation`).
ACTIVATIONS = {}


def register_activation(cls):
    """Class decorator: make ``cls`` reachable as ``get_activation(cls.name)``."""
    return register(ACTIVATIONS, cls, "activation")


def get_activation(name, **params):
    """Instantiate the strategy registered under ``name`` with its own parameters."""
    if isinstance(name, Activation):
        return name
    return look_up(ACTIVATIONS, name, "activation")(**params)
