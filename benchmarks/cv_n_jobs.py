"""``ElmanRNNRegressorCV`` at its default ``n_jobs=-1`` (the fold paths in worker processes)
against ``n_jobs=1`` (all in this process) on ``real_data.py``'s splits: the same choice and
bit-identical test predictions, and the wall time of each.

    PYTHONPATH=$PWD python benchmarks/cv_n_jobs.py                     # three series
    PYTHONPATH=$PWD python benchmarks/cv_n_jobs.py --sets sunspots --seed 1
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data as rd  # noqa: E402

from skalm import ElmanRNNRegressorCV  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="sunspots,narma10,hidden_oscillator")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    for name in args.sets.split(","):
        sp = rd.split(rd.load_series(name))
        out = {}
        for n_jobs in (-1, 1):
            w0 = time.perf_counter()
            est = ElmanRNNRegressorCV(random_state=args.seed, n_jobs=n_jobs)
            est.fit(sp.X_train, sp.y_train)
            pred = rd.predict_continuing(est, sp.X_test).ravel()
            out[n_jobs] = (est.start_, est.alpha_, pred, time.perf_counter() - w0)
        same = out[-1][:2] == out[1][:2] and np.array_equal(out[-1][2], out[1][2])
        print(f"{name}: n_jobs=-1 chose {out[-1][:2]} in {out[-1][3]:.1f} s; n_jobs=1 "
              f"chose {out[1][:2]} in {out[1][3]:.1f} s; same choice and identical test "
              f"predictions: {same}", flush=True)


if __name__ == "__main__":
    main()
