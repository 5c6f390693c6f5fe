"""An average of several Elman RNNs fitted from different random starts.

The training objective of an RNN is non-convex: fits of the same data from different initial
weights land in different minima whose errors on new rows differ (by a few percent of the
test error on the paper's T=500 set). Averaging the predictions of K such fits removes part of
that variance. scikit-learn's own averaging meta-estimators do not fit sequence models:
``VotingRegressor`` takes only a 1-D target, and ``BaggingRegressor`` without bootstrap still
permutes the rows, which destroys the time order.

The average is itself an Elman RNN, K times wider: the hidden state is the K members' states
stacked, W is block-diagonal in the members' W_k, V and b are stacked, A = [A_1 ... A_K] / K
and c (and D) are the members' mean. So an ensemble predicts what one network of width K r
could, and it is trained at the cost of K fits of width r.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ._atomic import atomic
from ._base import DTYPES, SequenceRegressorMixin, blame, validate_fit_data
from ._compat import HasMethods, Interval, fit_context
from ._docstring import SHARED_DOC, fill_doc, join_entries
from .estimator import ElmanRNNRegressor

__all__ = ["RNNEnsembleRegressor"]


def _fit_member(estimator, X, y, sequence_id):
    return estimator.fit(X, y, **({} if sequence_id is None else {"sequence_id": sequence_id}))


@fill_doc({"fitted_attributes": join_entries(
    SHARED_DOC, ("n_features_in_", "feature_names_in_", "n_outputs_")
)})
class RNNEnsembleRegressor(SequenceRegressorMixin, BaseEstimator):
    """Average of ``n_estimators`` RNN regressors fitted from different random starts.

    Each member is a clone of ``estimator`` whose ``random_state`` is set to a seed drawn
    from ``random_state``; all members see the same rows in the same order. The prediction
    is the mean of the members' predictions. This is a variance-reduction device: every
    member solves the same problem, only the initial weights (and, for stochastic solvers,
    the mini-batches) differ.

    Parameters
    ----------
    estimator : estimator object, default=None
        The member to clone, with every setting except ``random_state``. It must have
        ``fit`` and ``predict`` and a ``random_state`` parameter. None:
        ``ElmanRNNRegressor()``.

    n_estimators : int, default=5
        Number of members K (>= 1). The fit costs K fits of ``estimator``.

    n_jobs : int, default=None
        Members fitted in parallel, with joblib (None: 1 unless in a
        ``joblib.parallel_backend`` context; -1: all processors). skalm's regressors use one
        BLAS thread by default, so the processes do not oversubscribe the cores. The workers
        (``sklearn.utils.parallel``) inherit the caller's scikit-learn configuration and
        warning filters.

    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds. Pass an int for reproducible fits.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members; ``estimators_[k].random_state`` is the seed of member k.

    %(fitted_attributes)s

    See Also
    --------
    ElmanRNNRegressor : The member model.

    Notes
    -----
    The averaged model is itself an Elman RNN (see the module docstring): the K members'
    hidden states stacked, a block-diagonal recurrent matrix, output weights divided by K.
    ``predict`` passes ``sequence_id`` and ``initial_state`` to every member, so the
    ``"auto"`` rule (rows placed against the training rows, other rows continued from the end of
    training) holds member by member.

    Examples
    --------
    >>> from skalm import ElmanRNNRegressor, RNNEnsembleRegressor
    >>> from skalm.datasets import load_sp500_volatility
    >>> X, y = load_sp500_volatility(return_X_y=True)
    >>> ens = RNNEnsembleRegressor(ElmanRNNRegressor(solver="lbfgs", n_hidden=10),
    ...                            n_estimators=3, random_state=0).fit(X[:393], y[:393])
    >>> len(ens.estimators_), ens.predict(X[393:]).shape
    (3, (44,))
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
    }

    # As ElmanRNNRegressor: sequence_id of predict/score is routed only when requested.
    __metadata_request__predict = {
        "sequence_id": False,
        "initial_state": metadata_routing.UNUSED,
        "return_state": metadata_routing.UNUSED,
    }
    __metadata_request__score = {"sequence_id": False}

    def __init__(self, estimator=None, *, n_estimators=5, n_jobs=None, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _members(self):
        base = ElmanRNNRegressor() if self.estimator is None else self.estimator
        if "random_state" not in base.get_params(deep=False):
            raise TypeError(
                f"estimator must have a random_state parameter (the members differ only by "
                f"it); {type(base).__name__} has none."
            )
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=self.n_estimators
        )
        return [clone(base).set_params(random_state=int(seed)) for seed in seeds]

    @fit_context(prefer_skip_nested_validation=False)
    @atomic
    @fill_doc(SHARED_DOC)
    def fit(self, X, y, sequence_id=None):
        """Fit ``n_estimators`` clones of ``estimator`` on the same rows.

        Atomic: if it raises (also on a KeyboardInterrupt), the ensemble is left as it was.

        Parameters
        ----------
        %(X)s

        %(y)s

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row labels of independent sequences, passed to every member.

        Returns
        -------
        self : RNNEnsembleRegressor
            The fitted ensemble.
        """
        X, y = validate_fit_data(self, X, y)
        members = self._members()
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(member, X, y, sequence_id) for member in members
        )
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return self

    @fill_doc(SHARED_DOC)
    def predict(self, X, sequence_id=None, initial_state=None, return_state=False):
        """Mean of the members' predictions; never modifies the ensemble.

        Parameters
        ----------
        %(X)s

        sequence_id : array-like of shape (n_samples,), default=None
            Optional per-row sequence labels, passed to every member.

        initial_state : {"auto", "zeros", "continue"}, ndarray or None, default=None
            A rule is passed to every member (see :meth:`ElmanRNNRegressor.predict`). An
            array is the state of the averaged network: the members' states stacked, of
            shape ``(sum of the members' n_hidden,)``, as ``return_state`` gives it.

        return_state : bool, default=False
            Also return the state after the last row (the members' states stacked), to
            pass as ``initial_state`` of the next call.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The average prediction; 1-D when ``fit`` got a 1-D ``y``.

        h_final : ndarray of shape (sum of the members' n_hidden,)
            Only when ``return_state=True``.
        """
        check_is_fitted(self)
        with blame("X"):
            X = validate_data(self, X, reset=False, dtype=DTYPES)
        kwargs = {} if sequence_id is None else {"sequence_id": sequence_id}
        states = [initial_state] * len(self.estimators_)
        if initial_state is not None and not isinstance(initial_state, str):
            states = self._member_states(initial_state)
        total, finals = None, []
        for member, state in zip(self.estimators_, states):
            given = kwargs if state is None else {**kwargs, "initial_state": state}
            if return_state:
                y_pred, h = member.predict(X, return_state=True, **given)
                finals.append(h)
            else:
                y_pred = member.predict(X, **given)
            total = y_pred if total is None else total + y_pred
        y_mean = total / len(self.estimators_)
        return (y_mean, np.concatenate(finals)) if return_state else y_mean

    def _member_states(self, state):
        """An explicit state of the averaged network, split into the members' states."""
        sizes = [member.hidden_state_.shape[0] for member in self.estimators_]
        with blame("initial_state"):
            h = np.asarray(state, dtype=float)
        if h.shape != (sum(sizes),):
            raise ValueError(
                "an explicit initial_state of the ensemble is its members' states stacked, of "
                f"shape ({sum(sizes)},); got shape {h.shape}."
            )
        return np.split(h, np.cumsum(sizes)[:-1])
