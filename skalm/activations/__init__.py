"""Activation strategies: sigma, its derivative, and the global minimizer of the u-subproblem.

Each strategy owns everything the solvers need to know about one activation function. The
ALM-BCD u-block (spec section 3c, paper eq. 3.16) reduces to rT independent one-dimensional
problems

    phi(v) = (gamma/2)(v - th1)^2 + (gamma/2)(th2 - sigma(v))^2 + (mu/2)(v - th3)^2 + l6 v^2

and :meth:`Activation.solve_u` returns the *global* minimizer of every one of them at once
(arrays in, array out). Strategies are looked up by name in :data:`ACTIVATIONS`.

Layout: :mod:`._base` (the interface, the registry, phi), one module per activation
(:mod:`.relu`, :mod:`.leaky_relu`, :mod:`.elu`, :mod:`.tanh`) and :mod:`._roots`, the vectorized
safeguarded Newton iteration ELU and tanh share.
"""

from ._base import ACTIVATIONS, Activation, get_activation, phi
# Imported in registration order: ACTIVATIONS lists relu, leaky_relu, elu, tanh.
from .relu import ReLU
from .leaky_relu import LeakyReLU
from .elu import ELU
from .tanh import Tanh

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
