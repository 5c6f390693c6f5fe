"""skalm against its peers (jax-sysid, OLS) on the paper's T=500 synthetic set and S&P volatility.

Issue 7, points 1 and 3. Only the public API is used (:class:`skalm.ElmanRNNRegressor`, the solver
classes of :mod:`skalm.solvers`, :mod:`skalm.datasets`, scikit-learn). Prints, never asserts.

    taskset -c 0 python benchmarks/vs_peers.py                # both parts, peer figures quoted
    taskset -c 0 python benchmarks/vs_peers.py --jax-python /work/venv-jax/bin/python
    python benchmarks/vs_peers.py --part t500 --quick               # smoke test (~1 min)

``--jax-python`` names a Python that has jax-sysid (it cannot share skalm's environment: jax-sysid
1.1.0 pins jax <= 0.4.31, scipy <= 1.14.1, flax <= 0.10.4); set one up with
``python -m venv /work/venv-jax && /work/venv-jax/bin/pip install jax-sysid``. That Python runs
``benchmarks/_jax_sysid_peer.py`` (numpy + jax-sysid only) on the very arrays and initial weights
used here, through a temporary .npz file, and returns JSON; its docstring says exactly what
jax-sysid optimises. Without ``--jax-python`` the figures of the shared peer-figures note are
printed as the reference instead.

Part ``t500`` -- the paper's T=500 set
--------------------------------------
``make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5)`` (z-scored), rows 0-449
train, 450-499 test; r = 100, ReLU, initial weights N(0, 0.1) (``init_scale=0.1``, biases 0,
``random_state=0``), one BLAS thread (the estimator's default). TrainErr / TestErr: mean over rows
of the squared Euclidean error, the test rows reached by running the recurrence on from the end
of the training rows (``est.predict(X[450:])`` after fitting X[:450], ``initial_state="auto"``).

Selection (never reads the test rows). Two validation windows of 67 rows (15 % of 450) at the end
of the training rows: fit rows [0, 316) -> validate [316, 383), and fit [0, 383) -> validate
[383, 450), each validation window reached by running on from the end of its fit rows. Candidates:

* ``lbfgs`` with one L2 weight lambda on all five blocks (``lambda_A = lambda_W = lambda_V =
  lambda_b = lambda_c``, jax-sysid's kind of penalty) for lambda in LAMBDAS, and with the paper's
  entry-count scaling ``alpha`` in ALPHAS; the number of L-BFGS iterations in ITERS. One run of
  500 iterations per (penalty, window) gives all iteration counts: with ``early_stopping=True`` the
  validation loss of every iterate is in ``history_["val_loss"]``, and L-BFGS is deterministic,
  so iterate k is what ``max_iter=k`` returns (``n_iter_no_change=None``);
* ``alm-bcd`` (default extrapolated BCD) with the same uniform lambdas, ALM_BUDGETS outer x inner
  sweeps (400 sweeps: about the time budget), fitted on the fit rows and scored on the window;
* each of the above without and with ``skip_connection`` (SKIPS);
* then, averages (``RNNEnsembleRegressor``, members differing only in their random start) of k
  in ENSEMBLES L-BFGS fits of ENSEMBLE_ITERS iterations, for every uniform lambda, with the skip
  setting of the best single fit, scored on the same windows; their work is k times the
  member's, under the same budget (only the k that fit it are tried).

Score: mean validation loss over the two windows. Eligible: candidates within the work that fits
the 3.8 s budget on a quiet machine (WORK_BUDGET: 500 L-BFGS iterations, 400 ALM-BCD sweeps; a
fixed budget, so that the load of a shared machine does not change the choice). Among eligible
candidates within 1 % of the best score, the one with the least work wins (L-BFGS iterations or
BCD sweeps, each about 7 ms at this size; k times the member's work for an average of k fits),
ties going to the better score. Work, not measured seconds, decides: candidates of equal work
would otherwise be ranked by the timing noise of a shared machine (an earlier version of this
rule did that, and two runs picked different lambdas). The winner is refitted on all 450 rows ``--repeats`` times
(median wall and CPU seconds) and scored on the test rows. For context, not selected: L-BFGS on
jax-sysid's objective (lambda = 0.1, 500 function evaluations, from the same start), jax-sysid
with and without its input-to-output feedthrough (the peer's counterpart of the skip connection),
and two diagnostics, labelled as such and read once, after the selection: the test error along
the L-BFGS path of the selected penalty, and the test error of every eligible candidate within
1 % of the best validation score (how much hangs on the tie-break).

Over data draws: the same selection (smaller grid DRAW_GRID) rerun on each of DRAW_SEEDS, its
winner refitted and scored, beside L-BFGS on jax-sysid's objective and jax-sysid itself (with and
without feedthrough) on the same arrays: whether the comparison holds beyond one draw.

Part ``sp500`` -- S&P volatility
--------------------------------
``load_sp500_volatility()``: 393 train / 44 test rows, 11 inputs, target RV_SP500, r = 20.
``GridSearchCV(ElmanRNNRegressor(...), GRID, cv=TimeSeriesSplit(5), scoring=
"neg_mean_squared_error")`` on the 393 training rows (each validation fold follows its training
fold, so ``initial_state="auto"`` runs on from the end of the fold), refitted on 393 rows, test
MSE on the 44 test rows; against OLS (``LinearRegression``) and jax-sysid on the same split
(untuned: its default rho_th = 0.01, and 0.1; with and without an input-to-output feedthrough).
``skip_connection`` enters the grid when the installed skalm has it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import (GridSearchCV, ParameterGrid, TimeSeriesSplit,
                                     cross_val_score)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RESULTS, Timer, git_commit, quiet, sq_err  # noqa: E402

from skalm import ElmanRNNRegressor, RNNEnsembleRegressor  # noqa: E402
from skalm.datasets import load_sp500_volatility, make_elman_sequence  # noqa: E402
from skalm.solvers import LBFGS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SCRIPT = os.path.join(HERE, "_jax_sysid_peer.py")

TARGET_ERR, TARGET_S = 10.45, 3.8
LAMBDAS = [0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3]
ALPHAS = [100.0, 500.0]
ITERS = [50, 100, 150, 200, 300, 400, 500]
ALM_LAMBDAS = [0.1, 0.15, 0.2]
ALM_BUDGETS = [(4, 100), (8, 50)]
#: Without and with the input-to-output skip connection (issue 7, point 3).
SKIPS = [False, True]
#: Averages of k fits (RNNEnsembleRegressor) also compete: for every uniform lambda, with the skip
#: setting of the best single fit, members of ENSEMBLE_ITERS L-BFGS iterations, k in ENSEMBLES.
#: An average of k fits of max_iter iterations is k * max_iter iterations of work, so only the
#: (k, max_iter) within the work budget are fitted. Every lambda, not only the best single one:
#: averaging is itself a regularizer, so it helps most the less-penalized fits, whose members
#: disagree more (on all 8 draws of the per-draw comparison the averages of lambda = 0.1 fits
#: scored better on validation than single or averaged lambda = 0.15 fits).
ENSEMBLES = [3, 5, 10]
ENSEMBLE_ITERS = [50, 100, 150]
#: What fits the 3.8 s budget on a quiet machine of this kind, one thread, at this size: about
#: 500 L-BFGS iterations (~6-7 ms each, function evaluations included) or 400 ALM-BCD sweeps
#: (~7 ms each plus the outer-iteration overhead; results/bench_sweep.txt). A fixed work budget
#: keeps the selection independent of the load of a shared machine; the refit is timed.
N_TRAIN, N_VAL = 450, 67
WORK_BUDGET = {"lbfgs": 500, "alm-bcd": 400, "ensemble": 500}
WINDOWS = [N_TRAIN - 2 * N_VAL, N_TRAIN - N_VAL]  # ends of the fit rows: 316, 383
COMMON = dict(n_hidden=100, activation="relu", init="normal", init_scale=0.1, random_state=0,
              blas_threads=1)

#: The shared peer-figures note, quoted when jax-sysid is not run here.
PEER_FIGURES_T500 = [
    ("jax-sysid 1.1.0, L-BFGS-B, 500 fevals, L2 0.1 on all blocks (quoted)", 2.52, 10.45, 3.8,
     "0.7 s of it JIT"),
    ("jax-sysid, L-BFGS-B on ALM-BCD's per-block lambdas, alpha=500 (quoted)", 1.71, 12.75, 4.1,
     ""),
    ("structured ALM-BCD (numpy), 100 x 500 sweeps, paper settings (quoted)", 2.49, 12.4, 340.0,
     ""),
    ("torch, full-batch Adam, 1000 epochs, best lr (quoted)", 8.30, 22.2, 16.0, ""),
]
PEER_FIGURES_SP500 = [("OLS (quoted)", 0.028, ""), ("jax-sysid L-BFGS-B (quoted)", 0.022, "0.9 s"),
                      ("reference package main.py ALM-BCD (quoted)", 0.035, "")]


def uniform(lam):
    return dict(lambda_A=lam, lambda_W=lam, lambda_V=lam, lambda_b=lam, lambda_c=lam)


def out(line="", fh=None):
    print(line, flush=True)
    if fh is not None:
        fh.write(line + "\n")
        fh.flush()


def load_avg():
    try:
        return "load average " + " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "load average ?"


# -- jax-sysid, in its own Python ------------------------------------------------------------
def run_jax_sysid(python, X_train, Y_train, X_test, Y_test, weights0, *, rho_th, epochs=500,
                  train_x0=True, rho_x0=1e-3, repeats=3, skip=False):
    """Fit jax-sysid with ``python`` on these arrays; the JSON dict of _jax_sysid_peer.py."""
    W, V, b, A, c = weights0
    with tempfile.TemporaryDirectory(prefix="vs_peers-") as tmp:
        path_in, path_out = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.json")
        np.savez(path_in, X_train=X_train, Y_train=Y_train.reshape(len(Y_train), -1),
                 X_test=X_test, Y_test=Y_test.reshape(len(Y_test), -1), W0=W, V0=V, b0=b,
                 A0=A, c0=c, rho_th=rho_th, lbfgs_epochs=epochs, train_x0=train_x0,
                 rho_x0=rho_x0, repeats=repeats, skip=skip)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([python, PEER_SCRIPT, path_in, path_out], capture_output=True,
                              text=True, env=env)
        if proc.returncode != 0 or not os.path.exists(path_out):
            return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
        with open(path_out) as fh:
            return json.load(fh)


def initial_weights(r, n, m, scale=0.1, seed=0):
    """skalm's ``init="normal"`` start for ``random_state=seed``: A, W, V ~ N(0, scale^2) drawn in
    that order from ``RandomState(seed)``, biases 0 (the documented rule, reproduced here so that
    the peer starts from the same point)."""
    rng = np.random.RandomState(seed)
    A = rng.standard_normal((m, r)) * scale
    W = rng.standard_normal((r, r)) * scale
    V = rng.standard_normal((r, n)) * scale
    return W, V, np.zeros(r), A, np.zeros(m)


# -- T = 500 ------------------------------------------------------------------------------------
def t500_data(seed=123456):
    X, Y, _ = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
                                  random_state=seed)
    return X, Y


def fit_timed(est, X, Y):
    with Timer() as t:
        est.fit(X, Y)
    return t


def select_t500(X, Y, fh, quick=False, grid=None, log=True):
    """The validation selection described in the module docstring; returns (winner, rows).

    ``grid`` overrides the candidate lists (keys ``lambdas``, ``alphas``, ``alm_lambdas``,
    ``alm_budgets``, ``iters``, ``skips``), e.g. the smaller grid of the per-draw comparison."""
    g = dict(lambdas=LAMBDAS, alphas=ALPHAS, alm_lambdas=ALM_LAMBDAS, alm_budgets=ALM_BUDGETS,
             iters=ITERS, skips=SKIPS)
    if quick:
        g.update(lambdas=[0.1, 0.2], alphas=[], alm_lambdas=[0.1], alm_budgets=[(2, 50)],
                 iters=[50, 100], ensembles=[3])
    g.update(grid or {})
    if not has_skip_connection():
        g["skips"] = [False]
    lambdas, alphas, alm_lambdas = g["lambdas"], g["alphas"], g["alm_lambdas"]
    alm_budgets, iters, skips = g["alm_budgets"], g["iters"], g["skips"]
    max_it = max(iters)
    rows = []  # dicts: label, params, val (per window), cost (CPU s at 450 rows), kind

    penalties = [(f"lambda={lam:g}", uniform(lam)) for lam in lambdas]
    penalties += [(f"alpha={a:g}", dict(alpha=a)) for a in alphas]
    for skip, (pname, pen) in ((s, p) for s in skips for p in penalties):
        pen = {**pen, "skip_connection": True} if skip else pen
        tag = "lbfgs+skip" if skip else "lbfgs"
        vals = {k: [] for k in iters}
        cost = {k: [] for k in iters}
        for end in WINDOWS:
            T = end + N_VAL
            est = ElmanRNNRegressor(**COMMON, **pen, solver="lbfgs", max_iter=max_it,
                                    n_iter_no_change=None, early_stopping=True,
                                    validation_fraction=(N_VAL - 0.5) / T)
            t = fit_timed(est, X[:T], Y[:T])
            v = np.asarray(est.history_["val_loss"])
            n_it = len(v)
            for k in iters:
                vals[k].append(float(v[min(k, n_it) - 1]))
                cost[k].append(t.cpu * min(k, n_it) / n_it * N_TRAIN / end)
        for k in iters:
            rows.append(dict(label=f"{tag}, {pname}, max_iter={k}", kind="lbfgs",
                             params=dict(**pen, solver="lbfgs", max_iter=k, n_iter_no_change=None),
                             val=vals[k], cost=float(np.mean(cost[k])), work=k))
        if log:
            out(f"  selection: {tag:<10} {pname:<12} val@{iters[0]}..{iters[-1]} = "
                + " ".join(f"{np.mean(vals[k]):.3f}" for k in iters), fh)
    for skip, lam, (n_out, n_in) in ((s, la, b) for s in skips for la in alm_lambdas
                                     for b in alm_budgets):
        params = dict(**uniform(lam), solver="alm-bcd", max_iter=n_out, max_inner_iter=n_in,
                      n_iter_no_change=None, **({"skip_connection": True} if skip else {}))
        vals, costs = [], []
        for end in WINDOWS:
            est = ElmanRNNRegressor(**COMMON, **params)
            t = fit_timed(est, X[:end], Y[:end])
            vals.append(sq_err(Y[end:end + N_VAL], est.predict(X[end:end + N_VAL])))
            costs.append(t.cpu * N_TRAIN / end)
        rows.append(dict(label=f"alm-bcd{'+skip' if skip else ''}, lambda={lam:g}, "
                               f"{n_out} x {n_in} sweeps",
                         kind="alm-bcd", params=params, val=vals,
                         cost=float(np.mean(costs)), work=n_out * n_in))
        if log:
            out(f"  selection: {rows[-1]['label']:<40} val = {np.mean(vals):.3f}", fh)
    winner = _pick(rows)
    ks, ens_iters = g.get("ensembles", ENSEMBLES), g.get("ensemble_iters", ENSEMBLE_ITERS)
    if ks:
        skip = bool(winner["params"].get("skip_connection", False))
        bases = [r for r in rows if r["kind"] == "lbfgs" and "lambda_A" in r["params"]
                 and bool(r["params"].get("skip_connection", False)) == skip
                 and r["work"] in ens_iters]
        for base in bases:
            fits = [k for k in ks if k * base["work"] <= WORK_BUDGET["ensemble"]]
            if fits:
                rows += _ensemble_rows(X, Y, base, fits, fh, log)
        winner = _pick(rows)
    return winner, rows


def _pick(rows):
    """Among candidates within the work budget, the least work within 1 % of the best score."""
    for row in rows:
        row["score"] = float(np.mean(row["val"]))
        row["eligible"] = row["work"] <= WORK_BUDGET[row["kind"]]
    eligible = [r for r in rows if r["eligible"]] or rows
    best = min(r["score"] for r in eligible)
    near = [r for r in eligible if r["score"] <= 1.01 * best]
    return min(near, key=lambda r: (r["work"], r["score"]))


def make_estimator(row):
    """The estimator of a selection row: an ElmanRNNRegressor, or an RNNEnsembleRegressor of
    ``k`` members with the row's member settings (member seeds drawn from random_state=0)."""
    if row["kind"] == "ensemble":
        member = ElmanRNNRegressor(**COMMON, **row["params"])
        return RNNEnsembleRegressor(member, n_estimators=row["k"], random_state=0)
    return ElmanRNNRegressor(**COMMON, **row["params"])


