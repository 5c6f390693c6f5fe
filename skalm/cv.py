"""Elman RNN with its penalties tuned by time-ordered cross-validation: the analogue of RidgeCV.

:class:`ElmanRNNRegressorCV` fits the model that nests ridge regression (an Elman RNN with the
linear skip path ``yhat_t = A h_t + D x_t + c``) and chooses, on a time-ordered CV of the
training rows:

1. the linear path's penalty, exactly as :class:`~sklearn.linear_model.RidgeCV` would on the
   same folds (closed form, cheap);
2. the recurrent part's penalty ``alpha`` along regularization paths, from strong to weak,
   each fit warm-started from the previous one, from several starts (by default a network
   fitted without the linear path, the ridge solution, and a network fitted by L-BFGS), and
   the ridge regression on the lags of the linear prediction itself;
3. between the ridge model itself ("recurrent part off") and the networks, by the
   one-standard-error rule: a network must beat ridge steadily over the folds.

So the search can always fall back to ridge regression: where the recurrence does not help on
held-out rows, the fitted model is the ridge model; where it does, the RNN is kept.
"""

from __future__ import annotations

import copy
import multiprocessing
import time
import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from joblib.parallel import get_active_backend
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, check_cv
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._atomic import atomic
from ._base import SequenceRegressorMixin, check_sequence_id, validate_fit_data
from ._compat import HasMethods, Interval, StrOptions, fit_context
from ._docstring import SHARED_DOC, fill_doc, join_entries
from ._setup import solver_estimator_params
from .estimator import ElmanRNNRegressor
from .solvers import get_solver_class

__all__ = ["ElmanRNNRegressorCV"]

#: alpha of the "recurrent part off" candidate when it is refitted as an ElmanRNNRegressor:
#: every recurrent block (A, W, V, b) is then zero to within rounding, so the network is the
#: ridge model on its skip path (``tests/test_cv.py`` checks the predictions against Ridge).
_OFF_ALPHA = 1e12

#: Where each path of the recurrent penalty can start (see ``starts`` in the class docstring).
_STARTS = ("recurrent", "linear", "delay", "lbfgs", "lags")

#: The default ``starts``: every start but "delay", which no series of
#: ``benchmarks/real_data.py`` chose once "lags" was there (``benchmarks/cv_candidates.py``).
_DEFAULT_STARTS = ("recurrent", "linear", "lbfgs", "lags")

#: The starts whose path begins with a fit without the skip path.
_WARM_UP_STARTS = ("recurrent", "lbfgs")

#: Starts whose hidden units hold the inputs (a delay line): they need n_hidden >= n_features.
#: ("lags" holds only the prediction: the skip path carries the inputs.)
_INPUT_LINE_STARTS = ("delay",)

#: Settings of the ``"lbfgs"`` start's fits: L-BFGS on the network's own objective, up to
#: 1000 iterations each. L-BFGS's default cap of 500 left NARMA-10 at 0.11-0.18x RidgeCV's
#: test MSE where 1000 reach 0.018-0.025x (``benchmarks/real_data.py``'s split, alpha=0.1,
#: random_state 0-2). The no-improvement rule is off so that a plateau on the way (an RNN
#: often sits on one before it finds its memory) does not end a fit; on NARMA-10 it did not
#: trigger either way.
_LBFGS_START = {"solver": "lbfgs", "max_iter": 1000, "n_iter_no_change": None}


def _solver_switch(solver, **settings):
    """Parameters that switch a network to the registered ``solver`` with ``settings``: the
    estimator parameters that only other solvers read go back to their defaults (no warning
    about settings the new solver ignores)."""
    others = solver_estimator_params() - set(get_solver_class(solver).estimator_params)
    defaults = ElmanRNNRegressor().get_params()
    return {**{name: defaults[name] for name in others}, "solver": solver, **settings}


def _warm_starts(est):
    """Whether fits of ``est`` along a path start from the previous fit: not when it keeps
    its start (``max_iter=0``, the ``"lags"`` candidates), whose start is then rebuilt from
    each fit's own rows instead of being the previous fit's weights."""
    return est.max_iter != 0


def _sid_kwargs(sequence_id, rows):
    return {} if sequence_id is None else {"sequence_id": np.asarray(sequence_id)[rows]}


def _validation_mse(est, X, y, sequence_id, train, test):
    """MSE on the test rows of a model fitted on the train rows, run over every row from the
    first training row to the last test row (so gap rows between them feed the state too)."""
    rows = np.arange(train[0], test[-1] + 1)
    pred = est.predict(X[rows], initial_state="zeros", **_sid_kwargs(sequence_id, rows))
    pred = pred.reshape(len(rows), -1)[np.searchsorted(rows, test)]
    return float(np.mean((pred - y.reshape(len(y), -1)[test]) ** 2))


