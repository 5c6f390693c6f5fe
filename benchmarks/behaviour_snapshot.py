"""Record, or compare against a record, what a fixed set of small fits produce.

A refactoring that is meant to preserve behaviour should leave every number here unchanged:
the predictions on the training and on held-out rows, every column of ``history_`` except the
wall-clock ``time``, ``n_iter_``, and the text of every warning a fit issues with the file it
points at (its stacklevel). The cases are every registered solver x every registered
activation, with and without the skip connection, plus fits over two sequences
(``sequence_id``) and one with early stopping (validation rows), on a small synthetic series,
so that the whole set runs in seconds.

Usage::

    PYTHONPATH=$PWD python benchmarks/behaviour_snapshot.py --record /tmp/before.npz
    PYTHONPATH=$PWD python benchmarks/behaviour_snapshot.py --compare /tmp/before.npz

``--compare`` prints, per case, the largest absolute difference over all its arrays (0 when
identical) and whether its warnings and array shapes agree, then a one-line summary; it exits
with status 1 when anything differs.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

from skalm import ElmanRNNRegressor
from skalm.activations import ACTIVATIONS
from skalm.solvers import SOLVERS

#: Iteration caps small enough for a quick run, large enough to exercise the loops.
MAX_ITER = 30


def _data(T=80, n=3, m=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, n))
    y = np.empty((T, m))
    h = np.zeros(4)
    Win = 0.5 * rng.standard_normal((4, n))
    Wrec = 0.4 * rng.standard_normal((4, 4))
    Wout = rng.standard_normal((m, 4))
    for t in range(T):
        h = np.tanh(Wrec @ h + Win @ X[t])
        y[t] = Wout @ h
    y += 0.05 * rng.standard_normal(y.shape)
    return X, y


def cases():
    """(name, estimator parameters, fit keyword arguments) of every case."""
    out = []
    for solver in sorted(SOLVERS):
        for activation in sorted(ACTIVATIONS):
            for skip in (False, True):
                name = f"{solver}|{activation}|skip={int(skip)}"
                params = dict(solver=solver, activation=activation, skip_connection=skip)
                out.append((name, params, {}))
    out.append(("alm-bcd|relu|sequences", dict(solver="alm-bcd", activation="relu"),
                {"sequence_id": "two"}))
    out.append(("lbfgs|tanh|sequences", dict(solver="lbfgs", activation="tanh"),
                {"sequence_id": "two"}))
    out.append(("alm-bcd|elu|early_stopping",
                dict(solver="alm-bcd", activation="elu", early_stopping=True), {}))
    return out


def run_case(params, fit_kw, X, y, X_test):
    """The arrays and warnings of one fit."""
    est = ElmanRNNRegressor(n_hidden=5, max_iter=MAX_ITER, random_state=0, alpha=0.1,
                            **params)
    kw = dict(fit_kw)
    if kw.get("sequence_id") == "two":
        kw["sequence_id"] = np.repeat([0, 1], [X.shape[0] // 2, X.shape[0] - X.shape[0] // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y, **kw)
        pred_train = est.predict(X, **({"sequence_id": kw["sequence_id"]}
                                       if "sequence_id" in kw else {}))
        pred_test = est.predict(X_test, initial_state="zeros")
    arrays = {"pred_train": pred_train, "pred_test": pred_test,
              "n_iter": np.array(est.n_iter_)}
    for key, values in est.history_.items():
        if key != "time":
            arrays[f"history_{key}"] = np.asarray(values, dtype=float)
    # The file a warning points at shows its stacklevel: it must stay the caller's.
    messages = sorted(
        f"{type(w.message).__name__} at {os.path.basename(w.filename)}: {w.message}"
        for w in caught
    )
    return arrays, messages


def record_all():
    X, y = _data()
    X_test, _ = _data(T=20, seed=1)
    store = {}
    for name, params, fit_kw in cases():
        arrays, messages = run_case(params, fit_kw, X, y, X_test)
        for key, value in arrays.items():
            store[f"{name}::{key}"] = value
        store[f"{name}::warnings"] = np.array("\n".join(messages))
    return store


def compare(old, new):
    """Print one line per case; return True when everything is identical."""
    names = sorted({k.split("::")[0] for k in list(old) + list(new)})
    identical = True
    worst = 0.0
    for name in names:
        keys = sorted({k for k in list(old) + list(new) if k.split("::")[0] == name})
        diff, notes = 0.0, []
        for key in keys:
            if key not in old or key not in new:
                notes.append(f"{key.split('::')[1]} only in {'new' if key in new else 'old'}")
                continue
            a, b = old[key], new[key]
            if a.dtype.kind in "US":
                if str(a) != str(b):
                    notes.append("warnings differ")
                continue
            if a.shape != b.shape:
                notes.append(f"{key.split('::')[1]} shape {a.shape} -> {b.shape}")
                continue
            same_nan = np.array_equal(np.isnan(a), np.isnan(b))
            if not same_nan:
                notes.append(f"{key.split('::')[1]} NaN pattern differs")
            with np.errstate(invalid="ignore"):
                d = np.abs(np.where(np.isnan(a) & np.isnan(b), 0.0, a - b))
            if d.size:
                diff = max(diff, float(np.max(d)))
        identical &= diff == 0.0 and not notes
        worst = max(worst, diff)
        print(f"{name:40s} max|diff| = {diff:.3g}" + (f"  ({'; '.join(notes)})" if notes else ""))
    print(f"{len(names)} cases: " + ("all identical" if identical else
                                      f"NOT identical (largest difference {worst:.3g})"))
    return identical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--record", metavar="FILE", help="write the snapshot to FILE (.npz)")
    group.add_argument("--compare", metavar="FILE", help="compare a new run with FILE")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    store = record_all()
    print(f"{len(cases())} fits in {time.perf_counter() - t0:.1f} s")
    if args.record:
        np.savez(args.record, **store)
        print(f"wrote {args.record}")
        return 0
    with np.load(args.compare) as old:
        return 0 if compare(dict(old), store) else 1


if __name__ == "__main__":
    sys.exit(main())
