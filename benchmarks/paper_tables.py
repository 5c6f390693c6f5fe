"""The paper's section-5 experiments: Table 3 layout, Figure 1 (FeasVio) and Figure 2 (errors
against CPU seconds), through the public API of skalm.

Rows are solvers: ALM-BCD with the paper's algorithm (``acceleration=None``), settings and fixed
budget (``n_iter_no_change=None``), ALM-BCD with every solver setting at the estimator's
defaults (acceleration, inner cap, outer cap, etas, practical stopping rule), and the gradient family gd, gd-clip, nesterov, sgd, adam (plus L-BFGS as an
extra row). Columns are the five initializations N(0, 1e-3), N(0, 1e-1), He, Glorot, LeCun.
Cells are mean ± std over repetitions of the paper's TrainErr and TestErr: the mean over time
steps of the squared Euclidean error, the test rows reached by running the recurrence on from
the end of the training rows (the estimator's ``initial_state="auto"``).

Data sets (section 5.1 and the settings of Table 2 and Table 3's captions):

* ``t10``: make_elman_sequence(10, 5, 3, 4), weights N(0, 0.8), noise 1e-3, z-scored, 9 / 1
  rows, r = 4, alpha (tau) = 12; ALM 50 outer x 10 inner; 500 epochs; SGD windows of 2 rows.
* ``t500``: make_elman_sequence(500, 80, 30, 100), weights N(0, 0.05), noise 1e-5, z-scored,
  450 / 50 rows, r = 100, alpha = 500, eta = (0.9, 0.9, 0.015, 0.8); ALM 100 x 500; 1000
  epochs; SGD windows of 100 rows.
* ``sp500``: the bundled S&P volatility file, 393 / 44 rows, target RV_SP500, r = 20,
  alpha = 1; ALM 200 x 500; 5000 epochs; SGD windows of 50 rows.

Learning rates of the gradient family are chosen from {1e-4, 1e-3, 1e-2, 1e-1, 1} on a
validation split *inside* the training rows: fit on the first 85 % of them, score the last
15 % by running on from the prefix (the estimator's default hidden-state rule), same epochs as
the runs. The test rows are never used for tuning. gd-clip keeps clip_norm = 1 (not tuned).

How the per-iteration test error of Figure 2 is obtained through the public API: a
fixed-budget run (``n_iter_no_change=None``) is fitted on training + test rows with
``early_stopping=True`` and a ``validation_fraction`` that holds out exactly the test rows.
Those rows are not trained on, the training problem and the iterates are the same as a fit
on the training rows alone, and ``history_["val_loss"]`` records the test error of every
iterate by running on from the end of training. TrainErr and TestErr of the table are the
*last* iterate's (``history_["train_loss"][-1]``, ``history_["val_loss"][-1]``): the
estimator's own weights after such a fit are the best-validated iterate, which would select
on the test rows, so they are not used. ``--quick`` checks that the last-iterate figures
equal those of a plain ``fit`` on the training rows followed by ``predict``. The
default-stopping ALM row is a plain fit + predict (its stopping rule must not see the test
rows).

Results are appended, one JSON line per run, to ``results/paper_runs_<tag>.jsonl`` (tuning to
``results/paper_tuning_<tag>.jsonl``); an interrupted run resumes where it stopped, and
``--report-only`` rebuilds ``results/paper_tables.md`` and the figures from every
``paper_runs_*.jsonl`` file.

    python benchmarks/paper_tables.py --quick                 # smoke test, about 2 minutes
    python benchmarks/paper_tables.py --datasets t10 --reps 10 --reps-other 10 --tag t10
    python benchmarks/paper_tables.py --report-only
"""

import argparse
import glob
import os
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    DEFAULT_INIT,
    INITS,
    RESULTS,
    Timer,
    append_jsonl,
    git_commit,
    load_dataset,
    mean_std,
    quiet,
    read_jsonl,
    sq_err,
)

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.solvers import (  # noqa: E402
    LBFGS,
    Adam,
    ALMBCDSolver,
    ClippedGradientDescent,
    GradientDescent,
    MiniBatchSGD,
    NesterovGradientDescent,
)