class _Path(NamedTuple):
    """One fold's path from one start: per alpha, the validation MSE, the CPU seconds of the
    fit, whether it raised a ConvergenceWarning, and (with ``keep``) the fitted network."""

    scores: list
    times: list
    warned: list
    fitted: list


def _capped(max_iter, cap):
    """``max_iter`` (None: the solver's default) capped at ``cap`` (None: no cap)."""
    if cap is None:
        return max_iter
    return cap if max_iter is None else min(max_iter, cap)


def _fold_path(base, alphas, start, X, y, sequence_id, train, test, keep=False,
               warm_up_max_iter=None):
    """Fit ``base`` along ``alphas`` (warm-started) from one start on one fold (a
    :class:`_Path`; with ``keep``, a copy of the fitted network at each alpha).
    ``warm_up_max_iter`` caps the warm-up fit of a start in ``_WARM_UP_STARTS``."""
    est = clone(base).set_params(warm_start=_warm_starts(base))
    path = _Path([], [], [], [])
    if start in _WARM_UP_STARTS:
        # The recurrent part first, without the linear path: with it from the start, ALM-BCD's
        # exact output block explains the inputs' linear part at once and leaves the hidden
        # states no pull, so the recurrence stays at the near-linear point (user guide,
        # "Memory the inputs do not carry"); for L-BFGS the ridge start is a saddle point
        # (the gradient of the small recurrent weights is nearly zero there) where it stops.
        # The path then switches the skip path on.
        max_iter = est.max_iter
        est.set_params(skip_connection=False, alpha=alphas[0],
                       max_iter=_capped(max_iter, warm_up_max_iter))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X[train], y[train], **_sid_kwargs(sequence_id, train))
        est.set_params(skip_connection=True, max_iter=max_iter)
    # start == "linear": the first fit starts from the ridge solution of the skip path
    # (model.linear_path_start) and grows the recurrence from there.
    for alpha in alphas:
        est.set_params(alpha=alpha)
        begin = time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X[train], y[train], **_sid_kwargs(sequence_id, train))
        path.times.append(time.process_time() - begin)
        path.warned.append(any(issubclass(w.category, ConvergenceWarning) for w in caught))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mse = _validation_mse(est, X, y, sequence_id, train, test)
        path.scores.append(mse if np.isfinite(mse) else np.inf)
        if keep:
            path.fitted.append(copy.deepcopy(est))
    return path


def _path_jobs(n_jobs, n_paths):
    """Workers for ``n_paths`` fold paths: joblib's count for ``n_jobs``, at most one per
    path (on a many-core machine -1 would otherwise start a process per core for 20 paths,
    each importing numpy, scipy and scikit-learn); 1 inside a worker of an outer joblib loop
    (nesting level above 0), where the outer loop already occupies the cores and joblib
    would add threads that compete with it (see ``n_jobs``), and in a daemonic process (a
    ``multiprocessing.Pool`` worker), which cannot start the workers and where joblib
    would warn before falling back to 1."""
    backend, _ = get_active_backend()
    if getattr(backend, "nesting_level", 0) or multiprocessing.current_process().daemon:
        return 1
    return max(1, min(effective_n_jobs(n_jobs), n_paths))


def _select(mse, selection, weights=None):
    """Index of the chosen candidate; row 0 of ``mse`` (candidates x folds) is the ridge model.

    ``weights`` (one per fold, None: equal) weigh the folds in every mean. ``"min"``: the
    lowest mean validation MSE. ``"one_se"``: a network must beat the ridge model by more
    than one standard error of its per-fold improvements (paired over the folds, so that the
    folds' different noise levels cancel); among those that do, the lowest mean wins; if
    none does, the ridge model. With unequal weights the standard error is that of a
    weighted mean of independent folds, each fold's variance estimated from its own
    deviation (the sandwich estimate, scaled by k / (k - 1) so that equal weights give the
    usual ``std(ddof=1) / sqrt(k)``).
    """
    mean = _fold_mean(mse, weights)
    if selection == "min":
        return int(np.argmin(mean))  # ties go to the first: the ridge model
    gain = mse[0] - mse[1:]  # improvement over ridge, per candidate and fold
    n_folds = mse.shape[1]
    with np.errstate(invalid="ignore"):
        if n_folds == 1:
            mean_gain, se = gain[:, 0], np.zeros(len(gain))
        elif weights is None:
            mean_gain, se = gain.mean(axis=1), gain.std(axis=1, ddof=1) / np.sqrt(n_folds)
        else:
            w = _normalized(weights)
            mean_gain = gain @ w
            se = np.sqrt((gain - mean_gain[:, None]) ** 2 @ w**2 * n_folds / (n_folds - 1))
        eligible = np.flatnonzero(np.isfinite(mean[1:]) & (mean_gain > se)) + 1
    if eligible.size == 0:
        return 0
    return int(eligible[np.argmin(mean[eligible])])


