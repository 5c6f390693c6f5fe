"""verbose output: one line per outer iteration a person can follow (iteration, loss, the
objective R that is minimised, FeasVio, kappa, gamma, elapsed and estimated remaining time),
nothing with verbose=0."""

import re
import warnings

import numpy as np
import pytest

from skalm import ElmanRNNRegressor
from skalm.datasets import load_sp500_volatility
from skalm.solvers import ALMBCDSolver
from skalm.solvers._progress import ProgressPrinter, format_duration

HEADER = ["iter", "loss", "R", "FeasVio", "kappa", "gamma", "elapsed", "remaining"]


@pytest.fixture(scope="module")
def data():
    X, y = load_sp500_volatility(return_X_y=True)
    return X[:80], y[:80]


def seconds(text):
    """Parse format_duration's output back to seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s", text)
    assert match, f"not a duration: {text!r}"
    h, m, s = match.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + float(s)


def fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        return ElmanRNNRegressor(n_hidden=4, random_state=0, **params).fit(X, y)


def test_alm_bcd_prints_one_row_per_outer_iteration(data, capsys):
    X, y = data
    est = fit(X, y, max_iter=5, max_inner_iter=5, n_iter_no_change=None, verbose=1)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.strip().splitlines()
    assert lines[0].split() == HEADER
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == est.n_iter_ == 5
    h = est.history_
    for k, row in enumerate(rows, start=1):
        assert len(row) == len(HEADER)
        assert int(row[0]) == k
        np.testing.assert_allclose(float(row[1]), h["train_loss"][k - 1], rtol=1e-4)
        np.testing.assert_allclose(float(row[2]), h["objective"][k - 1], rtol=1e-4)
        np.testing.assert_allclose(float(row[3]), h["feasibility"][k - 1], rtol=1e-2)
        np.testing.assert_allclose(float(row[4]), h["kappa"][k - 1], rtol=1e-2)
        np.testing.assert_allclose(float(row[5]), h["gamma"][k - 1], rtol=1e-2)
        elapsed, remaining = seconds(row[6]), seconds(row[7])
        np.testing.assert_allclose(elapsed, h["time"][k - 1], atol=0.006)
        # the time to max_iter at the average pace so far
        np.testing.assert_allclose(remaining, h["time"][k - 1] / k * (5 - k), atol=0.06)
    assert seconds(rows[-1][7]) == 0.0


def test_peer_solver_with_validation_prints_val_loss_and_dash_for_gamma(data, capsys):
    X, y = data
    est = fit(X, y, solver="adam", max_iter=4, n_iter_no_change=None, early_stopping=True,
              verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == HEADER[:6] + ["val_loss"] + HEADER[6:]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == est.n_iter_ == 4
    for k, row in enumerate(rows, start=1):
        assert row[5] == "-"  # Adam has no penalty gamma (NaN in history_)
        np.testing.assert_allclose(float(row[2]), est.history_["objective"][k - 1], rtol=1e-4)
        np.testing.assert_allclose(float(row[6]), est.history_["val_loss"][k - 1], rtol=1e-4)


def test_solver_instance_verbose(data, capsys):
    X, y = data
    est = fit(X, y, solver=ALMBCDSolver(max_iter=3, max_inner_iter=3, verbose=1))
    rows = capsys.readouterr().out.strip().splitlines()[1:]
    assert len(rows) == est.n_iter_ == 3


@pytest.mark.parametrize("solver", ["alm-bcd", "lbfgs", "admmirnn"])
def test_verbose_zero_prints_nothing(data, capsys, solver):
    X, y = data
    fit(X, y, solver=solver, max_iter=3, verbose=0)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


class _History:
    def __init__(self, **values):
        self.values = values

    def last(self, key):
        return self.values[key]


def test_long_runs_read_in_minutes_and_hours(capsys):
    printer = ProgressPrinter(verbose=1, max_iter=100)
    history = _History(train_loss=0.5, objective=0.75, feasibility=1e-3, kappa=2e-2, gamma=4.0,
                       time=750.0)
    printer.line(10, history)  # 75 s per iteration: 12.5 min elapsed, 112.5 min to go
    head, row = capsys.readouterr().out.splitlines()
    assert head.split() == HEADER
    assert row.split() == ["10", "0.5", "0.75", "0.001", "0.02", "4", "12m30s", "1h52m30s"]
    assert [format_duration(s) for s in (0.004, 59.5, 61, 3600, float("nan"))] == [
        "0.00s", "59.50s", "1m01s", "1h00m00s", "-"]


def test_printer_writes_to_a_given_stream(capsys):
    import io

    stream = io.StringIO()
    ProgressPrinter(1, 3, stream=stream).line(
        1, _History(train_loss=1.0, objective=1.5, feasibility=0.0, kappa=1.0, gamma=1.0,
                    time=1.0))
    assert capsys.readouterr().out == ""
    assert len(stream.getvalue().splitlines()) == 2
