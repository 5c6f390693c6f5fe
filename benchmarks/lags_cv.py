"""Does a time-ordered CV on the training rows see the gain of lagged inputs that the test rows
show? Ridge regression on the inputs and their k lags, k = 0..K, on ``real_data.py``'s splits.

For each k: the penalty chosen by ``TimeSeriesSplit(5)`` on the training rows (13 alphas,
1e-3..1e3, as ``ElmanRNNRegressorCV``'s linear stage), its mean validation MSE and per-fold
MSEs, whether it beats k = 0 by the one-standard-error rule of ``ElmanRNNRegressorCV`` (paired
over the folds), and its test MSE as a ratio to RidgeCV's on the raw inputs (k = 0 with
``real_data.py``'s 17 alphas). The first k rows of every fold see zeros as the missing lags,
as a delay line started from rest does.

Why it is here: issue 14 asks for <= 0.8x RidgeCV on sunspots, which only ridge on about ten
lags reaches (``real_data.py``'s ``ridgecv+lags``: 0.787). If the CV on the training rows does
not prefer the lags, no model chosen by that CV (``ElmanRNNRegressorCV``, whose delay-line
start *is* ridge on lags) can be expected to.

    PYTHONPATH=$PWD python benchmarks/lags_cv.py                # sunspots, k = 0..9
    PYTHONPATH=$PWD python benchmarks/lags_cv.py --sets elnino,co2 --max-lag 6
"""

import argparse
import os
import sys

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data as rd  # noqa: E402

from skalm.cv import _select  # noqa: E402

ALPHAS = np.logspace(-3, 3, 13)


def lagged(X, k):
    """``[x_t, x_{t-1}, ..., x_{t-k}]`` for every row, zeros before the first row."""
    cols = [X]
    for j in range(1, k + 1):
        lag = np.zeros_like(X)
        lag[j:] = X[:-j]
        cols.append(lag)
    return np.hstack(cols)


def fold_mse(Z, y, alpha, splits):
    return np.array([np.mean((Ridge(alpha=alpha).fit(Z[tr], y[tr]).predict(Z[te]) - y[te]) ** 2)
                     for tr, te in splits])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="sunspots")
    p.add_argument("--max-lag", type=int, default=9)
    args = p.parse_args()
    for name in args.sets.split(","):
        sp = rd.split(rd.load_series(name))
        X, y, Xt, yt = sp.X_train, sp.y_train, sp.X_test, sp.y_test
        ref = rd.ridgecv_test_mse(sp)
        splits = list(TimeSeriesSplit(5).split(X))
        print(f"\n{name}: {len(y)} training / {len(yt)} test rows, {X.shape[1]} inputs; test "
              f"MSE ratio to RidgeCV on the raw inputs")
        print(f"{'k':>3} {'alpha':>8} {'CV MSE':>8}  {'per fold':<40} {'1-SE vs k=0':>11} "
              f"{'test ratio':>10}")
        for k in range(args.max_lag + 1):
            Zall = lagged(np.vstack([X, Xt]), k)
            Z, Zt = Zall[: len(y)], Zall[len(y):]
            scores = [fold_mse(Z, y, a, splits) for a in ALPHAS]
            best = int(np.argmin([s.mean() for s in scores]))
            if k == 0:
                no_lags = scores[best]
            kept = k > 0 and _select(np.array([no_lags, scores[best]]), "one_se") == 1
            test = np.mean((Ridge(alpha=ALPHAS[best]).fit(Z, y).predict(Zt) - yt) ** 2)
            folds = " ".join(f"{v:.3f}" for v in scores[best])
            print(f"{k:>3} {ALPHAS[best]:>8.3g} {scores[best].mean():>8.4f}  {folds:<40} "
                  f"{('yes' if kept else 'no') if k else '-':>11} {test / ref:>10.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
