"""The near-linear trap (issue 14, items 4 and 5): why ALM-BCD missed the memory a plain Adam RNN
finds, and which defaults generalize best, judged by test error.

Series (one-step-ahead, chronological 80/20 split, X and y z-scored with the training part's
mean and std, errors as test MSE in z-scored units):

* ``hidden_oscillator``: y_t = sin(2 pi t / 25) + 0.5 x_{t,1} - 0.3 x_{t,2} + 0.1 e_t, x two
  independent unit-variance AR(1) inputs (phi 0.5): no input carries the cycle;
* ``narma10``: the NARMA-10 system, X = u_t, target y_{t+1};
* ``wiener_hammerstein``: u -> 2nd-order IIR low-pass -> tanh(1.5 v) + 0.3 v^2 -> IIR, + noise;
* ``sunspots`` (statsmodels' bundled yearly series, target lags 1..LAGS as inputs) and the S&P
  volatility file bundled with skalm (``load_sp500_volatility``, its 11 inputs), same protocol.

Rows: RidgeCV (``TimeSeriesSplit(5)``, alphas 1e-3..1e3) on the same inputs; the Adam RNN
(skalm's ``solver="adam"``: full batch, tanh, r = 20, LeCun start, no weight decay, 1000 epochs;
the better of two learning rates by *test* error, a generous reference); and ``alm-bcd`` under
each candidate setting (CANDIDATES). Medians over 3 random starts (``random_state`` 0, 1, 2) of
the test MSE; the ratio to RidgeCV; median CPU seconds of a fit.

Part ``t500``: the paper's T=500 set as ``vs_peers.py`` measures TestErr (mean over the 50 test
rows of the squared Euclidean error, run on from the end of the 450 training rows; r = 100,
alpha = 500; the data come from a ReLU network). The estimator's defaults, and the defaults
before this study, against the paper's BCD (ReLU, N(0, 0.1) start, ``acceleration=None``, anchor
off, no practical rule) at the number of BCD sweeps the defaults took from the same start.

    PYTHONPATH=$PWD python benchmarks/near_linear_trap.py --part synthetic
    PYTHONPATH=$PWD python benchmarks/near_linear_trap.py --part real
    PYTHONPATH=$PWD python benchmarks/near_linear_trap.py --part t500
    PYTHONPATH=$PWD python benchmarks/near_linear_trap.py --part trajectory
    ... --candidates "before;after (" --series hidden_oscillator --no-adam   (a subset)

Prints, never asserts.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from scipy.signal import lfilter
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import TimeSeriesSplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import git_commit, quiet, sq_err  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.solvers import Adam, ALMBCDSolver  # noqa: E402

SEEDS = [0, 1, 2]
LAGS = 9
ADAM_LRS = [3e-3, 1e-2]

try:  # another branch adds the same generators to skalm.datasets
    from skalm.datasets import (make_hidden_oscillator, make_narma10,  # noqa: E402
                                make_wiener_hammerstein)
except ImportError:
    make_hidden_oscillator = make_narma10 = make_wiener_hammerstein = None


# -- the three synthetic memory series (the shared definitions) ---------------------------------
def narma10(T=2000, seed=0, burn=200):
    """NARMA-10: u ~ U[0, 0.5]; y_{t+1} = 0.3 y_t + 0.05 y_t sum_{i<10} y_{t-i} + 1.5 u_{t-9} u_t
    + 0.1. Row t of X is u_t, its target y_{t+1}; a 200-step burn-in is discarded."""
    rng = np.random.RandomState(seed)
    N = T + burn + 1
    u = rng.uniform(0, 0.5, N)
    y = np.zeros(N)
    for t in range(9, N - 1):
        y[t + 1] = (0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum() + 1.5 * u[t - 9] * u[t]
                    + 0.1)
    return u[burn:burn + T, None], y[burn + 1:burn + T + 1]


def hidden_oscillator(T=2000, period=25, seed=0):
    """y_t = sin(2 pi t / period) + 0.5 x_{t,1} - 0.3 x_{t,2} + 0.1 e_t with x two independent
    AR(1) series (phi 0.5, unit stationary variance); X = x (no input carries the cycle)."""
    rng = np.random.RandomState(seed)
    phi = 0.5
    e = rng.standard_normal((T, 2)) * np.sqrt(1 - phi**2)
    x = np.empty((T, 2))
    x[0] = rng.standard_normal(2)
    for t in range(1, T):
        x[t] = phi * x[t - 1] + e[t]
    t = np.arange(T)
    y = (np.sin(2 * np.pi * t / period) + 0.5 * x[:, 0] - 0.3 * x[:, 1]
         + 0.1 * rng.standard_normal(T))
    return x, y


def wiener_hammerstein(T=2000, seed=0):
    """u ~ N(0, 1); v = G1 u (poles 0.7 +- 0.2j, unit DC gain); w = tanh(1.5 v) + 0.3 v^2;
    y = G2 w (poles 0.5, 0.8, unit DC gain) + 0.05 noise. X = u, target y_t."""
    rng = np.random.RandomState(seed)
    u = rng.standard_normal(T)
    a1 = np.real(np.poly([0.7 + 0.2j, 0.7 - 0.2j]))
    v = lfilter([a1.sum()], a1, u)
    w = np.tanh(1.5 * v) + 0.3 * v**2
    a2 = np.real(np.poly([0.5, 0.8]))
    y = lfilter([a2.sum()], a2, w) + 0.05 * rng.standard_normal(T)
    return u[:, None], y


SYNTHETIC = {
    "hidden_oscillator": make_hidden_oscillator or hidden_oscillator,
    "narma10": make_narma10 or narma10,
    "wiener_hammerstein": make_wiener_hammerstein or wiener_hammerstein,
}


def split_scale(X, y, frac=0.8):
    """Chronological split; X and y z-scored with the training part's mean and std."""
    n = int(frac * len(y))
    mx, sx = X[:n].mean(axis=0), X[:n].std(axis=0)
    my, sy = y[:n].mean(), y[:n].std()
    Xz, yz = (X - mx) / sx, (y - my) / sy
    return Xz[:n], yz[:n], Xz[n:], yz[n:]


