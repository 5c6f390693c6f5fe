"""Backpropagation-through-time solvers on ALM-BCD's objective R: the paper's comparison set
(section 5.4) and L-BFGS (in :mod:`.lbfgs`).

Every solver here minimizes R(z) of :func:`skalm.model.objective` (same (1/T) loss scaling,
same lambdas, hidden states from the true forward pass) with the analytic gradient of
:mod:`.gradient` (which covers the optional skip weights D: the solvers work on the flat
vector of whatever blocks the weights hold):

* ``"gd"``, :class:`GradientDescent`: full-batch gradient descent (the paper's GD);
* ``"gd-clip"``, :class:`ClippedGradientDescent`: with gradient-norm clipping (GDC);
* ``"nesterov"``, :class:`NesterovGradientDescent`: with Nesterov momentum (GDNM);
* ``"sgd"``, :class:`MiniBatchSGD`: mini-batch SGD over contiguous windows (SGD);
* ``"adam"``, :class:`Adam`: Adam, full batch by default (Adam);
* ``"lbfgs"``, :class:`~skalm.solvers.lbfgs.LBFGS`: scipy's L-BFGS-B (what jax-sysid and
  MLPRegressor use).

**Design.** Solver-specific settings (learning rate, momentum, clipping norm, window length,
Adam's betas, the L-BFGS memory) live on the solver object, not on the estimator::

    ElmanRNNRegressor(solver="adam")                          # the solver's defaults
    ElmanRNNRegressor(solver=Adam(learning_rate=3e-3))        # tuned
    GridSearchCV(est, {"solver__learning_rate": [1e-3, 1e-2]})

``estimator_params`` names the estimator's own parameters a solver takes when it is given by
name: ``max_iter`` (epochs for the first-order methods, iterations for L-BFGS), ``tol``,
``n_iter_no_change``, ``blas_threads`` and ``verbose``.

The default learning rates were measured on the paper's two synthetic sets (z-scored, T = 9
and T = 450 training rows, ReLU, N(0, 0.1) start, 300 epochs): the largest of {0.003, 0.01,
0.02, 0.05, 0.1, 0.2} that converged on both and did best on T = 450 -- GD 0.02 (0.1
diverges there), GDC 0.1 with clip norm 1, Nesterov 0.01 with momentum 0.9 (0.05 diverges),
SGD 0.01 with windows of 50 rows, Adam 0.01 (the paper's Table 4 value). The paper tuned
them per data set and initialization; so should a user.

The first-order methods share one :meth:`~FirstOrderSolver.update` (one epoch); each
contributes a small stateful step object (:class:`GradientStep`, :class:`ClippedStep`,
:class:`NesterovStep`, :class:`AdamStep`), in the manner of scikit-learn's
``_stochastic_optimizers``. One iteration is one epoch: one step on the full gradient, or one
step per window for mini-batches.

Every solver records the same history as ALM-BCD once per iteration (:class:`IterationMonitor`):
``train_loss`` and ``objective`` of the true forward pass, ``feasibility`` 0 (a forward pass is
feasible by construction), ``kappa`` = ||grad R|| at the iterate, ``gamma`` NaN (no penalty
parameter), ``n_inner`` (gradient steps, or function evaluations for L-BFGS, in the iteration),
``time``, and ``val_loss`` with validation data.

Stopping: the cap ``max_iter`` (with a :class:`~sklearn.exceptions.ConvergenceWarning`); with
``n_iter_no_change`` set, when R (or, with validation data, the validation loss) did not improve
by a relative ``tol`` on its best value for that many iterations -- the rule of
:class:`~skalm.solvers.ALMBCDSolver`; with validation data the best validated weights are
returned. A non-finite iterate, or an objective above ``1e10 * max(R(z_0), 1)``, is divergence:
the run stops, warns, sets ``diverged`` and returns the last weights whose forward pass was
finite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state

from .._compat import Interval
from ..model import SequenceLayout
from ._registry import register_solver
from .base import COUNT, POSITIVE, EndOfRun, Solver, setting, solver_settings
from .gradient import (
    evaluate_with_gradient,
    flatten,
    grad_norm,
    unflatten,
    value_and_gradient,
)

__all__ = [
    "GradientStep",
    "ClippedStep",
    "NesterovStep",
    "AdamStep",
    "FirstOrderState",
    "FirstOrderSolver",
    "GradientDescent",
    "ClippedGradientDescent",
    "NesterovGradientDescent",
    "MiniBatchSGD",
    "Adam",
]


# -- step objects ---------------------------------------------------------------------------
class GradientStep:
    """z <- z - learning_rate * g."""

    def __init__(self, learning_rate):
        self.learning_rate = float(learning_rate)

    def step(self, params, grad):
        params -= self.learning_rate * grad
        return params


class ClippedStep(GradientStep):
    """Gradient step on g * min(1, clip_norm / ||g||) (global Euclidean norm over all weights)."""

    def __init__(self, learning_rate, clip_norm):
        super().__init__(learning_rate)
        self.clip_norm = float(clip_norm)

    def step(self, params, grad):
        norm = float(np.linalg.norm(grad))
        if norm > self.clip_norm:
            grad = grad * (self.clip_norm / norm)
        return super().step(params, grad)


class NesterovStep:
    """Nesterov momentum in the form of Sutskever et al. (2013), as Keras and scikit-learn do.

    v <- momentum v - learning_rate g;  z <- z + momentum v - learning_rate g, the gradient
    being taken at the stored point (the look-ahead is folded into the update).
    """

    def __init__(self, learning_rate, momentum):
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.velocity = None

    def step(self, params, grad):
        if self.velocity is None:
            self.velocity = np.zeros_like(params)
        self.velocity *= self.momentum
        self.velocity -= self.learning_rate * grad
        params += self.momentum * self.velocity - self.learning_rate * grad
        return params


class AdamStep:
    """Adam (Kingma and Ba, 2015) with bias correction."""

    def __init__(self, learning_rate, beta1, beta2, epsilon):
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self.t = 0
        self.m = self.v = None

    def step(self, params, grad):
        if self.m is None:
            self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.t += 1
        self.m *= self.beta1
        self.m += (1 - self.beta1) * grad
        self.v *= self.beta2
        self.v += (1 - self.beta2) * grad * grad
        lr = self.learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        params -= lr * self.m / (np.sqrt(self.v) + self.epsilon)
        return params


# -- mini-batch windows ---------------------------------------------------------------------
def _windows(n_steps, batch_size):
    """Contiguous windows [start, stop) of ``batch_size`` rows covering all rows."""
    size = max(1, min(int(batch_size), n_steps))
    return [(a, min(a + size, n_steps)) for a in range(0, n_steps, size)]


def window_value_and_gradient(weights, problem, activation, start, stop):
    """Unbiased estimate of R and grad R from the rows [start, stop).

    The window's share of R is scaled up to the whole series: its data term is the mean of
    ||y_t - yhat_t||^2 over the window and its l6 term T/|window| times l6 sum ||u_t||^2; the
    weight penalties are whole. The hidden state at the window's first row is that of the true
    forward pass (run from the start of its sequence), and the gradient is exact through it:
    the rows before the window are run forward and backward with zero weight. A step therefore
    costs rows ``[sequence start, stop)``; an epoch of windows of w rows over one sequence of T
    rows costs about T^2 / (2 w) row updates instead of T.
    """
    first = problem.layout.first
    seq_start = int(np.flatnonzero(first[: start + 1])[-1])
    sl = slice(seq_start, stop)
    last = problem.layout.last[sl].copy()
    last[-1] = True
    layout = SequenceLayout(first[sl], last)
    n = stop - start
    out_w = np.zeros(stop - seq_start, dtype=problem.dtype)
    pre_w = np.zeros_like(out_w)
    out_w[start - seq_start:] = 1.0 / n
    pre_w[start - seq_start:] = problem.n_steps / n
    return value_and_gradient(
        weights, problem.X[sl], problem.Y[sl], layout, activation, problem.lambdas, out_w, pre_w
    )


# -- the first-order solvers ----------------------------------------------------------------
@dataclass
class FirstOrderState:
    """State of a first-order run: the iterate (as weights and as the flat vector the step
    object updates), its forward pass and gradient ``fp``, the step object, the random
    generator and mini-batch windows (None: full batch), and the steps of the last epoch."""

    problem: object
    activation: object
    weights: object
    params: np.ndarray
    fp: object
    step: object
    rng: np.random.RandomState
    windows: list | None
    n_inner: int = 0


@solver_settings
class FirstOrderSolver(Solver):
    """What the first-order BPTT solvers share (not registered itself): one epoch per
    :meth:`update`.

    Subclasses implement :meth:`make_step` (a fresh step object per run) and may set a
    ``batch_size`` attribute (None: full batch).
    """

    activation_needs = ("sigma", "derivative")
    batch_size = None
    max_iter: int = 500
    learning_rate: float = setting(0.01, POSITIVE)

    def make_step(self):
        raise NotImplementedError

    def init_state(self, problem, activation, weights, random_state=None):
        """The start: ``weights``, their forward pass and gradient, a fresh step object."""
        like = weights.astype(problem.dtype)
        windows = None if self.batch_size is None else _windows(problem.n_steps, self.batch_size)
        return FirstOrderState(
            problem=problem, activation=activation, weights=like, params=flatten(like),
            fp=evaluate_with_gradient(like, problem, activation), step=self.make_step(),
            rng=check_random_state(random_state), windows=windows,
        )

    def update(self, state):
        """One epoch: one step on the full gradient, or one step per window."""
        problem, activation, like = state.problem, state.activation, state.weights
        params, opt, windows = state.params, state.step, state.windows
        if windows is None:
            params = opt.step(params, flatten(state.fp.grad))
            n_inner = 1
        else:
            for i in state.rng.permutation(len(windows)):
                w = unflatten(params, like)
                g = window_value_and_gradient(w, problem, activation, *windows[i]).grad
                params = opt.step(params, flatten(g))
                if not np.all(np.isfinite(params)):
                    break
            n_inner = len(windows)
        weights = unflatten(params, like)
        if not weights.all_finite():
            raise EndOfRun("non-finite weights", diverged=True)
        return replace(
            state, weights=weights, params=params, n_inner=n_inner,
            fp=evaluate_with_gradient(weights, problem, activation),
        )

    def report(self, state):
        fp = state.fp
        return dict(
            weights=state.weights, kappa=grad_norm(fp.grad), n_inner=state.n_inner,
            loss=fp.loss, objective=fp.objective, h_last=fp.H[-1],
        )


@register_solver
@solver_settings
class GradientDescent(FirstOrderSolver):
    """Full-batch gradient descent on R (the paper's GD).

    Parameters
    ----------
    learning_rate : float, default=0.02
        Step size. The paper tuned it over {1e-4, ..., 1} per data set and initialization.
    max_iter : int, default=500
        Epochs (one step each).
    tol : float, default=1e-4
        Relative improvement of R that counts for ``n_iter_no_change``.
    n_iter_no_change : int or None, default=10
        Stop when R (or the validation loss) did not improve by ``tol`` for this many epochs.
        None: run to ``max_iter``.
    blas_threads : int or None, default=1
        BLAS threads during the solve (as ALM-BCD).
    verbose : int, default=0
        1: one line per epoch.
    """

    name = "gd"

    learning_rate: float = 0.02

    def make_step(self):
        return GradientStep(self.learning_rate)


@register_solver
@solver_settings
class ClippedGradientDescent(FirstOrderSolver):
    """Full-batch gradient descent with gradient-norm clipping (the paper's GDC).

    The gradient is rescaled to norm ``clip_norm`` when it is longer (one global Euclidean norm
    over all weights, Pascanu et al. 2013; Keras' ``clipnorm`` clips each weight array
    separately instead).

    Parameters
    ----------
    learning_rate : float, default=0.1
    clip_norm : float, default=1.0
        The paper searched {0.5, 1, 1.5, 2, 3, 4, 5, 6}.
    max_iter, tol, n_iter_no_change, blas_threads, verbose
        As :class:`GradientDescent`.
    """

    name = "gd-clip"
    learning_rate: float = 0.1
    clip_norm: float = setting(1.0, POSITIVE)

    def make_step(self):
        return ClippedStep(self.learning_rate, self.clip_norm)


@register_solver
@solver_settings
class NesterovGradientDescent(FirstOrderSolver):
    """Full-batch gradient descent with Nesterov momentum (the paper's GDNM).

    Parameters
    ----------
    learning_rate : float, default=0.01
    momentum : float, default=0.9
    max_iter, tol, n_iter_no_change, blas_threads, verbose
        As :class:`GradientDescent`.
    """

    name = "nesterov"
    momentum: float = setting(0.9, Interval(Real, 0, 1, closed="left"))

    def make_step(self):
        return NesterovStep(self.learning_rate, self.momentum)


@register_solver
@solver_settings
class MiniBatchSGD(FirstOrderSolver):
    """Mini-batch SGD over contiguous windows of the sequence (the paper's mini-batch SGD).

    Each epoch visits the windows of ``batch_size`` consecutive rows once, in an order drawn
    from ``random_state``, and takes one step per window on the unbiased estimate of grad R of
    :func:`window_value_and_gradient` (true hidden state at the window start, exact gradient).

    Parameters
    ----------
    learning_rate : float, default=0.01
    batch_size : int, default=50
        Rows per window (the paper used 2 for T = 10, 50 for S&P, 100 for T = 500). Clipped to
        the number of rows.
    max_iter : int, default=200
        Epochs.
    tol, n_iter_no_change, blas_threads, verbose
        As :class:`GradientDescent`.
    """

    name = "sgd"
    max_iter: int = 200
    batch_size: int = setting(50, COUNT)

    def make_step(self):
        return GradientStep(self.learning_rate)


@register_solver
@solver_settings
class Adam(FirstOrderSolver):
    """Adam on R (the paper's Adam), full batch unless ``batch_size`` is set.

    Parameters
    ----------
    learning_rate : float, default=0.01
        The paper's tuned value on all three data sets (Table 4).
    beta1, beta2, epsilon : float, default=0.9, 0.999, 1e-8
    batch_size : int or None, default=None
        None: full-batch Adam (what jax-sysid and the torch baseline of the peer figures do).
        An int: windows as :class:`MiniBatchSGD`.
    max_iter : int, default=500
        Epochs.
    tol, n_iter_no_change, blas_threads, verbose
        As :class:`GradientDescent`.
    """

    name = "adam"
    beta1: float = setting(0.9, Interval(Real, 0, 1, closed="left"))
    beta2: float = setting(0.999, Interval(Real, 0, 1, closed="left"))
    epsilon: float = setting(1e-8, POSITIVE)
    batch_size: int | None = setting(None, COUNT, None)

    def make_step(self):
        return AdamStep(self.learning_rate, self.beta1, self.beta2, self.epsilon)