def prefix_average_errors(params, X, Y, spans, ks):
    """Errors of the means of the first k members of one average of max(ks) fits, k in ks.

    For each (end, stop) in ``spans``, ``RNNEnsembleRegressor`` of max(ks) members with the
    member settings ``params`` (:func:`make_estimator`) is fitted on rows [0, end) and scored on
    rows [end, stop), reached by running on from the end of the fit rows. Its first k members are
    exactly the members of n_estimators=k with the same random_state (the same seed stream), so
    every k is read off one fit. Returns ({k: [error per span]}, [CPU s of each fit])."""
    errs, cpu = {k: [] for k in ks}, []
    for end, stop in spans:
        ens = make_estimator(dict(kind="ensemble", params=params, k=max(ks)))
        t = fit_timed(ens, X[:end], Y[:end])
        member_preds = [m.predict(X[end:stop]) for m in ens.estimators_]
        for k in ks:
            errs[k].append(sq_err(Y[end:stop], np.mean(member_preds[:k], axis=0)))
        cpu.append(t.cpu)
    return errs, cpu


def _ensemble_rows(X, Y, base, ks, fh, log):
    """Selection rows of the averages of k in ks fits of the single configuration ``base``,
    scored on the validation windows (:func:`prefix_average_errors`). Work: k times the
    member's budget."""
    preds, cpu = prefix_average_errors(base["params"], X, Y,
                                       [(end, end + N_VAL) for end in WINDOWS], ks)
    costs = [c * N_TRAIN / end / max(ks) for c, end in zip(cpu, WINDOWS)]
    rows = []
    for k in ks:
        rows.append(dict(label=f"mean of {k} x ({base['label']})", kind="ensemble", k=k,
                         params=base["params"], val=preds[k], cost=float(np.mean(costs)) * k,
                         work=k * base["work"], base=base))
        if log:
            out(f"  selection: {rows[-1]['label']:<52} val = {np.mean(preds[k]):.3f}", fh)
    return rows


