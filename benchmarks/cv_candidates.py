"""Every candidate of ``ElmanRNNRegressorCV`` on ``real_data.py``'s series, scored and tested.

For each series and random start, one CV fit records every candidate's validation MSE per
fold and, refitted on all training rows as the CV refits its winner, its test MSE. Each
start's candidates are scored on their own (same folds, same initial draw), so the CV's
choice among any set of starts, from any of the runs below, follows exactly from these
records, without fitting again. The defaults of ``ElmanRNNRegressorCV`` (``starts``,
``warm_up_max_iter``, ``linear_start_max_iter``) were chosen with this table: test MSE over
all series, medians of 3 random starts.

Run (each appends one JSON line per series and random start; the runs are labelled)::

    # the defaults (its choice is the CV's own: also written for real_data.py --from-json)
    python benchmarks/cv_candidates.py --label default --rnncv-json rnncv.json
    # the starts as they were before: no caps, and the "delay" start
    python benchmarks/cv_candidates.py --label uncapped --starts recurrent,linear,delay \\
        --warm-up-max-iter none --linear-start-max-iter none
    # an experiment: each fold's penalty scaled by its rows, as ridge's (not taken)
    python benchmarks/cv_candidates.py --label perrow --per-row-alphas
    # the CV's choice and its test MSE for each set of (label, start)
    python benchmarks/cv_candidates.py --report

``--sets`` and ``--seeds`` as in ``real_data.py``; BLAS runs on one thread. Candidates that
neither selection rule can choose (not better than ridge by one standard error, nor on the
mean) are not refitted (their test MSE is null). The CV's own winner, refitted here from the
same network, must give the CV's own test MSE: the run stops if it does not.
"""

import argparse
import copy
import json
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data as rd  # noqa: E402

import skalm.cv as skcv  # noqa: E402
from skalm import ElmanRNNRegressor, ElmanRNNRegressorCV  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                       "cv_candidates.jsonl")

#: The sets of (label, start) compared by ``--report``.
CONFIGS = {
    "defaults": ["default:recurrent", "default:linear", "default:lbfgs", "default:lags"],
    "before (no caps, +delay)": ["uncapped:recurrent", "uncapped:linear", "uncapped:delay",
                                 "default:lbfgs", "default:lags"],
    "defaults +delay": ["default:recurrent", "default:linear", "uncapped:delay",
                        "default:lbfgs", "default:lags"],
    "defaults, linear uncapped": ["default:recurrent", "uncapped:linear", "default:lbfgs",
                                  "default:lags"],
    "defaults, warm-up uncapped": ["uncapped:recurrent", "default:linear", "default:lbfgs",
                                   "default:lags"],
    "defaults -linear": ["default:recurrent", "default:lbfgs", "default:lags"],
    "defaults -recurrent": ["default:linear", "default:lbfgs", "default:lags"],
}


def _none_or_int(text):
    return None if text.lower() == "none" else int(text)


def _estimator_params(text):
    """``"max_inner_iter=20,gamma0=2"`` -> ``{"max_inner_iter": 20, "gamma0": 2.0}``."""
    params = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        params[key] = int(value) if value.lstrip("-").isdigit() else float(value)
    return params


