"""Smoke test of benchmarks/real_data.py: its evaluation runs end to end on tiny settings.

Only the series that need no optional package (skalm's S&P file and the synthetic series) are
used, so that the test runs without statsmodels. The protocol pieces (lags, split) are checked
against hand-built arrays.
"""

import json
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
import real_data  # noqa: E402


def test_lag_matrix_and_with_lags_by_hand():
    X, y = real_data.lag_matrix([1.0, 2.0, 3.0, 4.0, 5.0], 2)
    np.testing.assert_array_equal(X, [[2.0, 1.0], [3.0, 2.0], [4.0, 3.0]])
    np.testing.assert_array_equal(y, [3.0, 4.0, 5.0])
    Z = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    np.testing.assert_array_equal(real_data.with_lags(Z, 1),
                                  [[2.0, 20.0, 1.0, 10.0], [3.0, 30.0, 2.0, 20.0],
                                   [4.0, 40.0, 3.0, 30.0]])


def test_split_is_chronological_and_zscored_on_the_training_rows():
    s = real_data.load_series("narma10", quick=True)
    sp = real_data.split(s)
    n_train = int(0.8 * len(s.y))
    mu, sd = s.y[:n_train].mean(), s.y[:n_train].std()
    np.testing.assert_allclose(sp.y_train, (s.y[:n_train] - mu) / sd)
    np.testing.assert_allclose(sp.y_test, (s.y[n_train:] - mu) / sd)
    np.testing.assert_allclose(sp.X_train.mean(axis=0), 0.0, atol=1e-12)
    # The lagged design keeps the same test rows, with the k previous inputs beside each.
    k = s.k
    assert sp.X_test_lags.shape == (len(sp.y_test), (k + 1) * s.X.shape[1])
    np.testing.assert_allclose(sp.X_test_lags[:, 0], sp.X_test[:, 0])
    np.testing.assert_allclose(sp.X_test_lags[0, 1], sp.X_train[-1, 0])
    assert len(sp.y_train_lags) == n_train - k
    np.testing.assert_allclose(sp.y_train_lags, sp.y_train[k:])


def test_evaluate_runs_every_model_end_to_end(tmp_path):
    out = tmp_path / "rd.md"
    real_data.main(["--quick", "--sets", "sp500", "--seeds", "0,1", "--out", str(out)])
    text = out.read_text()
    for model in real_data.MODELS:
        assert f"| {model} |" in text
    assert (tmp_path / "rd.png").stat().st_size > 0
    records = json.loads((tmp_path / "rd.json").read_text())
    seeded = sum(m.seeded for m in real_data.MODELS.values())
    assert len(records) == 2 * seeded + len(real_data.MODELS) - seeded
    assert all(np.isfinite(r["test_mse"]) for r in records)
    # The mean predictor is 0 in z units: its test MSE is the mean squared z-scored target.
    sp = real_data.split(real_data.load_series("sp500", quick=True))
    mean_mse = [r["test_mse"] for r in records if r["model"] == "mean"
                and r["series"] == "sp500"]
    assert mean_mse == [pytest.approx(np.mean(sp.y_test**2))]
