"""ALM-BCD against L-BFGS on the same network, penalty and random start: training MSE, test
MSE (ratio to RidgeCV's) and CPU seconds on ``real_data.py``'s splits of the synthetic memory
series. Why ``ElmanRNNRegressorCV`` has an ``"lbfgs"`` start next to its ALM-BCD ones.

Each fit: ``ElmanRNNRegressor(n_hidden=20, activation="tanh", alpha=a, random_state=s)``,
with the estimator's ALM-BCD defaults or ``solver="lbfgs", max_iter=1000,
n_iter_no_change=None`` (the CV's ``"lbfgs"`` start); no skip path. Prints every fit and the
medians over the seeds.

    PYTHONPATH=$PWD python benchmarks/alm_vs_lbfgs.py
    PYTHONPATH=$PWD python benchmarks/alm_vs_lbfgs.py --sets narma10 --alphas 0.1 --seeds 0
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data as rd  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402

SOLVERS = {
    "alm-bcd": {},
    "lbfgs": {"solver": "lbfgs", "max_iter": 1000, "n_iter_no_change": None},
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="narma10,wiener_hammerstein,hidden_oscillator")
    p.add_argument("--alphas", default="1,0.1")
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{'series':<20} {'alpha':>6} {'solver':<8} {'seed':>4} {'train MSE':>10} "
          f"{'test ratio':>10} {'CPU s':>7}")
    for name in args.sets.split(","):
        sp = rd.split(rd.load_series(name))
        X, y, Xt, yt = sp.X_train, sp.y_train, sp.X_test, sp.y_test
        ref = rd.ridgecv_test_mse(sp)
        for alpha in (float(a) for a in args.alphas.split(",")):
            for solver, params in SOLVERS.items():
                rows = []
                for seed in seeds:
                    est = ElmanRNNRegressor(alpha=alpha, random_state=seed, **params)
                    c0 = time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        est.fit(X, y)
                    cpu = time.process_time() - c0
                    train = np.mean((est.predict(X) - y) ** 2)
                    test = np.mean((rd.predict_continuing(est, Xt) - yt) ** 2) / ref
                    rows.append((train, test, cpu))
                    print(f"{name:<20} {alpha:>6g} {solver:<8} {seed:>4} {train:>10.4f} "
                          f"{test:>10.3f} {cpu:>7.1f}", flush=True)
                med = np.median(np.array(rows), axis=0)
                print(f"{name:<20} {alpha:>6g} {solver:<8} {'med':>4} {med[0]:>10.4f} "
                      f"{med[1]:>10.3f} {med[2]:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