def run(label, names, seeds, params, out, rnncv_json=None, log=print):
    """Fit the CV with ``params`` on each series and seed; append one record per fit."""
    kept = {}
    fold_path = skcv._fold_path

    def recording(base, alphas, start, X, y, sid, train, test, keep=False, **kw):
        c0 = time.process_time()
        path = fold_path(base, alphas, start, X, y, sid, train, test, keep=True, **kw)
        # a copy: the CV refits its winner in place
        kept[start, len(train)] = (copy.deepcopy(path.fitted), time.process_time() - c0)
        return path

    rnncv, commit = [], rd.git_commit()
    skcv._fold_path = recording  # n_jobs=1 below: the paths run in this process
    try:
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in names:
                sp = rd.split(rd.load_series(name))
                X, y, Xt, yt = sp.X_train, sp.y_train, sp.X_test, sp.y_test
                ridgecv = rd.ridgecv_test_mse(sp)
                for seed in seeds:
                    kept.clear()
                    est = ElmanRNNRegressorCV(random_state=seed, n_jobs=1, **params)
                    c0, w0 = time.process_time(), time.perf_counter()
                    est.fit(X, y)
                    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                    own = float(np.mean((rd.predict_continuing(est, Xt).ravel() - yt) ** 2))
                    record = _candidates(est, kept, X, y, Xt, yt)
                    chosen = record["test"][est.best_index_]
                    if chosen is None or not np.isclose(chosen, own, rtol=1e-9, atol=0):
                        raise RuntimeError(f"{name} seed {seed}: the winner refitted here "
                                           f"gives {chosen}, the CV {own}")
                    record.update(label=label, series=name, seed=seed, ridgecv=ridgecv,
                                  params={k: repr(v) if k == "estimator" else v
                                          for k, v in params.items()}, cpu=cpu,
                                  commit=commit)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    rnncv.append(dict(series=name, model="rnncv", seed=seed, test_mse=own,
                                      fit_cpu=cpu, fit_wall=wall,
                                      params=rd._jsonable(rd.describe_fit(est)),
                                      commit=commit))
                    log(f"{label} {name} seed {seed}: {cpu:.1f} CPU s, chose "
                        f"{est.start_} alpha={est.alpha_:g}, test {own / ridgecv:.3f}x "
                        f"RidgeCV; CPU per start " + ", ".join(
                            f"{s} {t:.1f}" for s, t in record["start_cpu"].items()))
    finally:
        skcv._fold_path = fold_path
    if rnncv_json:
        with open(rnncv_json, "w") as f:
            json.dump(rnncv, f, indent=1)


def _candidates(est, kept, X, y, Xt, yt):
    """Fold scores of every candidate, and the test MSE of those a rule could choose."""
    r = est.cv_results_
    n_folds = sum(k.startswith("split") for k in r)
    mse = -np.array([r[f"split{i}_test_score"] for i in range(n_folds)]).T
    starts, alphas = list(r["param_start"]), [float(a) for a in r["param_alpha"]]
    last = max(n for _, n in kept)
    # Either rule compares a network with ridge alone (one-SE: its paired gains; min: its
    # mean), so a network it can choose in any set of starts is one it chooses beside ridge,
    # with the folds weighted either way.
    sizes = [len(tr) for tr, _ in est._splits(X)]
    choosable = [any(skcv._select(mse[[0, k]], rule, w) == 1
                     for rule in ("one_se", "min") for w in (None, sizes))
                 for k in range(1, len(starts))]
    test = [None] * len(starts)
    ridge = est._base().set_params(alpha=skcv._OFF_ALPHA,
                                   lambda_D=est.linear_alpha_ / len(X)).fit(X, y)
    test[0] = float(np.mean((rd.predict_continuing(ridge, Xt).ravel() - yt) ** 2))
    per_start = {}
    for k in range(1, len(starts)):
        j = per_start.setdefault(starts[k], 0)
        per_start[starts[k]] += 1
        if not choosable[k - 1]:
            continue
        net = copy.deepcopy(kept[starts[k], last][0][j])
        net.set_params(warm_start=skcv._warm_starts(net), lambda_D=est.linear_alpha_ / len(X))
        net.fit(X, y)
        test[k] = float(np.mean((rd.predict_continuing(net, Xt).ravel() - yt) ** 2))
    start_cpu = {}
    for (s, _), (_, t) in kept.items():
        start_cpu[s] = start_cpu.get(s, 0.0) + t
    return dict(starts=starts, alphas=alphas, mse=mse.tolist(), test=test,
                start_cpu=start_cpu, chosen=int(est.best_index_), train_sizes=sizes)