def _normalized(weights):
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _fold_mean(mse, weights=None):
    """Mean over the folds (axis 1), weighted by ``weights`` (None: equal)."""
    return mse.mean(axis=1) if weights is None else mse @ _normalized(weights)


@fill_doc({"fitted_attributes": join_entries(
    SHARED_DOC, ("n_features_in_", "feature_names_in_", "n_outputs_")
)})
class ElmanRNNRegressorCV(SequenceRegressorMixin, BaseEstimator):
    r"""Elman RNN regressor with its penalties chosen by time-ordered cross-validation.

    The recommended estimator for forecasting: the analogue of
    :class:`~sklearn.linear_model.RidgeCV` for an Elman RNN with a linear skip path,
    :math:`\hat y_t = A h_t + D x_t + c`. The model nests ridge regression (the recurrent
    part off), and the search always includes that model, so on data where the recurrence
    does not help on held-out rows the fitted model is the ridge model.

    ``fit`` runs, on the folds of ``cv`` (time-ordered, ``TimeSeriesSplit(5)`` by default):

    1. ridge regressions of ``y`` on ``X`` for every value of ``linear_alphas`` (in
       :class:`~sklearn.linear_model.Ridge`'s units), keeping the best, ``linear_alpha_``;
       the skip path's penalty is then :math:`\lambda_D` = ``linear_alpha_ / n_samples``
       and the output bias is not penalized (``lambda_c=0``), as in Ridge;
    2. for each of ``starts``, fits with the skip path for every value of ``alphas`` (the
       paper's :math:`\tau`, the recurrent penalty), from the largest to the smallest, each
       warm-started from the previous fit (a regularization path); the validation rows are
       predicted by running the recurrence on from the training rows;
    3. the choice among the ridge model ("recurrent part off", the candidate
       ``alpha = inf``) and the networks, by ``selection``; the winner is refitted on all
       rows, a network from the last fold's fit at the chosen ``alpha`` and start (warm
       start).

    Parameters
    ----------
    estimator : ElmanRNNRegressor or None, default=None
        The network to tune, with every setting except ``alpha``, ``lambda_D``,
        ``skip_connection`` and ``warm_start``, which the search sets (``lambda_c`` is set to
        0 unless given; the ``"delay"`` start also sets ``init`` and ``early_stopping``, the
        ``"lbfgs"`` start sets ``solver``, ``max_iter`` and ``n_iter_no_change`` and puts
        the settings only other solvers read back to their defaults).
        None: ``ElmanRNNRegressor()``.

    alphas : array-like of float, default=(1.0, 0.3, 0.1)
        Values of the recurrent penalty :math:`\tau` (``alpha`` of
        :class:`ElmanRNNRegressor`), fitted from the largest to the smallest along each
        start's path. Larger values (3, 10) kept the hidden cycle of
        :func:`skalm.datasets.make_hidden_oscillator` from being learned in the
        ``"recurrent"`` start's first fit. Every fold fits at the same values, a penalty
        on the mean squared error: scaled with each fold's rows as ridge regression's
        (``alpha * n_samples / n_fold``, the refit at ``alpha``), they sent NARMA-10's test
        MSE from 0.022 to 0.229x RidgeCV's and quarterly inflation's from 0.19 to 0.36x
        (``benchmarks/cv_candidates.py --per-row-alphas``, medians of 3 random starts).

    linear_alphas : array-like of float, default=np.logspace(-3, 3, 13)
        Ridge penalties tried for the linear skip path, in the units of
        :class:`~sklearn.linear_model.Ridge`'s ``alpha``.

    starts : list of {"recurrent", "linear", "delay", "lbfgs", "lags"}, \
default=("recurrent", "linear", "lbfgs", "lags")
        Where each path starts; every start adds ``len(alphas)`` candidates (and fits).
        Each start's candidates are scored on their own, so the CV's choice among a set of
        starts can be worked out from the scores of a larger set
        (``benchmarks/cv_candidates.py`` does this for ``benchmarks/real_data.py``).

        - ``"recurrent"``: a fit of the network without the skip path at the largest alpha
          comes first, then the path switches the skip path on. With the linear path on from
          the start, ALM-BCD explains the inputs' linear part at once and leaves the
          recurrence at the near-linear point on series whose memory no input carries (user
          guide, "Memory the inputs do not carry").
        - ``"linear"``: the path starts from the ridge solution of the skip path and grows
          the recurrence from it, each fit for at most ``linear_start_max_iter``
          iterations; on the real series of ``benchmarks/real_data.py`` this start found
          the memory the other one missed (quarterly inflation).
        - ``"delay"``: the path starts from ``init="delay"`` of :class:`ElmanRNNRegressor`,
          the ridge regression on the inputs and their lags held by the hidden units as a
          delay line (``n_hidden // n_features`` steps), and its fits use
          ``early_stopping=True``. It is the linear autoregressive model, from which the
          fit grows a nonlinear one. Alone against ridge (one-SE rule, ``random_state=0``),
          it brought the test MSE of ``benchmarks/real_data.py`` to 0.76x RidgeCV's on
          elnino, 0.51x on co2 and 0.12x on interest_inflation, and kept ridge on
          sunspots, elec_equip and macrodata; fitted to the end instead of early-stopped,
          its first folds' networks overfit (sunspots, 41 training rows: validation MSE
          10.1 against ridge's 0.36) and it was never chosen. Not a default start: with
          ``"lags"`` among the starts, no series of ``benchmarks/real_data.py`` chose it
          (3 random starts each, ``benchmarks/cv_candidates.py``).
        - ``"lbfgs"``: the path of the ``"recurrent"`` start (a warm-up fit without the skip
          path first), every fit by L-BFGS on the network's own objective
          (``solver="lbfgs"``, up to 1000 iterations, no no-improvement rule) instead of the
          estimator's solver. On ``benchmarks/real_data.py``'s split of NARMA-10, at
          ``alpha=0.1`` (medians of 3 random starts, ``benchmarks/alm_vs_lbfgs.py``),
          ALM-BCD's fits end at a training MSE of 0.141 (test MSE 0.20x RidgeCV's) and
          L-BFGS's from the same starts at 0.0099 (0.024x), in a tenth of the CPU time: on
          a series whose memory is a product of past inputs, ALM-BCD's relaxed problem
          stops at worse fits of the network.
        - ``"lags"``: not a path of fits but, at each alpha, the start of
          ``init="delay_prediction"`` itself (``max_iter=0``): the ridge regression on the
          inputs and the lags of their linear prediction held by a delay line (all
          ``n_hidden`` units: the prediction and ``n_hidden - 1`` lags of it for one output,
          whatever the number of inputs, which the skip path carries; the lags' penalty
          :math:`\lambda_1` from ``alpha``, the inputs' ``lambda_D``), in closed form. With
          three inputs, lags of every input reach 5 steps back in 20 units, lags of the
          prediction 19: a monthly series needs lag 12. And the fits of the ``"delay"``
          path moved away from their start even where it was better. Alone against ridge
          (one-SE rule, ``benchmarks/cv_candidates.py``): test MSE 0.057x RidgeCV's on
          elec_equip, 0.24x on co2, 0.76x on elnino, 0.14x on interest_inflation, 0.89x on
          sp500 (11 inputs: 8 lags when the line also held a copy of the inputs, 1.001x);
          ridge kept on sunspots, nile and macrodata. Its fits take 0.1-0.6 CPU s per CV.

        The CV keeps whichever start wins. The ``"delay"`` start holds the inputs in the
        hidden units: when ``X`` has more features than the network has hidden units it is
        left out (``cv_results_`` has no rows for it).

    linear_start_activation : str, Activation or None, default="relu"
        Activation of the networks on the ``"linear"``, ``"delay"`` and ``"lags"``
        starts' paths (an ``activation`` of :class:`ElmanRNNRegressor`); None: the
        estimator's (for ``"delay"`` and ``"lags"`` it must be the identity on positive
        inputs: relu, leaky_relu or elu). ReLU units grown from the ridge
        model kept their gain on the rows after training where tanh units did not: on
        quarterly German inflation (``interest_inflation`` in ``benchmarks/real_data.py``,
        medians of 3 starts) the linear start alone, chosen by the lowest mean, had a test
        MSE of 0.18x RidgeCV's with ReLU and 1.98x with tanh. The ``"recurrent"`` start
        keeps the estimator's activation (tanh by default, whose stable cycles carry a
        hidden period).

    warm_up_max_iter : int or None, default=50
        Cap on ``max_iter`` of the ``"recurrent"`` start's first fit (the one without the
        skip path; the estimator's ``max_iter`` when that is lower); None: the estimator's
        (100 ALM iterations for ALM-BCD). On ``benchmarks/real_data.py``
        (``benchmarks/cv_candidates.py``, random_state 0, 1, 2), a cap of 50 left the
        hidden oscillator's test MSE at 0.032, 0.086, 0.025x RidgeCV's (uncapped: 0.032,
        0.118, 0.025x) and cut the start's CPU time from 264 to 227 s (summed over the
        eleven series, medians of the random starts); a cap of 30 left the first
        fold's network of ``random_state=2`` worse than ridge (validation MSE 1.74 against
        0.62), and the one-standard-error rule then chose ridge (1.0x); a cap of 20 cost
        more CPU time than 50, not less (the path's fits from the shorter warm-up ran
        longer: 400 against 387 s for all the starts, summed as above) and moved one random
        start of the hidden oscillator from 0.086 to 0.126x.

    linear_start_max_iter : int or None, default=50
        Cap on ``max_iter`` of every fit on the ``"linear"`` start's path (the estimator's
        ``max_iter`` when that is lower); None: the estimator's. The path grows the
        recurrence from the ridge model, and stopping its fits early keeps them near it: on
        quarterly inflation (``interest_inflation``, ``benchmarks/cv_candidates.py``) the
        CV's test MSE was 0.19x RidgeCV's with a cap of 50, 0.20x uncapped and 0.26x with
        a cap of 30 (medians of 3 random starts), no other series' choice changed, and the
        start's CPU time went from 130 to 80 s summed over the eleven series. With a cap of
        20, 0.47x, and one random start of ``elec_equip`` chose a linear-start network at
        2.35x RidgeCV's test MSE (0.057x with 50).

    selection : {"one_se", "min"}, default="one_se"
        How the winner is chosen from the mean validation MSEs.

        - ``"one_se"``: a network must beat the ridge model by more than one standard error
          of its per-fold improvements (paired over the folds); among the networks that do,
          the lowest mean validation MSE wins, else the ridge model. The one-standard-error
          rule of Breiman et al. and glmnet, with the ridge model as the simplest one: on
          short real series the fold scores are noisy, and a network that wins their mean by
          chance loses on the rows after training (``benchmarks/real_data.py``).
        - ``"min"``: the lowest mean validation MSE (as GridSearchCV).

    fold_weights : {"uniform", "train_size"}, default="uniform"
        The folds' weights in the mean validation MSE that ``selection`` compares (and in
        the standard error of the one-SE rule).

        - ``"uniform"``: every fold weighs the same, as in GridSearchCV.
        - ``"train_size"``: each fold weighs as many as its training rows (a standard error
          of the weighted mean, each fold's variance from its own deviation), closer to the
          refit on all rows, where TimeSeriesSplit's first fold trains on a sixth of them.
          Not the default: it trusts the last folds, and a network that wins only there
          can lose badly on the rows after them. In the nested ``TimeSeriesSplit(5)`` on
          the S&P file (``benchmarks/forecast_cv.py``), on the second outer fold (149
          training rows), a recurrent network won the last two inner folds by 2.5x and 9x
          (lost the two before), was chosen with these weights for each of 3 random
          starts, and its test MSE was 7.6x RidgeCV's (0.037 against 0.0049); equal
          weights kept ridge. On ``benchmarks/cv_candidates.py``'s records of 22f210b (11
          series x 3 random starts) it changed three choices, each slightly for the better (co2
          0.233x RidgeCV's test MSE against 0.238x, NARMA-10 0.020x against 0.022x, S&P
          500 1.000x against 1.001x; medians of the random starts).

        The ridge penalty of step 1 is RidgeCV's choice, equal weights, whatever this is.

    cv : int, cross-validation generator or iterable, default=None
        Time-ordered splitter. None: ``TimeSeriesSplit(5)``; an int ``k``:
        ``TimeSeriesSplit(k)``. Each split's test rows should come after its training rows:
        the network runs on from the training rows into them.

    n_jobs : int or None, default=-1
        Worker processes that fit the (fold, start) paths in parallel
        (:class:`sklearn.utils.parallel.Parallel`, on joblib's active backend: loky
        processes unless a ``joblib.parallel_config`` context says otherwise), at most one
        per path. -1: one per core (joblib's count, which follows the process's CPU
        affinity and quota); None: 1
        unless in a ``parallel_config`` context (scikit-learn's convention); 1: all in this
        process. The results do not depend on it (``tests/test_cv.py``).

        Unlike scikit-learn's estimators the default uses every core: each network's fit runs
        BLAS on one thread (ALM-BCD pins it), so where numpy's BLAS would spread a linear
        model's work over the cores, a CV on one process would leave all but one idle. On
        3,000 rows x 3 features here (2 cores) the fit took 42-64 s with -1 against
        79-111 s with 1 (10 runs each, ``benchmarks/cv_fit_time.py``), for the same CPU
        time. Processes, not threads: the paths hold the GIL for much of their time, and on
        two threads the same fit took 83 s of wall time for 127 s of CPU time (111 s and 115
        s in one process, same run). Inside a worker of an outer parallel loop
        (``GridSearchCV(n_jobs=2)``, ``cross_val_score(n_jobs=2)``) the paths run one after
        another in that worker, whatever ``n_jobs`` says: the outer loop already occupies
        the cores, and joblib would add threads there that compete with it. So do they in a
        daemonic process (a ``multiprocessing.Pool`` worker), which cannot start processes.

    verbose : int, default=0
        0: silent. 1 or more: what the search will fit, joblib's progress over the fold
        paths (every path of a fold and start is one task), and the choice, on standard
        output (joblib's lines on standard error). The networks' own ``verbose`` is
        ``estimator``'s.

    random_state : int, RandomState instance or None, default=None
        Seeds the network's initial weights when ``estimator.random_state`` is None: every
        fold and the refit start from the same draw.

    Attributes
    ----------
    alpha_ : float
        The chosen recurrent penalty; ``inf`` when the ridge model (recurrent part off) won.

    start_ : str or None
        The start of the chosen network's path; None when the ridge model won.

    best_index_ : int
        Row of the chosen candidate in :attr:`cv_results_`.

    linear_alpha_ : float
        The chosen ridge penalty of the linear path (Ridge units).

    best_score_ : float
        Mean validation MSE of the chosen candidate (weighted by ``fold_weights``; not
        always the highest score: see ``selection``), negated (higher is better, as in
        :class:`~sklearn.model_selection.GridSearchCV`).

    best_estimator_ : ElmanRNNRegressor
        The chosen model refitted on all rows; ``predict`` and ``score`` delegate to it.

    cv_results_ : dict of ndarrays
        One entry per candidate (the ridge model, ``alpha = inf``, first; then ``alphas`` in
        path order for each of ``starts``): ``param_alpha``, ``param_start`` (``"none"``
        for the ridge model), ``split{i}_test_score`` and ``mean_test_score`` /
        ``std_test_score`` (negated MSE; mean and spread weighted by ``fold_weights``, as
        GridSearchCV's were with ``iid=True``), ``rank_test_score``, ``mean_fit_time`` (CPU
        seconds per fold, the ridge candidate 0) and ``n_fits_warned`` (folds whose fit
        raised a :class:`~sklearn.exceptions.ConvergenceWarning`; such fits are scored as
        they are, which is how a diverging penalty loses).

    %(fitted_attributes)s

    See Also
    --------
    ElmanRNNRegressor : The network with fixed penalties.
    sklearn.linear_model.RidgeCV : The linear model this one nests.

    Examples
    --------
    >>> import numpy as np
    >>> from skalm import ElmanRNNRegressorCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.standard_normal((300, 2))
    >>> y = np.sin(np.arange(300) / 4.0) + X[:, 0]
    >>> est = ElmanRNNRegressorCV(random_state=0).fit(X[:240], y[:240])
    >>> y_next = est.predict(X[240:])   # runs on from the end of the training rows
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict", "set_params"]), None],
        "alphas": ["array-like"],
        "linear_alphas": ["array-like"],
        "starts": ["array-like"],
        "linear_start_activation": [str, HasMethods(["sigma", "solve_u"]), None],
        "warm_up_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "linear_start_max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "selection": [StrOptions({"one_se", "min"})],
        "fold_weights": [StrOptions({"uniform", "train_size"})],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        alphas=(1.0, 0.3, 0.1),
        linear_alphas=tuple(np.logspace(-3, 3, 13)),
        starts=_DEFAULT_STARTS,
        linear_start_activation="relu",
        warm_up_max_iter=50,
        linear_start_max_iter=50,
        selection="one_se",
        fold_weights="uniform",
        cv=None,
        n_jobs=-1,
        verbose=0,
        random_state=None,
    ):
        self.estimator = estimator
        self.alphas = alphas
        self.linear_alphas = linear_alphas
        self.starts = starts
        self.linear_start_activation = linear_start_activation
        self.warm_up_max_iter = warm_up_max_iter
        self.linear_start_max_iter = linear_start_max_iter
        self.selection = selection
        self.fold_weights = fold_weights
        self.cv = cv
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    @staticmethod
    def _positive_grid(values, name):
        grid = np.asarray(values, dtype=float).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
            raise ValueError(f"{name} must be a non-empty list of positive finite floats, "
                             f"got {values!r}.")
        return grid

    def _checked_starts(self):
        starts = [self.starts] if isinstance(self.starts, str) else list(self.starts)
        unknown = [s for s in starts if s not in _STARTS]
        if not starts or unknown or len(set(starts)) != len(starts):
            raise ValueError(f"starts must be a non-empty list of distinct values among "
                             f"{_STARTS}, got {self.starts!r}.")
        return starts

    def _base(self):
        base = ElmanRNNRegressor() if self.estimator is None else clone(self.estimator)
        if not isinstance(base, ElmanRNNRegressor):
            raise TypeError(
                "estimator must be an ElmanRNNRegressor (or None), got "
                f"{type(base).__name__}."
            )
        params = {"skip_connection": True, "warm_start": False}
        if base.lambda_c is None:
            params["lambda_c"] = 0.0
        if base.random_state is None:
            # One draw for every fold and the refit, so that they differ only by the data.
            params["random_state"] = check_random_state(self.random_state).randint(2**31 - 1)
        return base.set_params(**params)

    def _splits(self, X):
        cv = TimeSeriesSplit(5) if self.cv is None else self.cv
        if isinstance(cv, Integral):
            cv = TimeSeriesSplit(int(cv))
        try:
            splits = list(check_cv(cv).split(X))
        except ValueError as exc:
            raise ValueError(f"cv cannot split n_samples={X.shape[0]} rows: {exc}") from exc
        for train, test in splits:
            if len(train) < 2 or len(test) < 1 or test[0] <= train[-1]:
                raise ValueError(
                    "cv must yield splits whose test rows come after at least 2 training "
                    "rows (time-ordered, e.g. TimeSeriesSplit): the network runs on from the "
                    "training rows into the test rows."
                )
        return splits

    @fit_context(prefer_skip_nested_validation=False)
    @atomic
    @fill_doc(SHARED_DOC)
    def fit(self, X, y, sequence_id=None):
        """Choose the penalties by time-ordered CV, then refit the winner on all rows.

        Atomic, as :meth:`ElmanRNNRegressor.fit`: if it raises, the estimator is left as it
        was.

        Parameters
        ----------
        %(X)s

        %(y)s

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels, as in :meth:`ElmanRNNRegressor.fit`; the folds
            cut the rows (and the labels) in time order.

        Returns
        -------
        self : ElmanRNNRegressorCV
            The fitted estimator.
        """
        X, y = validate_fit_data(self, X, y)
        check_sequence_id(sequence_id, X.shape[0])
        alphas = np.sort(self._positive_grid(self.alphas, "alphas"))[::-1]
        linear_alphas = self._positive_grid(self.linear_alphas, "linear_alphas")
        splits = self._splits(X)
        Y = y.reshape(len(y), -1)

        # 1. the linear path's penalty: RidgeCV's choice on the same folds
        ridge_mse = np.array([
            [np.mean((Ridge(alpha=a).fit(X[tr], y[tr]).predict(X[te]).reshape(len(te), -1)
                      - Y[te]) ** 2) for tr, te in splits]
            for a in linear_alphas
        ])
        best_linear = int(np.argmin(ridge_mse.mean(axis=1)))
        self.linear_alpha_ = float(linear_alphas[best_linear])

        # 2. the recurrent penalty along the path, fold by fold, from each start
        starts = self._checked_starts()
        base = self._base()
        if X.shape[1] > base.n_hidden:  # no room for a delay line of the inputs
            starts = [s for s in starts if s not in _INPUT_LINE_STARTS]
            if not starts:
                raise ValueError(
                    f"starts={self.starts!r}: the 'delay' start holds the inputs in the "
                    f"hidden units, which needs n_hidden >= n_features; the network has "
                    f"n_hidden={base.n_hidden} and X has {X.shape[1]} features. Add another "
                    f"start or raise n_hidden.")
        last = len(splits) - 1
        # What each start sets on the network. "delay" early-stops: on the first folds' few
        # rows the lag network fitted to the end overfits (its validation loss grows past
        # ridge's), and the folds' paired gains then fail the one-SE rule on every series.
        grown = ({} if self.linear_start_activation is None
                 else {"activation": self.linear_start_activation})
        start_params = {
            "recurrent": {},
            "linear": {**grown, "max_iter": _capped(base.max_iter, self.linear_start_max_iter)},
            "delay": {**grown, "init": "delay", "early_stopping": True},
            "lbfgs": _solver_switch(**_LBFGS_START),
            "lags": {**grown, "init": "delay_prediction", "max_iter": 0},
        }
        bases = {start: clone(base).set_params(**start_params[start]) for start in starts}
        # The warm-up cap is the "recurrent" start's alone: "lbfgs" keeps its 1000 iterations.
        warm_up_caps = {"recurrent": self.warm_up_max_iter}
        # Longest folds first: with n_jobs > 1 the short ones then fill the gaps at the end
        # instead of one long fit running alone (the results do not depend on the order).
        jobs = [(i, start) for i in reversed(range(len(splits))) for start in starts]
        if self.verbose:
            print(f"{type(self).__name__}: {len(splits)} folds x {len(starts)} starts "
                  f"({', '.join(starts)}), {len(alphas)} alphas each, plus the ridge "
                  f"model (linear_alpha_={self.linear_alpha_:g}): {len(jobs)} paths")
        paths = dict(zip(jobs, Parallel(n_jobs=_path_jobs(self.n_jobs, len(jobs)),
                                        verbose=self.verbose)(
            delayed(_fold_path)(
                clone(bases[start]).set_params(lambda_D=self.linear_alpha_ / len(splits[i][0])),
                alphas, start, X, y, sequence_id, *splits[i], keep=i == last,
                warm_up_max_iter=warm_up_caps.get(start))
            for i, start in jobs
        )))

        # 3. candidates: ridge (alpha = inf) first, then each start's path
        def per_candidate(field):  # (alphas x folds) per start
            return [np.array([getattr(paths[i, start], field) for i in range(len(splits))]).T
                    for start in starts]

        mse = np.vstack([ridge_mse[best_linear], *per_candidate("scores")])
        fit_time = np.concatenate([[0.0], *[t.mean(axis=1) for t in per_candidate("times")]])
        warned = np.concatenate([[0], *[w.sum(axis=1) for w in per_candidate("warned")]])
        candidates = np.concatenate([[np.inf], np.tile(alphas, len(starts))])
        candidate_starts = np.array(["none"] + [s for s in starts for _ in alphas],
                                    dtype=object)
        weights = (np.array([len(tr) for tr, _ in splits], dtype=float)
                   if self.fold_weights == "train_size" else None)
        mean = _fold_mean(mse, weights)
        with np.errstate(invalid="ignore"):  # an infinite score has an undefined spread
            std = (mse.std(axis=1) if weights is None
                   else np.sqrt(_fold_mean((mse - mean[:, None]) ** 2, weights)))
        best = _select(mse, self.selection, weights)
        self.cv_results_ = {
            "param_alpha": candidates,
            "param_start": candidate_starts,
            **{f"split{i}_test_score": -mse[:, i] for i in range(len(splits))},
            "mean_test_score": -mean,
            "std_test_score": std,
            "rank_test_score": (np.argsort(np.argsort(mean, kind="stable"), kind="stable")
                                + 1),
            "mean_fit_time": fit_time,
            "n_fits_warned": warned,
        }
        self.alpha_ = float(candidates[best])
        self.start_ = None if best == 0 else str(candidate_starts[best])
        self.best_index_ = best
        self.best_score_ = float(-mean[best])
        if self.verbose:
            chosen = ("the ridge model" if best == 0
                      else f"start {self.start_!r}, alpha={self.alpha_:g}")
            print(f"{type(self).__name__}: chose {chosen}, mean validation MSE "
                  f"{mean[best]:.4g} (the ridge model's {mean[0]:.4g}); refitting on "
                  f"{X.shape[0]} rows")

        # 4. refit on all rows. The RNN starts from the last fold's fit at the chosen alpha
        # and start: that fold's rows are the longest stretch of the data, and its fit is the
        # one the path reached there (refitting the whole path on all rows would cost up to
        # len(alphas) fits for the same start).
        if best == 0:
            final = base.set_params(alpha=_OFF_ALPHA)
        else:
            j = (best - 1) % len(alphas)
            final = paths[last, self.start_].fitted[j]
            final.set_params(warm_start=_warm_starts(final))
        final.set_params(lambda_D=self.linear_alpha_ / X.shape[0])
        final.fit(X, y, **_sid_kwargs(sequence_id, slice(None)))
        self.best_estimator_ = final
        self.n_outputs_ = final.n_outputs_
        return self

    @fill_doc(SHARED_DOC)
    def predict(self, X, sequence_id=None, initial_state=None):
        """Predict with :attr:`best_estimator_` (see :meth:`ElmanRNNRegressor.predict`).

        Parameters
        ----------
        %(X)s

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels.

        initial_state : {"auto", "zeros", "continue"}, ndarray of shape (n_hidden,) or \
None, default=None
            Hidden state before the first row, as in :meth:`ElmanRNNRegressor.predict`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(
            X, sequence_id=sequence_id, initial_state=initial_state
        )
