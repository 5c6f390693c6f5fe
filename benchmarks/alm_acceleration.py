"""ALM-BCD against L-BFGS on ALM-BCD's own objective R (issue 7, point 2).

On the paper's T=500 synthetic set (z-scored, 450 train / 50 test rows, ReLU, alpha = tau =
500, initial weights N(0, 0.1), one BLAS thread), from the same start, prints per run: the
training objective R of the true forward pass reached, R relative to L-BFGS's, TrainErr,
TestErr (recurrence run on from the end of training), outer iterations, BCD sweeps, wall and
CPU seconds of the fit (median over ``--reps`` runs), and the fit time at which the run first
reached R <= 1.02 R_lbfgs (from ``history_["time"]``).

Rows:

- ``lbfgs``: solver="lbfgs", 500 iterations, no early stop (the reference R);
- ``alm-bcd (defaults)``: solver="alm-bcd" with every estimator default, including the default
  practical stopping rule and ``acceleration="nesterov"`` -- what a user gets;
- ``alm-bcd, paper BCD`` (only with ``--paper``): ``acceleration=None`` (Algorithm 3.2
  exactly), otherwise the same defaults, 100 outer iterations.

    python benchmarks/alm_acceleration.py               # lbfgs and alm-bcd defaults, 3 reps
    python benchmarks/alm_acceleration.py --paper       # also the paper's BCD (slow: ~4 min)
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


def fit_once(kw, X, Y, n_train):
    est = ElmanRNNRegressor(**kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(X[:n_train], Y[:n_train])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return est, wall, cpu, [str(w.message) for w in caught]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--paper", action="store_true", help="add the paper's BCD row")
    ap.add_argument("--reps", type=int, default=3, help="runs per row (median times)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    X, Y, _ = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5)
    n_train = 450
    common = dict(n_hidden=100, alpha=500.0, activation="relu", init="normal", init_scale=0.1,
                  random_state=args.seed, blas_threads=1)
    runs = [
        ("lbfgs (500 iterations)", dict(solver="lbfgs", max_iter=500, n_iter_no_change=None)),
        ("alm-bcd (defaults)", dict()),
    ]
    if args.paper:
        runs.append(("alm-bcd, paper BCD", dict(acceleration=None, n_iter_no_change=None)))
    print(f"{'run':<24} {'R':>8} {'R/R_lbfgs':>9} {'TrainErr':>8} {'TestErr':>8} "
          f"{'outer':>5} {'sweeps':>6} {'wall s':>7} {'cpu s':>7} {'t(2%) s':>8}  stop")
    R_ref = None
    for label, kw in runs:
        walls, cpus = [], []
        for _ in range(args.reps):
            est, wall, cpu, caught = fit_once({**common, **kw}, X, Y, n_train)
            walls.append(wall)
            cpus.append(cpu)
        h = est.history_
        R_hist = np.asarray(h["objective"])
        R = float(R_hist.min())
        R_ref = R if R_ref is None else R_ref
        within = np.flatnonzero(R_hist <= 1.02 * R_ref)
        t2 = f"{h['time'][within[0]]:8.1f}" if within.size else f"{'never':>8}"
        tr, te = errors(est, X, Y, n_train)
        stop = "ConvergenceWarning: " + caught[-1][:60] if caught else "stopping rule"
        print(f"{label:<24} {R:>8.4f} {R / R_ref:>9.4f} {tr:>8.3f} {te:>8.3f} "
              f"{est.n_iter_:>5d} {int(np.sum(h['n_inner'])):>6d} {np.median(walls):>7.1f} "
              f"{np.median(cpus):>7.1f} {t2}  {stop}", flush=True)


if __name__ == "__main__":
    main()
