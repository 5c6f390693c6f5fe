"""The scikit-learn estimator: :class:`ElmanRNNRegressor`.

The class is thin. ``fit`` validates the data once, lets :func:`skalm._setup.prepare_fit`
build the :class:`skalm.solvers.Problem`, the activation strategy, the solver (both from their
registries) and the starting weights, runs the solver and stores the result. ``predict``
validates, chooses the initial hidden state (:func:`skalm._state.initial_hidden_state`) and
runs :func:`skalm.model.forward`. Nothing in here knows which solver it is talking to.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import metadata_routing
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import atomic
from ._base import DTYPES as _DTYPES
from ._base import SequenceRegressorMixin, check_magnitude, check_sequence_id
from ._base import blame as _blame
from ._base import validate_fit_data as _validate_fit_data
from ._compat import Interval, StrOptions
from ._compat import fit_context as _fit_context
from . import _dask_fit
from ._docstring import fill_doc, join_entries
from ._setup import PARAMS_DOC as SETUP_DOC, prepare_fit, store_fit
from ._state import (
    INITIAL_STATES,
    TrainingRows,
    PARAMS_DOC as STATE_DOC,
    initial_hidden_state,
    time_index,
    warn_reused_labels,
)
from .activations import ACTIVATIONS, Activation
from .model import DELAY_LINES, INITIALIZATIONS, forward, predict_outputs
from .safety import check_forward_pass, start_result
from .solvers import SOLVERS, ALMBCDSolver, Solver
from .solvers.alm_bcd.alm import SETTINGS_DOC as ALM_SETTINGS_DOC

__all__ = ["ElmanRNNRegressor"]

#: The ALM-BCD settings that are estimator parameters too.
_ALM_SETTINGS = ("gamma0", "eta1", "eta2", "eta3", "eta4", "mu", "max_inner_iter", "acceleration")

#: Placeholder of the class docstring -> the parameters whose entries it stands for, in
#: signature order. Each entry is written once, by the module that owns the setting: the
#: ALM-BCD solver (shared with its own docstring), the fit's set-up (_setup.py) and the
#: initial-state rule (_state.py).
_DOC_GROUPS = {
    "activation_and_solver": ("activation", "solver"),
    "regularization": (
        "alpha", "lambda_A", "lambda_W", "lambda_V", "lambda_b", "lambda_c", "lambda_u",
        "lambda_D", "skip_connection", "leaky_slope", "elu_alpha",
    ),
    "solver_settings": (
        "gamma0", "eta1", "eta2", "eta3", "eta4", "mu", "max_iter", "max_inner_iter",
        "acceleration", "tol", "n_iter_no_change",
    ),
    "validation": ("early_stopping", "validation_fraction"),
    "initial_weights": ("init", "init_scale"),
    "initial_state": ("initial_state",),
    "run": ("verbose", "warm_start", "blas_threads"),
    "initial_state_notes": ("initial_state_notes",),
}
_DOC = {**ALM_SETTINGS_DOC, **SETUP_DOC, **STATE_DOC}


@fill_doc({group: join_entries(_DOC, names) for group, names in _DOC_GROUPS.items()})
class ElmanRNNRegressor(SequenceRegressorMixin, BaseEstimator):
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

    %(activation_and_solver)s

    %(regularization)s

    %(solver_settings)s

    %(validation)s

    %(initial_weights)s

    %(initial_state)s

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (and any randomness of the solver). Pass an int for
        reproducible fits.

    %(run)s

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
        (:math:`\frac1T \sum_t \|y_t - \hat y_t\|^2` of the true forward pass over the
        training rows: squared errors summed over the outputs and averaged over the time
        steps, the loss term of :math:`R` and the paper's TrainErr; for one output the mean
        squared error, for ``m`` outputs ``m`` times scikit-learn's
        ``mean_squared_error``), ``"objective"`` (:math:`R`: loss plus penalty, what the
        solver minimises; the loss alone can rise while it falls), ``"feasibility"``
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
        (:func:`skalm.safety.check_forward_pass`, :ref:`safety`): ``"own_loss"``
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

    %(initial_state_notes)s

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
        "activation": [StrOptions(ACTIVATIONS.keys()), Activation],
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
        # The ALM-BCD settings tuned on the estimator: the solver's own constraints.
        **{name: ALMBCDSolver._parameter_constraints[name] for name in _ALM_SETTINGS},
        "max_iter": [Interval(Integral, 0, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None,
                             StrOptions({"auto"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "init": [StrOptions(set(INITIALIZATIONS) | set(DELAY_LINES))],
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
    __metadata_request__predict = {
        "sequence_id": False,
        "initial_state": metadata_routing.UNUSED,
        "return_state": metadata_routing.UNUSED,
    }
    __metadata_request__score = {"sequence_id": False}

    def __init__(
        self,
        n_hidden=20,
        activation="tanh",
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
        max_iter=None,
        max_inner_iter=50,
        acceleration="nesterov",
        tol=None,
        n_iter_no_change="auto",
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

    # -- scikit-learn API -------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @atomic
    def fit(self, X, y, sequence_id=None):
        """Train the network on the rows of ``X`` (consecutive time steps).

        Atomic: if ``fit`` raises (a bad argument, a solver error, a KeyboardInterrupt), the
        estimator is left exactly as it was before the call, so a fitted model still
        predicts as before.

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
        if _dask_fit.is_dask(X, y):  # rows in time chunks on a dask cluster
            return _dask_fit.fit(self, X, y, sequence_id)
        index = time_index(X)
        X, y = _validate_fit_data(self, X, y)
        layout = check_sequence_id(sequence_id, X.shape[0])
        warn_reused_labels(layout, sequence_id, stacklevel=5)
        Y = np.asarray(y, dtype=X.dtype)
        y_1d = Y.ndim == 1
        if y_1d:
            Y = Y.reshape(-1, 1)

        problem, activation, solver, weights0, rng = prepare_fit(self, X, Y, layout, sequence_id)
        if self.max_iter == 0:  # the start itself (e.g. the delay line's regression)
            result, forward_check = start_result(problem, activation, weights0)
        else:
            result = solver.solve(problem, activation, weights0, random_state=rng)
            result, forward_check = check_forward_pass(
                result, problem, activation, weights0, stacklevel=5
            )

        weights = result.weights.astype(X.dtype)
        _, H = forward(weights, X, activation, layout)
        store_fit(
            self, result, weights, bool(np.all(np.isfinite(H))), activation=activation,
            lambdas=problem.lambdas, forward_check=forward_check,
            hidden_state=H[-1].copy() if H.shape[0] else np.zeros(self.n_hidden, X.dtype),
            n_outputs=Y.shape[1], y_1d=y_1d, train_rows=TrainingRows(X, H, layout, index),
        )
        return self

    def predict(self, X, sequence_id=None, initial_state=None, return_state=False):
        """Run the learned recurrence over the rows of ``X``.

        Never modifies the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs, one row per time step, in time order.

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels. Every sequence after the first starts from
            :math:`h_0 = 0`; the first follows ``initial_state``. None: the rows are one
            sequence (or, when ``"auto"`` places ``X`` inside the training rows, the
            sequences given to :meth:`fit` over those rows).

        initial_state : {"auto", "zeros", "continue"}, ndarray of shape (n_hidden,) or \
None, default=None
            Hidden state before the first row; None uses the estimator's
            ``initial_state``. See the class docstring. An array is used as :math:`h_0`.

        return_state : bool, default=False
            Also return the hidden state after the last row of ``X``, to pass as
            ``initial_state`` of the next call: ``y1, h = est.predict(X1,
            initial_state=h0, return_state=True)`` then ``est.predict(X2,
            initial_state=h)`` predicts exactly as one call over ``X1`` and ``X2``
            stacked from ``h0``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            :math:`\\hat y_t = A h_t + c` (:math:`+ D x_t` with ``skip_connection``); 1-D
            when ``fit`` got a 1-D ``y``.

        h_final : ndarray of shape (n_hidden,)
            The hidden state after the last row of ``X`` (of the last sequence). Only when
            ``return_state=True``.

        Warns
        -----
        HiddenStateWarning
            Under ``"auto"``, when ``X`` cannot be placed against the training rows (see
            the class docstring); ``X`` then continues from ``hidden_state_``.
        """
        if _dask_fit.is_dask(X):  # a dask array of predictions, block after block
            return _dask_fit.predict(self, X, sequence_id, initial_state, return_state)
        check_is_fitted(self)
        index = time_index(X)
        with _blame("X"):
            X = validate_data(self, X, reset=False, dtype=_DTYPES)
        check_magnitude("X", X, X.dtype)
        rule = self.initial_state if initial_state is None else initial_state
        h0, train_layout = initial_hidden_state(
            rule, X, index, self._train_rows, self.hidden_state_, self.weights_, self.activation_
        )
        layout = check_sequence_id(sequence_id, X.shape[0])
        warn_reused_labels(layout, sequence_id)
        if layout is None:
            layout = train_layout
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
        y_pred = y_pred.ravel() if self._y_1d else y_pred
        return (y_pred, H[-1].copy()) if return_state else y_pred
