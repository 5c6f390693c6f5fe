"""An sktime forecaster over the Elman RNN: :class:`ElmanRNNForecaster`.

Needs sktime, installed by the ``sktime`` extra (``pip install "skalm[sktime]"``).

The network reads, at every step :math:`t`, the last ``lags`` values of the (differenced,
standardized) target and the exogenous inputs of step :math:`t`, and predicts the target at
:math:`t`; its hidden state carries everything older. A forecast of several steps is
recursive: each predicted value becomes a lag input of the next step, and the hidden state is
carried from step to step (``predict(..., return_state=True)`` of
:class:`~skalm.ElmanRNNRegressor`), starting from the state at the end of the training
series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from .estimator import ElmanRNNRegressor

__all__ = ["ElmanRNNForecaster"]


def _default_estimator():
    # L-BFGS with the linear skip path: the lags' linear autoregression is part of the model
    # from the start, the recurrence adds what it cannot explain.
    return ElmanRNNRegressor(n_hidden=10, solver="lbfgs", skip_connection=True, alpha=0.1,
                             max_iter=200, random_state=0)


def _append(old, new):
    """``old`` then ``new`` (pandas, same kind of index); a row of both keeps ``new``'s."""
    both = pd.concat([old, new])
    return both[~both.index.duplicated(keep="last")].sort_index()