ALM = "alm-bcd"
ALM_DEFAULT = "alm-bcd (default stopping)"
GRADIENT = ["gd", "gd-clip", "nesterov", "sgd", "adam"]
ALM_SUM = "alm-bcd (alpha = tau / T_train)"
#: Records of the default-stopping row made before the estimator's defaults changed
#: (acceleration="nesterov" became the default, then a new default stopping rule): kept in the
#: JSON-lines files under this name, reported as a diagnostic row, never run again.
ALM_DEFAULT_OLD = "alm-bcd (old default stopping, paper BCD)"
ROWS = [ALM, ALM_DEFAULT] + GRADIENT + ["lbfgs"]
#: Diagnostic rows, run only when named in --solvers: ALM-BCD on the plain-sum loss of the
#: paper's formulas (sum_t instead of (1/T) sum_t, i.e. alpha divided by the training length).
EXTRA_ROWS = [ALM_SUM, ALM_DEFAULT_OLD]
ALL_ROWS = ROWS + EXTRA_ROWS
LR_GRID = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
VAL_FRACTION = 0.15
DATASET_TITLES = {
    "t10": "Synthetic T = 10",
    "sp500": "S&P 500 volatility",
    "t500": "Synthetic T = 500",
}
MAX_HISTORY_POINTS = 300
INIT_ALIASES = {"n1e-3": "N(0,1e-3)", "n1e-1": "N(0,1e-1)", "he": "He", "glorot": "Glorot",
                "lecun": "LeCun"}


# -- estimators -----------------------------------------------------------------------------
def gradient_solver(name, lr, ds):
    common = dict(max_iter=ds["epochs"], n_iter_no_change=None)
    if name == "gd":
        return GradientDescent(learning_rate=lr, **common)
    if name == "gd-clip":
        return ClippedGradientDescent(learning_rate=lr, clip_norm=1.0, **common)
    if name == "nesterov":
        return NesterovGradientDescent(learning_rate=lr, momentum=0.9, **common)
    if name == "sgd":
        return MiniBatchSGD(learning_rate=lr, batch_size=ds["sgd_batch"], **common)
    if name == "adam":
        return Adam(learning_rate=lr, **common)
    raise ValueError(name)


def make_estimator(ds, row, init, seed, lr=None, **extra):
    # The paper's activation; the estimator's default became tanh (docs/user_guide/memory.rst).
    params = dict(n_hidden=ds["n_hidden"], alpha=ds["alpha"], activation="relu",
                  random_state=seed, **INITS[init])
    if row == ALM:  # the paper's Algorithm 3.1/3.2 exactly, fixed budget
        # anchor=None: the solver's default anchor is not in the paper.
        params["solver"] = ALMBCDSolver(**ds["alm"], acceleration=None, anchor=None,
                                        n_iter_no_change=None)
    elif row == ALM_SUM:
        params["solver"] = ALMBCDSolver(**ds["alm"], acceleration=None, anchor=None,
                                        n_iter_no_change=None)
        params["alpha"] = ds["alpha"] / len(ds["X_train"])
    elif row == ALM_DEFAULT:
        # What a user gets: only the problem (n_hidden, alpha, init) is set; every solver
        # setting (etas, max_iter, max_inner_iter, acceleration, tol, n_iter_no_change) is the
        # estimator's default in the code that runs.
        pass
    elif row == ALM_DEFAULT_OLD:
        raise ValueError(f"{row!r} is a record of old runs, not a row that can be run")
    elif row == "lbfgs":
        params["solver"] = LBFGS(n_iter_no_change=None)  # scipy's own stopping, 500 iterations
    else:
        params["solver"] = gradient_solver(row, lr, ds)
    params.update(extra)
    return ElmanRNNRegressor(**params)


