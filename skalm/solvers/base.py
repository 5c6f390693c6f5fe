"""The interface every solver implements, and the loop that runs it.

A solver is a small object built from plain settings. ``solve(problem, activation, weights0)``
returns a :class:`SolverResult`. Solvers know nothing of scikit-learn: the estimator validates
the data, builds the :class:`Problem`, looks the solver up in the registry and stores the
result.

Every solver but L-BFGS (whose loop scipy runs) has the shape of jaxopt's: :meth:`Solver.init_state`
builds the state, :meth:`Solver.update` takes one iteration, and the one loop of
:meth:`Solver.solve` owns what they share: the BLAS thread limit, the floating-point error
state, the :class:`~skalm.solvers.monitor.IterationMonitor` (history, stopping rules,
divergence) and the ConvergenceWarning. A solver can also be stepped by hand::

    state = solver.init_state(problem, activation, weights0)
    for _ in range(10):
        state = solver.update(state)
        print(solver.report(state)["kappa"])
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Optional

import numpy as np

from .._compat import Interval, validate_parameter_constraints
from ..activations import Activation
from .._threads import blas_threads_limited
from ..model import Lambdas, SequenceLayout, forward, mse_loss, penalty
from .monitor import HISTORY_KEYS, History, IterationMonitor, SolverResult

__all__ = [
    "Problem", "SolverResult", "History", "Solver", "EndOfRun", "HISTORY_KEYS", "blas_limit",
    "setting", "solver_settings",
]

#: Constraints the solvers' settings share (scikit-learn's ``_param_validation`` format).
POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
COUNT = Interval(Integral, 1, None, closed="left")


def blas_limit(n_threads):
    """Context manager limiting every loaded BLAS to ``n_threads`` (None: no change); safe
    for concurrent fits in threads (:func:`skalm._threads.blas_threads_limited`)."""
    return blas_threads_limited(n_threads)


#: The estimator parameters a solver chosen by name takes by default
#: (:attr:`Solver.estimator_params`): the settings every solver has. ALM-BCD adds its own.
FORWARD_PASS_PARAMS = ("max_iter", "tol", "n_iter_no_change", "blas_threads", "verbose")


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


class EndOfRun(Exception):
    """Raised by :meth:`Solver.update` when the method cannot take another iteration.

    Parameters
    ----------
    message : str
        Why. For a divergence, what went wrong (the monitor says at which iteration).
    converged : bool, default=True
        Whether the end counts as convergence (no ConvergenceWarning).
    diverged : bool, default=False
        The iterate became unusable: the run returns the last finite weights and warns.
    state : object, default=None
        The state the result's ``extras`` are taken from; None: the last state ``update``
        returned.
    """

    def __init__(self, message, converged=True, diverged=False, state=None):
        super().__init__(message)
        self.message, self.converged, self.diverged, self.state = (
            message, converged, diverged, state
        )


def setting(default, *constraints):
    """Declare a solver setting: its default and the constraints its values must meet
    (scikit-learn's ``_param_validation`` format; none: the setting is not checked)."""
    return field(default=default,
                 metadata={"constraints": list(constraints)} if constraints else {})


def solver_settings(cls):
    """Class decorator: the settings declared on ``cls`` (with :func:`setting`, or redeclared
    with a new default) become the keyword-only parameters of its constructor, and their
    constraints its ``_parameter_constraints``, over those it inherits."""
    cls = dataclass(kw_only=True, eq=False, repr=False)(cls)
    constraints = dict(getattr(cls, "_parameter_constraints", {}))
    for f in fields(cls):
        if "constraints" in f.metadata:
            constraints[f.name] = f.metadata["constraints"]
    cls._parameter_constraints = constraints
    return cls


@solver_settings
class Solver:
    """Base class: holds settings, runs :meth:`init_state` / :meth:`update` in :meth:`solve`.

    Attributes
    ----------
    name : str
        Registry name (``ElmanRNNRegressor(solver=name)``).
    estimator_params : tuple of str
        Names of :class:`~skalm.ElmanRNNRegressor` parameters this solver takes as keyword
        arguments of its constructor (default: :data:`FORWARD_PASS_PARAMS`, the five settings
        every solver has). The estimator passes exactly these (no branching on the solver's
        name). Its other settings are its own constructor arguments: pass an
        instance (``ElmanRNNRegressor(solver=Adam(learning_rate=1e-2))``) to set them, and
        tune them as ``solver__<name>`` in a grid search.

    Settings are declared once, as fields of a keyword-only dataclass
    (:func:`solver_settings`, :func:`setting`): the constructor, :meth:`get_params`,
    :meth:`set_params` and the constraints :meth:`_validate_params` checks follow from the
    declaration. Every solver has ``max_iter``, ``tol``, ``n_iter_no_change``,
    ``blas_threads`` and ``verbose``.
    """

    name = ""
    estimator_params = FORWARD_PASS_PARAMS
    #: The methods of the activation strategy the solver calls (checked before a solve).
    activation_needs = ("sigma",)

    # The settings every solver has. A subclass decorated with :func:`solver_settings`
    # declares its own with :func:`setting` and may redeclare these with other defaults.
    # ``_parameter_constraints`` (checked by :meth:`_validate_params`) is built from the
    # declarations; a subclass with a hand-written ``__init__`` may still extend it as
    # ``{**Solver._parameter_constraints, ...}``. A setting without constraints is not checked.
    max_iter: int = setting(100, COUNT)
    tol: float = setting(1e-4, NON_NEGATIVE)
    n_iter_no_change: int | None = setting(10, COUNT, None)
    blas_threads: int | None = setting(1, COUNT, None)
    verbose: int = setting(0, "verbose")

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

    # -- the protocol: a subclass implements init_state, update and report ----------------
    def init_state(self, problem, activation, weights, random_state=None):
        """The state before the first iteration, starting from ``weights`` (already in the
        problem's dtype). ``random_state`` (a RandomState) serves the stochastic solvers."""
        raise NotImplementedError

    def update(self, state):
        """One iteration: the next state (``state`` itself may be reused). Raises
        :class:`EndOfRun` when the method cannot take another iteration."""
        raise NotImplementedError

    def report(self, state):
        """Keyword arguments of :meth:`IterationMonitor.record
        <skalm.solvers.monitor.IterationMonitor.record>` for the iterate of ``state``."""
        raise NotImplementedError

    def stop_message(self, state):
        """A reason to stop after the iterate of ``state`` was recorded (None: go on)."""
        return None

    def extras(self, state):
        """Solver-specific values of the result (see :class:`SolverResult`)."""
        return {}

    def solve(self, problem, activation, weights0, random_state=None):
        """Train from ``weights0``; return a :class:`SolverResult`.

        Runs :meth:`update` from :meth:`init_state` until the monitor's stopping rules,
        :meth:`stop_message`, an :class:`EndOfRun` or ``max_iter`` end it, with every BLAS
        limited to ``blas_threads`` and floating-point warnings silenced (an overflow on the
        way to a non-finite iterate is divergence, which the monitor reports).
        """
        self._check_activation(activation)
        with blas_limit(self._blas_threads_in_solve()):
            return self._run(problem, activation, weights0, random_state)

    def _blas_threads_in_solve(self):
        """The BLAS limit of :meth:`solve`: ``blas_threads`` (a solver that spends its threads
        otherwise, e.g. on time chunks, overrides this)."""
        return self.blas_threads

    def _check_activation(self, activation):
        """A TypeError naming the methods of :attr:`activation_needs` that ``activation``
        lacks (a method left as the :class:`~skalm.activations.Activation` base's counts as
        lacking)."""
        missing = [
            name for name in self.activation_needs
            if not callable(getattr(activation, name, None))
            or getattr(type(activation), name, None) is getattr(Activation, name, None)
        ]
        if missing:
            raise TypeError(
                f"The solver {type(self).__name__} needs an activation that implements "
                f"{missing}; {type(activation).__name__} does not."
            )

    def _run(self, problem, activation, weights0, random_state):
        weights0 = weights0.astype(problem.dtype)
        monitor = IterationMonitor(
            self.name, problem, activation, weights0, self.max_iter, self.tol,
            self.n_iter_no_change, self.verbose,
        )
        with np.errstate(all="ignore"):
            state = self.init_state(problem, activation, weights0, random_state=random_state)
            for _ in range(int(self.max_iter)):
                try:
                    state = self.update(state)
                except EndOfRun as end:
                    state = state if end.state is None else end.state
                    if end.diverged:
                        monitor.diverge(end.message)
                    else:
                        monitor.stop(end.message, converged=end.converged)
                    break
                if monitor.record(**self.report(state)):
                    break
                message = self.stop_message(state)
                if message:
                    monitor.stop(message)
                    break
            extras = self.extras(state)
        # stacklevel 4: the warning points at the caller of solve (result, _run, solve, caller)
        return monitor.result(extras=extras, stacklevel=4)
