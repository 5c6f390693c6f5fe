"""The scikit-learn estimator: :class:`ElmanRNNRegressor`.

The class is thin. ``fit`` validates the data once, builds a :class:`skalm.solvers.Problem`,
looks up the activation strategy and the solver in their registries, runs the solver and stores
the result. ``predict`` validates, chooses the initial hidden state (see the class docstring)
and runs :func:`skalm.model.forward`. Nothing in here knows which solver it is talking to.
"""

from __future__ import annotations

import copy
import hashlib
import re
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .activations import ACTIVATIONS, get_activation
from .model import (
    INITIALIZATIONS,
    Lambdas,
    SequenceLayout,
    forward,
    init_weights,
    linear_path_start,
    mse_loss,
    predict_outputs,
)
from .solvers import SOLVERS, Problem, Solver, get_solver_class
from .solvers.safety import check_forward_pass

__all__ = ["ElmanRNNRegressor"]

#: Initial-state rules accepted by ``initial_state`` (and by ``predict(initial_state=...)``).
INITIAL_STATES = ("auto", "zeros", "continue")

#: Activation name -> {strategy parameter: estimator parameter}. Activations not listed take
#: no parameters. A table, so that ``fit`` never branches on the activation's name.
_ACTIVATION_PARAMS = {
    "leaky_relu": {"slope": "leaky_slope"},
    "elu": {"alpha": "elu_alpha"},
}

#: Estimator parameter -> field of :class:`skalm.model.Lambdas` it overrides.
_LAMBDA_PARAMS = {
    "lambda_A": "A",
    "lambda_W": "W",
    "lambda_V": "V",
    "lambda_b": "b",
    "lambda_c": "c",
    "lambda_D": "D",
}


#: Floating dtypes the estimator computes in; any other input is converted to float64.
_DTYPES = [np.float64, np.float32]


@contextmanager
def _blame(name):
    """Make a ValueError/TypeError raised inside name the argument ``name``.

    scikit-learn's checks often say what is wrong without saying which argument ("Expected
    2D array", "Complex data not supported"); such a message gets ``Invalid <name>: `` in
    front. Messages that already name the argument are left alone.
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", str(exc)):
            raise
        cls = ValueError if isinstance(exc, ValueError) else TypeError
        raise cls(f"Invalid {name}: {exc}") from exc


def _missing_labels(sid):
    """Boolean mask of the missing entries (NaN, NaT, None, pd.NA) of a label array."""
    kind = sid.dtype.kind
    if kind in "fc":
        return np.isnan(sid)
    if kind in "mM":
        return np.isnat(sid)
    if kind == "O":
        def missing(v):
            try:
                return v is None or bool(v != v)
            except (TypeError, ValueError):  # pd.NA: its comparisons are ambiguous
                return True
        return np.array([missing(v) for v in sid], dtype=bool)
    return np.zeros(sid.shape, dtype=bool)


def _validate_fit_data(estimator, X, y):
    """validate_data for the fit of ``estimator`` (a skalm regressor), after checking X, then
    y, then their lengths one at a time (without side effects), so that an error names the
    argument at fault."""
    if y is None:
        raise ValueError(
            f"This {type(estimator).__name__} estimator requires y to be passed, but the "
            "target y is None."
        )
    with _blame("X"):
        n_rows = check_array(X, dtype=_DTYPES, estimator=estimator, input_name="X").shape[0]
    with _blame("y"):
        y_checked = check_array(y, ensure_2d=False, dtype=_DTYPES, estimator=estimator,
                                input_name="y")
    if y_checked.shape[0] != n_rows:
        raise ValueError(
            f"X and y have inconsistent numbers of rows: X has {n_rows}, y has "
            f"{y_checked.shape[0]}."
        )
    with _blame("X"):  # what is left: the feature names of X
        X, y = validate_data(estimator, X, y, multi_output=True, y_numeric=True, dtype=_DTYPES)
    # The objective squares residuals and pre-activations (sums over the rows): entries
    # near sqrt(largest float) overflow it. 1e-4 of that leaves room for the sums.
    limit = 1e-4 * float(np.sqrt(np.finfo(X.dtype).max))
    for name, values in (("X", X), ("y", y_checked)):  # y_checked: numbers, not strings
        peak = float(np.max(np.abs(values)))
        if peak > limit:
            raise ValueError(
                f"{name} has entries as large as {peak:.3g}: beyond {limit:.2g} the "
                f"squared errors of the training objective overflow in {X.dtype}. Scale "
                f"{name} first (e.g. with StandardScaler"
                + (", or TransformedTargetRegressor for y)." if name == "y" else ").")
            )
    return X, y


def _fingerprint(X):
    """A short digest of an array's shape, dtype and bytes (blake2b, 16 bytes)."""
    X = np.ascontiguousarray(X)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((X.shape, X.dtype.str)).encode())
    digest.update(memoryview(X).cast("B"))
    return digest.hexdigest()