def thin(values, n=MAX_HISTORY_POINTS):
    """Every entry for short histories, else about n entries (always the first and last)."""
    values = list(values)
    if len(values) <= n:
        return values, list(range(len(values)))
    idx = np.unique(np.round(np.geomspace(1, len(values), n)).astype(int) - 1)
    return [values[i] for i in idx], [int(i) for i in idx]


def run_one(ds, row, init, seed, lr=None, keep_history=True):
    """One repetition. Returns a JSON-able record."""
    rec = dict(dataset=ds["name"], row=row, init=init, seed=seed, lr=lr)
    Xtr, Ytr, Xte, Yte = ds["X_train"], ds["Y_train"], ds["X_test"], ds["Y_test"]
    trace = row != ALM_DEFAULT
    caught = warnings.catch_warnings(record=True)
    wlist = caught.__enter__()
    warnings.simplefilter("always")
    try:
        if trace:
            n_all = len(Xtr) + len(Xte)
            frac = (len(Xte) - 0.5) / n_all  # ceil(frac * n_all) == len(Xte)
            est = make_estimator(ds, row, init, seed, lr, early_stopping=True,
                                 validation_fraction=frac)
            with Timer() as t:
                est.fit(np.vstack([Xtr, Xte]), np.vstack([Ytr, Yte]))
            h = est.history_
            if not h["train_loss"]:
                raise ValueError("diverged in the first iteration")
            train_err, test_err = h["train_loss"][-1], h["val_loss"][-1]
        else:
            est = make_estimator(ds, row, init, seed, lr)
            with Timer() as t:
                est.fit(Xtr, Ytr)
            h = est.history_
            train_err = sq_err(Ytr, est.predict(Xtr))
            test_err = sq_err(Yte, est.predict(Xte))
    except (ValueError, FloatingPointError) as exc:  # e.g. a diverged forward pass
        rec.update(train_err=None, test_err=None, diverged=True, error=str(exc)[:300])
        return rec
    finally:
        caught.__exit__(None, None, None)
    # The solvers warn "<name> diverged at iteration k ...; returning the last finite weights".
    rec["diverged"] = any("diverged" in str(w.message) for w in wlist)
    finite = np.isfinite(train_err) and np.isfinite(test_err)
    rec.update(
        train_err=float(train_err) if finite else None,
        test_err=float(test_err) if finite else None,
        cpu=t.cpu, wall=t.wall, n_iter=int(est.n_iter_),
        sweeps=float(np.nansum(h["n_inner"])),
        # an empty history: the solver diverged in its first iteration and the estimator's
        # safety net chose the weights (the errors above are those of its weights)
        objective=float(h["objective"][-1]) if h["objective"] else None,
        feasibility=float(h["feasibility"][-1]) if h["feasibility"] else None,
    )
    if keep_history:
        hist = {}
        for key in ("train_loss", "val_loss", "feasibility", "time", "kappa", "gamma"):
            if key in h:
                vals, idx = thin(h[key])
                hist[key] = [float(f"{v:.5g}") for v in vals]
        hist["iteration"] = [i + 1 for i in idx]
        rec["history"] = hist
    return rec


# -- learning-rate tuning -------------------------------------------------------------------
def val_error(ds, row, init, seed, lr):
    Xtr, Ytr = ds["X_train"], ds["Y_train"]
    n_val = max(1, int(round(VAL_FRACTION * len(Xtr))))
    est = make_estimator(ds, row, init, seed, lr)
    try:
        est.fit(Xtr[:-n_val], Ytr[:-n_val])
        err = sq_err(Ytr[-n_val:], est.predict(Xtr[-n_val:]))  # runs on from the prefix
    except (ValueError, FloatingPointError):
        return np.inf
    return err if np.isfinite(err) else np.inf