def sunspots():
    import statsmodels.api as sm

    s = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)
    X = np.column_stack([s[LAGS - k:len(s) - k] for k in range(1, LAGS + 1)])
    return X, s[LAGS:]


def sp500():
    from skalm.datasets import load_sp500_volatility

    d = load_sp500_volatility()
    return d.data, d.target


REAL = {"sunspots": sunspots, "sp500": sp500}


def load(name):
    X, y = SYNTHETIC[name](2000, seed=0) if name in SYNTHETIC else REAL[name]()
    return split_scale(np.asarray(X, float), np.asarray(y, float))


# -- the candidates ----------------------------------------------------------------------------
#: name -> estimator parameters (on top of random_state). "before": the defaults before this
#: work (ReLU, N(0, 0.1) start, extrapolated BCD, no anchor); then one change at a time; then
#: the defaults after it, and one change at a time from those.
BEFORE = dict(activation="relu", alpha=1.0, init="normal", init_scale=0.1,
              solver=ALMBCDSolver(anchor=None))
CANDIDATES = {
    "before (relu, anchor off)": BEFORE,
    "relu, alpha 0.1": {**BEFORE, "alpha": 0.1},
    "relu, alpha 0.01": {**BEFORE, "alpha": 0.01},
    "relu, lecun": {**BEFORE, "init": "lecun"},
    "relu, gamma0 10": {**BEFORE, "solver": ALMBCDSolver(anchor=None, gamma0=10.0)},
    "relu, max_iter 300, no rule": {**BEFORE, "solver": ALMBCDSolver(
        anchor=None, max_iter=300, n_iter_no_change=None)},
    "relu, anchor": {**BEFORE, "solver": ALMBCDSolver()},
    "tanh, anchor off": {**BEFORE, "activation": "tanh"},
    "after (defaults: tanh, anchor)": {},
    "after, paper BCD (acceleration=None)": {"acceleration": None},
    "after, init lecun": {"init": "lecun"},
    "after, init_scale 0.3": {"init_scale": 0.3},
    "after, alpha 0.1": {"alpha": 0.1},
    "after, alpha 10": {"alpha": 10.0},
    "after, n_iter_no_change 20": {"n_iter_no_change": 20},
    "after, max_iter 300": {"max_iter": 300},
}


