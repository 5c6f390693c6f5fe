"""Plots of a fit: the ``history_`` curves and predictions against the truth.

Needs matplotlib, installed by the ``plot`` extra (``pip install "skalm[plot]"``). It is
imported when a function is called, never when this module is imported, so ``import
skalm.plotting`` works without it.

- :func:`plot_history`: ``history_`` entries (training loss, FeasVio, kappa, gamma, ...)
  against the outer iteration or the elapsed time, for one fit or several side by side.
- :func:`plot_forecast`: predictions against the true targets over time, with the end of
  the training rows marked.

Both return the matplotlib Axes they drew on, so the figure can be adjusted or saved
(``axes[0].figure.savefig("history.png")``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["plot_history", "plot_forecast", "HISTORY_LABELS"]

#: Axis titles of the ``history_`` keys.
HISTORY_LABELS = {
    "train_loss": "training loss",
    "objective": "objective R",
    "feasibility": "FeasVio",
    "kappa": "certificate kappa",
    "gamma": "penalty gamma",
    "n_inner": "inner iterations",
    "time": "elapsed time (s)",
    "val_loss": "validation loss",
}

#: Keys drawn on a linear scale by ``logy="auto"`` (counts and times).
_LINEAR_KEYS = ("n_inner", "time")

_X_LABELS = {"iteration": "outer iteration k", "time": "elapsed time (s)"}


def _pyplot():
    """matplotlib.pyplot, or an ImportError that names the ``plot`` extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skalm.plotting needs matplotlib, which is not installed. Install the 'plot' "
            'extra: pip install "skalm[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


def _history_of(run):
    """The history dict of a fitted estimator, or ``run`` itself if it is one."""
    if isinstance(run, Mapping):
        return run
    history = getattr(run, "history_", None)
    if history is None:
        raise TypeError(
            "expected a fitted estimator with a history_ attribute or a history dict, got "
            f"{type(run).__name__}. Call fit first."
        )
    return history


def _is_history(obj):
    """True for a history dict (lists of numbers), False for a mapping label -> run."""
    return isinstance(obj, Mapping) and "time" in obj and not hasattr(obj["time"], "history_")


def _runs(estimator, label):
    """[(label, history), ...] from one run, a list of runs or a mapping label -> run."""
    if hasattr(estimator, "history_") or _is_history(estimator):
        return [(label, _history_of(estimator))]
    if isinstance(estimator, Mapping):
        return [(str(name), _history_of(run)) for name, run in estimator.items()]
    if isinstance(estimator, (list, tuple)):
        return [(None, _history_of(run)) for run in estimator]
    return [(label, _history_of(estimator))]


def plot_history(estimator, keys=("train_loss", "feasibility", "kappa", "gamma"), *,
                 x="iteration", axes=None, logy="auto", label=None, **line_kw):
    """Plot ``history_`` entries of one or several fits, one panel per key.

    Parameters
    ----------
    estimator : estimator, dict, list or mapping
        What to plot: a fitted :class:`~skalm.ElmanRNNRegressor` (its ``history_``), a
        history dict itself, a list of those, or a mapping ``{label: estimator or history}``
        to compare several fits in the same panels (a legend names them).
    keys : sequence of str, default=("train_loss", "feasibility", "kappa", "gamma")
        ``history_`` keys to plot, one panel each: ``"train_loss"``, ``"objective"``,
        ``"feasibility"`` (FeasVio), ``"kappa"``, ``"gamma"``, ``"n_inner"``, ``"time"``,
        ``"val_loss"``. A fit that did not record a key (``"val_loss"`` without
        ``early_stopping``) is left out of that panel; values a solver does not compute
        (``gamma`` of the gradient solvers is NaN) draw nothing.
    x : {"iteration", "time"}, default="iteration"
        Horizontal axis: the outer iteration :math:`k = 1, \\dots, n_{iter}` or
        ``history_["time"]``, the seconds since the start of the fit.
    axes : array-like of matplotlib Axes, default=None
        Axes to draw on, one per key. None: a new figure with one row of panels.
    logy : bool or "auto", default="auto"
        Logarithmic vertical axes. ``"auto"``: logarithmic for every key but ``n_inner`` and
        ``time``, and only when the panel has a positive value (a solver without
        constraints records FeasVio 0).
    label : str, default=None
        Legend label of a single fit (a mapping gives its own labels).
    **line_kw
        Passed to :meth:`matplotlib.axes.Axes.plot` (e.g. ``marker="."``).

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per key, in the order of ``keys``; ``axes[0].figure`` is the figure.

    Examples
    --------
    >>> from skalm import ElmanRNNRegressor
    >>> from skalm.plotting import plot_history
    >>> est = ElmanRNNRegressor(max_iter=20).fit(X, y)  # doctest: +SKIP
    >>> axes = plot_history(est, x="time")  # doctest: +SKIP
    >>> axes[0].figure.savefig("history.png")  # doctest: +SKIP
    """
    if x not in _X_LABELS:
        raise ValueError(f"x must be 'iteration' or 'time', got {x!r}.")
    keys = [keys] if isinstance(keys, str) else list(keys)
    if not keys:
        raise ValueError("keys is empty: give at least one history_ key to plot.")
    runs = _runs(estimator, label)
    known = set().union(*(history.keys() for _, history in runs))
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise ValueError(
            f"history_ has no key {unknown[0]!r}; the recorded keys are {sorted(known)}."
        )
    plt = _pyplot()
    if axes is None:
        width = min(3.4 * len(keys), 14.0)
        _, axes = plt.subplots(1, len(keys), figsize=(width, 3.2), layout="constrained",
                               squeeze=False)
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != len(keys):
        raise ValueError(f"axes has {axes.size} Axes for {len(keys)} keys.")

    for ax, key in zip(axes, keys):
        positive = False
        for name, history in runs:
            if key not in history:
                continue
            values = np.asarray(history[key], dtype=float)
            if x == "iteration":
                xs = np.arange(1, values.size + 1)
            else:
                xs = np.asarray(history["time"], dtype=float)
            ax.plot(xs, values, label=name, **line_kw)
            positive = positive or bool(np.any(np.isfinite(values) & (values > 0)))
        log = (key not in _LINEAR_KEYS) if logy == "auto" else bool(logy)
        if log and positive:
            ax.set_yscale("log")
        ax.set_title(HISTORY_LABELS.get(key, key))
        ax.set_xlabel(_X_LABELS[x])
        ax.grid(True, alpha=0.3)
    if any(name is not None for name, _ in runs):
        axes[0].legend()
    return axes


