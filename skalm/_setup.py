"""What :meth:`ElmanRNNRegressor.fit <skalm.ElmanRNNRegressor.fit>` builds before a solver runs,
and what it stores after.

From the estimator's parameters (and, with ``warm_start``, its fitted weights): the activation
strategy, the solver, the regularization weights, the starting weights and the
:class:`~skalm.solvers.Problem`, gathered by :func:`prepare_fit`; after the solver, the
fitted attributes (:func:`store_fit`), for the in-memory fit and the fit on dask arrays
(:mod:`skalm._dask_fit`) alike. Plain functions of the
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
from .model import (
    DELAY_LINES, Lambdas, SequenceLayout, delay_line_start, forward, init_weights,
    linear_path_start, mse_loss,
)
from .solvers import SOLVERS, Problem, Solver, get_solver_class

__all__ = [
    "FitSetup", "PARAMS_DOC", "prepare_fit", "make_activation", "make_solver", "make_lambdas",
    "store_fit",
]

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


#: The numpydoc entries of the estimator parameters read here, composed into the class
#: docstring of :class:`~skalm.ElmanRNNRegressor` (:func:`skalm._docstring.fill_doc`): each
#: parameter is documented next to the code that turns it into the fit's set-up.
PARAMS_DOC = {
    "activation": r"""activation : {"relu", "leaky_relu", "elu", "tanh"} or Activation instance, default="tanh"
    The activation :math:`\sigma`. ``"leaky_relu"`` is :math:`\max(u, w u)` with
    :math:`w` = ``leaky_slope``; ``"elu"`` is :math:`u` for :math:`u \ge 0` and
    :math:`\alpha_{\mathrm{ELU}}(e^u - 1)` below, with :math:`\alpha_{\mathrm{ELU}}` =
    ``elu_alpha``. ``"tanh"`` is not in the paper (whose experiments use ``"relu"``); it
    is the default because it generalizes better, measured by test error: a saturating
    unit keeps time in the hidden state (a stable cycle), where the paper's ReLU runs
    ended near the linear solution, and its forward pass cannot overflow. Test MSE
    against RidgeCV's on the hidden-oscillator series 0.09x (ReLU 1.03x), NARMA-10 and
    the paper's T=500 set lower too (``docs/user_guide/memory.rst``).""",
    "solver": r"""solver : str or Solver instance, default="alm-bcd"
    The training algorithm. A string is looked up in the registry
    :data:`skalm.solvers.SOLVERS` (an unknown name gives an error that lists the
    registered ones), and the solver is built from this estimator's parameters that it
    declares in its ``estimator_params`` (for ``"alm-bcd"``: ``gamma0``, ``eta1`` to
    ``eta4``, ``mu``, ``max_iter``, ``max_inner_iter``, ``acceleration``, ``tol``,
    ``n_iter_no_change``, ``blas_threads`` and ``verbose``; the other solvers take
    ``max_iter``, ``tol``, ``n_iter_no_change``, ``blas_threads`` and ``verbose``). A
    :class:`skalm.solvers.Solver` *instance* is used as given (a copy of it, with its own
    settings). An instance is how settings that are not estimator parameters are
    reached, e.g. ``solver=ALMBCDSolver(eps0=1e-2)``, and they can be tuned by
    :class:`~sklearn.model_selection.GridSearchCV` as ``solver__eps0``. Nothing is
    ignored silently: ``fit`` warns (``UserWarning``) when an estimator parameter set
    away from its default is one the chosen solver (or activation) does not read, e.g.
    ``gamma0`` with ``solver="lbfgs"``, or any solver setting with a solver instance.""",
    "alpha": r"""alpha : float, default=1.0
    The paper's regularization scale :math:`\tau` (Table 2). Each weight block's
    :math:`\lambda` is ``alpha`` divided by the block's entry count:
    :math:`\lambda_1 = \tau/(r m)` (A), :math:`\lambda_2 = \tau/r^2` (W),
    :math:`\lambda_3 = \tau/(r n)` (V), :math:`\lambda_4 = \tau/r` (b),
    :math:`\lambda_5 = \tau/m` (c), so each block's penalty is ``alpha`` times the mean
    square of its entries. The paper uses :math:`\tau = 1` for S&P volatility, 12 and
    500 for its synthetic sets. A ``lambda_*`` parameter set explicitly overrides its
    block's value.""",
    "lambda_A": r"""lambda_A : float or None, default=None
    :math:`\lambda_1`, weight of :math:`\|A\|_F^2` (output weights). None: ``alpha/(r m)``.""",
    "lambda_W": r"""lambda_W : float or None, default=None
    :math:`\lambda_2`, weight of :math:`\|W\|_F^2` (recurrent weights). None:
    ``alpha/r**2``.""",
    "lambda_V": r"""lambda_V : float or None, default=None
    :math:`\lambda_3`, weight of :math:`\|V\|_F^2` (input weights). None: ``alpha/(r n)``.""",
    "lambda_b": r"""lambda_b : float or None, default=None
    :math:`\lambda_4`, weight of :math:`\|b\|^2` (hidden bias). None: ``alpha/r``.""",
    "lambda_c": r"""lambda_c : float or None, default=None
    :math:`\lambda_5`, weight of :math:`\|c\|^2` (output bias). None: ``alpha/m``.""",
    "lambda_u": r"""lambda_u : float, default=1e-8
    :math:`\lambda_6`, weight of :math:`\|u\|^2`, the pre-activations (not derived from
    ``alpha``; the paper's value is 1e-8).""",
    "lambda_D": r"""lambda_D : float or None, default=None
    :math:`\lambda_D`, weight of :math:`\|D\|_F^2`, the skip weights (not in the paper;
    only read with ``skip_connection=True``). None: the output weights' value
    :math:`\lambda_1`. Set on its own, it tunes the linear path apart from the recurrent
    one: with the recurrent part switched off by its penalty (:math:`A = 0`) and
    ``lambda_c=0`` the model is :class:`~sklearn.linear_model.Ridge` with
    ``alpha = n_samples * lambda_D``.""",
    "skip_connection": r"""skip_connection : bool, default=False
    Add a linear skip connection from input to output:
    :math:`\hat y_t = A h_t + D x_t + c` with :math:`D` of shape (n_outputs,
    n_features), penalized by :math:`\lambda_D \|D\|_F^2` (``lambda_D``). The linear
    path starts from the ridge solution (:math:`D`, :math:`c` minimizing the objective
    with :math:`A = 0`), so the initial network is ridge regression plus the small random
    recurrent part. False (default): the paper's model. Every solver supports it; see
    the :ref:`user guide <skip-connection>`.""",
    "leaky_slope": r"""leaky_slope : float, default=0.01
    Slope :math:`w \in (0, 1)` of ``"leaky_relu"`` on the negative half-line. Only
    read when ``activation="leaky_relu"``.""",
    "elu_alpha": r"""elu_alpha : float, default=1.0
    Scale :math:`\alpha > 0` of the negative branch of ``"elu"`` (the paper uses 1).
    Only read when ``activation="elu"``. Not to be confused with ``alpha``.""",
    "max_iter": r"""max_iter : int or None, default=None
    Cap on the solver's iterations (for ALM-BCD the outer iterations :math:`k`). A
    :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it ends the fit
    before a stopping rule is met. None: the chosen solver's own default (100 for
    ``"alm-bcd"``, 500 for ``"lbfgs"``, ``"gd"``, ``"gd-clip"``, ``"nesterov"`` and
    ``"adam"``, 200 for ``"sgd"`` and ``"admmirnn"``, 100 for ``"nails"`` and
    ``"nailm"``). What one iteration is differs between solvers (:ref:`solvers`).
    0: no solver runs and the fitted network is the start itself (``init``, with the
    linear path's ridge start or, for a delay line, its regression; with
    ``warm_start``, the previous fit), without a warning.""",
    "tol": r"""tol : float or None, default=None
    Relative improvement that counts for the practical stopping rule (see
    ``n_iter_no_change``). None: the chosen solver's own default (1e-3 for
    ``"alm-bcd"``, 1e-4 for the others).""",
    "n_iter_no_change": r"""n_iter_no_change : int, None or "auto", default="auto"
    Practical stopping rule: stop when for this many consecutive outer iterations
    neither the training objective :math:`R` (of the true forward pass) nor FeasVio
    (while it exceeds ``tol`` times the norm of the auxiliary hidden states)
    improved by a relative ``tol`` on their best values -- or, with
    ``early_stopping=True``, when the validation loss did not. None: only the paper's
    rule :math:`\epsilon_k \le \epsilon_*` and the caps stop the run. ``"auto"``: the
    chosen solver's own default (10; 5 for ``"nails"`` and ``"nailm"``).""",
    "early_stopping": r"""early_stopping : bool, default=False
    Hold out the *last* ``validation_fraction`` of the training rows, in time order, as
    validation rows. They are not trained on; their loss is computed by running the
    recurrence on from the end of the remaining training rows (the paper's test
    protocol), recorded in ``history_["val_loss"]``, drives ``n_iter_no_change``, and
    the weights of the best validated iteration are kept. With ``sequence_id``, the
    validation rows must lie inside the last sequence (and not start it).""",
    "validation_fraction": r"""validation_fraction : float, default=0.1
    Fraction of the rows held out when ``early_stopping=True``.""",
    "init": r"""init : {"normal", "he", "glorot", "lecun", "delay", "delay_prediction"}, \
default="normal"
    Initial weights (biases start at 0; paper section 5.4). ``"normal"``: every
    weight :math:`N(0, \text{init\_scale}^2)`; ``"he"``, ``"glorot"``, ``"lecun"``: the
    standard deviation of that rule for each matrix. ``"delay"`` and
    ``"delay_prediction"`` (not random; for activations that are the identity on positive
    inputs: relu, leaky_relu, elu): the hidden units start as a delay line, and the
    output weights as the ridge regression on what it holds
    (:func:`skalm.model.delay_line_start`), so the fit starts from a linear
    autoregressive model and grows the recurrence from it. ``"delay"`` holds the inputs of
    the last ``n_hidden // n_features`` steps; ``"delay_prediction"`` the last
    ``n_hidden // n_outputs`` values of their linear (ridge) prediction with
    ``skip_connection=True`` (the skip path carries the inputs; any number of them), the
    inputs and the last ``(n_hidden - n_features) // n_outputs`` values without: further
    back than lags of every input.""",
    "init_scale": r"""init_scale : float, default=0.1
    Standard deviation of ``init="normal"`` (the paper's :math:`N(0, 0.1)`). The
    spectral radius of :math:`W` is then about ``init_scale`` :math:`\sqrt{r}`: above 1
    for ``n_hidden`` > 100, where the forward pass of the start grows geometrically along
    the sequence. For wide networks use ``init="lecun"`` or ``"glorot"`` or a smaller
    scale (bundled S&P data, ``n_hidden=200``: the default start makes ALM-BCD diverge
    at its third iteration, with a warning; ``init="lecun"`` reaches test MSE 0.018).""",
    "verbose": r"""verbose : int, default=0
    ``1``: print one line per outer iteration (training loss, FeasVio, certificate
    :math:`\kappa`, penalty :math:`\gamma`, elapsed and estimated remaining time).""",
    "blas_threads": r"""blas_threads : int or None, default=1
    BLAS threads used while the solver runs (threadpoolctl); None leaves the process
    setting alone. For ``alm-bcd`` it is the number of threads that sweep time chunks of
    long sequences (T >= 2000), with the same result up to rounding, while BLAS stays on
    one thread (see the performance notes of the user guide). One thread is the default:
    one fit per core (``n_jobs`` in a grid search) uses a machine best.""",
    "warm_start": r"""warm_start : bool, default=False
    Start from the fitted weights of the previous call to :meth:`fit` instead of new
    random ones (the ALM itself restarts: multipliers 0, penalty ``gamma0``). The data
    must have the same number of features and outputs. If ``skip_connection`` changed
    since that fit, the previous :math:`W, V, b, A, c` are kept and :math:`D` starts at
    zero (skip turned on: the start predicts exactly as the previous fit) or is dropped
    (skip turned off).""",
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
    if weights0 is None:  # a delay line: built from the training rows
        weights0 = delay_line_start(problem.X, problem.Y, est.n_hidden, lambdas, activation,
                                    problem.layout, skip_connection=bool(est.skip_connection),
                                    lags_of=DELAY_LINES[est.init])
    elif weights0.D is not None and not _warm(est):
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
            if (name not in _SOLVER_DEFAULT
                or not _same(getattr(est, name), _SOLVER_DEFAULT[name]))
            # max_iter=0 runs no solver (the fit keeps the start): not a solver setting
            and not (name == "max_iter" and _same(getattr(est, name), 0))
        })
    solver._validate_params()  # every setting, against the solver's own constraints
    return solver


def solver_estimator_params():
    """Every registered solver's estimator parameters, read now: solvers may be registered
    after import."""
    return {name for cls in SOLVERS.values() for name in cls.estimator_params}


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
    settings = solver_estimator_params()
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
    if est.init in DELAY_LINES:
        return None  # the start depends on the data: prepare_fit builds it
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


def store_fit(est, result, weights, forward_finite, *, activation, lambdas, forward_check,
              hidden_state, n_outputs, y_1d, train_rows):
    """Set the fitted attributes of ``est`` from the solver's ``result`` and its ``weights``
    (in the data's dtype), or raise when the weights or their forward pass over the training
    rows (``forward_finite``) are not finite."""
    if not (weights.all_finite() and forward_finite):
        raise ValueError(
            "The solver returned weights whose forward pass over the training rows is not "
            f"finite ({result.message or 'no message'}). Scale X and y (e.g. StandardScaler), "
            "or increase the regularization alpha."
        )
    est.weights_ = weights
    est.recurrent_weights_ = weights.W
    est.input_weights_ = weights.V
    est.hidden_bias_ = weights.b
    est.output_weights_ = weights.A
    est.output_bias_ = weights.c
    est.skip_weights_ = weights.D
    est.activation_ = activation
    est.lambdas_ = lambdas
    est.history_ = {key: list(values) for key, values in result.history.items()}
    est.n_iter_ = int(result.n_iter)
    est.forward_check_ = forward_check
    est.hidden_state_ = hidden_state
    est.n_outputs_ = n_outputs
    est._y_1d = y_1d
    # What the "auto" initial-state rule needs to place later rows (see _state.py).
    est._train_rows = train_rows
