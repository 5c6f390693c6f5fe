"""Wall and CPU time of ``ElmanRNNRegressorCV().fit`` on 3,000 rows x 3 features (issue 14:
under 60 s on this machine), at its defaults (``n_jobs=-1``: the paths on every core) and with
``n_jobs=1`` (every fit in this process, whose CPU time then counts them all).

The data: three AR(1) inputs and a target with a hidden cycle and a nonlinear, delayed
effect of the inputs, z-scored. Prints each run and the median of ``--repeats`` runs.

    python benchmarks/cv_fit_time.py              # 3 runs of each setting
    python benchmarks/cv_fit_time.py --repeats 1
    python benchmarks/cv_fit_time.py --threading   # also n_jobs=2 on joblib's threads
"""

import argparse
import contextlib
import statistics
import time
import warnings

import numpy as np
from joblib import parallel_config
from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressorCV


def data(T=3000, seed=0):
    rng = np.random.RandomState(seed)
    X = np.zeros((T, 3))
    for t in range(1, T):
        X[t] = 0.5 * X[t - 1] + rng.standard_normal(3)
    y = np.sin(2 * np.pi * np.arange(T) / 25) + 0.5 * X[:, 0]
    y[2:] += np.tanh(X[:-2, 1] * X[1:-1, 2])
    y += 0.1 * rng.standard_normal(T)
    return (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threading", action="store_true",
                   help="also time n_jobs=2 on joblib's threading backend (the CPU time of "
                   "this process then counts every fit)")
    args = p.parse_args()
    X, y = data()
    # (label, parameters set on the CV, backend context)
    settings = [("-1 (default)", {}, contextlib.nullcontext),
                ("1", {"n_jobs": 1}, contextlib.nullcontext)]
    if args.threading:
        settings.append(("2 on threads", {"n_jobs": 2},
                         lambda: parallel_config(backend="threading")))
    for n_jobs, params, context in settings:
        walls = []
        for run in range(args.repeats):
            est = ElmanRNNRegressorCV(random_state=run, **params)
            c0, w0 = time.process_time(), time.perf_counter()
            with warnings.catch_warnings(), context():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            walls.append(wall)
            print(f"n_jobs={n_jobs}: run {run}: wall {wall:.1f} s, CPU of this process "
                  f"{cpu:.1f} s, alpha_={est.alpha_}", flush=True)
        print(f"n_jobs={n_jobs}: median wall {statistics.median(walls):.1f} s over "
              f"{len(walls)} runs", flush=True)


if __name__ == "__main__":
    main()