def fit_score(params, data, seed):
    Xtr, ytr, Xte, yte = data
    est = ElmanRNNRegressor(random_state=seed, **params)
    c0 = time.process_time()
    est.fit(Xtr, ytr)
    cpu = time.process_time() - c0
    return sq_err(yte, est.predict(Xte)), sq_err(ytr, est.predict(Xtr)), cpu, est.n_iter_


def ridge(data):
    Xtr, ytr, Xte, yte = data
    r = RidgeCV(alphas=np.logspace(-3, 3, 13), cv=TimeSeriesSplit(5)).fit(Xtr, ytr)
    return sq_err(yte, r.predict(Xte))


def adam_params(lr):
    return dict(activation="tanh", alpha=0.0, init="lecun",
                solver=Adam(learning_rate=lr, max_iter=1000, n_iter_no_change=None))


def row(label, results, ref, out):
    te = np.median([r[0] for r in results])
    tr = np.median([r[1] for r in results])
    cpu = np.median([r[2] for r in results])
    its = int(np.median([r[3] for r in results]))
    each = " ".join(f"{r[0]:.3f}" for r in results)
    out(f"  {label:<34} {te:>8.4f} {te / ref:>6.2f} {tr:>8.4f} {cpu:>7.1f} {its:>5d}   [{each}]")
    return te


def run_series(names, candidates, adam, out):
    for name in names:
        data = load(name)
        ref = ridge(data)
        out(f"\n{name}: {len(data[1])} train / {len(data[3])} test rows, "
            f"{data[0].shape[1]} inputs")
        out(f"  {'model':<34} {'test':>8} {'/ridge':>6} {'train':>8} {'cpu s':>7} {'iters':>5}"
            "   [test per start]")
        out(f"  {'RidgeCV':<34} {ref:>8.4f} {1.0:>6.2f}")
        if adam:
            best = None
            for lr in ADAM_LRS:
                res = [fit_score(adam_params(lr), data, s) for s in SEEDS]
                med = np.median([r[0] for r in res])
                if best is None or med < best[0]:
                    best = (med, lr, res)
            row(f"Adam RNN (tanh, lr {best[1]:g})", best[2], ref, out)
        for label in candidates:
            row(label, [fit_score(CANDIDATES[label], data, s) for s in SEEDS], ref, out)


# -- T = 500 -----------------------------------------------------------------------------------
def run_t500(out, seeds=(0, 1, 2)):
    from skalm.datasets import make_elman_sequence

    X, Y, _ = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
                                  random_state=123456)
    n = 450
    common = dict(n_hidden=100, alpha=500.0, blas_threads=1)
    out("\nT=500 (paper set, r=100, alpha=500): TestErr / TrainErr, median over starts "
        f"{list(seeds)}")
    out(f"  {'run':<44} {'TestErr':>8} {'TrainErr':>8} {'sweeps':>7} {'cpu s':>6}   [TestErr]")
    budgets = {}
    rows = [("defaults", {}), ("before: relu, anchor off", dict(
        activation="relu", init="normal", init_scale=0.1, solver=ALMBCDSolver(anchor=None)))]
    for label, kw in rows:
        res = [_t500_fit(X, Y, n, s, {**common, **kw}) for s in seeds]
        budgets[label] = res
        _t500_row(label, res, out)
    # The paper's BCD (ReLU, Algorithm 3.2, restarts from s^0, no practical rule) at the number
    # of sweeps the run named took from the same start; inner cap 50 (the estimator's) and 500
    # (the paper's for this set).
    for ref_label, inner in [(rows[0][0], 50), (rows[0][0], 500)]:
        res = []
        for s, ref in zip(seeds, budgets[ref_label]):
            solver = ALMBCDSolver(acceleration=None, anchor=None, max_inner_iter=inner,
                                  max_iter=max(1, int(round(ref[2] / inner))),
                                  n_iter_no_change=None)
            res.append(_t500_fit(X, Y, n, s, {**common, "activation": "relu", "init": "normal",
                                              "init_scale": 0.1, "solver": solver}))
        _t500_row(f"paper BCD, inner cap {inner}, same sweeps", res, out)