class ElmanRNNForecaster(BaseForecaster):
    """Elman RNN forecaster with target lags as inputs and recursive multi-step forecasts.

    Parameters
    ----------
    estimator : ElmanRNNRegressor, default=None
        The network, cloned at fit. None: ``ElmanRNNRegressor(n_hidden=10, solver="lbfgs",
        skip_connection=True, alpha=0.1, max_iter=200, random_state=0)``.

    lags : int, default=12
        Number of past target values among the inputs of each step (e.g. the season
        length). The first ``lags`` steps of the series (after differencing) only serve as
        lags of the later ones.

    difference : bool, default=True
        Model the first differences of ``y`` and sum the forecast differences back onto the
        last observed value: a trend needs no extrapolation by the network.

    Attributes
    ----------
    estimator_ : ElmanRNNRegressor
        The fitted network.

    Notes
    -----
    In-sample forecasts (``fh`` at or before the cutoff) are not supported. ``update``
    refits on all the data seen (``update_params=True``) or only runs the fitted network on
    over the new rows, advancing its hidden state (``update_params=False``).

    Examples
    --------
    >>> from sktime.datasets import load_airline  # doctest: +SKIP
    >>> from skalm.sktime import ElmanRNNForecaster  # doctest: +SKIP
    >>> y = np.log(load_airline())  # doctest: +SKIP
    >>> forecaster = ElmanRNNForecaster(lags=12).fit(y[:-24])  # doctest: +SKIP
    >>> y_pred = forecaster.predict(fh=np.arange(1, 25))  # doctest: +SKIP
    """

    _tags = {
        "authors": "skalm developers",
        "python_dependencies": "skalm",
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": False,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "capability:update": True,
        "capability:non_contiguous_X": False,  # X is needed at every step up to the last
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
    }

    # The series seen so far is kept in _seen_y / _seen_X: sktime's own _y / _X are kept
    # only under its remember_data config, whose default changes in sktime 1.3.

    def __init__(self, estimator=None, lags=12, difference=True):
        self.estimator = estimator
        self.lags = lags
        self.difference = difference
        super().__init__()

    # -- the series as rows of inputs -----------------------------------------------------
    def _series(self, y, X):
        """(z, X rows of z) where z is y, differenced if asked, both as float arrays."""
        values = np.asarray(y, dtype=float)
        z = np.diff(values) if self.difference else values
        x = None if X is None else np.asarray(X, dtype=float)[len(values) - len(z):]
        return z, x

    def _rows(self, z_std, x_std):
        """Inputs of the steps lags .. len(z)-1: their lags (most recent first) and X."""
        L = int(self.lags)
        n = len(z_std) - L
        lagged = np.column_stack([z_std[L - k:L - k + n] for k in range(1, L + 1)])
        return lagged if x_std is None else np.hstack([lagged, x_std[L:]])

    def _fit(self, y, X=None, fh=None):
        if int(self.lags) < 1:
            raise ValueError(f"lags must be a positive int, got {self.lags!r}.")
        z, x = self._series(y, X)
        if len(z) < int(self.lags) + 2:
            raise ValueError(
                f"y has {len(y)} values: with lags={self.lags} and "
                f"difference={self.difference} at least {int(self.lags) + 2 + self.difference}"
                " are needed."
            )
        self._z_mean, self._z_scale = float(z.mean()), float(z.std()) or 1.0
        self._with_X = x is not None
        if x is not None:
            self._x_mean = x.mean(axis=0)
            self._x_scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z_std = (z - self._z_mean) / self._z_scale
        x_std = None if x is None else (x - self._x_mean) / self._x_scale
        est = clone(_default_estimator() if self.estimator is None else self.estimator)
        self.estimator_ = est.fit(self._rows(z_std, x_std), z_std[int(self.lags):])
        self._seen_y, self._seen_X = y.copy(), None if X is None else X.copy()
        self._hidden = self.estimator_.hidden_state_.copy()
        self._recent = z_std[-int(self.lags):].copy()
        self._last = float(np.asarray(y, dtype=float)[-1])
        return self

    def _update(self, y, X=None, update_params=True):
        y_all = _append(self._seen_y, y)
        X_all = None if self._seen_X is None or X is None else _append(self._seen_X, X)
        if update_params:
            return self._fit(y_all, X_all)
        self._seen_y, self._seen_X = y_all, X_all
        # Run the fitted network over all the rows seen, from zero: its state at the end.
        z, x = self._series(y_all, X_all)
        z_std = (z - self._z_mean) / self._z_scale
        x_std = None if x is None else (x - self._x_mean) / self._x_scale
        _, self._hidden = self.estimator_.predict(
            self._rows(z_std, x_std), initial_state="zeros", return_state=True
        )
        self._recent = z_std[-int(self.lags):].copy()
        self._last = float(np.asarray(y_all, dtype=float)[-1])
        return self

    def _predict(self, fh, X=None):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=int)
        if np.any(steps < 1):
            raise NotImplementedError(
                "ElmanRNNForecaster forecasts after the cutoff only (fh > 0)."
            )
        horizon = int(steps.max())
        future = None
        if self._with_X:
            if X is None:
                raise ValueError("X was given to fit: predict needs X for the steps of fh.")
            when = ForecastingHorizon(np.arange(1, horizon + 1), is_relative=True)
            index = when.to_absolute_index(self.cutoff)
            missing = index.difference(X.index)
            if len(missing):
                raise ValueError(
                    f"X lacks the rows of {len(missing)} of the {horizon} steps to forecast "
                    f"(first missing: {missing[0]}); a recursive forecast needs X at every "
                    "step up to the last one."
                )
            future = (X.loc[index].to_numpy(dtype=float) - self._x_mean) / self._x_scale
        recent = list(self._recent[::-1])  # most recent first
        h = self._hidden
        level, levels = self._last, []
        for i in range(horizon):
            row = np.asarray(recent[: int(self.lags)])
            if future is not None:
                row = np.concatenate([row, future[i]])
            z_hat, h = self.estimator_.predict(row[None, :], initial_state=h,
                                               return_state=True)
            z_hat = float(np.ravel(z_hat)[0])
            recent.insert(0, z_hat)
            value = z_hat * self._z_scale + self._z_mean
            level = level + value if self.difference else value
            levels.append(level)
        values = np.asarray(levels)[steps - 1]
        index = fh.to_absolute_index(self.cutoff)
        return pd.Series(values, index=index, name=self._seen_y.name)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Small, quick settings for sktime's estimator checks."""
        small = ElmanRNNRegressor(n_hidden=3, solver="lbfgs", skip_connection=True,
                                  max_iter=20, random_state=0)
        return [
            {"estimator": small, "lags": 2},
            {"estimator": small, "lags": 3, "difference": False},
        ]
