"""Paper's BCD against the extrapolated BCD inside ALM-BCD, with L-BFGS as the reference R.

On the paper's T=500 synthetic set (z-scored, 450 train / 50 test rows, ReLU, alpha = tau =
500, initial weights N(0, 0.1), one BLAS thread), from the same start, prints per run: the
training objective R of the true forward pass reached, TrainErr, TestErr (recurrence run on
from the end of training), outer iterations, sweeps and fit time, and the R of every
ALM-BCD run relative to L-BFGS's.

    python benchmarks/alm_acceleration.py                # estimator defaults (inner cap 100)
    python benchmarks/alm_acceleration.py --paper-etas   # eta1=eta2=0.9, eta3=0.015, eta4=0.8
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm.datasets import make_elman_sequence


def errors(est, X, Y, n_train):
    E_train = np.sum((est.predict(X[:n_train]) - Y[:n_train]) ** 2, axis=1).mean()
    E_test = np.sum((est.predict(X[n_train:]) - Y[n_train:]) ** 2, axis=1).mean()
    return E_train, E_test


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--paper-etas", action="store_true")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    X, Y, _ = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5)
    n_train = 450
    common = dict(n_hidden=100, alpha=500.0, init="normal", init_scale=0.1,
                  random_state=args.seed, blas_threads=1)
    if args.paper_etas:
        common.update(eta1=0.9, eta2=0.9, eta3=0.015, eta4=0.8)
    runs = [
        ("lbfgs (500 iterations)", dict(solver="lbfgs", max_iter=500, n_iter_no_change=None)),
        ("alm-bcd, paper BCD", dict(acceleration=None, max_iter=args.max_iter)),
        ("alm-bcd, extrapolated", dict(acceleration="nesterov", max_iter=args.max_iter)),
    ]
    print(f"{'run':<26} {'R':>8} {'R/R_lbfgs':>9} {'TrainErr':>8} {'TestErr':>8} "
          f"{'outer':>5} {'sweeps':>6} {'time s':>7}")
    R_ref = None
    for label, kw in runs:
        est = ElmanRNNRegressor(**common, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est.fit(X[:n_train], Y[:n_train])
            elapsed = time.perf_counter() - t0
        h = est.history_
        best = int(np.argmin(h["objective"]))
        R = h["objective"][best]
        R_ref = R if R_ref is None else R_ref
        tr, te = errors(est, X, Y, n_train)
        print(f"{label:<26} {R:>8.4f} {R / R_ref:>9.4f} {tr:>8.3f} {te:>8.3f} "
              f"{est.n_iter_:>5d} {int(np.sum(h['n_inner'])):>6d} {elapsed:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
