"""Forecast S&P 500 realized volatility: tune ALM-BCD with GridSearchCV and TimeSeriesSplit.

The paper's protocol: train on the first 393 monthly rows, test on the last 44, the test rows
run on from the hidden state at the end of the training rows. The regularization ``alpha``
(the paper's tau) and the initial penalty ``gamma0`` are chosen by a grid search whose folds
are in time order (each validation fold directly follows its training fold), on the
training rows only; then the refitted model forecasts the test rows and is compared with
ordinary least squares and ridge regression.

Run: ``python docs/examples/sp500_forecast.py [output directory]`` (writes
``sp500_forecast.png``; needs the ``plot`` extra).
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

from skalm import ElmanRNNRegressor
from skalm.datasets import load_sp500_volatility
from skalm.plotting import plot_forecast

start = time.perf_counter()
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
out_dir.mkdir(parents=True, exist_ok=True)

data = load_sp500_volatility()
X, y, n_train = data.data, data.target, data.n_train
X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]

# 15 outer iterations per fit keeps the search short; the practical stopping rule
# (n_iter_no_change) may end a fit earlier. Fits that stop at max_iter warn: silence that here.
est = ElmanRNNRegressor(n_hidden=20, max_iter=15, random_state=0)
grid = {"alpha": [1.0, 10.0], "gamma0": [0.1, 1.0]}
# Three folds of 44 months each, like the test set, each right after its training rows
# (261, 305 and 349 rows).
cv = TimeSeriesSplit(n_splits=3, test_size=44)
search = GridSearchCV(est, grid, cv=cv, scoring="neg_mean_squared_error", n_jobs=2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X_train, y_train)

print("validation MSE (mean over the 3 time-ordered folds):")
results = search.cv_results_
for params, score in zip(results["params"], results["mean_test_score"]):
    print(f"  alpha={params['alpha']:<5} gamma0={params['gamma0']:<4} {-score:.4f}")
ols_cv = -cross_val_score(
    LinearRegression(), X_train, y_train, cv=cv, scoring="neg_mean_squared_error"
).mean()
print(f"  OLS on the same folds        {ols_cv:.4f}")
print("best:", search.best_params_)

best = search.best_estimator_  # refitted on all 393 training rows
# predict() replays the training rows from h_0 = 0 and runs any other rows on from
# best.hidden_state_, the state at the end of training: the paper's test protocol.
rnn_train, rnn_test = best.predict(X_train), best.predict(X_test)

ols = LinearRegression().fit(X_train, y_train)
ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X_train, y_train)
print(f"{'model':<22} {'train MSE':>10} {'test MSE':>10}")
for name, model_train, model_test in [
    ("ElmanRNN (ALM-BCD)", rnn_train, rnn_test),
    ("OLS", ols.predict(X_train), ols.predict(X_test)),
    ("ridge", ridge.predict(X_train), ridge.predict(X_test)),
]:
    print(f"{name:<22} {mean_squared_error(y_train, model_train):>10.4f} "
          f"{mean_squared_error(y_test, model_test):>10.4f}")

# Forecast against the truth over the last 120 months (77 training rows, then the 44 test rows).
window = slice(n_train - 77, None)
ax = plot_forecast(
    y[window],
    {
        "ElmanRNN (ALM-BCD)": np.concatenate([rnn_train, rnn_test])[window],
        "OLS": ols.predict(X)[window],
    },
    index=np.arange(len(y))[window],
    train_end=77,
    title=f"S&P 500 realized volatility, alpha={best.alpha}, gamma0={best.gamma0}",
)
ax.set_xlabel("month (row of the data set)")
path = out_dir / "sp500_forecast.png"
ax.figure.savefig(path, dpi=90)
print(f"wrote {path}; total {time.perf_counter() - start:.1f} s")
