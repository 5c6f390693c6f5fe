"""One run's bookkeeping, shared by every solver: history, progress lines, stopping rules,
best validated weights, divergence handling and the final ConvergenceWarning; and the records
it produces (:class:`History`, :class:`SolverResult`)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..model import RNNWeights
from ._progress import ProgressPrinter

__all__ = ["IterationMonitor", "EXPLOSION_FACTOR", "History", "SolverResult", "HISTORY_KEYS"]

#: Keys every solver records once per outer iteration (equal-length lists).
HISTORY_KEYS = ("train_loss", "objective", "feasibility", "kappa", "gamma", "n_inner", "time")


#: An objective above this multiple of max(R(z_0), 1) counts as divergence.
EXPLOSION_FACTOR = 1e10


class History:
    """Per-outer-iteration record; ``as_dict()`` gives equal-length lists."""

    def __init__(self, with_validation=False):
        self._keys = HISTORY_KEYS + (("val_loss",) if with_validation else ())
        self._data = {k: [] for k in self._keys}
        self._t0 = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self._t0

    def append(self, **values):
        values.setdefault("time", self.elapsed())
        missing = set(self._keys) - set(values)
        if missing:
            raise KeyError(f"history entry lacks {sorted(missing)}")
        for k in self._keys:
            self._data[k].append(float(values[k]))

    def __len__(self):
        return len(self._data["time"])

    def last(self, key):
        return self._data[key][-1]

    def final(self, key):
        """The last recorded value of ``key``, NaN when nothing was recorded."""
        values = self._data[key]
        return values[-1] if values else float("nan")

    def as_dict(self):
        return {k: list(v) for k, v in self._data.items()}


@dataclass
class SolverResult:
    """What a solver returns.

    Attributes
    ----------
    weights : RNNWeights
        The learned parameters (predictions always use them through a forward pass).
    history : dict of lists
        One entry per outer iteration, keys :data:`HISTORY_KEYS` (+ ``"val_loss"``).
    n_iter : int
        Outer iterations run.
    converged : bool
        True when a stopping rule (not the iteration cap) ended the run.
    message : str
        Why the run ended.
    diverged : bool
        True when the run was stopped because an iterate became non-finite or absurdly
        large; ``weights`` are then the last finite ones.
    extras : dict
        Solver-specific values. Every registered solver has ``extras["own_loss"]``: the
        training loss by the solver's own reckoning at its final state. For the solvers that
        iterate on the weights alone (``gd`` ... ``lbfgs``, ``nails``, ``nailm``) it is the
        forward-pass loss of the last recorded iterate (the default of
        :meth:`~skalm.solvers.monitor.IterationMonitor.result`); for the constrained ones
        (``alm-bcd``, ``admmirnn``) it is the loss with their auxiliary hidden states
        :math:`h`, which a forward pass of the weights need not reproduce.
        :func:`skalm.safety.check_forward_pass` compares it with the forward pass.
    """

    weights: RNNWeights
    history: dict
    n_iter: int
    converged: bool
    message: str = ""
    diverged: bool = False
    extras: dict = field(default_factory=dict)


class IterationMonitor:
    """History, progress lines, stopping rules and divergence handling of one run.

    Shared by every peer solver. Call :meth:`record` once per iteration with the new weights;
    it returns True when the run must stop (stalled, or diverged). :meth:`result` builds the
    :class:`SolverResult` and issues the ConvergenceWarning.

    Parameters
    ----------
    name : str
        Solver name for messages.
    problem, activation, weights0
        The run's problem, activation strategy and starting weights.
    max_iter, tol, n_iter_no_change, verbose
        As in the solvers.
    """

    def __init__(self, name, problem, activation, weights0, max_iter, tol, n_iter_no_change,
                 verbose):
        self.name = name
        self.problem = problem
        self.activation = activation
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.n_iter_no_change = n_iter_no_change
        self.use_val = problem.has_validation
        self.history = History(with_validation=self.use_val)
        self.printer = ProgressPrinter(verbose, self.max_iter, self.use_val)
        with np.errstate(all="ignore"):
            _, self.objective0, _, _, _ = problem.evaluate(weights0, activation)
        self.last_good = weights0
        self.best_objective, self.best_objective_weights = np.inf, None
        self.best_score, self.best_weights, self.stall = np.inf, None, 0
        self.best_feas = np.inf
        self.converged = self.diverged = False
        self.message = ""

    @property
    def n_iter(self):
        return len(self.history)

    def exploded(self, objective):
        """True when ``objective`` is non-finite or beyond the explosion bound."""
        bound = EXPLOSION_FACTOR * max(self.objective0, 1.0)
        return not np.isfinite(objective) or objective > bound

    def diverge(self, why):
        """Mark the run as diverged (the caller stops)."""
        self.diverged, self.converged = True, False
        self.message = (
            f"{self.name} diverged at iteration {self.n_iter + 1} ({why}); returning the last "
            "finite weights."
        )
        return True

    def stop(self, message, converged=True):
        """End the run for a solver-specific reason."""
        self.converged, self.message = converged, message
        return True

    def record(self, weights, *, kappa, n_inner, loss=None, objective=None, h_last=None,
               feasibility=0.0, gamma=float("nan"), feasibility_scale=0.0):
        """Record one iteration ending at ``weights``; True when the run must stop.

        ``loss``, ``objective`` and ``h_last`` (the last training hidden state) are those of
        the true forward pass of ``weights``; they are computed when not given.
        ``feasibility_scale`` is the size of what the constraints compare (for ALM-BCD the
        norm of the auxiliary hidden states): a FeasVio below ``tol`` times it no longer
        counts as progress.
        """
        if not weights.all_finite():
            return self.diverge("non-finite weights")
        with np.errstate(all="ignore"):
            if loss is None or objective is None or (self.use_val and h_last is None):
                loss, objective, h_last, _, _ = self.problem.evaluate(weights, self.activation)
        if self.exploded(objective) or not np.isfinite(kappa):
            return self.diverge(f"objective R = {objective:.3g}, kappa = {kappa:.3g}")
        self.last_good = weights
        if objective < self.best_objective:
            self.best_objective, self.best_objective_weights = objective, weights
        entry = dict(
            train_loss=loss, objective=objective, feasibility=feasibility, kappa=kappa,
            gamma=gamma, n_inner=n_inner,
        )
        if self.use_val:
            entry["val_loss"] = self.problem.validation_loss(weights, self.activation, h_last)
        self.history.append(**entry)
        self.printer.line(self.n_iter, self.history)

        if self.n_iter_no_change is None:
            return False
        # Progress is a relative ``tol`` improvement of the best score or (without validation
        # data, for the constrained methods) of the best FeasVio, as long as the violation is
        # material. Without that floor FeasVio, which ALM keeps shrinking geometrically long
        # after it stopped mattering, reset the count forever and the rule never fired.
        if self.use_val:
            score, improved_feas = entry["val_loss"], False
        else:
            score = objective
            improved_feas = (
                feasibility > self.tol * feasibility_scale
                and feasibility < self.best_feas * (1 - self.tol)
            )
            self.best_feas = min(self.best_feas, feasibility)
        if self.best_weights is None or score < self.best_score - self.tol * abs(self.best_score):
            self.best_score, self.best_weights, self.stall = score, weights, 0
        elif improved_feas:
            self.stall = 0
        else:
            self.stall += 1
        if self.stall >= self.n_iter_no_change:
            what = "validation loss" if self.use_val else "training objective"
            if not self.use_val and self.best_feas > 0:
                what += " and FeasVio"
            return self.stop(
                f"{what} did not improve by tol={self.tol} for {self.n_iter_no_change} "
                f"iterations (stopped at {self.n_iter})."
            )
        return False

    def result(self, extras=None, stacklevel=4):
        """The SolverResult; warns when the run neither converged nor stopped by a rule.

        The weights returned are those of the recorded iterate with the lowest validation
        loss (with validation data) or else the lowest training objective R of the true
        forward pass. The last iterate is not always that one: an ALM iterate fits its
        auxiliary h, and its weights run forward can be worse than an earlier iterate's.

        ``extras["own_loss"]`` defaults to the training loss of the last recorded iterate:
        the solver's own loss for every solver that iterates on the weights alone. The
        constrained solvers pass their own (the loss with their auxiliary h).
        """
        if not self.message:
            self.message = f"{self.name} reached max_iter={self.max_iter} iterations."
        weights = self.last_good
        if self.use_val and self.best_weights is not None:
            weights = self.best_weights
        elif self.best_objective_weights is not None:
            weights = self.best_objective_weights
        if self.diverged or not self.converged:
            warnings.warn(self.message, ConvergenceWarning, stacklevel=stacklevel)
        return SolverResult(
            weights=weights, history=self.history.as_dict(), n_iter=self.n_iter,
            converged=self.converged, message=self.message, diverged=self.diverged,
            extras={"own_loss": self.history.final("train_loss"), **(extras or {})},
        )
