"""Each start of ``ElmanRNNRegressorCV`` alone against ridge, on ``real_data.py``'s splits.

For every series and start: ``ElmanRNNRegressorCV(starts=(start,), random_state=seed)`` fitted
on the training rows (its candidates are then the ridge model and that start's path, chosen by
the one-standard-error rule), its test MSE as a ratio to RidgeCV's, the candidate it chose, the
mean validation MSE of every candidate, and its fit's CPU seconds. This is where the figures
quoted for each start in the docstring of ``starts`` (``skalm/cv.py``) come from.

    PYTHONPATH=$PWD python benchmarks/starts_alone.py                      # lags, delay
    PYTHONPATH=$PWD python benchmarks/starts_alone.py --starts recurrent --sets elnino
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

from skalm import ElmanRNNRegressorCV  # noqa: E402

REAL = ("sunspots", "nile", "elnino", "co2", "elec_equip", "macrodata", "interest_inflation",
        "sp500")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(REAL))
    p.add_argument("--starts", default="lags,delay")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for name in args.sets.split(","):
        sp = rd.split(rd.load_series(name))
        ridge = rd.ridgecv_test_mse(sp)
        for start in args.starts.split(","):
            est = ElmanRNNRegressorCV(starts=(start,), random_state=args.seed, n_jobs=1)
            begin = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(sp.X_train, sp.y_train)
            cpu = time.process_time() - begin
            test = float(np.mean((est.predict(sp.X_test) - sp.y_test) ** 2))
            res = est.cv_results_
            cands = " ".join(f"{a:g}:{-s:.4f}" for a, s in
                             zip(res["param_alpha"], res["mean_test_score"]))
            chosen = "ridge" if est.start_ is None else f"alpha={est.alpha_:g}"
            print(f"{name:18s} {start:9s} test/RidgeCV {test / ridge:6.3f}  chosen {chosen:10s}"
                  f" cpu {cpu:5.1f} s | mean validation MSE (alpha:MSE, inf = ridge) {cands}",
                  flush=True)


if __name__ == "__main__":
    main()
