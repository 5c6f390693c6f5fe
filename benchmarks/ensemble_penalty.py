"""How averaging fits interacts with the penalty, on the paper's T=500 set over 8 data draws.

Why this exists: ``vs_peers.py`` first offered averages (``RNNEnsembleRegressor``) only of the
best single configuration (lambda = 0.15 on its main draw), and averaging those gained < 1 % on
validation. Averaging is itself a regularizer (the mean of K fits is one RNN of width K r whose
blocks were fitted separately), so it should gain most where single fits are least penalized and
disagree most. This script measures that, on the same data, start and windows as ``vs_peers.py``:

* data: ``make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
  random_state=seed)`` z-scored, for the 8 seeds of ``vs_peers.DRAW_SEEDS``; rows 0-449 train,
  450-499 test; r = 100, ReLU, N(0, 0.1) start, ``skip_connection=True``, one BLAS thread;
* members: L-BFGS with one lambda on all five blocks, LAMBDAS x ITERS iterations;
  ``RNNEnsembleRegressor(member, n_estimators=10, random_state=0)``; the mean of its first k
  members is exactly ``n_estimators=k`` (same seed stream), so k in KS is read off one fit;
* val: mean squared error (the paper's sum over outputs, mean over rows) on the two validation
  windows of ``vs_peers.py`` ([0,316) -> [316,383) and [0,383) -> [383,450)), averaged;
  test: the same members refitted on rows 0-449, scored on rows 450-499.

Prints, per (lambda, iterations, k): the mean over draws of val and TestErr, TestErr on the
reference seed 123456, and on how many draws the k-average has a lower TestErr than k = 1.
Never asserts; the figures are for the tuning guide's advice.

    taskset -c 1 python benchmarks/ensemble_penalty.py          # about 25 min on one core
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, git_commit  # noqa: E402
from vs_peers import (DRAW_SEEDS, N_TRAIN, N_VAL, WINDOWS,  # noqa: E402
                      prefix_average_errors, t500_data, uniform)

LAMBDAS = [0.05, 0.07, 0.1, 0.15]
ITERS = [50, 100, 150]
KS = [1, 3, 5, 10]


def member_errors(X, Y, lam, n_iter):
    """Validation and test errors of the means of the first k of 10 members, k in KS."""
    params = dict(**uniform(lam), solver="lbfgs", max_iter=n_iter, n_iter_no_change=None,
                  skip_connection=True)
    spans = [(end, end + N_VAL) for end in WINDOWS] + [(N_TRAIN, len(X))]
    errs, _ = prefix_average_errors(params, X, Y, spans, KS)
    return ({k: float(np.mean(errs[k][:-1])) for k in KS}, {k: errs[k][-1] for k in KS})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=list(DRAW_SEEDS))
    ap.add_argument("--out", default=os.path.join(RESULTS, "ensemble_penalty.txt"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # every member stops at max_iter by design
    start = time.process_time()
    res = {}  # (lam, n_iter, k) -> list over seeds of (val, test)
    for seed in args.seeds:
        X, Y = t500_data(seed)
        for lam in LAMBDAS:
            for n_iter in ITERS:
                val, test = member_errors(X, Y, lam, n_iter)
                for k in KS:
                    res.setdefault((lam, n_iter, k), []).append((val[k], test[k]))
        print(f"seed {seed} done, {time.process_time() - start:.0f} CPU s", flush=True)
    ref = args.seeds.index(123456) if 123456 in args.seeds else None
    with open(args.out, "w") as fh:
        def out(line=""):
            print(line, flush=True)
            fh.write(line + "\n")

        out(f"# python benchmarks/ensemble_penalty.py ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"commit {git_commit()}, affinity {sorted(os.sched_getaffinity(0))}, load average "
            + " ".join(open("/proc/loadavg").read().split()[:3]) + ")")
        out(f"T=500 set, seeds {args.seeds}; members lbfgs+skip, one lambda on all blocks, "
            f"N(0, 0.1) start; mean of the first k of 10 members (RNNEnsembleRegressor, "
            f"random_state=0); {time.process_time() - start:.0f} CPU s in all")
        out(f"{'lambda':>6} {'iters':>5} {'k':>3} {'work':>5}  {'mean val':>8} {'mean TestErr':>12}"
            f"  {'TestErr seed 123456':>19}  {'draws where k beats k=1 on TestErr':>34}")
        for lam in LAMBDAS:
            for n_iter in ITERS:
                one = np.array(res[(lam, n_iter, 1)])
                for k in KS:
                    a = np.array(res[(lam, n_iter, k)])
                    wins = "" if k == 1 else f"{int(np.sum(a[:, 1] < one[:, 1]))} of {len(a)}"
                    at_ref = f"{a[ref, 1]:.3f}" if ref is not None else "-"
                    out(f"{lam:>6g} {n_iter:>5} {k:>3} {k * n_iter:>5}  {a[:, 0].mean():>8.3f} "
                        f"{a[:, 1].mean():>12.3f}  {at_ref:>19}  {wins:>34}")
        out("(val: mean over draws of the mean of the two validation windows; work: k x "
            "iterations, vs_peers.py's budget is 500)")
        gains = []
        for lam in LAMBDAS:  # the gain of averaging per penalty: 5 fits against 1, 100 iterations
            one, five = np.array(res[(lam, 100, 1)]), np.array(res[(lam, 100, 5)])
            d_val, d_test = one.mean(axis=0) - five.mean(axis=0)
            gains.append(f"lambda {lam:g}: val {d_val:+.3f}, TestErr {d_test:+.3f}")
        out("lower by averaging 5 fits instead of 1 (100 iterations), mean over draws: "
            + "; ".join(gains))


if __name__ == "__main__":
    main()
