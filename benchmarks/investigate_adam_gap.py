"""Why does our tuned full-batch Adam on the T = 500 set (TrainErr ~2.0, TestErr 13.8, 1000
epochs, lr 1e-2 chosen on a validation split) differ from the reference torch Adam (TrainErr 8.3,
TestErr 22.2, 1000 epochs, best lr of {1e-4 .. 1e-1})?

Our Adam minimizes R = (1/T) sum_t ||y_t - yhat_t||^2 + alpha * (mean square of each weight
block), alpha = 500. A torch training loop typically minimizes ``MSELoss()`` = the mean over the
T * m entries, i.e. R / m without the penalty (m = 30), often with no regularization. Adam is
invariant to a constant factor on the whole objective (up to its eps), so

* "mean over T*m entries, no regularization" is our Adam with alpha = 0;
* "mean over T*m entries plus our per-block penalties" is our Adam with alpha = 500 * m;

and the remaining differences are the learning rate, the iterate reported (last vs best) and the
test protocol (run on from the end of training vs test rows started from h = 0). Every
combination of alpha in {500, 0, 15000} and lr in {1e-4, 1e-3, 1e-2, 1e-1} is run from the same
N(0, 0.1) start (seed 0), 1000 epochs, no early stopping. Printed: the last iterate's TrainErr and
TestErr (run on, the tables' protocol; from a fit on training + test rows whose validation part
is exactly the test rows, as in ``paper_tables.py``), then a plain fit on the training rows
(which returns the lowest-objective iterate, usually the last) with its TrainErr, its TestErr by
running on, its TestErr with the test rows started from h = 0, and the last R.

    PYTHONPATH=. python benchmarks/investigate_adam_gap.py > benchmarks/results/paper_gap_t500_adam.txt
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_tables as pt  # noqa: E402
from _common import DEFAULT_INIT, Timer, git_commit, load_dataset, quiet, sq_err  # noqa: E402


def main():
    quiet()
    ds = load_dataset("t500")
    m = ds["Y_train"].shape[1]
    print(f"skalm commit {git_commit()}; T = 500, Adam, {ds['epochs']} epochs, init "
          f"{DEFAULT_INIT} seed 0; CPU seconds by time.process_time (shared 2-core machine)")
    print(f"{'variant':38s} {'lr':>6s} {'TrainErr':>8s} {'TestErr':>8s} | {'plain fit:':>10s} "
          f"{'TrainErr':>8s} {'TestErr':>8s} {'Test h0':>8s} {'R':>8s} {'CPU s':>6s}")
    variants = [("ours: (1/T) sum loss, alpha = 500", 500.0),
                ("mean over T*m, no regularization", 0.0),
                (f"mean over T*m + our penalties (a={500 * m})", 500.0 * m)]
    for label, alpha in variants:
        d = dict(ds, alpha=alpha)
        for lr in [1e-4, 1e-3, 1e-2, 1e-1]:
            rec = pt.run_one(d, "adam", DEFAULT_INIT, 0, lr, keep_history=False)
            est = pt.make_estimator(d, "adam", DEFAULT_INIT, 0, lr)
            tr = te = te0 = obj = None
            with Timer() as t:
                try:
                    est.fit(d["X_train"], d["Y_train"])
                    tr = sq_err(d["Y_train"], est.predict(d["X_train"]))
                    te = sq_err(d["Y_test"], est.predict(d["X_test"]))
                    te0 = sq_err(d["Y_test"], est.predict(d["X_test"], initial_state="zeros"))
                    obj = est.history_["objective"][-1] if est.history_["objective"] else None
                except (ValueError, FloatingPointError):  # diverged in the first iteration
                    pass
            f = (lambda v: f"{v:8.3g}" if v is not None and np.isfinite(v) else "     div")
            print(f"{label:38s} {lr:6g} {f(rec['train_err'])} {f(rec['test_err'])} | "
                  f"{'':10s} {f(tr)} {f(te)} {f(te0)} {f(obj)} {t.cpu:6.1f}", flush=True)


if __name__ == "__main__":
    main()
