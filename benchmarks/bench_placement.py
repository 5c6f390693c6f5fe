"""Cost of the initial_state="auto" rule (issue 15): placing X against the training rows.

For T training rows (n = 10 features, r = 20 hidden units), prints the median milliseconds
of: building the index at the end of fit (``TrainingRows``), placing the training X itself,
a suffix (the state before its first row recomputed), the rows after training (no training
row: only the projections are compared), and, for scale, the forward pass of predict over
the same rows. Medians of ``--reps`` runs; no assertion.

Run: ``python benchmarks/bench_placement.py`` (``--reps 5`` default).
"""

import argparse
import time

import numpy as np

from skalm._state import TrainingRows
from skalm.activations import get_activation
from skalm.model import forward, init_weights


def median_ms(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    n, r = 10, 20
    activation = get_activation("relu")
    print(f"{'T':>7} {'index':>9} {'training X':>11} {'suffix':>9} {'after':>9} "
          f"{'forward':>9}   (median ms of {args.reps})")
    for T in (1_000, 10_000, 100_000):
        rng = np.random.RandomState(0)
        X = rng.uniform(-1, 1, size=(T + 200, n))
        weights = init_weights(r, n, 1, random_state=0)
        _, H = forward(weights, X[:T], activation)
        rows = TrainingRows(X[:T], H, None)
        suffix = X[T // 3:T]
        after = X[T:]
        placement = rows.place(suffix)
        cells = [
            median_ms(lambda: TrainingRows(X[:T], H, None), args.reps),
            median_ms(lambda: rows.place(X[:T]), args.reps),
            median_ms(lambda: (rows.place(suffix),
                               rows.state_before(placement.offset, weights, activation)),
                      args.reps),
            median_ms(lambda: rows.place(after), args.reps),
            median_ms(lambda: forward(weights, X[:T], activation), args.reps),
        ]
        assert rows.place(after).case == "continuation" and placement.case == "suffix"
        print(f"{T:>7} " + " ".join(f"{c:>9.2f}" if i else f"{c:>9.2f}"
                                   for i, c in enumerate(cells)))


if __name__ == "__main__":
    main()