def plot_forecast(y_true, y_pred, *, index=None, train_end=None, output=0, ax=None,
                  title=None, **line_kw):
    """Plot predictions against the true targets, in time order.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets.
    y_pred : array-like of the same shape, or mapping ``{label: array}``
        Predictions; a mapping draws several forecasts (e.g. the RNN and a linear baseline)
        against the same truth.
    index : array-like of shape (n_samples,), default=None
        Horizontal coordinates (time stamps, dates). None: the index of ``y_true`` when it
        is a pandas Series or DataFrame (e.g. a DatetimeIndex: dates on the axis), else
        ``0, 1, ..., n_samples - 1``.
    train_end : int or scalar of the index's kind, default=None
        Where the test rows start, marked by a dashed vertical line: an int is the number of
        leading rows that are training rows; anything else (a ``pandas.Timestamp``, a
        ``datetime64``, a number on a float axis) is a coordinate on the horizontal axis, and
        the test rows start at the first row at or after it.
    output : int, default=0
        Column to plot when the targets are 2-D.
    ax : matplotlib Axes, default=None
        Axes to draw on; None: a new figure.
    title : str, default=None
        Axes title.
    **line_kw
        Passed to :meth:`matplotlib.axes.Axes.plot` for the predictions.

    Returns
    -------
    ax : matplotlib Axes
        Its first line is the truth, then one line per forecast, in order.

    Examples
    --------
    >>> from skalm.plotting import plot_forecast
    >>> y_pred = np.concatenate([est.predict(X_train), est.predict(X_test)])  # doctest: +SKIP
    >>> ax = plot_forecast(y, y_pred, train_end=len(X_train))  # doctest: +SKIP
    """
    truth = _column(y_true, output, "y_true")
    preds = y_pred.items() if isinstance(y_pred, Mapping) else [("prediction", y_pred)]
    preds = [(str(name), _column(values, output, "y_pred")) for name, values in preds]
    for name, values in preds:
        if values.shape != truth.shape:
            raise ValueError(
                f"y_pred {name!r} has {values.shape[0]} rows and y_true {truth.shape[0]}."
            )
    if index is None and hasattr(y_true, "iloc"):  # pandas; a list's .index is a method
        index = y_true.index
    xs = np.arange(truth.size) if index is None else np.asarray(index)
    if xs.shape[0] != truth.size:
        raise ValueError(f"index has {xs.shape[0]} entries for {truth.size} rows.")
    split = None if train_end is None else _train_end_row(train_end, xs)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 3.2), layout="constrained")
    ax.plot(xs, truth, color="black", linewidth=1.0, label="truth")
    for name, values in preds:
        ax.plot(xs, values, linewidth=1.2, label=name, **line_kw)
    if split is not None:
        boundary = xs[split]
        ax.axvline(boundary, color="gray", linestyle="--", linewidth=1.0)
        ax.annotate("test rows", xy=(boundary, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(4, -12), textcoords="offset points", color="gray")
    ax.set_xlabel("time step" if xs.dtype.kind in "iu" else "")
    ax.set_title(title or "")
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    return ax


def _train_end_row(train_end, xs):
    """The row where the test rows start: ``train_end`` itself for an int, else the first
    row whose coordinate is at or after ``train_end``; in (0, n_rows) or a ValueError."""
    n_rows = xs.shape[0]
    if isinstance(train_end, (int, np.integer)) and not isinstance(train_end, bool):
        row = int(train_end)
    else:
        try:
            point = np.asarray(train_end, dtype=xs.dtype) if xs.dtype.kind == "M" else train_end
            row = int(np.searchsorted(xs, point, side="left"))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"train_end must be an int (a number of rows) or a coordinate of the index "
                f"(dtype {xs.dtype}), got {train_end!r}."
            ) from exc
    if not 0 < row < n_rows:
        raise ValueError(
            f"train_end must leave training and test rows: it gives {row} training rows of "
            f"{n_rows} (from train_end={train_end!r})."
        )
    return row


def _column(values, output, name):
    """1-D float view of ``values`` (column ``output`` of a 2-D array)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 2:
        if not 0 <= output < values.shape[1]:
            raise ValueError(f"output={output} but {name} has {values.shape[1]} columns.")
        values = values[:, output]
    elif values.ndim != 1:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {values.shape}.")
    return values
