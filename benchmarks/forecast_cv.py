"""TimeSeriesSplit forecasting on the bundled S&P volatility data: every solver of skalm and the
linear baselines, hyperparameters chosen by a nested GridSearchCV -- the workflow users run.

For each of the 5 outer folds of ``TimeSeriesSplit(5)`` over the 437 monthly rows (target
RV_SP500, 11 inputs), each model is a ``GridSearchCV`` with an inner ``TimeSeriesSplit`` over
the outer training rows and ``scoring="neg_mean_squared_error"``; the refitted best model
predicts the outer test rows, which directly follow the training rows, so the estimator's
default ``initial_state="auto"`` runs the recurrence on from the end of the training rows
(inside the grid search too: every inner validation fold follows its training fold).

Grids (every RNN has r = 20 hidden units, ReLU, N(0, 0.1) initial weights, random_state=0,
and each solver's default budget and stopping rule):

* OLS: none.  Ridge: alpha in {1e-3, ..., 1e3}.
* ridgecv: ``RidgeCV`` with the linear stage of rnn-cv exactly (13 alphas in {1e-3, ...,
  1e3}, ``TimeSeriesSplit(5)`` on the outer training rows), no GridSearchCV: the ridge model
  that rnn-cv falls back to, so the comparison that tells what the recurrence adds.
* alm-bcd: alpha (the paper's tau) in {0.1, 1, 10}, gamma0 in {0.1, 1}, eta2 in {0.5, 5/6};
  max_inner_iter=20 BCD sweeps per outer iteration instead of the default 50 (with the
  paper's 100, each fit here ran 75-95 outer iterations, about 5 CPU s, and the 37 fits per
  fold made this script cost more than all the others together).
* gd, gd-clip, nesterov, sgd, adam: ``solver__learning_rate`` in {1e-4, 1e-3, 1e-2, 1e-1, 1}
  (alpha = 1).
* lbfgs, admmirnn, nails, nailm (no learning rate): alpha in {0.1, 1, 10}.
* alm-bcd+skip, lbfgs+skip: the same with ``skip_connection=True`` (y_t = A h_t + D x_t + c).
* rnn-cv: ``ElmanRNNRegressorCV(random_state=seed, n_jobs=1)`` at its defaults (its own inner
  ``TimeSeriesSplit(5)``, linear and recurrent penalties, ridge fallback), no GridSearchCV;
  the median test MSE over ``--seeds`` random starts (3).
* alm-bcd+skip+avg5, lbfgs+skip+avg5: the same search, then the mean of 5 fits of the chosen
  settings from different random starts (``RNNEnsembleRegressor(best_estimator_,
  n_estimators=5, random_state=0)`` refitted on the outer training rows): tune the member, then
  average, as the tuning guide recommends.

Prints per-fold and mean test MSE, the chosen parameters and the CPU and wall time of every
model, and writes ``results/forecast_cv.md``; per-fold records go to
``results/forecast_cv_runs.jsonl`` (``--report-only`` rebuilds the table from it).

    python benchmarks/forecast_cv.py --quick       # 2 outer folds, tiny grids: a smoke test
    python benchmarks/forecast_cv.py               # the full run
    python benchmarks/forecast_cv.py --solvers ols,ridge,adam
"""

import argparse
import os
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, Timer, append_jsonl, git_commit, quiet, read_jsonl  # noqa: E402

from skalm import ElmanRNNRegressor, ElmanRNNRegressorCV, RNNEnsembleRegressor  # noqa: E402
from skalm.datasets import load_sp500_volatility  # noqa: E402
from skalm.solvers import SOLVERS, get_solver_class  # noqa: E402

LR_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
GRADIENT = ["gd", "gd-clip", "nesterov", "sgd", "adam"]
OTHERS = ["lbfgs", "admmirnn", "nails", "nailm"]
#: Models with the optional linear skip connection y_t = A h_t + D x_t + c (same grids).
SKIP = ["alm-bcd+skip", "lbfgs+skip"]
#: Models whose tuned member is then averaged over 5 random starts.
AVG = ["alm-bcd+skip+avg5", "lbfgs+skip+avg5"]
#: The CV estimator at its defaults (it tunes itself; no GridSearchCV around it).
SELF_TUNED = ["rnn-cv"]
MODELS = ["ols", "ridge", "ridgecv", "alm-bcd"] + GRADIENT + OTHERS + SKIP + AVG + SELF_TUNED