def tune(ds, row, init, seeds, grid, path, log):
    done = {(r["dataset"], r["row"], r["init"]): r for r in read_jsonl(path)}
    key = (ds["name"], row, init)
    if key in done and done[key]["grid"] == list(grid) and done[key]["seeds"] == list(seeds):
        return done[key]["best_lr"]
    scores = []
    with Timer() as t:
        for lr in grid:
            scores.append(float(np.mean([val_error(ds, row, init, s, lr) for s in seeds])))
    best = grid[int(np.argmin(scores))] if np.isfinite(min(scores)) else grid[0]
    append_jsonl(path, dict(dataset=ds["name"], row=row, init=init, grid=list(grid),
                            seeds=list(seeds), val_err=scores, best_lr=best, cpu=t.cpu))
    log(f"  tuned {row:9s} {init:10s} val errors "
        + " ".join(f"{s:.3g}" for s in scores) + f" -> lr {best:g}  ({t.cpu:.0f} cpu s)")
    return best


# -- the experiment -------------------------------------------------------------------------
def run_dataset(ds, args, runs_path, tune_path, log):
    rows = [r for r in ALL_ROWS if r in args.solvers]
    inits = [i for i in args.inits]
    other = [i for i in inits if i != DEFAULT_INIT]
    tune_inits = inits if args.tune_per_init else [DEFAULT_INIT]
    seeds = list(range(100, 100 + args.tune_seeds))
    lrs = {}
    for row in rows:
        if row in GRADIENT:
            for init in tune_inits:
                lrs[row, init] = tune(ds, row, init, seeds, args.lr_grid, tune_path, log)
    done = {(r["dataset"], r["row"], r["init"], r["seed"]) for r in read_jsonl(runs_path)}

    def lr_for(row, init):
        if row not in GRADIENT:
            return None
        return lrs.get((row, init), lrs.get((row, DEFAULT_INIT)))

    phases = []
    if DEFAULT_INIT in inits:
        phases.append(([DEFAULT_INIT], args.reps))
    phases.append((other, args.reps_other))
    for phase_inits, reps in phases:
        for rep in range(reps):
            for init in phase_inits:
                for row in rows:
                    if (row in (ALM, ALM_SUM) and init != DEFAULT_INIT
                            and not args.alm_all_inits):
                        continue
                    if (ds["name"], row, init, rep) in done:
                        continue
                    rec = run_one(ds, row, init, rep, lr_for(row, init),
                                  keep_history=rep == 0 and init == DEFAULT_INIT)
                    rec["commit"] = args.commit
                    append_jsonl(runs_path, rec)
                    log(f"  {ds['name']:5s} {row:27s} {init:10s} rep {rep} lr {rec['lr']} "
                        f"train {rec['train_err']} test {rec['test_err']} "
                        f"cpu {rec.get('cpu', float('nan')):.1f}s "
                        f"wall {rec.get('wall', float('nan')):.1f}s")


# -- report ---------------------------------------------------------------------------------
def load_runs(results_dir):
    recs = []
    for path in sorted(glob.glob(os.path.join(results_dir, "paper_runs_*.jsonl"))):
        recs.extend(read_jsonl(path))
    # the last record of a (dataset, row, init, seed) wins
    keyed = {(r["dataset"], r["row"], r["init"], r["seed"]): r for r in recs}
    return list(keyed.values())


def fmt(x):
    return "{:.3g}".format(x)