# -- the ALM's trajectory ----------------------------------------------------------------------
def run_trajectory(out, seed=1, max_iter=60, every=5):
    """Forward-pass train / test MSE of the ALM's weights every ``every`` outer iterations on the
    hidden oscillator (tanh, alpha 1, one start), anchor off and on, no practical rule. A
    diagnostic: the test rows are read at every iteration here (never by a fit)."""
    from skalm.activations import get_activation
    from skalm.model import Lambdas, init_weights
    from skalm.solvers import Problem

    Xtr, ytr, Xte, yte = load("hidden_oscillator")
    lam = Lambdas.from_alpha(1.0, 20, Xtr.shape[1], 1)
    problem = Problem(Xtr, ytr[:, None], lam, X_val=Xte, Y_val=yte[:, None])
    w0 = init_weights(20, Xtr.shape[1], 1, scale=0.1, random_state=seed)
    out(f"\nALM trajectory, hidden oscillator, tanh, alpha 1, start {seed}: forward-pass "
        "train/test MSE and gamma at outer iteration k")
    for anchor in (None, "best"):
        res = ALMBCDSolver(anchor=anchor, max_iter=max_iter, n_iter_no_change=None).solve(
            problem, get_activation("tanh"), w0)
        h = res.history
        cells = [f"{k + 1}: {h['train_loss'][k]:.3f}/{h['val_loss'][k]:.3f} g {h['gamma'][k]:.2g}"
                 for k in range(0, len(h["train_loss"]), every)]
        out(f"  anchor={anchor}:")
        for i in range(0, len(cells), 4):
            out("    " + " | ".join(cells[i:i + 4]))


def _t500_fit(X, Y, n, seed, params):
    est = ElmanRNNRegressor(random_state=seed, **params)
    c0 = time.process_time()
    est.fit(X[:n], Y[:n])
    cpu = time.process_time() - c0
    return (sq_err(Y[n:], est.predict(X[n:])), sq_err(Y[:n], est.predict(X[:n])),
            int(np.sum(est.history_["n_inner"])), cpu)


def _t500_row(label, res, out):
    te, tr = np.median([r[0] for r in res]), np.median([r[1] for r in res])
    sw, cpu = int(np.median([r[2] for r in res])), np.median([r[3] for r in res])
    out(f"  {label:<44} {te:>8.2f} {tr:>8.2f} {sw:>7d} {cpu:>6.1f}   "
        f"[{' '.join(f'{r[0]:.2f}' for r in res)}]")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--part", choices=["synthetic", "real", "t500", "trajectory"],
                    default="synthetic")
    ap.add_argument("--series", default=None, help="comma-separated subset of the series")
    ap.add_argument("--candidates", default=None,
                    help="';'-separated prefixes of candidate labels (default: all)")
    ap.add_argument("--no-adam", action="store_true")
    ap.add_argument("--seeds", default="0,1,2", help="random starts (t500 part)")
    ap.add_argument("--out", default=None, help="also append the output to this file")
    args = ap.parse_args()
    quiet()
    fh = open(args.out, "a") if args.out else None

    def out(line=""):
        print(line, flush=True)
        if fh:
            fh.write(line + "\n")
            fh.flush()

    out(f"# python benchmarks/near_linear_trap.py {' '.join(sys.argv[1:])}   (commit "
        f"{git_commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    cands = list(CANDIDATES)
    if args.candidates:
        keys = args.candidates.split(";")
        cands = [c for c in CANDIDATES if any(c.startswith(k) for k in keys)]
    if args.part == "t500":
        run_t500(out, seeds=[int(v) for v in args.seeds.split(",")])
    elif args.part == "trajectory":
        run_trajectory(out)
    else:
        names = list(SYNTHETIC) if args.part == "synthetic" else list(REAL)
        if args.series:
            names = [n for n in names if n in args.series.split(",")]
        run_series(names, cands, not args.no_adam, out)
    out("# done")


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    main()