def model_and_grid(name, quick):
    """(estimator, param_grid) of one model (of its member, for the averaged ones)."""
    if name.endswith("+avg5"):
        return model_and_grid(name[: -len("+avg5")], quick)
    if name.endswith("+skip"):
        est, grid = model_and_grid(name[: -len("+skip")], quick)
        return est.set_params(skip_connection=True), grid
    if name == "ols":
        return LinearRegression(), {}
    if name == "ridgecv":  # rnn-cv's linear stage: its own inner TimeSeriesSplit(5)
        return RidgeCV(alphas=np.logspace(-3, 3, 13), cv=TimeSeriesSplit(5),
                       scoring="neg_mean_squared_error"), {}
    if name == "ridge":
        return Ridge(), {"alpha": [1e-3, 1e-1, 10.0] if quick else list(np.logspace(-3, 3, 7))}
    rnn = dict(n_hidden=20, random_state=0)
    if name == "alm-bcd":
        grid = {"alpha": [0.1, 1.0, 10.0], "gamma0": [0.1, 1.0], "eta2": [0.5, 5 / 6]}
        rnn.update(max_inner_iter=20)
        if quick:
            grid = {"alpha": [1.0], "gamma0": [0.1, 1.0], "eta2": [5 / 6]}
            rnn.update(max_iter=10, max_inner_iter=20)
        return ElmanRNNRegressor(**rnn), grid
    if name in GRADIENT:
        solver = get_solver_class(name)(**({"max_iter": 30} if quick else {}))
        return (ElmanRNNRegressor(solver=solver, **rnn),
                {"solver__learning_rate": [1e-3, 1e-2] if quick else LR_GRID})
    if name in SOLVERS:
        solver = get_solver_class(name)(**({"max_iter": 10} if quick else {}))
        grid = {"alpha": [1.0] if quick else [0.1, 1.0, 10.0]}
        return ElmanRNNRegressor(solver=solver, **rnn), grid
    raise ValueError(f"unknown model {name!r}; known: {MODELS}")


def short(params):
    out = []
    for k, v in sorted(params.items()):
        k = k.replace("solver__", "")
        out.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(out)


def run(args, path, log):
    X, y = load_sp500_volatility(return_X_y=True)
    outer = TimeSeriesSplit(n_splits=args.n_splits)
    done = {(r["model"], r["fold"]) for r in read_jsonl(path)}
    for name in args.models:
        for fold, (tr, te) in enumerate(outer.split(X)):
            if (name, fold) in done:
                continue
            if name in SELF_TUNED:
                mses, alphas = [], []
                with Timer() as t:
                    for seed in range(args.seeds):
                        model = ElmanRNNRegressorCV(random_state=seed, n_jobs=1).fit(X[tr], y[tr])
                        mses.append(float(mean_squared_error(y[te], model.predict(X[te]))))
                        alphas.append(model.alpha_)
                mse = float(np.median(mses))  # the median over random starts
                best = {"alpha": float(np.median(alphas)), "linear_alpha": model.linear_alpha_,
                        "seeds": len(mses)}
                rec = dict(model=name, fold=fold, n_train=len(tr), n_test=len(te),
                           test_mse=mse, best_params=best, inner_mse=float(-model.best_score_),
                           cpu=t.cpu, wall=t.wall, n_candidates=len(model.cv_results_[
                               "param_alpha"]), commit=args.commit)
                append_jsonl(path, rec)
                log(f"  {name:9s} fold {fold}: test MSE {mse:.4f}, {short(best)}, "
                    f"{t.cpu:.1f} cpu s")
                continue
            est, grid = model_and_grid(name, args.quick)
            search = GridSearchCV(est, grid, cv=TimeSeriesSplit(n_splits=args.inner_splits),
                                  scoring="neg_mean_squared_error", error_score=np.nan)
            with Timer() as t:
                search.fit(X[tr], y[tr])
                model = search
                if name.endswith("+avg5"):
                    model = RNNEnsembleRegressor(search.best_estimator_, n_estimators=5,
                                                 random_state=0).fit(X[tr], y[tr])
                pred = model.predict(X[te])  # runs on from the end of the training rows
            mse = float(mean_squared_error(y[te], pred))
            rec = dict(model=name, fold=fold, n_train=len(tr), n_test=len(te), test_mse=mse,
                       best_params={k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                    for k, v in search.best_params_.items()},
                       inner_mse=float(-search.best_score_), cpu=t.cpu, wall=t.wall,
                       n_candidates=len(search.cv_results_["params"]), commit=args.commit)
            append_jsonl(path, rec)
            log(f"  {name:9s} fold {fold}: train {len(tr)} test {len(te)} rows, "
                f"test MSE {mse:.4f}, {short(rec['best_params']) or '-'}, "
                f"{t.cpu:.1f} cpu s, {t.wall:.1f} wall s")


