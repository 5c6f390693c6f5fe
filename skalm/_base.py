"""What skalm's regressors share: input validation that names the argument at fault, and the
``score`` and tags of a sequence regressor."""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array, validate_data

from .model import SequenceLayout

__all__ = [
    "DTYPES", "blame", "validate_fit_data", "check_magnitude", "missing_labels",
    "check_sequence_id", "SequenceRegressorMixin",
]


#: Floating dtypes skalm's regressors compute in; any other input is converted to float64.
DTYPES = [np.float64, np.float32]


@contextmanager
def blame(name):
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


def validate_fit_data(estimator, X, y):
    """validate_data for the fit of ``estimator`` (a skalm regressor), after checking X, then
    y, then their lengths one at a time (without side effects), so that an error names the
    argument at fault."""
    if y is None:
        raise ValueError(
            f"This {type(estimator).__name__} estimator requires y to be passed, but the "
            "target y is None."
        )
    with blame("X"):
        n_rows = check_array(X, dtype=DTYPES, estimator=estimator, input_name="X").shape[0]
    with blame("y"):
        y_checked = check_array(y, ensure_2d=False, dtype=DTYPES, estimator=estimator,
                                input_name="y")
    if y_checked.shape[0] != n_rows:
        raise ValueError(
            f"X and y have inconsistent numbers of rows: X has {n_rows}, y has "
            f"{y_checked.shape[0]}."
        )
    with blame("X"):  # what is left: the feature names of X
        X, y = validate_data(estimator, X, y, multi_output=True, y_numeric=True, dtype=DTYPES)
    for name, values in (("X", X), ("y", y_checked)):  # y_checked: numbers, not strings
        check_magnitude(name, values, X.dtype)
    return X, y


def check_magnitude(name, values, dtype):
    """Reject entries so large that the training objective overflows in ``dtype``.

    The objective squares residuals and pre-activations (sums over the rows): entries near
    sqrt(largest float) overflow it; 1e-4 of that leaves room for the sums. ``predict``
    applies the same bound to its X: what fit cannot train on it cannot predict from.
    """
    limit = 1e-4 * float(np.sqrt(np.finfo(dtype).max))
    peak = float(np.max(np.abs(values)))
    if peak > limit:
        raise ValueError(
            f"{name} has entries as large as {peak:.3g}: beyond {limit:.2g} the "
            f"squared errors of the training objective overflow in {dtype}. Scale "
            f"{name} first (e.g. with StandardScaler"
            + (", or TransformedTargetRegressor for y)." if name == "y" else ").")
        )


def missing_labels(sid):
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




def check_sequence_id(sequence_id, n_samples):
    """Validate a per-row sequence label; return the :class:`SequenceLayout` (or None)."""
    if sequence_id is None:
        return None
    with blame("sequence_id"):
        sid = np.asarray(sequence_id)
        if sid.ndim != 1 or sid.shape[0] != n_samples:
            raise ValueError(
                "sequence_id must be a 1-D array with one label per row of X: got shape "
                f"{sid.shape} for {n_samples} rows."
            )
        missing = missing_labels(sid)
        if missing.any():
            # NaN != NaN: each such row would silently become a sequence of its own.
            raise ValueError(
                f"sequence_id has {int(missing.sum())} missing labels (NaN, None or NaT), "
                f"the first at row {int(np.argmax(missing))}; every row needs a label."
            )
        return SequenceLayout.from_sequence_id(sid)


class SequenceRegressorMixin(RegressorMixin):
    """score and tags shared by skalm's regressors: R^2 of predict with the sequence labels,
    an error (not a NaN score) when the forward pass overflows; multi-output, no NaN input."""

    def score(self, X, y, sample_weight=None, sequence_id=None):
        """Coefficient of determination :math:`R^2` of :meth:`predict` on ``(X, y)``.

        The hidden state before the first row follows ``initial_state`` (see the class
        docstring): under ``"auto"`` the training rows (or a prefix of them) are replayed
        from zero, rows placed further inside the training rows start from the training
        state there, and rows that share none with them continue from ``hidden_state_``.

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
        with blame("y"):
            y = check_array(y, ensure_2d=False, dtype=DTYPES, estimator=self, input_name="y")
        n_out = 1 if y.ndim == 1 else y.shape[1]
        if y.shape[0] != y_pred.shape[0] or n_out != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[0]} rows and {n_out} outputs; X has {y_pred.shape[0]} rows "
                f"and the model predicts {self.n_outputs_} outputs."
            )
        if sample_weight is None:
            return r2_score(y, y_pred)
        with blame("sample_weight"):
            return r2_score(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags
