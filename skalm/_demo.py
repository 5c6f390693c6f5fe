"""``python -m skalm demo``: the paper's S&P 500 volatility experiment next to OLS.

Protocol of the paper (section 5): the first 393 monthly rows train, the last 44 test,
r = 20 hidden units, tau = alpha = 1. The test predictions run the recurrence on from the hidden
state at the end of the training rows, which is what ``ElmanRNNRegressor`` does by default
(``initial_state="auto"``) for rows that are not the training rows.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

from .datasets import load_sp500_volatility
from .estimator import ElmanRNNRegressor


def run_demo(max_iter=100, random_state=0, verbose=0, print_fn=print):
    """Train on the S&P data with the paper's protocol and print errors next to OLS.

    Parameters
    ----------
    max_iter : int, default=100
        Outer ALM iterations (the estimator's default).
    random_state : int, default=0
        Seed of the initial weights.
    verbose : int, default=0
        Passed to the estimator (1: one line per outer iteration).
    print_fn : callable, default=print
        Where the report goes.

    Returns
    -------
    results : dict
        ``{"rnn": (train_mse, test_mse, seconds), "ols": (...), "estimator": est}``.
    """
    t_start = time.perf_counter()
    data = load_sp500_volatility()
    X, y, n_train = data.data, data.target, data.n_train
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

    est = ElmanRNNRegressor(
        n_hidden=20, activation="relu", alpha=1.0, max_iter=max_iter,
        random_state=random_state, verbose=verbose,
    )
    print_fn("skalm demo: S&P 500 monthly realized volatility (Wang, Zhang & Chen 2024, sec. 5)")
    print_fn(
        f"  data: {X.shape[0]} rows in time order, {X.shape[1]} inputs, target RV_SP500 "
        "(z-scored as shipped)"
    )
    print_fn(f"  split: first {n_train} rows train, last {X.shape[0] - n_train} rows test")
    print_fn(
        f"  model: ElmanRNNRegressor(n_hidden=20, activation='relu', alpha=1.0, "
        f"max_iter={max_iter}, random_state={random_state}), other ALM-BCD settings default"
    )
    print_fn("  test predictions continue the recurrence from the end of the training rows")
    print_fn("")

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X_train, y_train)
    rnn_time = time.perf_counter() - t0
    rnn = (
        mean_squared_error(y_train, est.predict(X_train)),  # replayed from h_0 = 0
        mean_squared_error(y_test, est.predict(X_test)),  # continued from hidden_state_
        rnn_time,
    )

    t0 = time.perf_counter()
    ols_model = LinearRegression().fit(X_train, y_train)
    ols_time = time.perf_counter() - t0
    ols = (
        mean_squared_error(y_train, ols_model.predict(X_train)),
        mean_squared_error(y_test, ols_model.predict(X_test)),
        ols_time,
    )

    print_fn(f"  {'method':<30} {'train MSE':>10} {'test MSE':>10} {'fit time':>10}")
    for label, (train_mse, test_mse, seconds) in [
        ("Elman RNN, ALM-BCD (skalm)", rnn),
        ("OLS (LinearRegression)", ols),
    ]:
        print_fn(f"  {label:<30} {train_mse:>10.4f} {test_mse:>10.4f} {seconds:>9.2f}s")
    print_fn("")
    history = est.history_
    print_fn(
        f"  ALM-BCD: {est.n_iter_} outer iterations, {int(np.sum(history['n_inner']))} BCD "
        f"sweeps, final FeasVio {history['feasibility'][-1]:.2e}, penalty gamma "
        f"{history['gamma'][-1]:.3g}"
    )
    for w in caught:
        print_fn(f"  note: {w.category.__name__}: {w.message}")
    print_fn(f"  total time: {time.perf_counter() - t_start:.1f}s")
    return {"rnn": rnn, "ols": ols, "estimator": est}
