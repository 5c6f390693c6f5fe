"""Random test cases shared by several test modules (imported like ``kron_reference``).

``gradient_point`` and ``central_differences`` serve the finite-difference checks of the BPTT
gradient and the NAILS sensitivities (``test_gradient.py``, ``test_skip.py``); ``alm_case``
serves the checks of the ALM-BCD blocks (``test_bcd_properties.py``, ``test_skip.py``). With
``skip=True`` each also draws skip weights D, after the other draws, so a case without them
is the same as before the skip connection existed.
"""

import numpy as np

from skalm.model import Lambdas, RNNWeights, SequenceLayout, forward, init_weights
from skalm.solvers import Problem
from skalm.solvers.alm_bcd import ALMPoint

T, N, M, R_HIDDEN = 12, 3, 2, 4
# D differs from A, so that a test which mixes up the two blocks' lambdas fails.
LAMBDAS = Lambdas(0.11, 0.07, 0.05, 0.13, 0.03, 0.02, D=0.17)
LAYOUTS = {"one sequence": None, "three sequences": [0, 4, 9]}
EPS = 1e-6


def gradient_point(activation, starts, seed, skip=False):
    """A random problem and weights (with random skip weights D if ``skip``) whose
    pre-activations stay at least 0.05 from 0 (the kink of relu, leaky_relu and elu), so
    central differences with step 1e-6 never straddle it."""
    rng = np.random.RandomState(seed)
    layout = SequenceLayout.from_starts(T, starts)
    for _ in range(200):
        X = rng.standard_normal((T, N))
        Y = rng.standard_normal((T, M))
        w = init_weights(R_HIDDEN, N, M, scale=0.6, random_state=rng, skip_connection=skip)
        b = 0.3 * rng.standard_normal(R_HIDDEN)
        c = rng.standard_normal(M)
        D = rng.standard_normal((M, N)) if skip else None
        w = w._replace(b=b, c=c, D=D)
        U, _ = forward(w, X, activation, layout)
        if np.min(np.abs(U)) > 0.05:
            return Problem(X, Y, LAMBDAS, layout), w
    raise AssertionError("no point away from the kinks found")  # pragma: no cover


def central_differences(f, x, step=EPS):
    """Central differences of the scalar function ``f`` at the vector ``x``."""
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = step
        g[i] = (f(x + e) - f(x - e)) / (2 * step)
    return g


def alm_case(seed, starts=None, n_steps=9, r=3, n=2, m=2, skip=False):
    """Random non-feasible ALM point (with random skip weights D if ``skip``), random
    lambdas, nonzero multipliers and gamma != 1: ``(problem, s, Xi, Zeta, gamma)``."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (n_steps, n))
    Y = rng.standard_normal((n_steps, m))
    lam = Lambdas(*rng.uniform(0.02, 0.3, 5), 1e-3)
    prob = Problem(X, Y, lam, SequenceLayout.from_starts(n_steps, starts))
    weights = RNNWeights(
        0.5 * rng.standard_normal((r, r)), rng.standard_normal((r, n)),
        0.3 * rng.standard_normal(r), rng.standard_normal((m, r)), 0.3 * rng.standard_normal(m),
        rng.standard_normal((m, n)) if skip else None,
    )
    s = ALMPoint(weights, rng.standard_normal((n_steps, r)), rng.standard_normal((n_steps, r)))
    Xi = 0.3 * rng.standard_normal((n_steps, r))
    Zeta = 0.3 * rng.standard_normal((n_steps, r))
    gamma = float(rng.uniform(1.5, 4.0))
    return prob, s, Xi, Zeta, gamma
