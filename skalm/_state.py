"""Which hidden state ``predict`` starts from under ``initial_state="auto"``.

:class:`TrainingRows`, built at the end of ``fit``, keeps what it takes to place the rows of a
later ``X`` against the training rows: a copy of the training ``X``, one projection of each
row (a number, sorted, so that candidate matches are found by binary search), and the hidden
state every ``stride`` rows (so that the state before any training row is recovered by at most
``stride`` steps of the recurrence). :meth:`TrainingRows.place` answers "where in the series
does this ``X`` start?":

* rows are compared with a *relative* tolerance (:data:`RTOL`), not bytes, so the training
  rows after a float32 round trip, or recomputed by a transformer (``PCA.transform`` after
  ``fit_transform``) are still recognised;
* the first row of ``X`` is looked up among the training rows; every candidate offset ``k``
  is checked on a few rows, and only then on the whole overlap;
* an ``X`` that starts inside the training rows starts from the state before training row
  ``k`` (zero for ``k = 0``), with the training sequences; its rows past the end of training
  continue from there;
* an ``X`` that shares no row with the training rows continues from ``hidden_state_``;
* what cannot be placed (a partial overlap, training rows that are not at the start of
  ``X``, several offsets that fit equally, a near copy of the training ``X``) gives a
  :class:`HiddenStateWarning` and continues from ``hidden_state_``.

The decision table is written here (:data:`PARAMS_DOC`), shown in the class docstring of
:class:`~skalm.ElmanRNNRegressor`.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from ._base import blame
from .model import SequenceLayout, forward

__all__ = [
    "HiddenStateWarning", "TrainingRows", "Placement", "RTOL", "INITIAL_STATES", "PARAMS_DOC",
    "initial_hidden_state", "time_index", "warn_reused_labels",
]

#: Two entries match when ``|a - b| <= RTOL * (|b| + s)``, ``s`` the spread (standard
#: deviation) of the training column: far above float32 rounding (6e-8) and the round-off of
#: a transformer applied twice, far below any change of the data that matters.
RTOL = 1e-5

#: Initial-state rules accepted by ``initial_state`` (and by ``predict(initial_state=...)``).
INITIAL_STATES = ("auto", "zeros", "continue")

#: The numpydoc entry of ``initial_state`` and the part of the Notes of
#: :class:`~skalm.ElmanRNNRegressor` that describe the rule implemented here, composed into its
#: class docstring (:func:`skalm._docstring.fill_doc`).
PARAMS_DOC = {
    "initial_state": r"""initial_state : {"auto", "zeros", "continue"}, default="auto"
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
    array :math:`h_0`.""",
    "initial_state_notes": r"""**Which hidden state predictions start from.** A causal model evaluated on the part of
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
returns the state after the last row for the next call.""",
}

#: An ``X`` whose first rows are within this relative distance of the first training rows,
#: but beyond :data:`RTOL`, is a changed copy of the training ``X``: it cannot be placed.
NEAR = 1e-2

#: At most this many candidate training rows per row of ``X`` are checked (inputs whose rows
#: repeat, e.g. one-hot calendars, can match many).
_MAX_CANDIDATES = 64

#: Rows compared first, before a candidate offset is checked on the whole overlap.
_HEAD = 8


class HiddenStateWarning(UserWarning):
    """``predict`` could not place ``X`` against the training rows under
    ``initial_state="auto"`` and continues from ``hidden_state_``; pass ``initial_state``
    explicitly to say which state is meant."""


class Placement(NamedTuple):
    """Where an ``X`` starts relative to the training rows.

    ``case`` is one of ``"training"`` (the training ``X``), ``"stacked"`` (the training
    ``X`` followed by new rows), ``"prefix"``, ``"suffix"`` (training rows ``k`` to the end,
    possibly followed by new rows), ``"block"`` (training rows ``k`` to ``k + n - 1`` before
    the end), ``"continuation"`` (no training row) or ``"unplaced"``. ``offset`` is the
    training row the first row of ``X`` is (``-1`` when none), ``n_overlap`` how many rows
    of ``X`` are training rows, ``message`` why it could not be placed.
    """

    case: str
    offset: int = -1
    n_overlap: int = 0
    message: str = ""


class TrainingRows:
    """The training rows, indexed for :meth:`place`, and their hidden states.

    Parameters
    ----------
    X : ndarray of shape (T, n)
        The training inputs (copied).
    H : ndarray of shape (T, r)
        Their hidden states by the forward pass of the fitted weights.
    layout : SequenceLayout or None
        The training sequences (None: one sequence).
    index : ndarray or None
        The rows' time stamps (:func:`time_index` of the training X): when they are evenly
        spaced, an ``X`` with time stamps too is checked to start right after them.
    """

    def __init__(self, X, H, layout, index=None):
        self.X = np.array(X, order="C", copy=True)
        T, n = self.X.shape
        Xf = self.X.astype(np.float64, copy=False)
        spread = Xf.std(axis=0) if T else np.ones(n)
        spread = np.where(spread > 0, spread, np.max(np.abs(Xf), axis=0, initial=0.0))
        self.scale = np.where(spread > 0, spread, 1.0)
        # Any fixed positive weights do; positive so that the bound below is a plain sum.
        unit = np.random.RandomState(0).uniform(0.5, 1.5, size=n)
        self.proj_weights = unit / self.scale
        proj = Xf @ self.proj_weights
        self.order = np.argsort(proj, kind="stable")
        self.sorted_proj = proj[self.order]
        # Matching rows (|a - b| <= RTOL (|b| + s) entrywise) have projections closer than
        # RTOL (|b| . w + sum(unit)); the 1.01 covers the round-off of the products.
        largest = float(np.max(np.abs(Xf) @ self.proj_weights, initial=0.0))
        self.window = 1.01 * RTOL * (largest + float(unit.sum()))
        # Whether two training rows match each other (inputs that repeat, e.g. discrete
        # ones): then a later row of X that is "some training row" says little.
        near = np.flatnonzero(np.diff(self.sorted_proj) <= self.window)
        self.rows_repeat = bool(
            near.size and self._close(
                Xf[self.order[near]], self.X[self.order[near + 1]]
            ).any()
        )
        self.first = None if layout is None else np.asarray(layout.first).copy()
        # State before row i*stride (zero at sequence starts): sqrt(T) states of size r, and
        # at most stride steps of the recurrence to recover the state before any row.
        self.stride = max(1, int(np.sqrt(T)))
        rows = np.arange(0, T, self.stride)
        states = np.zeros((rows.size, H.shape[1]), dtype=H.dtype)
        inside = rows > 0
        if self.first is not None:
            inside &= ~self.first[rows]
        states[inside] = H[rows[inside] - 1]
        self.states = states
        self.index_last = self.index_step = None
        if index is not None and len(index) >= 2:
            steps = np.diff(index)
            if np.all(steps == steps[0]) and steps[0] > steps[0] * 0:
                self.index_last, self.index_step = index[-1], steps[0]

    def __len__(self):
        return self.X.shape[0]

    def _close(self, A, B):
        """Row-wise: every entry of A within the tolerance of B (B: training rows)."""
        B = B.astype(np.float64, copy=False)
        return np.all(np.abs(A - B) <= RTOL * (np.abs(B) + self.scale), axis=-1)

    def _overlap_matches(self, Xn, k):
        """True when the rows of Xn match training rows k, k+1, ... as far as both go."""
        m = min(len(Xn), len(self) - k)
        head = min(m, _HEAD)
        if not self._close(Xn[:head], self.X[k:k + head]).all():
            return False
        return bool(self._close(Xn[head:m], self.X[k + head:k + m]).all())

    def _matching_rows(self, Xn):
        """Pairs (j, k) with row j of Xn matching training row k (at most
        ``_MAX_CANDIDATES`` candidates per row), found by the projections first."""
        proj = Xn @ self.proj_weights
        lo = np.searchsorted(self.sorted_proj, proj - self.window, side="left")
        hi = np.searchsorted(self.sorted_proj, proj + self.window, side="right")
        counts = np.minimum(hi - lo, _MAX_CANDIDATES)
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        j = np.repeat(np.arange(len(Xn)), counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        k = self.order[lo[j] + within]
        keep = self._close(Xn[j], self.X[k])
        return j[keep], k[keep]

    def place(self, X, index=None):
        """The :class:`Placement` of ``X`` (rows in time order, time stamps ``index`` or
        None) against the training rows."""
        Xn = np.asarray(X, dtype=np.float64)
        N, T = Xn.shape[0], len(self)
        if N == 0 or T == 0:
            return Placement("continuation")
        if N >= T and self._overlap_matches(Xn, 0):
            # The whole training X first: the strongest evidence there is, whatever else
            # might also match (rows that repeat).
            return self._unless_later(Xn, Placement("training" if N == T else "stacked", 0, T))
        _, starts = self._matching_rows(Xn[:1])
        starts = np.sort(starts)
        good = [int(s) for s in starts if self._overlap_matches(Xn, int(s))]
        if len(good) > 1:
            shown = ", ".join(map(str, good[:5])) + (", ..." if len(good) > 5 else "")
            return Placement("unplaced", message=(
                f"X matches the training rows at {len(good)} offsets ({shown}): its rows "
                "repeat, so where it starts is ambiguous."
            ))
        if starts.size and not good:
            return Placement("unplaced", message=(
                f"the first row of X is training row {int(starts[0])}, but the rows after it "
                "are not the training rows that followed it."
            ))
        if good:
            s = good[0]
            m = min(N, T - s)
            case = "prefix" if s == 0 else ("suffix" if s + m == T else "block")
            return self._unless_later(Xn, Placement(case, s, m))
        later = self._unless_later(Xn, None)
        if later is not None:
            return later
        m = min(N, T)
        if m >= 3:
            ref = self.X[:m].astype(np.float64, copy=False)
            gap = float(np.max(np.abs(Xn[:m] - ref) / (np.abs(ref) + self.scale)))
            if gap <= NEAR:
                return Placement("unplaced", message=(
                    f"X looks like a changed copy of the training X (its first {m} rows "
                    f"differ from the training rows by up to {gap:.2g}, relative; rows match "
                    f"within {RTOL:g})."
                ))
        return self._check_follows(index)

    def _check_follows(self, index):
        """Continuation, unless time stamps on both sides say X does not start right after
        the training rows (a gap, as TimeSeriesSplit(gap=k) leaves, or an overlap)."""
        if self.index_step is None or index is None or len(index) == 0:
            return Placement("continuation")
        if (index.dtype.kind == "M") != (np.asarray(self.index_last).dtype.kind == "M"):
            return Placement("continuation")
        expected, start = self.index_last + self.index_step, index[0]
        if start == expected:
            return Placement("continuation")
        if start > expected:
            skipped = (start - expected) // self.index_step
            why = (f"its index starts at {start}, {skipped} steps after the row that follows "
                   f"the training rows ({expected}): the hidden state over the rows between "
                   "is unknown (they were never passed).")
        else:
            why = (f"its index starts at {start}, not after the training rows' last "
                   f"({self.index_last}), but its rows are not those training rows.")
        return Placement("unplaced", message=why)

    def _unless_later(self, Xn, placement):
        """``placement``, unless training rows come again after its overlap (or, with
        ``placement=None``, anywhere in an X that does not start with them): then X is not
        the series in time order. None when ``placement`` is None and nothing was found."""
        start = placement.n_overlap if placement is not None else 0
        if start >= len(Xn):
            return placement
        j, k = self._matching_rows(Xn[start:])
        j = j + start
        if self.rows_repeat:  # two training rows in order, as they were in training
            T1 = len(self) + 1
            codes = j * T1 + k
            later = np.isin(codes + T1 + 1, codes)
        else:  # distinct rows: two consecutive ones that are training rows are enough
            rows = np.unique(j)
            later = np.isin(j, rows[np.isin(rows + 1, rows)])
        if not later.any():
            return placement
        row = int(j[np.argmax(later)])
        k0, k1 = int(k[j == row][0]), int(k[j == row + 1][0])
        return Placement("unplaced", message=(
            f"rows {row} and {row + 1} of X are training rows ({k0} and {k1}), but "
            + ("they come after the training rows X starts with." if placement is not None
               else "X does not start with training rows.")
        ))

    def state_before(self, k, weights, activation):
        """Hidden state before training row ``k``: recomputed from the nearest stored state
        at or before it (at most ``stride - 1`` steps); None for a zero state."""
        i = (k // self.stride) * self.stride
        if k == 0 or (self.first is not None and self.first[k]):
            return None
        h = self.states[k // self.stride]
        if i == k:
            return h.copy()
        layout = None
        if self.first is not None:
            layout = SequenceLayout.from_starts(k - i, np.flatnonzero(self.first[i:k]))
        _, H = forward(weights, self.X[i:k], activation, layout, h0=h)
        return H[-1].copy()

    def layout_for(self, placement, n_rows):
        """The training sequences over the ``n_rows`` rows of a placed ``X`` (rows past the
        end of training continue the last sequence); None for one sequence."""
        if self.first is None:
            return None
        k, m = placement.offset, placement.n_overlap
        starts = np.flatnonzero(self.first[k:k + m])
        starts = starts[starts > 0]
        return SequenceLayout.from_starts(n_rows, starts) if starts.size else None


def time_index(X):
    """The index of a pandas ``X`` when it can be time stamps (integer or datetime,
    strictly increasing); None otherwise (arrays have none)."""
    index = getattr(X, "index", None)
    if index is None or getattr(index, "ndim", 0) != 1 or len(index) == 0:
        return None
    values = np.asarray(index)
    if values.dtype.kind not in "iuM" or not index.is_monotonic_increasing:
        return None
    return values


def warn_reused_labels(layout, sequence_id, stacklevel=3):
    """Warn when a label of ``sequence_id`` marks more than one run of rows.

    Labels mark changes: a label that comes back later starts a new, separate sequence. That
    is what panel data sorted by time (``np.tile(ids, n_times)``) silently turns into
    sequences of length 1.
    """
    if layout is None:
        return
    run_labels = np.asarray(sequence_id)[layout.first]
    try:
        values, counts = np.unique(run_labels, return_counts=True)
    except TypeError:  # labels that do not sort (mixed types): compare as text
        values, counts = np.unique(run_labels.astype(str), return_counts=True)
    reused = counts > 1
    if not reused.any():
        return
    label, runs = values[reused][0], int(counts[reused][0])
    label = label.item() if isinstance(label, np.generic) else label  # 0, not np.int64(0)
    warnings.warn(
        f"sequence_id: {int(reused.sum())} labels mark more than one run of rows (label "
        f"{label!r}: {runs} runs). A new sequence starts wherever the label changes, so each "
        f"run is a separate sequence ({int(layout.first.sum())} in all, shortest "
        f"{int(np.min(np.diff(np.r_[np.flatnonzero(layout.first), len(layout.first)])))} "
        "rows). If the rows are several series interleaved in time order, sort them by label "
        "first (np.argsort(sequence_id, kind='stable')).",
        UserWarning,
        stacklevel=stacklevel,
    )


def initial_hidden_state(rule, X, index, rows, hidden_state, weights, activation):
    """The hidden state before the first row of ``X`` (None: zero) and, when ``X`` is placed
    inside the training rows under "auto", the training sequences over its rows.

    ``rule``: an entry of :data:`INITIAL_STATES` or an array :math:`h_0`; ``index``: the time
    stamps of X's rows (pandas input, :func:`time_index`) or None; ``rows``, ``hidden_state``,
    ``weights`` and ``activation``: the fitted estimator's :class:`TrainingRows`,
    ``hidden_state_``, ``weights_`` and ``activation_``.
    """
    if isinstance(rule, str):
        if rule not in INITIAL_STATES:
            raise ValueError(
                f"initial_state must be one of {list(INITIAL_STATES)} or an array of "
                f"shape {hidden_state.shape}, got {rule!r}."
            )
        if rule == "zeros":
            return None, None
        if rule == "continue":
            return hidden_state, None
        placement = rows.place(X, index)
        if placement.case == "continuation":
            return hidden_state, None
        if placement.case == "unplaced":
            warnings.warn(
                f"initial_state='auto' cannot place X against the training rows: "
                f"{placement.message} Continuing from hidden_state_, as for rows that "
                "follow the training rows; pass initial_state='zeros', 'continue' or an "
                "array to say which state is meant.",
                HiddenStateWarning,
                stacklevel=3,
            )
            return hidden_state, None
        h0 = rows.state_before(placement.offset, weights, activation)
        return h0, rows.layout_for(placement, X.shape[0])
    with blame("initial_state"):
        h0 = np.asarray(rule, dtype=float)
    if h0.shape != hidden_state.shape:
        raise ValueError(
            f"an explicit initial_state must have shape {hidden_state.shape}, got "
            f"{h0.shape}."
        )
    if not np.all(np.isfinite(h0)):
        raise ValueError("an explicit initial_state must be finite (no NaN or inf).")
    return h0, None