def _check_sequence_id(sequence_id, n_samples):
    """Validate a per-row sequence label; return the :class:`SequenceLayout` (or None)."""
    if sequence_id is None:
        return None
    with _blame("sequence_id"):
        sid = np.asarray(sequence_id)
        if sid.ndim != 1 or sid.shape[0] != n_samples:
            raise ValueError(
                "sequence_id must be a 1-D array with one label per row of X: got shape "
                f"{sid.shape} for {n_samples} rows."
            )
        missing = _missing_labels(sid)
        if missing.any():
            # NaN != NaN: each such row would silently become a sequence of its own.
            raise ValueError(
                f"sequence_id has {int(missing.sum())} missing labels (NaN, None or NaT), "
                f"the first at row {int(np.argmax(missing))}; every row needs a label."
            )
        return SequenceLayout.from_sequence_id(sid)


class _SequenceRegressorMixin(RegressorMixin):
    """score and tags shared by skalm's regressors: R^2 of predict with the sequence labels,
    an error (not a NaN score) when the forward pass overflows; multi-output, no NaN input."""

    def score(self, X, y, sample_weight=None, sequence_id=None):
        """Coefficient of determination :math:`R^2` of :meth:`predict` on ``(X, y)``.

        The hidden state before the first row follows ``initial_state`` (see the class
        docstring): under ``"auto"`` the training rows are replayed from zero and any other
        rows continue from ``hidden_state_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs in time order.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the score.

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels, as in :meth:`predict`.

        Returns
        -------
        score : float
            :math:`R^2` of ``self.predict(X, sequence_id=sequence_id)``.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # non-finite: the error below
            y_pred = self.predict(X, sequence_id=sequence_id)
        if not np.all(np.isfinite(y_pred)):
            raise ValueError(
                "The forward pass over X overflowed: some predictions are not finite, so no "
                "score can be computed. X may be far outside the training range."
            )
        if y is None:
            raise ValueError("score requires the true targets y, got None.")
        with _blame("y"):
            y = check_array(y, ensure_2d=False, dtype=_DTYPES, estimator=self, input_name="y")
        n_out = 1 if y.ndim == 1 else y.shape[1]
        if y.shape[0] != y_pred.shape[0] or n_out != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[0]} rows and {n_out} outputs; X has {y_pred.shape[0]} rows "
                f"and the model predicts {self.n_outputs_} outputs."
            )
        if sample_weight is None:
            return r2_score(y, y_pred)
        with _blame("sample_weight"):
            return r2_score(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags


class ElmanRNNRegressor(_SequenceRegressorMixin, BaseEstimator):
    r"""Elman recurrent network regressor trained by ALM-BCD (Wang, Zhang and Chen, 2024).

    The model reads the rows of ``X`` as consecutive time steps and predicts ``y_t`` from
    the inputs up to step ``t``::

        u_t = W h_{t-1} + V x_t + b,   h_t = sigma(u_t),   yhat_t = A h_t + c,   h_0 = 0

    (with ``skip_connection=True``, ``yhat_t = A h_t + D x_t + c``). By default it is
    trained by the paper's augmented Lagrangian method (ALM) whose subproblems are solved by
    block coordinate descent (BCD) with closed-form blocks. The training problem is

    .. math::

        \min\ \frac1T \sum_t \|y_t - A h_t - c\|^2
        + \lambda_1\|A\|_F^2 + \lambda_2\|W\|_F^2 + \lambda_3\|V\|_F^2
        + \lambda_4\|b\|^2 + \lambda_5\|c\|^2 + \lambda_6\|u\|^2

    subject to ``u_t = W h_{t-1} + V x_t + b`` and ``h_t = sigma(u_t)`` (with
    ``skip_connection=True`` the residual is :math:`y_t - A h_t - D x_t - c` and
    :math:`\lambda_1\|D\|_F^2` is added). Read more in the :ref:`user guide <method>`.

    Parameters
    ----------
    n_hidden : int, default=20
        Number of hidden units, the paper's :math:`r`.

    activation : {"relu", "leaky_relu", "elu", "tanh"}, default="relu"
        The activation :math:`\sigma`. ``"leaky_relu"`` is :math:`\max(u, w u)` with
        :math:`w` = ``leaky_slope``; ``"elu"`` is :math:`u` for :math:`u \ge 0` and
        :math:`\alpha_{\mathrm{ELU}}(e^u - 1)` below, with :math:`\alpha_{\mathrm{ELU}}` =
        ``elu_alpha``. ``"tanh"`` is not in the paper.

    solver : str or Solver instance, default="alm-bcd"
        The training algorithm. A string is looked up in the registry
        :data:`skalm.solvers.SOLVERS` (an unknown name gives an error that lists the
        registered ones), and the solver is built from this estimator's parameters that it
        declares in its ``estimator_params`` (for ``"alm-bcd"``: ``gamma0``, ``eta1`` to
        ``eta4``, ``mu``, ``max_iter``, ``max_inner_iter``, ``acceleration``, ``tol``,
        ``n_iter_no_change``, ``blas_threads`` and ``verbose``). A
        :class:`skalm.solvers.Solver` *instance* is used as given (a copy of it, with its own
        settings; the estimator's solver settings above are then ignored). An instance is
        how settings that are not estimator parameters are reached, e.g.
        ``solver=ALMBCDSolver(eps0=1e-2)``, and they can be tuned by
        :class:`~sklearn.model_selection.GridSearchCV` as ``solver__eps0``.

    alpha : float, default=1.0
        The paper's regularization scale :math:`\tau` (Table 2). Each weight block's
        :math:`\lambda` is ``alpha`` divided by the block's entry count:
        :math:`\lambda_1 = \tau/(r m)` (A), :math:`\lambda_2 = \tau/r^2` (W),
        :math:`\lambda_3 = \tau/(r n)` (V), :math:`\lambda_4 = \tau/r` (b),
        :math:`\lambda_5 = \tau/m` (c), so each block's penalty is ``alpha`` times the mean
        square of its entries. The paper uses :math:`\tau = 1` for S&P volatility, 12 and
        500 for its synthetic sets. A ``lambda_*`` parameter set explicitly overrides its
        block's value.

    lambda_A : float or None, default=None
        :math:`\lambda_1`, weight of :math:`\|A\|_F^2` (output weights). None: ``alpha/(r m)``.

    lambda_W : float or None, default=None
        :math:`\lambda_2`, weight of :math:`\|W\|_F^2` (recurrent weights). None:
        ``alpha/r**2``.

    lambda_V : float or None, default=None
        :math:`\lambda_3`, weight of :math:`\|V\|_F^2` (input weights). None: ``alpha/(r n)``.

    lambda_b : float or None, default=None
        :math:`\lambda_4`, weight of :math:`\|b\|^2` (hidden bias). None: ``alpha/r``.

    lambda_c : float or None, default=None
        :math:`\lambda_5`, weight of :math:`\|c\|^2` (output bias). None: ``alpha/m``.

    lambda_u : float, default=1e-8
        :math:`\lambda_6`, weight of :math:`\|u\|^2`, the pre-activations (not derived from
        ``alpha``; the paper's value is 1e-8).

    lambda_D : float or None, default=None
        :math:`\lambda_D`, weight of :math:`\|D\|_F^2`, the skip weights (not in the paper;
        only read with ``skip_connection=True``). None: the output weights' value
        :math:`\lambda_1`. Set on its own, it tunes the linear path apart from the recurrent
        one: with the recurrent part switched off by its penalty (:math:`A = 0`) and
        ``lambda_c=0`` the model is :class:`~sklearn.linear_model.Ridge` with
        ``alpha = n_samples * lambda_D``.

    skip_connection : bool, default=False
        Add a linear skip connection from input to output:
        :math:`\hat y_t = A h_t + D x_t + c` with :math:`D` of shape (n_outputs,
        n_features), penalized by :math:`\lambda_D \|D\|_F^2` (``lambda_D``). The linear
        path starts from the ridge solution (:math:`D`, :math:`c` minimizing the objective
        with :math:`A = 0`), so the initial network is ridge regression plus the small random
        recurrent part. False (default): the paper's model. Every solver supports it; see
        the :ref:`user guide <skip-connection>`.

    leaky_slope : float, default=0.01
        Slope :math:`w \in (0, 1)` of ``"leaky_relu"`` on the negative half-line. Only
        read when ``activation="leaky_relu"``.

    elu_alpha : float, default=1.0
        Scale :math:`\alpha > 0` of the negative branch of ``"elu"`` (the paper uses 1).
        Only read when ``activation="elu"``. Not to be confused with ``alpha``.

    gamma0 : float, default=1.0
        :math:`\gamma_0 > 0`, the initial penalty of the augmented Lagrangian.

    eta1 : float, default=0.99
        :math:`\eta_1 \in (0, 1)`: the penalty stays the same when FeasVio fell below
        :math:`\eta_1` times its previous value.

    eta2 : float, default=5/6
        :math:`\eta_2 \in (0, 1)`: otherwise the penalty grows at least by :math:`1/\eta_2`.

    eta3 : float, default=0.01
        :math:`\eta_3 > 0`: ... and at least to :math:`\|\xi\|^{1+\eta_3}`,
        :math:`\|\zeta\|^{1+\eta_3}`. The paper's convergence proof (Thm 4.7) needs
        :math:`\eta_3 > 1`; its experiments, and this default, use 0.01.

    eta4 : float, default=5/6
        :math:`\eta_4 \in (0, 1)`: the inner tolerance shrinks as
        :math:`\epsilon_k = \eta_4 \epsilon_{k-1}`.

    mu : float, default=1e-5
        :math:`\mu > 0`, the proximal weight of the u-block (``sigma`` in the paper's code).

    max_iter : int, default=100
        Cap on the outer (ALM) iterations :math:`k`. A :class:`~sklearn.exceptions.
        ConvergenceWarning` is raised when it ends the fit before a stopping rule is met.

        **The same cap for every solver named by a string.** A solver given by name takes
        this value, and ``tol`` and ``n_iter_no_change``, from the estimator, not its own
        class default: ``solver="lbfgs"`` runs at most 100 L-BFGS iterations with
        ``tol=1e-3``, although ``LBFGS()`` alone defaults to 500 and 1e-4 (likewise 500 epochs
        for ``"gd"``, ``"gd-clip"``, ``"nesterov"`` and ``"adam"``, 200 for ``"sgd"`` and
        ``"admmirnn"``; ``n_iter_no_change=5`` for ``"nails"`` and ``"nailm"``). What one
        iteration is differs between solvers (:ref:`solvers`). A solver *instance* keeps its
        own settings: ``solver=LBFGS()`` runs up to 500.

    max_inner_iter : int, default=50
        Cap on the BCD sweeps of one inner loop (``submaxiter`` in the paper's code, whose
        default is 100). With the momentum carried across outer iterations, shorter inner
        loops lose little per sweep and let the practical rule stop sooner: on the paper's
        T=500 set, 50 stops at R = 8.09 after 3,350 sweeps (26 s), 100 at R = 7.88 after
        7,300 (57 s); L-BFGS reaches 8.37 (``benchmarks/alm_acceleration.py``).

    acceleration : {"nesterov"} or None, default="nesterov"
        ALM-BCD's inner loop. ``"nesterov"`` starts every BCD sweep from an extrapolated
        (h, u) and falls back to a plain sweep (restarting the momentum) whenever that would
        raise the augmented Lagrangian, so the inner loop stays monotone; the momentum
        carries over between outer iterations. Not in the paper: on the paper's T=500
        synthetic set the paper's BCD stalls (R = 13.6 after 100 outer iterations at these
        defaults) where the extrapolated one passes L-BFGS's R = 8.37 after 10 and stops by
        the practical rule at R = 7.88. None runs the paper's Algorithm 3.2 exactly.

    tol : float, default=1e-3
        Relative improvement that counts for the practical stopping rule (see
        ``n_iter_no_change``). Passed to any solver given by name (see ``max_iter``).

    n_iter_no_change : int or None, default=10
        Practical stopping rule: stop when for this many consecutive outer iterations
        neither the training objective :math:`R` (of the true forward pass) nor FeasVio
        (while it exceeds ``tol`` times the norm of the auxiliary hidden states)
        improved by a relative ``tol`` on their best values -- or, with
        ``early_stopping=True``, when the validation loss did not. None: only the paper's
        rule :math:`\epsilon_k \le \epsilon_*` and the caps stop the run. Passed to any
        solver given by name (see ``max_iter``).

    early_stopping : bool, default=False
        Hold out the *last* ``validation_fraction`` of the training rows, in time order, as
        validation rows. They are not trained on; their loss is computed by running the
        recurrence on from the end of the remaining training rows (the paper's test
        protocol), recorded in ``history_["val_loss"]``, drives ``n_iter_no_change``, and
        the weights of the best validated iteration are kept. With ``sequence_id``, the
        validation rows must lie inside the last sequence (and not start it).

    validation_fraction : float, default=0.1
        Fraction of the rows held out when ``early_stopping=True``.

    init : {"normal", "he", "glorot", "lecun"}, default="normal"
        Initial weights (biases start at 0; paper section 5.4). ``"normal"``: every
        weight :math:`N(0, \text{init\_scale}^2)`; the others use the standard deviation of
        the He, Glorot or LeCun rule for each matrix.

    init_scale : float, default=0.1
        Standard deviation of ``init="normal"`` (the paper's :math:`N(0, 0.1)`). The
        spectral radius of :math:`W` is then about ``init_scale`` :math:`\sqrt{r}`: above 1
        for ``n_hidden`` > 100, where the forward pass of the start grows geometrically along
        the sequence. For wide networks use ``init="lecun"`` or ``"glorot"`` or a smaller
        scale (bundled S&P data, ``n_hidden=200``: the default start makes ALM-BCD diverge
        at its third iteration, with a warning; ``init="lecun"`` reaches test MSE 0.018).

    initial_state : {"auto", "zeros", "continue"}, default="auto"
        Hidden state before the first row passed to :meth:`predict` (and :meth:`score`):

        - ``"auto"``: if ``X`` is exactly the training ``X`` (same shape, dtype and
          bytes), the training rows are replayed from :math:`h_0 = 0` with the training
          sequences; any other ``X`` is taken to be the continuation of the series right
          after the training rows and starts from ``hidden_state_``.
        - ``"zeros"``: always start from :math:`h_0 = 0` (``X`` is a new sequence).
        - ``"continue"``: always start from ``hidden_state_``.

        See Notes for the reason. :meth:`predict` can override it per call.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (and any randomness of the solver). Pass an int for
        reproducible fits.

    verbose : int, default=0
        ``1``: print one line per outer iteration (training loss, FeasVio, certificate
        :math:`\kappa`, penalty :math:`\gamma`, elapsed and estimated remaining time).

    warm_start : bool, default=False
        Start from the fitted weights of the previous call to :meth:`fit` instead of new
        random ones (the ALM itself restarts: multipliers 0, penalty ``gamma0``). The data
        must have the same number of features and outputs. If ``skip_connection`` changed
        since that fit, the previous :math:`W, V, b, A, c` are kept and :math:`D` starts at
        zero (skip turned on: the start predicts exactly as the previous fit) or is dropped
        (skip turned off).

    blas_threads : int or None, default=1
        BLAS threads used while the solver runs (threadpoolctl); None leaves the process
        setting alone. For ``alm-bcd`` it is the number of threads that sweep time chunks of
        long sequences (T >= 2000), with the same result up to rounding, while BLAS stays on
        one thread (see the performance notes of the user guide). One thread is the default:
        one fit per core (``n_jobs`` in a grid search) uses a machine best.

    Attributes
    ----------
    recurrent_weights_ : ndarray of shape (n_hidden, n_hidden)
        :math:`W`, hidden-to-hidden weights.

    input_weights_ : ndarray of shape (n_hidden, n_features)
        :math:`V`, input-to-hidden weights.

    hidden_bias_ : ndarray of shape (n_hidden,)
        :math:`b`.

    output_weights_ : ndarray of shape (n_outputs, n_hidden)
        :math:`A`, hidden-to-output weights.

    output_bias_ : ndarray of shape (n_outputs,)
        :math:`c`.

    skip_weights_ : ndarray of shape (n_outputs, n_features) or None
        :math:`D`, input-to-output weights of the skip connection; None when
        ``skip_connection=False``.

    weights_ : RNNWeights
        The five arrays above as one named tuple ``(W, V, b, A, c)``; its field ``D`` is
        ``skip_weights_`` (iterating over it yields ``D`` as a sixth array only when there is
        a skip connection).

    activation_ : Activation
        The activation strategy used (from :data:`skalm.activations.ACTIVATIONS`).

    lambdas_ : Lambdas
        The regularization weights :math:`\lambda_1, \dots, \lambda_6` actually used.

    history_ : dict of lists
        One entry per outer iteration, all lists of length ``n_iter_``: ``"train_loss"``
        (mean squared error of the true forward pass over the training rows, the paper's
        TrainErr), ``"objective"`` (:math:`R`: loss plus penalty), ``"feasibility"``
        (FeasVio :math:`= \max(\|C_1\|, \|C_2\|)`), ``"kappa"`` (stationarity certificate
        of the last sweep), ``"gamma"`` (penalty after the update), ``"n_inner"`` (BCD
        sweeps), ``"time"`` (seconds since the start of the fit) and, with
        ``early_stopping``, ``"val_loss"``. Other solvers record the same keys.

    n_iter_ : int
        Outer iterations run.

    hidden_state_ : ndarray of shape (n_hidden,)
        :math:`h_T`, the hidden state after the last row passed to :meth:`fit` (the end of
        the last sequence), computed by a forward pass of the learned weights.

    forward_check_ : dict
        What the forward-pass check after the solver found and did
        (:func:`skalm.solvers.safety.check_forward_pass`, :ref:`safety`): ``"own_loss"``
        (the solver's own training loss, e.g. ALM-BCD's with its auxiliary hidden states),
        ``"forward_loss"`` (that of the true forward pass of the solver's weights),
        ``"zero_loss"`` (that of predicting 0), ``"threshold"``, ``"blowup"`` (True when the
        solver's weights were replaced), ``"kept"`` (``"solver"``, ``"shrink"``,
        ``"polish"`` or ``"initial"``), ``"candidates"`` (name -> objective :math:`R`) and
        ``"message"``. ``history_`` and ``n_iter_`` describe the solver's run only.

    n_outputs_ : int
        Number of targets :math:`m`.

    n_features_in_ : int
        Number of features :math:`n` seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during :meth:`fit`. Defined only when ``X`` has feature
        names that are all strings.

    See Also
    --------
    skalm.solvers.ALMBCDSolver : The default solver and its extra settings.
    sklearn.neural_network.MLPRegressor : A feed-forward network (no recurrence).

    Notes
    -----
    **Rows are time.** ``X`` holds consecutive time steps, so the order of the rows matters
    and a subset of the rows is a different input. Several independent sequences are
    passed with ``fit(X, y, sequence_id=...)``: one label per row, a new sequence starts
    wherever the label changes, with :math:`h_0 = 0`. ``sequence_id`` is a per-row array,
    so cross-validation slices it with the rows (with metadata routing enabled, request it
    with ``est.set_fit_request(sequence_id=True)``).

    **Which hidden state predictions start from.** A causal model evaluated on the part of
    a series that follows the training part must start from the state the training rows
    left behind: that is the paper's test protocol (the recurrence runs through the
    training steps and on into the test steps). The same model scored on its own training
    rows must run them from :math:`h_0 = 0`, exactly as during training. With
    :class:`~sklearn.model_selection.TimeSeriesSplit`, ``cross_validate`` and
    ``GridSearchCV`` call ``score`` with the training fold (for train scores) and with the
    test fold that immediately follows it. The default ``initial_state="auto"`` makes both
    right without any extra argument: it recognises the training ``X`` by a digest of its
    bytes computed at fit time and replays it from zero, and treats any other ``X`` as the
    continuation. When ``X`` is *not* the continuation (a new, independent series, or
    cross-validation with folds that are not in time order, such as ``KFold`` or
    ``GroupKFold`` over sequences), set ``initial_state="zeros"`` or pass it to
    :meth:`predict`. :meth:`predict` never modifies the estimator: predicting twice gives
    the same result.

    ``predict(X, sequence_id=...)`` and ``score(..., sequence_id=...)`` accept sequence
    labels too: every sequence after the first starts from zero, the first one follows the
    rule above. Their metadata request defaults to False (not routed); use
    ``est.set_score_request(sequence_id=True)`` to route the test fold's labels.

    Predictions always come from a true forward pass of the learned weights, never from
    the solver's auxiliary variables. After every solver, that forward pass over the training
    rows is compared with the solver's own training loss: weights whose forward pass blows
    up (non-finite, or more than 10 times worse than the solver's loss and than predicting 0)
    are replaced by the best of a spectral-norm safeguard on :math:`W`, a short L-BFGS
    polish on :math:`R` and the initial weights, with a ConvergenceWarning; see
    :ref:`safety` and ``forward_check_``.

    References
    ----------
    .. [1] Yue Wang, Chao Zhang and Xiaojun Chen (2024). "An augmented Lagrangian method
       for training recurrent neural networks." arXiv:2402.13687.

    Examples
    --------
    >>> import numpy as np
    >>> from skalm import ElmanRNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(120, 3))
    >>> y = np.convolve(X[:, 0], [0.5, 0.3, 0.2])[:120]   # depends on past inputs
    >>> est = ElmanRNNRegressor(n_hidden=8, max_iter=20, random_state=0)
    >>> est = est.fit(X[:100], y[:100])
    >>> y_test = est.predict(X[100:])      # continues from est.hidden_state_
    >>> y_test.shape
    (20,)
    """

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        # Live views of the registries: solvers/activations registered later are accepted.
        "activation": [StrOptions(ACTIVATIONS.keys())],
        "solver": [StrOptions(SOLVERS.keys()), Solver],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "lambda_A": [Interval(Real, 0, None, closed="left"), None],
        "lambda_W": [Interval(Real, 0, None, closed="left"), None],
        "lambda_V": [Interval(Real, 0, None, closed="left"), None],
        "lambda_b": [Interval(Real, 0, None, closed="left"), None],
        "lambda_c": [Interval(Real, 0, None, closed="left"), None],
        "lambda_u": [Interval(Real, 0, None, closed="left")],
        "lambda_D": [Interval(Real, 0, None, closed="left"), None],
        "skip_connection": ["boolean"],
        "leaky_slope": [Interval(Real, 0, 1, closed="neither")],
        "elu_alpha": [Interval(Real, 0, None, closed="neither")],
        "gamma0": [Interval(Real, 0, None, closed="neither")],
        "eta1": [Interval(Real, 0, 1, closed="neither")],
        "eta2": [Interval(Real, 0, 1, closed="neither")],
        "eta3": [Interval(Real, 0, None, closed="neither")],
        "eta4": [Interval(Real, 0, 1, closed="neither")],
        "mu": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_inner_iter": [Interval(Integral, 1, None, closed="left")],
        "acceleration": [StrOptions({"nesterov"}), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "init": [StrOptions(set(INITIALIZATIONS))],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "initial_state": [StrOptions(set(INITIAL_STATES))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    # sequence_id of predict/score is not routed unless asked for (set_score_request):
    # routing it by default would make every meta-estimator demand an explicit request for
    # score as soon as sequence_id is passed to fit. initial_state is not metadata.
    __metadata_request__predict = {"sequence_id": False, "initial_state": metadata_routing.UNUSED}
    __metadata_request__score = {"sequence_id": False}

    def __init__(
        self,
        n_hidden=20,
        activation="relu",
        *,
        solver="alm-bcd",
        alpha=1.0,
        lambda_A=None,
        lambda_W=None,
        lambda_V=None,
        lambda_b=None,
        lambda_c=None,
        lambda_u=1e-8,
        lambda_D=None,
        skip_connection=False,
        leaky_slope=0.01,
        elu_alpha=1.0,
        gamma0=1.0,
        eta1=0.99,
        eta2=5 / 6,
        eta3=0.01,
        eta4=5 / 6,
        mu=1e-5,
        max_iter=100,
        max_inner_iter=50,
        acceleration="nesterov",
        tol=1e-3,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        init="normal",
        init_scale=0.1,
        initial_state="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        blas_threads=1,
    ):
        self.n_hidden = n_hidden
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.lambda_A = lambda_A
        self.lambda_W = lambda_W
        self.lambda_V = lambda_V
        self.lambda_b = lambda_b
        self.lambda_c = lambda_c
        self.lambda_u = lambda_u
        self.lambda_D = lambda_D
        self.skip_connection = skip_connection
        self.leaky_slope = leaky_slope
        self.elu_alpha = elu_alpha
        self.gamma0 = gamma0
        self.eta1 = eta1
        self.eta2 = eta2
        self.eta3 = eta3
        self.eta4 = eta4
        self.mu = mu
        self.max_iter = max_iter
        self.max_inner_iter = max_inner_iter
        self.acceleration = acceleration
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init = init
        self.init_scale = init_scale
        self.initial_state = initial_state
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.blas_threads = blas_threads

    # -- pieces fit wires together ----------------------------------------------------------
    def _make_activation(self):
        params = {
            own: getattr(self, ours)
            for own, ours in _ACTIVATION_PARAMS.get(self.activation, {}).items()
        }
        return get_activation(self.activation, **params)

    def _make_solver(self):
        if isinstance(self.solver, Solver):
            solver = copy.deepcopy(self.solver)
            # The settings it shares with the estimator (e.g. eta2, max_inner_iter) obey the
            # estimator's constraints too (a user's Solver subclass may declare none).
            shared = {
                name: getattr(solver, name) for name in type(solver).estimator_params
                if name in self._parameter_constraints and hasattr(solver, name)
            }
            validate_parameter_constraints(
                {name: self._parameter_constraints[name] for name in shared}, shared,
                caller_name=f"the solver {type(solver).__name__}",
            )
        else:
            cls = get_solver_class(self.solver)
            solver = cls(**{name: getattr(self, name) for name in cls.estimator_params})
        solver._validate_params()  # every setting, against the solver's own constraints
        return solver

    def _make_lambdas(self, n_features, n_outputs):
        lambdas = Lambdas.from_alpha(
            self.alpha, self.n_hidden, n_features, n_outputs, l6=self.lambda_u
        )
        explicit = {
            field: float(getattr(self, name))
            for name, field in _LAMBDA_PARAMS.items()
            if getattr(self, name) is not None
        }
        if "D" not in explicit:  # D follows A's weight, explicit or derived from alpha
            explicit["D"] = explicit.get("A", lambdas.A)
        return lambdas._replace(**explicit)

    def _initial_weights(self, n_features, n_outputs, dtype, rng):
        if self.warm_start and hasattr(self, "weights_"):
            W, V, A = self.weights_.W, self.weights_.V, self.weights_.A
            expected = (self.n_hidden, n_features, n_outputs)
            if (W.shape[0], V.shape[1], A.shape[0]) != expected:
                raise ValueError(
                    "warm_start needs the same n_hidden, number of features and number of "
                    f"outputs as the previous fit: fitted (n_hidden, n_features, n_outputs) = "
                    f"{(W.shape[0], V.shape[1], A.shape[0])}, now {expected}."
                )
            weights = self.weights_.copy().astype(dtype)
            if not self.skip_connection:
                return weights._replace(D=None)
            if weights.D is None:  # skip newly on: D = 0 predicts exactly as the last fit
                return weights._replace(D=np.zeros((n_outputs, n_features), dtype))
            return weights
        return init_weights(
            int(self.n_hidden), n_features, n_outputs, init=self.init, scale=self.init_scale,
            random_state=rng, dtype=dtype, skip_connection=bool(self.skip_connection),
        )

    def _build_problem(self, X, Y, layout, sequence_id, lambdas):
        if not self.early_stopping:
            return Problem(X, Y, lambdas, layout)
        T = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * T))
        if n_val < 1 or T - n_val < 2:
            raise ValueError(
                f"early_stopping with validation_fraction={self.validation_fraction} leaves "
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

    def _check_initial_forward(self, weights0, X, Y, activation, layout):
        """The starting weights' forward pass and training loss over (X, Y) must be finite,
        or no solver can start (and the weights it would fall back to are unusable)."""
        with np.errstate(all="ignore"):
            _, H0 = forward(weights0, X, activation, layout)
            loss = mse_loss(weights0, H0, Y, X) if np.all(np.isfinite(H0)) else np.inf
        if weights0.all_finite() and np.isfinite(loss):
            return
        if self.warm_start and hasattr(self, "weights_"):
            start = "the weights of the previous fit (warm_start=True)"
        else:
            start = f"init={self.init!r}, init_scale={self.init_scale!r}"
        start += f", activation={self.activation!r}" + "".join(
            f", {ours}={getattr(self, ours)!r}"
            for ours in _ACTIVATION_PARAMS.get(self.activation, {}).values()
        )
        raise ValueError(
            f"The forward pass of the initial weights ({start}) over X, or its squared "
            f"error on y, is not finite (largest |X| = {float(np.max(np.abs(X))):.3g}). "
            "Scale X and y (e.g. StandardScaler) or use a smaller init_scale."
        )

    # -- scikit-learn API -------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sequence_id=None):
        """Train the network on the rows of ``X`` (consecutive time steps).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs :math:`x_t`, one row per time step, in time order.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets :math:`y_t`.

        sequence_id : array-like of shape (n_samples,), default=None
            Optional label per row for several independent sequences stacked in ``X``: a
            new sequence starts wherever the label changes, with :math:`h_0 = 0`. None:
            the rows are one sequence.

        Returns
        -------
        self : ElmanRNNRegressor
            The fitted estimator.
        """
        X, y = _validate_fit_data(self, X, y)
        layout = _check_sequence_id(sequence_id, X.shape[0])
        Y = np.asarray(y, dtype=X.dtype)
        y_1d = Y.ndim == 1
        if y_1d:
            Y = Y.reshape(-1, 1)
        n_features, n_outputs = X.shape[1], Y.shape[1]

        rng = check_random_state(self.random_state)
        lambdas = self._make_lambdas(n_features, n_outputs)
        activation = self._make_activation()
        solver = self._make_solver()
        weights0 = self._initial_weights(n_features, n_outputs, X.dtype, rng)
        problem = self._build_problem(X, Y, layout, sequence_id, lambdas)
        if weights0.D is not None and not (self.warm_start and hasattr(self, "weights_")):
            D0, c0 = linear_path_start(problem.X, problem.Y, lambdas)
            weights0 = weights0._replace(D=D0, c=c0)
        self._check_initial_forward(weights0, X, Y, activation, layout)

        result = solver.solve(problem, activation, weights0, random_state=rng)
        result, forward_check = check_forward_pass(
            result, problem, activation, weights0, stacklevel=4
        )

        weights = result.weights.astype(X.dtype)
        _, H = forward(weights, X, activation, layout)
        if not (weights.all_finite() and np.all(np.isfinite(H))):
            raise ValueError(
                "The solver returned weights whose forward pass over the training rows is "
                f"not finite ({result.message or 'no message'}). Scale X and y (e.g. "
                "StandardScaler), or increase the regularization alpha."
            )

        self.weights_ = weights
        self.recurrent_weights_ = weights.W
        self.input_weights_ = weights.V
        self.hidden_bias_ = weights.b
        self.output_weights_ = weights.A
        self.output_bias_ = weights.c
        self.skip_weights_ = weights.D
        self.activation_ = activation
        self.lambdas_ = lambdas
        self.history_ = {key: list(values) for key, values in result.history.items()}
        self.n_iter_ = int(result.n_iter)
        self.forward_check_ = forward_check
        self.hidden_state_ = H[-1].copy() if H.shape[0] else np.zeros(self.n_hidden, X.dtype)
        self.n_outputs_ = n_outputs
        # What the "auto" initial-state rule needs to recognise the training rows.
        self._y_1d = y_1d
        self._train_fingerprint = _fingerprint(X)
        self._train_layout = layout
        return self

    def _resolve_h0(self, X, rule):
        """The hidden state before the first row of X, and whether X is the training X."""
        if isinstance(rule, str):
            if rule not in INITIAL_STATES:
                raise ValueError(
                    f"initial_state must be one of {list(INITIAL_STATES)} or an array of "
                    f"shape {self.hidden_state_.shape}, got {rule!r}."
                )
            if rule == "auto":
                is_train = _fingerprint(X.astype(self.weights_.W.dtype, copy=False)) == (
                    self._train_fingerprint
                )
                return (None if is_train else self.hidden_state_), is_train
            return (None if rule == "zeros" else self.hidden_state_), False
        with _blame("initial_state"):
            h0 = np.asarray(rule, dtype=float)
        if h0.shape != self.hidden_state_.shape:
            raise ValueError(
                f"an explicit initial_state must have shape {self.hidden_state_.shape}, got "
                f"{h0.shape}."
            )
        if not np.all(np.isfinite(h0)):
            raise ValueError("an explicit initial_state must be finite (no NaN or inf).")
        return h0, False

    def predict(self, X, sequence_id=None, initial_state=None):
        """Run the learned recurrence over the rows of ``X``.

        Never modifies the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs, one row per time step, in time order.

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels. Every sequence after the first starts from
            :math:`h_0 = 0`; the first follows ``initial_state``. None: the rows are one
            sequence (or, when ``X`` is recognised as the training ``X`` under ``"auto"``,
            the sequences given to :meth:`fit`).

        initial_state : {"auto", "zeros", "continue"}, ndarray of shape (n_hidden,) or \
None, default=None
            Hidden state before the first row; None uses the estimator's
            ``initial_state``. See the class docstring. An array is used as :math:`h_0`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            :math:`\\hat y_t = A h_t + c` (:math:`+ D x_t` with ``skip_connection``); 1-D
            when ``fit`` got a 1-D ``y``.
        """
        check_is_fitted(self)
        with _blame("X"):
            X = validate_data(self, X, reset=False, dtype=_DTYPES)
        rule = self.initial_state if initial_state is None else initial_state
        h0, is_train = self._resolve_h0(X, rule)
        layout = _check_sequence_id(sequence_id, X.shape[0])
        if layout is None and is_train:
            layout = self._train_layout
        weights = self.weights_.astype(X.dtype)
        if h0 is not None:
            h0 = np.asarray(h0, dtype=X.dtype)
        _, H = forward(weights, X, self.activation_, layout, h0=h0)
        y_pred = predict_outputs(weights, H, X)
        if not np.all(np.isfinite(y_pred)):
            warnings.warn(
                "The forward pass overflowed: some predictions are not finite. The inputs "
                "may be far outside the training range, or the learned recurrence is "
                "unstable over this many steps.",
                RuntimeWarning,
                stacklevel=2,
            )
        return y_pred.ravel() if self._y_1d else y_pred