def part_t500(args, fh):
    X, Y = t500_data()
    Xtr, Ytr, Xte, Yte = X[:N_TRAIN], Y[:N_TRAIN], X[N_TRAIN:], Y[N_TRAIN:]
    out("=" * 100, fh)
    out("T=500 synthetic set: make_elman_sequence(500, 80, 30, 100, weight_std=0.05, "
        "noise_std=1e-5), z-scored; 450 train / 50 test rows; r=100, ReLU, N(0, 0.1) start "
        "(random_state=0), 1 BLAS thread", fh)
    out(f"target: TestErr <= {TARGET_ERR} in <= {TARGET_S} s of fit time "
        "(jax-sysid's figure in the peer-figures note)", fh)
    out(f"selection on windows [0,{WINDOWS[0]})->[{WINDOWS[0]},{WINDOWS[0] + N_VAL}) and "
        f"[0,{WINDOWS[1]})->[{WINDOWS[1]},{N_TRAIN}) of the training rows ({load_avg()})", fh)
    with Timer() as t_sel:
        winner, rows = select_t500(X, Y, fh, quick=args.quick)
    out(f"selection took {t_sel.wall:.0f} s wall, {t_sel.cpu:.0f} s CPU", fh)
    out("", fh)
    out(f"{'candidate (selection; validation only)':<48} {'val 1':>7} {'val 2':>7} "
        f"{'mean':>7} {'work':>5} {'est. s':>6}  eligible", fh)
    for r in sorted(rows, key=lambda r: r["score"])[: (8 if args.quick else 15)]:
        mark = " <== selected" if r is winner else ""
        out(f"{r['label']:<48} {r['val'][0]:>7.3f} {r['val'][1]:>7.3f} {r['score']:>7.3f} "
            f"{r['work']:>5} {r['cost']:>6.2f}  {'yes' if r['eligible'] else 'no '}{mark}", fh)
    out(f"(the {len(rows)} candidates sorted by mean validation loss, best 15 shown; est. s = "
        "CPU seconds of the selection fit scaled to 450 rows, on this machine's load (shown, not "
        f"used); work = L-BFGS iterations or BCD sweeps; eligible = within {WORK_BUDGET})", fh)
    out("", fh)

    table = []  # (label, train, test, wall med, cpu med, note)

    def skalm_row(label, params, note="", row=None):
        walls, cpus, est = [], [], None
        for _ in range(args.repeats):
            est = make_estimator(row) if row else ElmanRNNRegressor(**COMMON, **params)
            t = fit_timed(est, Xtr, Ytr)
            walls.append(t.wall)
            cpus.append(t.cpu)
        tr, te = sq_err(Ytr, est.predict(Xtr)), sq_err(Yte, est.predict(Xte))
        table.append((label, tr, te, float(np.median(walls)), float(np.median(cpus)), note))
        return est

    skalm_row(f"skalm SELECTED: {winner['label']}", None, f"{args.repeats} runs", row=winner)
    single = winner.get("base", winner)
    if single is not winner:
        skalm_row(f"skalm, one fit of its members' settings: {single['label']}", None,
                  "context: the best single configuration", row=single)
    sel = single["params"]
    skalm_row("skalm lbfgs on jax-sysid's objective: lambda=0.1, 500 fevals",
              dict(**uniform(0.1), solver=LBFGS(max_iter=15000, max_fun=500,
                                                  n_iter_no_change=None)),
              "same start, same R as jax-sysid with x0 fixed")

    jax_rows = []
    if args.jax_python:
        w0 = initial_weights(100, X.shape[1], Y.shape[1])
        for train_x0, skip in ((True, False), (False, False), (True, True)):
            res = run_jax_sysid(args.jax_python, Xtr, Ytr, Xte, Yte, w0, rho_th=0.1, epochs=500,
                                train_x0=train_x0, repeats=args.repeats, skip=skip)
            label = (f"jax-sysid L-BFGS-B 500 fevals, rho_th=0.1, "
                     f"{'x0 fitted' if train_x0 else 'x0 = 0'}"
                     + (", feedthrough D u" if skip else " (default)" if train_x0 else ""))
            if "error" in res:
                out(f"{label}: FAILED {res['error']}", fh)
                continue
            jax_rows.append((label, res))
            table.append((label, res["train_err"], res["test_err"], res["fit_s"], res["cpu_s"],
                          f"first fit {res['fit_first_s']:.1f} s wall / {res['cpu_first_s']:.1f} "
                          f"CPU incl. JIT; JIT ~{res['jit_cpu_s']:.1f} CPU s; "
                          f"R={res['R_skalm']:.3f}"))
    out(f"{'configuration':<66} {'TrainErr':>8} {'TestErr':>8} {'wall s':>7} {'CPU s':>6}  note",
        fh)
    for label, tr, te, wall, cpu, note in table:
        out(f"{label:<66} {tr:>8.3f} {te:>8.3f} {wall:>7.2f} {cpu:>6.2f}  {note}", fh)
    if not args.jax_python:
        for label, tr, te, s, note in PEER_FIGURES_T500:
            out(f"{label:<66} {tr:>8.2f} {te:>8.2f} {s:>7.1f} {'':>6}  {note}", fh)
    out("(wall/CPU s: median over the refits; jax-sysid: median of the fits after the first, "
        "whose compiled code is cached)", fh)
    _, tr, te, wall, cpu, _ = table[0]
    err_ok = te <= TARGET_ERR
    out(f"target TestErr <= {TARGET_ERR} in <= {TARGET_S} s: "
        f"{'MET' if err_ok and cpu <= TARGET_S else 'NOT MET'} on CPU time, "
        f"{'MET' if err_ok and wall <= TARGET_S else 'NOT MET'} on wall time -- selected "
        f"configuration: TestErr {te:.3f} ({'<=' if err_ok else '>'} {TARGET_ERR}), fit "
        f"{cpu:.2f} s CPU / {wall:.2f} s wall ({'within' if cpu <= TARGET_S else 'over'} the time "
        f"budget on CPU, {'within' if wall <= TARGET_S else 'over'} on wall; {load_avg()})", fh)
    if te > TARGET_ERR:
        out("  the test-error part is not met by the honestly selected configuration on this "
            "draw. Whether the peer figure is reachable on it: see the jax-sysid rows on the same "
            "arrays and start above, and the comparison over data draws below.", fh)

    if not args.quick:
        # Diagnostic, after the selection: test error along the selected penalty's L-BFGS path.
        # Fitting all 500 rows with early_stopping holds out the last 50 = the test rows, so the
        # history's val_loss is the TestErr of every iterate (weights trained on rows 0-449).
        if single["kind"] == "lbfgs":
            pen = {k: v for k, v in sel.items() if k not in ("solver", "max_iter",
                                                               "n_iter_no_change")}
            est = ElmanRNNRegressor(**COMMON, **pen, solver="lbfgs", max_iter=500,
                                    n_iter_no_change=None, early_stopping=True,
                                    validation_fraction=49.5 / 500)
            est.fit(X, Y)
            v = np.asarray(est.history_["val_loss"])
            marks = [k for k in (25, 50, 100, 150, 200, 300, 400, 500) if k <= len(v)]
            out("diagnostic (not used for selection): TestErr along the selected penalty's "
                "L-BFGS path, iteration:TestErr " + " ".join(f"{k}:{v[k - 1]:.2f}" for k in marks)
                + f"; min {v.min():.2f} at {int(np.argmin(v)) + 1}", fh)
        near_ties(rows, Xtr, Ytr, Xte, Yte, fh)
        draws(args, fh)
    return table


