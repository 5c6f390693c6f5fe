"""Compare ALM-BCD with Adam and L-BFGS on a synthetic Elman-RNN sequence.

The data come from a random "true" Elman network (the paper's generator,
:func:`skalm.datasets.make_elman_sequence`); the first 350 steps train, the last 50 test, run
on from the end of the training steps. All three solvers minimize the same regularized
objective R (same ``alpha``) from the same initial weights; Adam and L-BFGS use
backpropagation through time, ALM-BCD does not. The script prints, per solver, the
iterations, the time, the final R and the training and test errors, and plots R and the
training loss against time.

Run: ``python docs/examples/compare_solvers.py [output directory]`` (writes
``compare_solvers.png``; needs the ``plot`` extra).
"""

import sys
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_squared_error

from skalm import ElmanRNNRegressor
from skalm.datasets import make_elman_sequence
from skalm.plotting import plot_history
from skalm.solvers import LBFGS, Adam, ALMBCDSolver

start = time.perf_counter()
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
out_dir.mkdir(parents=True, exist_ok=True)

# T = 400 steps, n = 10 inputs, m = 3 outputs, a true network with 10 hidden units.
X, Y = make_elman_sequence(400, 10, 3, 10, weight_std=0.3, noise_std=1e-3, random_state=0,
                           return_params=False)
X_train, Y_train, X_test, Y_test = X[:350], Y[:350], X[350:], Y[350:]

solvers = {
    "ALM-BCD": ALMBCDSolver(max_iter=40),
    "Adam": Adam(learning_rate=1e-2, max_iter=2000),
    "L-BFGS": LBFGS(max_iter=1000),
}
fits = {}
print(f"{'solver':<8} {'iter':>5} {'time (s)':>9} {'final R':>9} {'train MSE':>10} {'test MSE':>9}")
for name, solver in solvers.items():
    est = ElmanRNNRegressor(n_hidden=10, alpha=1.0, solver=solver, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a cap may end a run
        est.fit(X_train, Y_train)
    fits[name] = est
    train = mean_squared_error(Y_train, est.predict(X_train))  # replayed from h_0 = 0
    test = mean_squared_error(Y_test, est.predict(X_test))  # runs on from hidden_state_
    h = est.history_
    print(f"{name:<8} {est.n_iter_:>5} {h['time'][-1]:>9.2f} {h['objective'][-1]:>9.4f} "
          f"{train:>10.4f} {test:>9.4f}")

# history_["train_loss"] is the paper's TrainErr: the squared error summed over the m = 3
# outputs, averaged over time steps; sklearn's mean_squared_error above also averages over the
# outputs, so it is a third of it.
# An iteration means different things (an ALM outer iteration is many BCD sweeps, an Adam
# iteration one epoch), so compare against time.
axes = plot_history(fits, ["objective", "train_loss"], x="time")
axes[0].figure.suptitle("Same objective R, same initial weights (T = 350, r = 10)")
path = out_dir / "compare_solvers.png"
axes[0].figure.savefig(path, dpi=90)
print(f"wrote {path}; total {time.perf_counter() - start:.1f} s")
