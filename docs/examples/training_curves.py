"""Training curves and feasibility of ALM-BCD on the S&P 500 volatility data.

Fits the paper's model (20 hidden units, alpha = 1) twice from the same initial weights: with
the default extrapolated inner BCD (``acceleration="nesterov"``) and with the paper's plain BCD
(``acceleration=None``), printing the progress lines of the first fit (``verbose=1``). Then
plots, from ``history_``, the training loss, the feasibility violation FeasVio, the certificate
kappa and the penalty gamma against the outer iteration, and the loss and FeasVio against
time.

Run: ``python docs/examples/training_curves.py [output directory]`` (writes
``training_curves_iteration.png`` and ``training_curves_time.png``; needs the ``plot``
extra).
"""

import sys
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

from skalm import ElmanRNNRegressor
from skalm.datasets import load_sp500_volatility
from skalm.plotting import plot_history

start = time.perf_counter()
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
out_dir.mkdir(parents=True, exist_ok=True)

data = load_sp500_volatility()
X_train, y_train = data.data[: data.n_train], data.target[: data.n_train]

fits = {}
for name, acceleration, verbose in [("nesterov (default)", "nesterov", 1),
                                    ("paper's BCD", None, 0)]:
    # n_iter_no_change=None: run all 30 outer iterations, to see the whole curve.
    est = ElmanRNNRegressor(n_hidden=20, alpha=1.0, max_iter=30, n_iter_no_change=None,
                            acceleration=acceleration, verbose=verbose, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # stops at max_iter by design
        fits[name] = est.fit(X_train, y_train)

for name, est in fits.items():
    h = est.history_
    print(f"{name:<19} loss {h['train_loss'][-1]:.4g}  FeasVio {h['feasibility'][-1]:.2g}  "
          f"gamma {h['gamma'][-1]:.3g}  BCD sweeps {sum(h['n_inner']):.0f}  "
          f"{h['time'][-1]:.1f} s")

axes = plot_history(fits, ["train_loss", "feasibility", "kappa", "gamma"], x="iteration")
axes[0].figure.suptitle("ALM-BCD on S&P 500 volatility (T = 393, r = 20)")
path = out_dir / "training_curves_iteration.png"
axes[0].figure.savefig(path, dpi=90)
print(f"wrote {path}")

axes = plot_history(fits, ["train_loss", "feasibility"], x="time", marker=".")
path = out_dir / "training_curves_time.png"
axes[0].figure.savefig(path, dpi=90)
print(f"wrote {path}; total {time.perf_counter() - start:.1f} s")
