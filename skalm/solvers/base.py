"""The interface every solver implements, and the records they share.

A solver is a small object built from plain settings. ``solve(problem, activation, weights0)``
returns a :class:`SolverResult`. Solvers know nothing of scikit-learn: the estimator validates
the data, builds the :class:`Problem`, looks the solver up in the registry and stores the
result.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Optional

import numpy as np
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from .._threads import blas_threads_limited
from ..model import Lambdas, RNNWeights, SequenceLayout, forward, mse_loss, penalty

__all__ = ["Problem", "SolverResult", "History", "Solver", "HISTORY_KEYS", "blas_limit"]


def blas_limit(n_threads):
    """Context manager limiting every loaded BLAS to ``n_threads`` (None: no change); safe
    for concurrent fits in threads (:func:`skalm._threads.blas_threads_limited`)."""
    return blas_threads_limited(n_threads)


#: Keys every solver records once per outer iteration (equal-length lists).
HISTORY_KEYS = ("train_loss", "objective", "feasibility", "kappa", "gamma", "n_inner", "time")


@dataclass
class Problem:
    """A training problem: the data in time-major form and the regularization.

    Attributes
    ----------
    X : ndarray of shape (T, n)
    Y : ndarray of shape (T, m)
    lambdas : Lambdas
    layout : SequenceLayout
        Independent sequences inside the T rows.
    X_val, Y_val : ndarray or None
        Optional validation rows, run on from the hidden state at the end of the training
        rows (the paper's test protocol). Used for the validation loss in the history and
        by validation-based stopping.
    """

    X: np.ndarray
    Y: np.ndarray
    lambdas: Lambdas
    layout: Optional[SequenceLayout] = None
    X_val: Optional[np.ndarray] = None
    Y_val: Optional[np.ndarray] = None

    def __post_init__(self):
        if self.layout is None:
            self.layout = SequenceLayout.from_starts(self.X.shape[0])

    @property
    def n_steps(self):
        return self.X.shape[0]

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def has_validation(self):
        return self.X_val is not None and self.Y_val is not None and len(self.X_val) > 0

    def evaluate(self, weights, activation):
        """True forward pass: (train_loss, objective R, final hidden state, U, H)."""
        U, H = forward(weights, self.X, activation, self.layout)
        loss = mse_loss(weights, H, self.Y, self.X)
        return loss, loss + penalty(weights, U, self.lambdas), H[-1].copy(), U, H

    def training_loss(self, weights, H):
        """(1/T) sum_t ||y_t - yhat_t||^2 over the training rows with the hidden states ``H``
        given (a solver's auxiliary ones; :meth:`evaluate` uses the forward pass's). An
        overflow gives inf or NaN, without a RuntimeWarning."""
        with np.errstate(all="ignore"):
            return mse_loss(weights, H, self.Y, self.X)

    def validation_loss(self, weights, activation, h_last):
        """Loss on the validation rows, run on from the end of the training rows."""
        _, Hv = forward(weights, self.X_val, activation, None, h0=h_last)
        return mse_loss(weights, Hv, self.Y_val, self.X_val)


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
        :func:`skalm.solvers.safety.check_forward_pass` compares it with the forward pass.
    """

    weights: RNNWeights
    history: dict
    n_iter: int
    converged: bool
    message: str = ""
    diverged: bool = False
    extras: dict = field(default_factory=dict)


class Solver:
    """Base class: holds settings, implements :meth:`solve`.

    Attributes
    ----------
    name : str
        Registry name (``ElmanRNNRegressor(solver=name)``).
    estimator_params : tuple of str
        Names of :class:`~skalm.ElmanRNNRegressor` parameters this solver takes as keyword
        arguments of its constructor. The estimator passes exactly these (no branching on
        the solver's name). Its other settings are its own constructor arguments: pass an
        instance (``ElmanRNNRegressor(solver=Adam(learning_rate=1e-2))``) to set them, and
        tune them as ``solver__<name>`` in a grid search.
    """

    name = ""
    estimator_params = ("max_iter", "tol", "verbose")

    #: Constraints on the constructor settings (scikit-learn's ``_param_validation`` format),
    #: checked by :meth:`_validate_params`. These are the settings most solvers share;
    #: a subclass adds its own with ``{**Solver._parameter_constraints, ...}``. A setting
    #: without an entry is not checked.
    _parameter_constraints: dict = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["verbose"],
    }

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def get_params(self, deep=True):
        """Constructor settings (scikit-learn protocol, so that ``solver__x`` is tunable)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor settings; unknown names raise a ValueError naming them."""
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for solver {type(self).__name__}; "
                    f"valid parameters are {sorted(valid)}."
                )
            setattr(self, key, value)
        return self

    def _validate_params(self):
        """Check every setting against :attr:`_parameter_constraints`.

        Raises
        ------
        ValueError or TypeError
            scikit-learn's ``InvalidParameterError`` (a subclass of both), naming the setting
            and the solver. :class:`~skalm.ElmanRNNRegressor` calls this before every fit;
            call it yourself before :meth:`solve` when using a solver on its own.
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def solve(self, problem, activation, weights0, random_state=None):
        """Train from ``weights0``; return a :class:`SolverResult`."""
        raise NotImplementedError
