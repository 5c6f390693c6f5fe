"""What :meth:`ElmanRNNRegressor.fit <skalm.ElmanRNNRegressor.fit>` builds before a solver runs.

From the estimator's parameters (and, with ``warm_start``, its fitted weights): the activation
strategy, the solver, the regularization weights, the starting weights and the
:class:`~skalm.solvers.Problem`, gathered by :func:`prepare_fit`. Plain functions of the
estimator that only read it, so that ``fit`` stays validate, prepare, solve, store; and
tables, so that nothing here branches on a solver's or an activation's name.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from .activations import Activation, get_activation
from .model import Lambdas, SequenceLayout, forward, init_weights, linear_path_start, mse_loss
from .solvers import SOLVERS, Problem, Solver, get_solver_class

__all__ = ["FitSetup", "prepare_fit", "make_activation", "make_solver", "make_lambdas"]

#: Activation name -> {strategy parameter: estimator parameter}. Activations not listed take
#: no parameters.
ACTIVATION_PARAMS = {
    "leaky_relu": {"slope": "leaky_slope"},
    "elu": {"alpha": "elu_alpha"},
}

#: Every estimator parameter that is a setting of an activation.
_ALL_ACTIVATION_PARAMS = frozenset(
    ours for table in ACTIVATION_PARAMS.values() for ours in table.values()
)

#: Estimator parameters whose default means "the chosen solver's own default": they are
#: not passed to a solver chosen by name while they hold it.
_SOLVER_DEFAULT = {"max_iter": None, "tol": None, "n_iter_no_change": "auto"}

#: Estimator parameter -> field of :class:`skalm.model.Lambdas` it overrides.
_LAMBDA_PARAMS = {
    "lambda_A": "A",
    "lambda_W": "W",
    "lambda_V": "V",
    "lambda_b": "b",
    "lambda_c": "c",
    "lambda_D": "D",
}


class FitSetup(NamedTuple):
    """What a solver is run with: ``solver.solve(problem, activation, weights0,
    random_state=rng)``."""

    problem: Problem
    activation: Activation
    solver: Solver
    weights0: object
    rng: np.random.RandomState


def _same(a, b):
    try:
        return a is b or (isinstance(a, str) == isinstance(b, str) and bool(a == b))
    except (TypeError, ValueError):
        return False


def _warm(est):
    """Whether this fit starts from the weights of the previous one."""
    return est.warm_start and hasattr(est, "weights_")


def prepare_fit(est, X, Y, layout, sequence_id):
    """Everything ``est.fit`` runs its solver with, for validated ``X`` and 2-D ``Y``.

    Raises the ValueError of a setting that cannot apply (a solver setting out of its range,
    ``warm_start`` with other shapes, ``early_stopping`` that leaves too few rows, a start
    whose forward pass is not finite) and warns about settings nothing reads.
    """
    n_features, n_outputs = X.shape[1], Y.shape[1]
    rng = check_random_state(est.random_state)
    lambdas = make_lambdas(est, n_features, n_outputs)
    activation = make_activation(est)
    solver = make_solver(est)
    # stacklevel 6: warn, warn_unused_settings, prepare_fit, fit and its two decorators.
    warn_unused_settings(est, stacklevel=6)
    weights0 = initial_weights(est, n_features, n_outputs, X.dtype, rng)
    problem = build_problem(est, X, Y, layout, sequence_id, lambdas)
    if weights0.D is not None and not _warm(est):
        D0, c0 = linear_path_start(problem.X, problem.Y, lambdas)
        weights0 = weights0._replace(D=D0, c=c0)
    check_initial_forward(est, weights0, X, Y, activation, layout)
    return FitSetup(problem, activation, solver, weights0, rng)


def make_activation(est):
    """The activation strategy: a copy of an instance, or the registered one built with the
    estimator parameters it reads (:data:`ACTIVATION_PARAMS`)."""
    if isinstance(est.activation, Activation):
        return copy.deepcopy(est.activation)
    params = {
        own: getattr(est, ours)
        for own, ours in ACTIVATION_PARAMS.get(est.activation, {}).items()
    }
    return get_activation(est.activation, **params)


def make_solver(est):
    """The solver, its settings validated: a copy of an instance, or the registered class
    built from the estimator parameters it declares (those left at "the solver's own
    default" are not passed)."""
    if isinstance(est.solver, Solver):
        solver = copy.deepcopy(est.solver)
    else:
        cls = get_solver_class(est.solver)
        solver = cls(**{
            name: getattr(est, name) for name in cls.estimator_params
            if name not in _SOLVER_DEFAULT
            or not _same(getattr(est, name), _SOLVER_DEFAULT[name])
        })
    solver._validate_params()  # every setting, against the solver's own constraints
    return solver


def warn_unused_settings(est, stacklevel=2):
    """One UserWarning naming the parameters set away from their defaults that neither
    the chosen solver nor the chosen activation reads."""
    read = set() if isinstance(est.solver, Solver) else set(
        get_solver_class(est.solver).estimator_params
    )
    if isinstance(est.activation, str):
        read |= set(ACTIVATION_PARAMS.get(est.activation, {}).values())
    defaults = {
        name: p.default for name, p in inspect.signature(type(est).__init__).parameters.items()
    }
    # Every registered solver's estimator parameters, read now: solvers may be
    # registered after import.
    settings = {name for cls in SOLVERS.values() for name in cls.estimator_params}
    unused = [
        name for name in sorted(settings | _ALL_ACTIVATION_PARAMS)
        if name not in read and not _same(getattr(est, name), defaults[name])
    ]
    if unused:
        warnings.warn(
            f"{', '.join(f'{n}={getattr(est, n)!r}' for n in unused)}: not read by "
            f"solver={est.solver!r} with activation={est.activation!r}, so ignored. "
            "Set solver settings on a solver instance (solver__<setting> in a grid "
            "search), activation settings on an activation instance.",
            UserWarning,
            stacklevel=stacklevel,
        )


def make_lambdas(est, n_features, n_outputs):
    """The weights of the penalty: from ``alpha``, each ``lambda_*`` set overriding its
    block's."""
    lambdas = Lambdas.from_alpha(
        est.alpha, est.n_hidden, n_features, n_outputs, l6=est.lambda_u
    )
    explicit = {
        field: float(getattr(est, name))
        for name, field in _LAMBDA_PARAMS.items()
        if getattr(est, name) is not None
    }
    if "D" not in explicit:  # D follows A's weight, explicit or derived from alpha
        explicit["D"] = explicit.get("A", lambdas.A)
    return lambdas._replace(**explicit)


def initial_weights(est, n_features, n_outputs, dtype, rng):
    """The previous fit's weights under ``warm_start`` (D added or dropped as
    ``skip_connection`` now says), else new random ones."""
    if _warm(est):
        W, V, A = est.weights_.W, est.weights_.V, est.weights_.A
        expected = (est.n_hidden, n_features, n_outputs)
        if (W.shape[0], V.shape[1], A.shape[0]) != expected:
            raise ValueError(
                "warm_start needs the same n_hidden, number of features and number of "
                f"outputs as the previous fit: fitted (n_hidden, n_features, n_outputs) = "
                f"{(W.shape[0], V.shape[1], A.shape[0])}, now {expected}."
            )
        weights = est.weights_.copy().astype(dtype)
        if not est.skip_connection:
            return weights._replace(D=None)
        if weights.D is None:  # skip newly on: D = 0 predicts exactly as the last fit
            return weights._replace(D=np.zeros((n_outputs, n_features), dtype))
        return weights
    return init_weights(
        int(est.n_hidden), n_features, n_outputs, init=est.init, scale=est.init_scale,
        random_state=rng, dtype=dtype, skip_connection=bool(est.skip_connection),
    )


def build_problem(est, X, Y, layout, sequence_id, lambdas):
    """The training problem; with ``early_stopping`` the last ``validation_fraction`` of the
    rows become its validation rows."""
    if not est.early_stopping:
        return Problem(X, Y, lambdas, layout)
    T = X.shape[0]
    n_val = int(np.ceil(est.validation_fraction * T))
    if n_val < 1 or T - n_val < 2:
        raise ValueError(
            f"early_stopping with validation_fraction={est.validation_fraction} leaves "
            f"{T - n_val} training and {n_val} validation rows out of {T}; need at least "
            "2 training rows and 1 validation row."
        )
    split = T - n_val
    train_layout = None
    if layout is not None:
        if layout.first[split:].any():
            raise ValueError(
                "early_stopping holds out the last validation_fraction of the rows and "
                "runs them on from the training rows, so they must lie inside the last "
                "sequence of sequence_id and not start it; here a sequence starts among "
                f"the last {n_val} rows."
            )
        train_layout = SequenceLayout.from_sequence_id(np.asarray(sequence_id)[:split])
    return Problem(
        X[:split], Y[:split], lambdas, train_layout, X_val=X[split:], Y_val=Y[split:]
    )


def check_initial_forward(est, weights0, X, Y, activation, layout):
    """The starting weights' forward pass and training loss over (X, Y) must be finite,
    or no solver can start (and the weights it would fall back to are unusable)."""
    with np.errstate(all="ignore"):
        _, H0 = forward(weights0, X, activation, layout)
        loss = mse_loss(weights0, H0, Y, X) if np.all(np.isfinite(H0)) else np.inf
    if weights0.all_finite() and np.isfinite(loss):
        return
    if _warm(est):
        start = "the weights of the previous fit (warm_start=True)"
    else:
        start = f"init={est.init!r}, init_scale={est.init_scale!r}"
    start += f", activation={est.activation!r}" + "".join(
        f", {ours}={getattr(est, ours)!r}"
        for ours in ACTIVATION_PARAMS.get(est.activation, {}).values()
    )
    raise ValueError(
        f"The forward pass of the initial weights ({start}) over X, or its squared "
        f"error on y, is not finite (largest |X| = {float(np.max(np.abs(X))):.3g}). "
        "Scale X and y (e.g. StandardScaler) or use a smaller init_scale."
    )