def _train_sizes(rec):
    """The folds' training rows (records made before they were stored: TimeSeriesSplit(5)
    of the series' training part, the CV's default)."""
    if "train_sizes" in rec:
        return rec["train_sizes"]
    n = len(rd.split(rd.load_series(rec["series"])).y_train)
    return [len(tr) for tr, _ in skcv.TimeSeriesSplit(5).split(np.zeros(n))]


def report(path, configs=CONFIGS, selection="one_se", fold_weights="uniform", log=print):
    """The CV's choice and test MSE (ratio to RidgeCV's) for each set of (label, start)."""
    runs = {}
    for line in open(path):
        rec = json.loads(line)
        runs.setdefault((rec["series"], rec["seed"]), {})[rec["label"]] = rec
    table = {}
    for (series, seed), by_label in runs.items():
        ridge_rows = {json.dumps(rec["mse"][0]) for rec in by_label.values()}
        if len(ridge_rows) != 1:
            raise ValueError(f"{series} seed {seed}: the runs' ridge rows differ")
        first = next(iter(by_label.values()))
        weights = _train_sizes(first) if fold_weights == "train_size" else None
        for name, members in configs.items():
            cpu, labels = 0.0, []
            mse, tests = [first["mse"][0]], [first["test"][0]]
            if any(m.split(":")[0] not in by_label for m in members):
                continue
            for member in members:
                label, start = member.split(":")
                rec = by_label[label]
                idx = [k for k, s in enumerate(rec["starts"]) if s == start]
                if not idx:
                    break
                mse += [rec["mse"][k] for k in idx]
                tests += [rec["test"][k] for k in idx]
                labels += [f"{start} {rec['alphas'][k]:g}" for k in idx]
                cpu += rec["start_cpu"][start]
            else:
                m = np.array(mse, float)
                m[~np.isfinite(m)] = np.inf
                best = skcv._select(m, selection, weights)
                t = tests[best]
                table.setdefault(name, {}).setdefault(series, []).append(
                    (np.nan if t is None else t / first["ridgecv"],
                     "ridge" if best == 0 else labels[best - 1], cpu))
    series = list(dict.fromkeys(s for s, _ in runs))
    names = [n for n in configs if n in table]
    log(f"Test MSE / RidgeCV's, median over random starts ({selection}, folds weighted: "
        f"{fold_weights}); last row: sum over "
        f"the series of the median CPU s of the starts' paths.\n")
    log("| series | " + " | ".join(names) + " |")
    log("| --- |" + " --- |" * len(names))
    for s in series:
        log(f"| {s} | " + " | ".join(
            f"{np.median([v[0] for v in table[n].get(s, [(np.nan,)])]):.3f}" for n in names)
            + " |")
    log("| CPU s | " + " | ".join(
        f"{sum(np.median([v[2] for v in table[n][s]]) for s in series if s in table[n]):.0f}"
        for n in names) + " |")
    log("\nChoice per random start (ratio, candidate):")
    for n in names:
        log(f"- {n}: " + "; ".join(
            f"{s} " + ", ".join(f"{v[0]:.3f} {v[1]}" for v in table[n][s])
            for s in series if s in table[n]))
    return table


def _set_scipy_ftol(ftol):
    """Every L-BFGS-B run of skalm's lbfgs solver with scipy's ``ftol`` set to ``ftol``.

    scipy stops when (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol. A warm-started fit (each
    fit of the CV's "lbfgs" path after the first) restarts L-BFGS's memory, and its first,
    steepest-descent step can gain less than that: on the short real series the path's fits
    then stop after one iteration with gradients far above gtol (sunspots, fold 0: max |g|
    0.11 after 1 iteration at every alpha), and the path's three candidates are one model.
    ``ftol=0`` leaves the stop to gtol and max_iter."""
    import skalm.solvers.lbfgs as lbfgs_module

    minimize = lbfgs_module.minimize

    def with_ftol(*args, **kwargs):
        kwargs["options"] = {**kwargs.get("options", {}), "ftol": ftol}
        return minimize(*args, **kwargs)

    lbfgs_module.minimize = with_ftol