def near_ties(rows, Xtr, Ytr, Xte, Yte, fh):
    """Diagnostic, after the selection: the TestErr of every eligible candidate whose validation
    score is within 1 % of the best, each refitted once on the 450 training rows. The rule picks
    one of them by work; this shows how much the test error depends on that choice, i.e. how
    far a margin to the target can be read as more than the luck of the tie-break."""
    best = min(r["score"] for r in rows if r["eligible"])
    near = sorted((r for r in rows if r["eligible"] and r["score"] <= 1.01 * best),
                  key=lambda r: r["score"])
    errs = []
    for r in near:
        est = make_estimator(r).fit(Xtr, Ytr)
        errs.append(sq_err(Yte, est.predict(Xte)))
    out(f"diagnostic (not used for selection): TestErr of the {len(near)} eligible candidates "
        f"within 1 % of the best validation score (val -> TestErr):", fh)
    for r, e in zip(near, errs):
        out(f"  {r['label']:<54} {r['score']:7.3f} -> {e:7.3f}", fh)
    errs = np.array(errs)
    out(f"  TestErr {errs.min():.3f} to {errs.max():.3f}, median {np.median(errs):.3f}; "
        f"<= {TARGET_ERR} for {int(np.sum(errs <= TARGET_ERR))} of {len(errs)}", fh)