def report(results_dir, out_md):
    recs = load_runs(results_dir)
    if not recs:
        print("no results in", results_dir)
        return ""
    lines = ["# The paper's Table 3, Figure 1 and Figure 2, measured with skalm", "",
             "Generated by `python benchmarks/paper_tables.py --report-only` from "
             "`benchmarks/results/paper_runs_*.jsonl`. Cells: mean ± std (sample std) of "
             "TrainErr / TestErr over the repetitions (n = number of runs). "
             "'div k': k runs in which the solver reported divergence ("
             "a non-finite iterate or an exploding objective; their errors are those of the "
             "last finite iterate and are in the mean when finite). Learning rates: tuned "
             "per initialization where the tuning table below has an entry for it, otherwise "
             f"the rate tuned at {DEFAULT_INIT} is reused.", ""]
    for name in ["t10", "sp500", "t500"]:
        drecs = [r for r in recs if r["dataset"] == name]
        if not drecs:
            continue
        lines += [f"## {DATASET_TITLES[name]}", ""]
        inits = [i for i in INITS if any(r["init"] == i for r in drecs)]
        lines.append("| solver | | " + " | ".join(inits) + " |")
        lines.append("| --- | --- |" + " --- |" * len(inits))
        for row in ALL_ROWS:
            rrecs = [r for r in drecs if r["row"] == row]
            if not rrecs:
                continue
            for what, key in (("TrainErr", "train_err"), ("TestErr", "test_err")):
                cells = []
                for init in inits:
                    sel = [r for r in rrecs if r["init"] == init]
                    if not sel:
                        cells.append("-")
                        continue
                    vals = [r[key] for r in sel]
                    ok = [v for v in vals if v is not None]
                    cell = mean_std(ok)
                    ndiv = sum(bool(r.get("diverged")) for r in sel)
                    cell += f" (n={len(ok)}" + (f", div {ndiv}" if ndiv else "") + ")"
                    cells.append(cell)
                lines.append(f"| {row if what == 'TrainErr' else ''} | {what} | "
                             + " | ".join(cells) + " |")
        commits = {}
        for r in drecs:
            commits.setdefault(r.get("commit", "?"), []).append(r["row"])
        lines += ["", "Runs per recorded commit: " + "; ".join(
            f"{c}: {len(v)} ({', '.join(sorted(set(v), key=ALL_ROWS.index))})"
            for c, v in sorted(commits.items(), key=lambda kv: -len(kv[1]))) + "."]
        lines += ["", f"Cost at {DEFAULT_INIT} (means over the repetitions; CPU seconds by "
                  "time.process_time, one BLAS thread):", "",
                  "| solver | lr | runs | iterations | BCD sweeps / gradient steps | "
                  "CPU s | wall s | final R | final FeasVio |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in ALL_ROWS:
            sel = [r for r in drecs if r["row"] == row and r["init"] == DEFAULT_INIT
                   and "cpu" in r]
            if not sel:
                continue
            lrs = sorted({r["lr"] for r in sel if r["lr"] is not None})
            lines.append(
                f"| {row} | {', '.join(f'{x:g}' for x in lrs) or '-'} | {len(sel)} | "
                f"{np.mean([r['n_iter'] for r in sel]):.0f} | "
                f"{np.mean([r['sweeps'] for r in sel]):.0f} | "
                f"{np.mean([r['cpu'] for r in sel]):.1f} | "
                f"{np.mean([r['wall'] for r in sel]):.1f} | "
                f"{fmt(np.mean([r['objective'] for r in sel if r['objective'] is not None]))} | "
                f"{fmt(np.mean([r['feasibility'] for r in sel if r['feasibility'] is not None]))} |")
        lines.append("")
    tuning = []
    for path in sorted(glob.glob(os.path.join(results_dir, "paper_tuning_*.jsonl"))):
        tuning.extend(read_jsonl(path))
    if tuning:
        lines += ["## Learning rates chosen on the validation split (last 15 % of the "
                  "training rows)", "",
                  "| data set | solver | init | seeds | validation error per lr "
                  + "/".join(f"{x:g}" for x in LR_GRID) + " | chosen |",
                  "| --- | --- | --- | --- | --- | --- |"]
        keyed = {(t["dataset"], t["row"], t["init"]): t for t in tuning}
        for (dname, row, init), t in sorted(keyed.items()):
            vals = " / ".join("div" if not np.isfinite(v) else fmt(v) for v in t["val_err"])
            lines.append(f"| {dname} | {row} | {init} | {len(t['seeds'])} | {vals} | "
                         f"{t['best_lr']:g} |")
        lines.append("")
    figs = figures(recs, results_dir)
    if figs:
        lines += ["## Figures", ""] + [f"![{os.path.basename(f)}]({os.path.basename(f)})"
                                       for f in figs] + [""]
    text = "\n".join(lines)
    with open(out_md, "w") as f:
        f.write(text)
    print(text)
    return text


def figures(recs, results_dir):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out = []
    # Figure 1: FeasVio of ALM-BCD (paper settings) per outer iteration, rep 0, N(0, 0.1).
    sel = {r["dataset"]: r for r in recs if r["row"] == ALM and r["init"] == DEFAULT_INIT
           and r["seed"] == 0 and "history" in r}
    names = [n for n in ["t10", "t500", "sp500"] if n in sel]
    if names:
        fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3), squeeze=False)
        for ax, name in zip(axes[0], names):
            h = sel[name]["history"]
            ax.semilogy(h["iteration"], h["feasibility"], ".-", ms=3)
            ax.set_title(DATASET_TITLES[name], fontsize=10)
            ax.set_xlabel("outer iteration")
            ax.set_ylabel("FeasVio")
            ax.grid(alpha=0.3)
        fig.tight_layout()
        path = os.path.join(results_dir, "paper_fig1_feasvio.png")
        fig.savefig(path, dpi=80)
        plt.close(fig)
        out.append(path)
    # Figure 2: TrainErr and TestErr against CPU seconds, every solver, rep 0, N(0, 0.1).
    for name in ["t10", "sp500", "t500"]:
        sel = [r for r in recs if r["dataset"] == name and r["init"] == DEFAULT_INIT
               and r["seed"] == 0 and "history" in r and r.get("wall")]
        if not sel:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for r in sorted(sel, key=lambda r: ALL_ROWS.index(r["row"])):
            h = r["history"]
            # history times are wall seconds; scaled to CPU seconds by the run's CPU/wall ratio
            cpu = np.asarray(h["time"]) * (r["cpu"] / r["wall"])
            label = r["row"] + (f" (lr {r['lr']:g})" if r["lr"] else "")
            line, = axes[0].loglog(cpu, h["train_loss"], label=label, lw=1.2)
            if "val_loss" in h:
                axes[1].loglog(cpu, h["val_loss"], color=line.get_color(), lw=1.2)
            elif r["test_err"] is not None:
                axes[1].loglog([cpu[-1]], [r["test_err"]], "o", color=line.get_color())
        for ax, what in zip(axes, ("TrainErr", "TestErr")):
            ax.set_xlabel("CPU seconds")
            ax.set_ylabel(what)
            ax.grid(alpha=0.3, which="both")
        axes[0].legend(fontsize=7)
        fig.suptitle(f"{DATASET_TITLES[name]}, init {DEFAULT_INIT}, repetition 0", fontsize=10)
        fig.tight_layout()
        path = os.path.join(results_dir, f"paper_fig2_{name}.png")
        fig.savefig(path, dpi=80)
        plt.close(fig)
        out.append(path)
    return out


