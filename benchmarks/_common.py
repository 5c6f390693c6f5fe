"""Helpers shared by ``paper_tables.py`` and ``forecast_cv.py`` (not a benchmark itself).

Only the public API of skalm is used: :class:`skalm.ElmanRNNRegressor`, the solver classes of
:mod:`skalm.solvers` and the data sets of :mod:`skalm.datasets`.
"""

import json
import os
import subprocess
import time
import warnings

import numpy as np

from skalm.datasets import load_sp500_volatility, make_elman_sequence

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

#: The paper's five initializations (section 5.4), as estimator parameters. N(0, s): standard
#: deviation s ("zero mean and standard deviations of 1e-3 and 1e-1"); biases start at 0.
INITS = {
    "N(0,1e-3)": {"init": "normal", "init_scale": 1e-3},
    "N(0,1e-1)": {"init": "normal", "init_scale": 0.1},
    "He": {"init": "he"},
    "Glorot": {"init": "glorot"},
    "LeCun": {"init": "lecun"},
}
DEFAULT_INIT = "N(0,1e-1)"


def load_dataset(name, random_state=123456, scale_x=True):
    """The paper's data sets with their section-5 settings.

    ``random_state`` (the synthetic sets' data seed; the default is the reference package's)
    and ``scale_x=False`` (keep the synthetic inputs on U(-1, 1), z-score only Y) exist for the
    gap investigations; the tables use the defaults.

    Returns a dict with ``X_train, Y_train, X_test, Y_test`` (Y always 2-D), ``n_hidden``,
    ``alpha`` (the paper's tau) and the ALM-BCD settings of Table 2 / Table 3's captions,
    the gradient-family epoch count of Table 3 and the SGD window length of section 5.4.
    """
    if name == "t10":
        X, Y = make_elman_sequence(10, 5, 3, 4, weight_std=0.8, noise_std=1e-3,
                                   random_state=random_state, return_params=False)
        n_train = 9
        cfg = dict(n_hidden=4, alpha=12.0, epochs=500, sgd_batch=2,
                   alm=dict(max_iter=50, max_inner_iter=10))
    elif name == "t500":
        X, Y = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
                                   random_state=random_state, return_params=False)
        n_train = 450
        cfg = dict(n_hidden=100, alpha=500.0, epochs=1000, sgd_batch=100,
                   alm=dict(max_iter=100, max_inner_iter=500, eta1=0.9, eta2=0.9,
                            eta3=0.015, eta4=0.8))
    elif name == "sp500":
        ds = load_sp500_volatility()
        X, Y = ds.data, ds.target.reshape(-1, 1)
        n_train = ds.n_train
        cfg = dict(n_hidden=20, alpha=1.0, epochs=5000, sgd_batch=50,
                   alm=dict(max_iter=200, max_inner_iter=500))
    else:
        raise ValueError(f"unknown data set {name!r}")
    if not scale_x and name != "sp500":
        gen = dict(t10=(10, 5, 3, 4, 0.8, 1e-3), t500=(500, 80, 30, 100, 0.05, 1e-5))[name]
        X, Y = make_elman_sequence(*gen[:4], weight_std=gen[4], noise_std=gen[5],
                                   standardize=False, random_state=random_state,
                                   return_params=False)
        Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    cfg.update(name=name, X_train=X[:n_train], Y_train=Y[:n_train], X_test=X[n_train:],
               Y_test=Y[n_train:])
    return cfg


def sq_err(Y, P):
    """The paper's TrainErr/TestErr: mean over time steps of the squared Euclidean error."""
    Y = np.asarray(Y, float).reshape(len(Y), -1)
    P = np.asarray(P, float).reshape(len(P), -1)
    return float(np.mean(np.sum((Y - P) ** 2, axis=1)))


class Timer:
    """Wall and CPU (process_time) seconds of a block."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        return False


def quiet():
    """Silence the (expected) ConvergenceWarnings of fixed-budget runs."""
    warnings.filterwarnings("ignore")
    np.seterr(all="ignore")


def git_commit():
    """The commit of the code that runs: ``$SKALM_COMMIT`` if set (runs from a ``git archive``
    export, which has no .git), else the HEAD of the repository holding this file."""
    if os.environ.get("SKALM_COMMIT"):
        return os.environ["SKALM_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return "?"


def append_jsonl(path, record):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by an interrupted run
                    pass
    return out


def mean_std(values, fmt="{:.3g}"):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if v.size == 0:
        return "n/a"
    if v.size == 1:
        return fmt.format(v[0])
    return f"{fmt.format(v.mean())} ± {fmt.format(v.std(ddof=1))}"