#: Data draws of the per-draw comparison: the reference package's seed first, then others.
DRAW_SEEDS = (123456, 1, 2, 3, 4, 5, 6, 7)
#: The per-draw selection grid: the penalties and budgets that won or came close on the main
#: draw, L-BFGS only (ALM-BCD never won a selection here, and this keeps a draw near 2 min).
DRAW_GRID = dict(lambdas=[0.05, 0.07, 0.1, 0.15, 0.2], alphas=[], alm_lambdas=[], alm_budgets=[],
                 iters=[50, 100, 150, 200, 300, 500])


def draws(args, fh):
    """skalm's selected configuration against jax-sysid over data draws of the same generator.

    On each draw the selection of :func:`select_t500` is rerun (smaller grid DRAW_GRID, never
    reading the test rows), its winner refitted once on the 450 training rows and scored on the
    50 test rows; beside it, on the same arrays and start, L-BFGS on jax-sysid's objective
    (lambda = 0.1, 500 function evaluations) and, with ``--jax-python``, jax-sysid itself."""
    out("", fh)
    out(f"over data draws (make_elman_sequence(..., random_state=seed), same sizes and start; "
        f"per-draw selection on the same two windows, grid {DRAW_GRID}, lbfgs, skip "
        f"{SKIPS if has_skip_connection() else [False]}):", fh)
    head = (f"{'seed':>6}  {'skalm selected configuration':<54} {'TestErr':>7} {'CPU s':>5}  "
            f"{'lbfgs jax obj.':>14}")
    if args.jax_python:
        head += f"  {'jax-sysid':>9} {'CPU s':>5}  {'jax-sysid+D u':>13} {'CPU s':>5}"
    out(head, fh)
    rows = []
    for seed in DRAW_SEEDS:
        X, Y = t500_data(seed)
        Xtr, Ytr, Xte, Yte = X[:N_TRAIN], Y[:N_TRAIN], X[N_TRAIN:], Y[N_TRAIN:]
        winner, _ = select_t500(X, Y, None, grid=DRAW_GRID, log=False)
        est = make_estimator(winner)
        t = fit_timed(est, Xtr, Ytr)
        row = dict(seed=seed, label=winner["label"], te=sq_err(Yte, est.predict(Xte)), cpu=t.cpu)
        est = ElmanRNNRegressor(**COMMON, **uniform(0.1), solver=LBFGS(
            max_iter=15000, max_fun=500, n_iter_no_change=None)).fit(Xtr, Ytr)
        row["te_obj"] = sq_err(Yte, est.predict(Xte))
        line = (f"{seed:>6}  {row['label']:<54} {row['te']:>7.3f} {row['cpu']:>5.2f}  "
                f"{row['te_obj']:>14.3f}")
        if args.jax_python:
            w0 = initial_weights(100, X.shape[1], Y.shape[1])
            for key, skip in (("jax", False), ("jax_skip", True)):
                res = run_jax_sysid(args.jax_python, Xtr, Ytr, Xte, Yte, w0, rho_th=0.1,
                                    epochs=500, train_x0=True, repeats=1, skip=skip)
                row[key] = (res["test_err"], res["cpu_s"]) if "error" not in res else (
                    float("nan"), float("nan"))
            line += (f"  {row['jax'][0]:>9.3f} {row['jax'][1]:>5.2f}  {row['jax_skip'][0]:>13.3f} "
                     f"{row['jax_skip'][1]:>5.2f}")
        out(line, fh)
        rows.append(row)
    te = np.array([r["te"] for r in rows])
    cpu = np.array([r["cpu"] for r in rows])
    summary = (f"{'mean':>6}  {'':<54} {te.mean():>7.3f} {cpu.mean():>5.2f}  "
               f"{np.mean([r['te_obj'] for r in rows]):>14.3f}")
    if args.jax_python:
        jx = np.array([r["jax"] for r in rows])
        js = np.array([r["jax_skip"] for r in rows])
        summary += (f"  {np.nanmean(jx[:, 0]):>9.3f} {np.nanmean(jx[:, 1]):>5.2f}  "
                    f"{np.nanmean(js[:, 0]):>13.3f} {np.nanmean(js[:, 1]):>5.2f}")
    out(summary, fh)
    out(f"skalm's selected configuration: TestErr <= {TARGET_ERR} on {int(np.sum(te <= TARGET_ERR))}"
        f" of {len(te)} draws, fit <= {TARGET_S} CPU s on {int(np.sum(cpu <= TARGET_S))}", fh)
    if args.jax_python:
        for key, name in (("jax", "jax-sysid"), ("jax_skip", "jax-sysid with feedthrough")):
            v = np.array([r[key][0] for r in rows])
            out(f"  lower TestErr than {name} on {int(np.sum(te < v))} of {len(te)} draws "
                f"(mean difference {np.nanmean(te - v):+.3f}); {name} <= {TARGET_ERR} on "
                f"{int(np.sum(v <= TARGET_ERR))}", fh)


