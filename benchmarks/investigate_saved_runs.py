"""Checks that the saved fixed-budget ALM-BCD runs (made before acceleration existed) are the
paper algorithm of the current code: re-runs rep 0 at N(0, 0.1) with acceleration=None
(T = 10 in full, S&P 3 and T = 500 1 outer iteration) and prints its history next to the saved one.

    PYTHONPATH=. python benchmarks/investigate_saved_runs.py > benchmarks/results/paper_saved_runs_check.txt
"""
import sys, json
sys.path.insert(0, "benchmarks")
import paper_tables as pt
from _common import load_dataset, read_jsonl, quiet
quiet()
for name, k in [("t10", None), ("sp500", 3), ("t500", 1)]:
    ds = load_dataset(name)
    if k:
        ds["alm"] = dict(ds["alm"], max_iter=k)
    saved = [r for r in read_jsonl(f"benchmarks/results/paper_runs_{name}.jsonl")
             if r["row"] == pt.ALM and r["init"] == pt.DEFAULT_INIT and r["seed"] == 0][0]
    rec = pt.run_one(ds, pt.ALM, pt.DEFAULT_INIT, 0, keep_history=True)
    n = len(rec["history"]["train_loss"])
    print(name, "current code, acceleration=None, first", n, "iterations:")
    print("  train", rec["history"]["train_loss"][:n], "saved", saved["history"]["train_loss"][:n])
    print("  test ", rec["history"]["val_loss"][:n], "saved", saved["history"]["val_loss"][:n])