# -- quick consistency check ----------------------------------------------------------------
def check_trace(ds, log):
    """The last-iterate errors of a trace fit equal a plain fit + predict (fixed budget)."""
    worst = 0.0
    for row in [ALM, "adam", "sgd", "lbfgs"]:
        lr = 1e-2 if row in GRADIENT else None
        rec = run_one(ds, row, DEFAULT_INIT, 0, lr, keep_history=False)
        est = make_estimator(ds, row, DEFAULT_INIT, 0, lr).fit(ds["X_train"], ds["Y_train"])
        tr = sq_err(ds["Y_train"], est.predict(ds["X_train"]))
        te = sq_err(ds["Y_test"], est.predict(ds["X_test"]))
        diff = max(abs(tr - rec["train_err"]), abs(te - rec["test_err"]))
        worst = max(worst, diff)
        log(f"  trace check {ds['name']} {row}: plain fit train {tr:.6g} test {te:.6g}; "
            f"trace fit train {rec['train_err']:.6g} test {rec['test_err']:.6g}")
    log(f"  trace check: largest difference {worst:.2e}")
    return worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="t10,sp500,t500")
    p.add_argument("--solvers", default=",".join(ROWS),
                   help="comma-separated rows; 'alm-default' is the default-stopping ALM-BCD "
                   "row, 'alm-sum' the diagnostic ALM-BCD row with alpha = tau / T_train")
    p.add_argument("--inits", default=",".join(INIT_ALIASES),
                   help="comma-separated: " + ", ".join(f"{k} = {v}" for k, v in
                                                        INIT_ALIASES.items()))
    p.add_argument("--reps", type=int, default=10, help=f"repetitions at {DEFAULT_INIT}")
    p.add_argument("--reps-other", type=int, default=None,
                   help="repetitions at the other initializations (default: --reps)")
    p.add_argument("--alm-all-inits", action="store_true",
                   help="run the fixed-budget ALM-BCD row at every init (default: only at "
                   f"{DEFAULT_INIT}; the other inits get the default-stopping row)")
    p.add_argument("--tune-per-init", action="store_true",
                   help=f"tune the learning rate per init (default: at {DEFAULT_INIT}, reused)")
    p.add_argument("--tune-seeds", type=int, default=1)
    p.add_argument("--tag", default="main", help="suffix of the JSON-lines files")
    p.add_argument("--results-dir", default=None)
    p.add_argument("--quick", action="store_true", help="smoke test: tiny budgets, temp dir")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    quiet()
    aliases = {"alm-default": ALM_DEFAULT, "alm-sum": ALM_SUM}
    args.solvers = [aliases.get(s.strip(), s.strip()) for s in args.solvers.split(",")]
    args.inits = [INIT_ALIASES[i.strip()] for i in args.inits.split(",")]
    args.datasets = [d.strip() for d in args.datasets.split(",")]
    if args.reps_other is None:
        args.reps_other = args.reps
    args.lr_grid = list(LR_GRID)
    args.commit = git_commit()
    if args.quick:
        results_dir = args.results_dir or os.path.join(tempfile.gettempdir(),
                                                       "skalm_paper_quick")
        for f in glob.glob(os.path.join(results_dir, "paper_*")):
            os.remove(f)
    else:
        results_dir = args.results_dir or RESULTS
    os.makedirs(results_dir, exist_ok=True)
    out_md = os.path.join(results_dir, "paper_tables.md")
    if args.report_only:
        report(results_dir, out_md)
        return

    def log(msg):
        print(msg, flush=True)

    runs_path = os.path.join(results_dir, f"paper_runs_{args.tag}.jsonl")
    tune_path = os.path.join(results_dir, f"paper_tuning_{args.tag}.jsonl")
    log(f"skalm commit {args.commit}; results in {results_dir}")
    for name in args.datasets:
        ds = load_dataset(name)
        if args.quick:  # small budgets: this only checks that everything runs
            ds["epochs"] = 30
            ds["alm"] = dict(ds["alm"], max_iter=4, max_inner_iter=10)
            args.lr_grid = [1e-3, 1e-2]
            if name == "t500":
                continue
            check_trace(ds, log)
        log(f"{name}: {len(ds['X_train'])} train / {len(ds['X_test'])} test rows, "
            f"r = {ds['n_hidden']}, alpha = {ds['alpha']}, epochs {ds['epochs']}, "
            f"ALM {ds['alm']}")
        with Timer() as t:
            run_dataset(ds, args, runs_path, tune_path, log)
        log(f"{name}: done in {t.wall:.0f} s wall, {t.cpu:.0f} s CPU")
    report(results_dir, out_md)


if __name__ == "__main__":
    main()