# -- S&P volatility -----------------------------------------------------------------------------
def has_skip_connection():
    return "skip_connection" in ElmanRNNRegressor().get_params()


def sp500_grid(quick=False):
    """Penalties of both kinds (the paper's alpha, scaled per block by its entry count, and one
    uniform lambda on all blocks, jax-sysid's kind), solvers lbfgs and alm-bcd (20 BCD sweeps per
    outer iteration, as forecast_cv.py), skip_connection when available."""
    base = dict(n_hidden=[20], init=["normal"], init_scale=[0.1], random_state=[0])
    if has_skip_connection():
        base["skip_connection"] = [False, True]
    alphas = [0.1, 1.0] if quick else [0.1, 1.0, 10.0]
    lams = [0.01] if quick else [0.001, 0.01, 0.1]
    penalties = [{"alpha": alphas}] + [{k: [lam] for k in uniform(lam)} for lam in lams]
    solvers = [{"solver": ["lbfgs"]}, {"solver": ["alm-bcd"], "max_inner_iter": [20]}]
    return [{**base, **sol, **pen} for sol in solvers for pen in penalties]


def short(params):
    """Grid parameters without the fixed ones; a uniform lambda shown once."""
    p = {k: v for k, v in params.items()
         if k not in ("n_hidden", "init", "init_scale", "random_state", "blas_threads")}
    lam = [p.pop(k) for k in list(p) if k.startswith("lambda_")]
    if lam:
        p["lambda(all blocks)"] = lam[0]
    return p