def report(path, out_md, n_splits):
    recs = {}
    for r in read_jsonl(path):
        recs[r["model"], r["fold"]] = r
    if not recs:
        print("no results in", path)
        return
    names = [m for m in MODELS if any(k[0] == m for k in recs)]
    lines = ["# TimeSeriesSplit(5) forecasting of S&P 500 volatility (nested GridSearchCV)", "",
             "Generated by `python benchmarks/forecast_cv.py` (`--report-only` rebuilds it). "
             "Test MSE of the refitted best model on each outer test fold (rows that directly "
             "follow the fold's training rows; the RNN runs on from the end of training). "
             "Hyperparameters chosen by GridSearchCV with an inner TimeSeriesSplit on the "
             "outer training rows.", "",
             "| model | " + " | ".join(f"fold {i}" for i in range(n_splits))
             + " | mean | CPU s | wall s |",
             "| --- |" + " --- |" * (n_splits + 3)]
    for name in names:
        mses = [recs[name, i]["test_mse"] if (name, i) in recs else None
                for i in range(n_splits)]
        ok = [m for m in mses if m is not None and np.isfinite(m)]
        cpu = sum(recs[name, i]["cpu"] for i in range(n_splits) if (name, i) in recs)
        wall = sum(recs[name, i]["wall"] for i in range(n_splits) if (name, i) in recs)
        cells = ["-" if m is None else f"{m:.4f}" for m in mses]
        mean = f"{np.mean(ok):.4f}" if len(ok) == n_splits else "(incomplete)"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean} | {cpu:.0f} | "
                     f"{wall:.0f} |")
    total_cpu = sum(r["cpu"] for r in recs.values())
    total_wall = sum(r["wall"] for r in recs.values())
    lines += ["", f"Total: {total_cpu:.0f} CPU s, {total_wall:.0f} wall s.", "",
              "Chosen hyperparameters per fold:", "", "| model | " +
              " | ".join(f"fold {i}" for i in range(n_splits)) + " |",
              "| --- |" + " --- |" * n_splits]
    for name in names:
        cells = [short(recs[name, i]["best_params"]) or "-" if (name, i) in recs else ""
                 for i in range(n_splits)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    text = "\n".join(lines)
    with open(out_md, "w") as f:
        f.write(text)
    print(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--solvers", "--models", dest="models", default=",".join(MODELS),
                   help="comma-separated, from: " + ", ".join(MODELS))
    p.add_argument("--n-splits", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3,
                   help="random starts of the self-tuned models (median test MSE reported)")
    p.add_argument("--inner-splits", type=int, default=3)
    p.add_argument("--quick", action="store_true",
                   help="2 outer folds, tiny grids and budgets, results in a temp dir")
    p.add_argument("--results-dir", default=None)
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    quiet()
    args.models = [m.strip() for m in args.models.split(",")]
    args.commit = git_commit()
    if args.quick:
        args.n_splits = 2
        results_dir = args.results_dir or os.path.join(tempfile.gettempdir(),
                                                       "skalm_forecast_quick")
    else:
        results_dir = args.results_dir or RESULTS
    os.makedirs(results_dir, exist_ok=True)
    path = os.path.join(results_dir, "forecast_cv_runs.jsonl")
    if args.quick and os.path.exists(path):
        os.remove(path)
    out_md = os.path.join(results_dir, "forecast_cv.md")
    if not args.report_only:
        with Timer() as t:
            run(args, path, lambda msg: print(msg, flush=True))
        print(f"total {t.cpu:.0f} cpu s, {t.wall:.0f} wall s (this invocation)")
    report(path, out_md, args.n_splits)


if __name__ == "__main__":
    main()
