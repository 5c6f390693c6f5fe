"""The scikit-learn estimator: :class:`ElmanRNNRegressor`.

The class is thin. ``fit`` validates the data once, builds a :class:`skalm.solvers.Problem`,
looks up the activation strategy and the solver in their registries, runs the solver and stores
the result. ``predict`` validates, chooses the initial hidden state (see the class docstring)
and runs :func:`skalm.model.forward`. Nothing in here knows which solver it is talking to.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import DTYPES as _DTYPES
from ._base import SequenceRegressorMixin, check_magnitude, check_sequence_id
from ._base import blame as _blame
from ._base import validate_fit_data as _validate_fit_data
from ._compat import Interval, StrOptions
from ._compat import fit_context as _fit_context
from . import _dask_fit
from ._atomic import atomic
from ._state import HiddenStateWarning, TrainingRows, time_index, warn_reused_labels
from .activations import ACTIVATIONS, Activation, get_activation
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
from .safety import check_forward_pass

__all__ = ["ElmanRNNRegressor"]

#: Initial-state rules accepted by ``initial_state`` (and by ``predict(initial_state=...)``).
INITIAL_STATES = ("auto", "zeros", "continue")

#: Activation name -> {strategy parameter: estimator parameter}. Activations not listed take
#: no parameters. A table, so that ``fit`` never branches on the activation's name.
_ACTIVATION_PARAMS = {
    "leaky_relu": {"slope": "leaky_slope"},
    "elu": {"alpha": "elu_alpha"},
}

#: Estimator parameters whose default means "the chosen solver's own default": they are
#: not passed to a solver chosen by name while they hold it.
_SOLVER_DEFAULT = {"max_iter": None, "tol": None, "n_iter_no_change": "auto"}

#: Every estimator parameter that is a setting of an activation.
_ALL_ACTIVATION_PARAMS = frozenset(
    ours for table in _ACTIVATION_PARAMS.values() for ours in table.values()
)


def _same(a, b):
    try:
        return a is b or (isinstance(a, str) == isinstance(b, str) and bool(a == b))
    except (TypeError, ValueError):
        return False


#: Estimator parameter -> field of :class:`skalm.model.Lambdas` it overrides.
_LAMBDA_PARAMS = {
    "lambda_A": "A",
    "lambda_W": "W",
    "lambda_V": "V",
    "lambda_b": "b",
    "lambda_c": "c",
    "lambda_D": "D",
}


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

    activation : {"relu", "leaky_relu", "elu", "tanh"} or Activation instance, default="tanh"
        The activation :math:`\sigma`. ``"leaky_relu"`` is :math:`\max(u, w u)` with
        :math:`w` = ``leaky_slope``; ``"elu"`` is :math:`u` for :math:`u \ge 0` and
        :math:`\alpha_{\mathrm{ELU}}(e^u - 1)` below, with :math:`\alpha_{\mathrm{ELU}}` =
        ``elu_alpha``. ``"tanh"`` is not in the paper (whose experiments use ``"relu"``); it
        is the default because it generalizes better, measured by test error: a saturating
        unit keeps time in the hidden state (a stable cycle), where the paper's ReLU runs
        ended near the linear solution, and its forward pass cannot overflow. Test MSE
        against RidgeCV's on the hidden-oscillator series 0.09x (ReLU 1.03x), NARMA-10 and
        the paper's T=500 set lower too (``docs/user_guide/memory.rst``).

    solver : str or Solver instance, default="alm-bcd"
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
        ``gamma0`` with ``solver="lbfgs"``, or any solver setting with a solver instance.

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

    max_iter : int or None, default=None
        Cap on the solver's iterations (for ALM-BCD the outer iterations :math:`k`). A
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it ends the fit
        before a stopping rule is met. None: the chosen solver's own default (100 for
        ``"alm-bcd"``, 500 for ``"lbfgs"``, ``"gd"``, ``"gd-clip"``, ``"nesterov"`` and
        ``"adam"``, 200 for ``"sgd"`` and ``"admmirnn"``, 100 for ``"nails"`` and
        ``"nailm"``). What one iteration is differs between solvers (:ref:`solvers`).

    max_inner_iter : int, default=50
        Cap on the BCD sweeps of one inner loop (``submaxiter`` in the paper's code, whose
        default is 100). With the momentum carried across outer iterations, shorter inner
        loops lose little per sweep and let the practical rule stop sooner: on the paper's
        T=500 set, 50 stops at R = 8.09 after 3,350 sweeps, 100 at R = 7.88 after 7,300;
        L-BFGS reaches 8.37 (``benchmarks/alm_acceleration.py``; times in :ref:`performance`).

    acceleration : {"nesterov"} or None, default="nesterov"
        ALM-BCD's inner loop. ``"nesterov"`` starts every BCD sweep from an extrapolated
        (h, u) and falls back to a plain sweep (restarting the momentum) whenever that would
        raise the augmented Lagrangian, so the inner loop stays monotone; the momentum
        carries over between outer iterations. Not in the paper: on the paper's T=500
        synthetic set the paper's BCD stalls (R = 13.6 after 100 outer iterations at these
        defaults) where the extrapolated one passes L-BFGS's R = 8.37 after 10 and stops by
        the practical rule at R = 7.88. None runs the paper's Algorithm 3.2 exactly.

    tol : float or None, default=None
        Relative improvement that counts for the practical stopping rule (see
        ``n_iter_no_change``). None: the chosen solver's own default (1e-3 for
        ``"alm-bcd"``, 1e-4 for the others).

    n_iter_no_change : int, None or "auto", default="auto"
        Practical stopping rule: stop when for this many consecutive outer iterations
        neither the training objective :math:`R` (of the true forward pass) nor FeasVio
        (while it exceeds ``tol`` times the norm of the auxiliary hidden states)
        improved by a relative ``tol`` on their best values -- or, with
        ``early_stopping=True``, when the validation loss did not. None: only the paper's
        rule :math:`\epsilon_k \le \epsilon_*` and the caps stop the run. ``"auto"``: the
        chosen solver's own default (10; 5 for ``"nails"`` and ``"nailm"``).

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

        - ``"auto"``: place ``X`` in the series from its rows (decision table in Notes):
          an ``X`` that starts with training rows starts from the state the training run
          had there (zero for the training ``X`` itself or a prefix of it), an ``X`` that
          shares no row with the training rows continues from ``hidden_state_``, and an
          ``X`` that cannot be placed warns (:class:`~skalm.HiddenStateWarning`)
          and continues from ``hidden_state_``.
        - ``"zeros"``: always start from :math:`h_0 = 0` (``X`` is a new sequence).
        - ``"continue"``: always start from ``hidden_state_``.

        See Notes for the reason. :meth:`predict` can override it per call, also with an
        array :math:`h_0`.

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

    **Which hidden state predictions start from.** A causal model evaluated on the part of
    a series that follows the training part must start from the state the training rows
    left behind: that is the paper's test protocol (the recurrence runs through the
    training steps and on into the test steps). The same model scored on its own training
    rows must run them from :math:`h_0 = 0`, exactly as during training. With
    :class:`~sklearn.model_selection.TimeSeriesSplit`, ``cross_validate`` and
    ``GridSearchCV`` call ``score`` with the training fold (for train scores) and with the
    test fold that immediately follows it, and cannot say which is which. The default
    ``initial_state="auto"`` therefore places ``X`` by its rows. Rows match when every entry
    agrees within a relative tolerance of 1e-5 (of the entry plus the spread of its training
    column), so the training rows after a float32 round trip or recomputed by a transformer
    (``PCA.transform`` after ``fit_transform`` in a Pipeline) still match. The decision
    table (``T`` training rows, ``X`` of ``N`` rows):

    ============================================  ==========================================
    ``X`` is                                      hidden state before its first row
    ============================================  ==========================================
    the training ``X`` (or a copy that matches)   :math:`0`, the training sequences replayed
    the training ``X`` then new rows (stacked)    :math:`0`; the new rows continue from the
                                                  end of the training rows
    a prefix, training rows ``0 .. N-1``          :math:`0`
    training rows from row ``k`` on (a suffix,    the state the training run had before row
    possibly followed by new rows), or a block    ``k`` (zero at a sequence start);
    ``k .. k+N-1`` inside them                    training sequences kept
    no training row at all (rows that follow      ``hidden_state_``; with pandas input whose
    training, e.g. a TimeSeriesSplit test fold)   index shows a gap after the training rows:
                                                  warning, then ``hidden_state_``
    training rows out of order, or after other    warning (``HiddenStateWarning``), then
    rows; a match at several offsets; the         ``hidden_state_``
    training ``X`` changed by more than the
    tolerance (up to 1 %)
    ============================================  ==========================================

    The lookup is cheap: one projection of each row is sorted at fit time, the first row of
    ``X`` is found by binary search and a candidate offset is compared on a few rows before
    the whole overlap; the state before any training row is recomputed from states stored
    every :math:`\sqrt{T}` rows. The estimator keeps a copy of the training ``X`` for it.
    For arrays, rows that share nothing with the training rows are *assumed* to follow
    them: a new, independent series, or folds that are not in time order (``KFold``,
    ``GroupKFold`` over sequences) need ``initial_state="zeros"``; a test fold after a gap
    (``TimeSeriesSplit(gap=k)``) continues from ``hidden_state_``, as the gap rows are never
    passed (pandas input with an integer or datetime index gets a warning). Inputs whose
    rows repeat exactly (discrete or one-hot features) can match training rows by
    accident; pass ``initial_state`` explicitly for them. :meth:`predict` never modifies the
    estimator: predicting twice gives the same result; ``predict(..., return_state=True)``
    returns the state after the last row for the next call.

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
        "gamma0": [Interval(Real, 0, None, closed="neither")],
        "eta1": [Interval(Real, 0, 1, closed="neither")],
        "eta2": [Interval(Real, 0, 1, closed="neither")],
        "eta3": [Interval(Real, 0, None, closed="neither")],
        "eta4": [Interval(Real, 0, 1, closed="neither")],
        "mu": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "max_inner_iter": [Interval(Integral, 1, None, closed="left")],
        "acceleration": [StrOptions({"nesterov"}), None],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None,
                             StrOptions({"auto"})],
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

    # -- pieces fit wires together ----------------------------------------------------------
    def _make_activation(self):
        if isinstance(self.activation, Activation):
            return copy.deepcopy(self.activation)
        params = {
            own: getattr(self, ours)
            for own, ours in _ACTIVATION_PARAMS.get(self.activation, {}).items()
        }
        return get_activation(self.activation, **params)

    def _make_solver(self):
        if isinstance(self.solver, Solver):
            solver = copy.deepcopy(self.solver)
        else:
            cls = get_solver_class(self.solver)
            solver = cls(**{
                name: getattr(self, name) for name in cls.estimator_params
                if name not in _SOLVER_DEFAULT
                or not _same(getattr(self, name), _SOLVER_DEFAULT[name])
            })
        solver._validate_params()  # every setting, against the solver's own constraints
        return solver

    def _warn_unused_settings(self):
        """One UserWarning naming the parameters set away from their defaults that neither
        the chosen solver nor the chosen activation reads."""
        read = set() if isinstance(self.solver, Solver) else set(
            get_solver_class(self.solver).estimator_params
        )
        if isinstance(self.activation, str):
            read |= set(_ACTIVATION_PARAMS.get(self.activation, {}).values())
        defaults = ElmanRNNRegressor().get_params(deep=False)
        # Every registered solver's estimator parameters, read now: solvers may be
        # registered after import.
        settings = {name for cls in SOLVERS.values() for name in cls.estimator_params}
        unused = [
            name for name in sorted(settings | _ALL_ACTIVATION_PARAMS)
            if name not in read and not _same(getattr(self, name), defaults[name])
        ]
        if unused:
            warnings.warn(
                f"{', '.join(f'{n}={getattr(self, n)!r}' for n in unused)}: not read by "
                f"solver={self.solver!r} with activation={self.activation!r}, so ignored. "
                "Set solver settings on a solver instance (solver__<setting> in a grid "
                "search), activation settings on an activation instance.",
                UserWarning,
                stacklevel=5,
            )

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
        n_features, n_outputs = X.shape[1], Y.shape[1]

        rng = check_random_state(self.random_state)
        lambdas = self._make_lambdas(n_features, n_outputs)
        activation = self._make_activation()
        solver = self._make_solver()
        self._warn_unused_settings()
        weights0 = self._initial_weights(n_features, n_outputs, X.dtype, rng)
        problem = self._build_problem(X, Y, layout, sequence_id, lambdas)
        if weights0.D is not None and not (self.warm_start and hasattr(self, "weights_")):
            D0, c0 = linear_path_start(problem.X, problem.Y, lambdas)
            weights0 = weights0._replace(D=D0, c=c0)
        self._check_initial_forward(weights0, X, Y, activation, layout)

        result = solver.solve(problem, activation, weights0, random_state=rng)
        result, forward_check = check_forward_pass(
            result, problem, activation, weights0, stacklevel=5
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
        self._y_1d = y_1d
        # What the "auto" initial-state rule needs to place later rows (see _state.py).
        self._train_rows = TrainingRows(X, H, layout, index)
        return self

    def _resolve_h0(self, X, rule, index=None):
        """The hidden state before the first row of X (None: zero) and, when X is placed
        inside the training rows under "auto", the training sequences over its rows.
        ``index``: the time stamps of X's rows (pandas input), or None."""
        if isinstance(rule, str):
            if rule not in INITIAL_STATES:
                raise ValueError(
                    f"initial_state must be one of {list(INITIAL_STATES)} or an array of "
                    f"shape {self.hidden_state_.shape}, got {rule!r}."
                )
            if rule == "zeros":
                return None, None
            if rule == "continue":
                return self.hidden_state_, None
            rows = self._train_rows
            placement = rows.place(X, index)
            if placement.case == "continuation":
                return self.hidden_state_, None
            if placement.case == "unplaced":
                warnings.warn(
                    f"initial_state='auto' cannot place X against the training rows: "
                    f"{placement.message} Continuing from hidden_state_, as for rows that "
                    "follow the training rows; pass initial_state='zeros', 'continue' or an "
                    "array to say which state is meant.",
                    HiddenStateWarning,
                    stacklevel=3,
                )
                return self.hidden_state_, None
            h0 = rows.state_before(placement.offset, self.weights_, self.activation_)
            return h0, rows.layout_for(placement, X.shape[0])
        with _blame("initial_state"):
            h0 = np.asarray(rule, dtype=float)
        if h0.shape != self.hidden_state_.shape:
            raise ValueError(
                f"an explicit initial_state must have shape {self.hidden_state_.shape}, got "
                f"{h0.shape}."
            )
        if not np.all(np.isfinite(h0)):
            raise ValueError("an explicit initial_state must be finite (no NaN or inf).")
        return h0, None

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
        h0, train_layout = self._resolve_h0(X, rule, index)
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