def _set_per_row_alphas():
    """An experiment: each fold's fits at ``alpha * n / n_fold`` (n the CV's training rows,
    n_fold the fold's), the refit at ``alpha``: the network's penalty in ridge regression's
    form (a sum over the rows), as the CV's ridge model and ``lambda_D`` have it, instead of
    the same ``alpha`` on every fold. The fitted networks kept for the refit get ``alpha``
    back (their weights unchanged), so the CV refits its winner at the nominal value."""
    fold_path = skcv._fold_path

    def per_row(base, alphas, start, X, y, sequence_id, train, test, keep=False, **kw):
        path = fold_path(base, np.asarray(alphas) * (len(X) / len(train)), start, X, y,
                         sequence_id, train, test, keep=keep, **kw)
        for net, alpha in zip(path.fitted, alphas):
            net.set_params(alpha=float(alpha))
        return path

    skcv._fold_path = per_row


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--label", default="default")
    p.add_argument("--starts", default=None, help="comma-separated; default: the CV's")
    p.add_argument("--warm-up-max-iter", type=_none_or_int, default=None,
                   help="int or none; default: the CV's")
    p.add_argument("--linear-start-max-iter", type=_none_or_int, default=None,
                   help="int or none; default: the CV's")
    p.add_argument("--estimator-params", type=_estimator_params, default=None,
                   help="settings of the tuned ElmanRNNRegressor, e.g. max_inner_iter=20")
    p.add_argument("--scipy-ftol", type=float, default=None,
                   help="an experiment: scipy's ftol in every L-BFGS-B call of skalm's lbfgs "
                   "solver (default: scipy's own, 2.2e-9)")
    p.add_argument("--per-row-alphas", action="store_true",
                   help="an experiment: each fold's fits at alpha * n / n_fold, the refit at "
                   "alpha (the penalty in ridge's sum-over-rows form)")
    p.add_argument("--sets", default=",".join(rd.SERIES))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--out", default=RESULTS)
    p.add_argument("--rnncv-json", default=None,
                   help="also write the CV's own results in real_data.py's record format")
    p.add_argument("--report", action="store_true", help="only print the table of --out")
    p.add_argument("--config", action="append", default=None, metavar="NAME=LABEL:START,...",
                   help="with --report: a set of (label, start) to compare (repeatable); "
                   "default: the sets of CONFIGS")
    p.add_argument("--selection", default="one_se", choices=("one_se", "min"))
    p.add_argument("--fold-weights", default="uniform", choices=("uniform", "train_size"),
                   help="with --report: the folds' weights in the selection rule")
    args = p.parse_args()
    if args.report:
        configs = CONFIGS if args.config is None else dict(
            (c.split("=")[0], c.split("=")[1].split(",")) for c in args.config)
        report(args.out, configs, selection=args.selection, fold_weights=args.fold_weights)
        return
    if args.scipy_ftol is not None:
        _set_scipy_ftol(args.scipy_ftol)
    if args.per_row_alphas:
        _set_per_row_alphas()
    params = {}
    if args.starts is not None:
        params["starts"] = tuple(args.starts.split(","))
    if args.estimator_params:
        params["estimator"] = ElmanRNNRegressor(**args.estimator_params)
    for flag in ("warm_up_max_iter", "linear_start_max_iter"):
        if f"--{flag.replace('_', '-')}" in sys.argv:
            params[flag] = getattr(args, flag)
    with open(args.out, "a") as out:
        run(args.label, args.sets.split(","), [int(s) for s in args.seeds.split(",")],
            params, out, args.rnncv_json)


if __name__ == "__main__":
    main()