def part_sp500(args, fh):
    ds = load_sp500_volatility()
    n = ds.n_train
    X, y = ds.data, ds.target
    Xtr, ytr, Xte, yte = X[:n], y[:n], X[n:], y[n:]
    out("=" * 100, fh)
    out(f"S&P volatility: {n} train / {len(yte)} test rows, 11 inputs, target RV_SP500 "
        f"({load_avg()})", fh)
    out(f"skip_connection available in this skalm: {has_skip_connection()}", fh)
    table = []
    with Timer() as t:
        ols = LinearRegression().fit(Xtr, ytr)
    table.append(("OLS (LinearRegression)", mean_squared_error(ytr, ols.predict(Xtr)),
                  mean_squared_error(yte, ols.predict(Xte)), t.wall, ""))
    grid = sp500_grid(args.quick)
    out(f"GridSearchCV grid ({sum(len(ParameterGrid(g)) for g in grid)} candidates): "
        + "; ".join(str(short({k: v for k, v in g.items()})) for g in grid), fh)
    gs = GridSearchCV(ElmanRNNRegressor(blas_threads=1), grid, cv=TimeSeriesSplit(5),
                      scoring="neg_mean_squared_error", n_jobs=1)
    with Timer() as t:
        gs.fit(Xtr, ytr)
    best = gs.best_estimator_
    chosen = short(gs.best_params_)
    table.append((f"skalm GridSearchCV best: {chosen}", mean_squared_error(ytr, best.predict(Xtr)),
                  mean_squared_error(yte, best.predict(Xte)), gs.refit_time_,
                  f"CV MSE {-gs.best_score_:.4f}; fit s = the refit; whole search {t.wall:.0f} s"))
    res = gs.cv_results_
    order = np.argsort(res["rank_test_score"])
    out("CV ranking (mean validation MSE over the 5 TimeSeriesSplit folds of the 393 rows):", fh)
    for i in order[:8]:
        folds = " ".join(f"{-res[f'split{k}_test_score'][i]:.3f}" for k in range(5))
        out(f"  {-res['mean_test_score'][i]:.4f} +- {res['std_test_score'][i]:.4f} "
            f"(folds {folds})  {short(res['params'][i])}", fh)
    ols_cv = -cross_val_score(LinearRegression(), Xtr, ytr, cv=TimeSeriesSplit(5),
                              scoring="neg_mean_squared_error")
    out(f"  {ols_cv.mean():.4f} +- {ols_cv.std():.4f} (folds "
        + " ".join(f"{v:.3f}" for v in ols_cv) + ")  OLS, for comparison", fh)
    # per solver family, the CV winner's test error (context)
    for solver in ("lbfgs", "alm-bcd"):
        idx = [i for i in order if res["params"][i]["solver"] == solver]
        if not idx or solver == gs.best_params_["solver"]:
            continue
        p = res["params"][idx[0]]
        with Timer() as t:
            est = ElmanRNNRegressor(**{**p, "blas_threads": 1}).fit(Xtr, ytr)
        table.append((f"skalm best {solver} by CV: {short(p)}",
                      mean_squared_error(ytr, est.predict(Xtr)),
                      mean_squared_error(yte, est.predict(Xte)), t.wall,
                      f"CV MSE {-res['mean_test_score'][idx[0]]:.4f}"))
    for rho in (0.01, 0.1):  # context: jax-sysid's objective (x0 = 0), from the same start
        with Timer() as t:
            est = ElmanRNNRegressor(n_hidden=20, init="normal", init_scale=0.1, random_state=0,
                                    solver=LBFGS(max_iter=15000, max_fun=500,
                                                 n_iter_no_change=None),
                                    **uniform(rho)).fit(Xtr, ytr)
        table.append((f"skalm lbfgs on jax-sysid's objective, rho_th={rho:g}, 500 fevals",
                      mean_squared_error(ytr, est.predict(Xtr)),
                      mean_squared_error(yte, est.predict(Xte)), t.wall,
                      "untuned (context), same start, h_0 = 0"))
    if args.jax_python:
        w0 = initial_weights(20, X.shape[1], 1)
        for rho in (0.01, 0.1):
            for skip in (False, True):
                r = run_jax_sysid(args.jax_python, Xtr, ytr, Xte, yte, w0, rho_th=rho,
                                  epochs=500, train_x0=True, repeats=args.repeats, skip=skip)
                label = (f"jax-sysid L-BFGS-B 500 fevals, rho_th={rho:g}, x0 fitted"
                         + (", feedthrough D u" if skip else ""))
                if "error" in r:
                    out(f"{label}: FAILED {r['error']}", fh)
                    continue
                table.append((label, r["train_err"], r["test_err"], r["fit_s"],
                              f"untuned; first fit {r['fit_first_s']:.1f} s incl. JIT"))
    out(f"{'model':<78} {'train MSE':>9} {'test MSE':>9} {'fit s':>6}  note", fh)
    for label, tr, te, s, note in table:
        out(f"{label:<78} {tr:>9.4f} {te:>9.4f} {s:>6.2f}  {note}", fh)
    if not args.jax_python:
        for label, te, note in PEER_FIGURES_SP500:
            out(f"{label:<78} {'':>9} {te:>9.3f} {'':>6}  {note}", fh)
    ols_te, sk_te = table[0][2], table[1][2]
    out(f"tuned skalm test MSE {sk_te:.4f}: {'below' if sk_te < ols_te else 'NOT below'} OLS's "
        f"{ols_te:.4f}; {'at or below' if sk_te <= 0.022 else 'above'} jax-sysid's quoted 0.022",
        fh)
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--part", choices=["t500", "sp500", "all"], default="all")
    ap.add_argument("--jax-python", default=None,
                    help="a Python with jax-sysid installed (runs it side by side)")
    ap.add_argument("--repeats", type=int, default=3, help="timed refits (median)")
    ap.add_argument("--quick", action="store_true", help="tiny grids, no diagnostics")
    ap.add_argument("--out", default=None,
                    help="also write the output here "
                         "(default: results/vs_peers[_PART][_quick].txt)")
    args = ap.parse_args()
    if args.jax_python and not os.path.exists(args.jax_python):
        ap.error(f"--jax-python {args.jax_python} does not exist")
    quiet()
    name = "vs_peers" + ("" if args.part == "all" else f"_{args.part}")
    path = args.out or os.path.join(RESULTS, name + ("_quick" if args.quick else "") + ".txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        out(f"# python benchmarks/vs_peers.py {' '.join(sys.argv[1:])}   "
            f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {git_commit()}, "
            f"{os.cpu_count()} cores, affinity {sorted(os.sched_getaffinity(0))}, {load_avg()})",
            fh)
        if args.part in ("t500", "all"):
            part_t500(args, fh)
        if args.part in ("sp500", "all"):
            part_sp500(args, fh)
        out(f"# done ({time.strftime('%H:%M UTC', time.gmtime())}, {load_avg()})", fh)


if __name__ == "__main__":
    main()
