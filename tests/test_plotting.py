"""skalm.plotting: the figures are written as PNG files and draw exactly ``history_`` and the
predictions.

The PNG files go to ``$SKALM_PLOT_DIR`` when that variable is set (to keep and look at them),
otherwise to a pytest temporary directory; each test prints the path it wrote.
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.datasets import load_sp500_volatility  # noqa: E402
from skalm.plotting import HISTORY_LABELS, plot_forecast, plot_history  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plot_dir(tmp_path_factory):
    target = os.environ.get("SKALM_PLOT_DIR")
    if target:
        path = Path(target)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("plots")


@pytest.fixture(scope="module")
def data():
    X, y = load_sp500_volatility(return_X_y=True)
    return X[:160], y[:160]


@pytest.fixture(scope="module")
def fitted(data):
    """A short ALM-BCD fit and a short Adam fit of the same data."""
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        alm = ElmanRNNRegressor(n_hidden=6, max_iter=8, random_state=0).fit(X[:120], y[:120])
        adam = ElmanRNNRegressor(n_hidden=6, solver="adam", max_iter=30, random_state=0).fit(
            X[:120], y[:120]
        )
    return alm, adam


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def save_and_check(fig, path):
    """Save ``fig`` as PNG and check the file: PNG signature, IHDR size, non-trivial bytes."""
    fig.savefig(path, dpi=80)
    raw = path.read_bytes()
    assert raw[:8] == PNG_MAGIC
    assert raw[12:16] == b"IHDR"
    width, height = int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    w_in, h_in = fig.get_size_inches()
    assert (width, height) == (round(w_in * 80), round(h_in * 80))
    assert len(raw) > 10_000, f"{path} is only {len(raw)} bytes"
    print(f"wrote {path} ({len(raw)} bytes, {width}x{height})")
    return raw


def test_history_against_iteration_draws_history(fitted, plot_dir):
    alm, _ = fitted
    keys = ("train_loss", "feasibility", "kappa", "gamma")
    axes = plot_history(alm, keys)
    assert len(axes) == 4
    for ax, key in zip(axes, keys):
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, alm.n_iter_ + 1))
        np.testing.assert_array_equal(line.get_ydata(), alm.history_[key])
        assert ax.get_yscale() == "log"
        assert ax.get_title() == HISTORY_LABELS[key]
        assert ax.get_xlabel() == "outer iteration k"
    save_and_check(axes[0].figure, plot_dir / "history_iteration.png")


def test_history_against_time(fitted, plot_dir):
    alm, _ = fitted
    axes = plot_history(alm, ["train_loss", "feasibility", "n_inner"], x="time")
    for ax, key in zip(axes, ["train_loss", "feasibility", "n_inner"]):
        (line,) = ax.lines
        np.testing.assert_array_equal(line.get_xdata(), alm.history_["time"])
        np.testing.assert_array_equal(line.get_ydata(), alm.history_[key])
        assert ax.get_xlabel() == "elapsed time (s)"
    assert np.all(np.diff(axes[0].lines[0].get_xdata()) > 0)  # time increases
    assert axes[2].get_yscale() == "linear"  # counts stay linear
    save_and_check(axes[0].figure, plot_dir / "history_time.png")


def test_history_compares_solvers_with_legend(fitted, plot_dir):
    alm, adam = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log-scale warning for Adam's FeasVio 0 / gamma NaN
        axes = plot_history({"ALM-BCD": alm, "Adam": adam.history_},
                            ["train_loss", "feasibility", "gamma"], x="time")
    loss_ax = axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["ALM-BCD", "Adam"]
    np.testing.assert_array_equal(loss_ax.lines[1].get_ydata(), adam.history_["train_loss"])
    np.testing.assert_array_equal(loss_ax.lines[1].get_xdata(), adam.history_["time"])
    assert loss_ax.get_legend() is not None
    # Adam records FeasVio 0 and gamma NaN: the lines are there, the data as recorded.
    np.testing.assert_array_equal(axes[1].lines[1].get_ydata(), 0.0)
    assert np.all(np.isnan(axes[2].lines[1].get_ydata()))
    save_and_check(axes[0].figure, plot_dir / "history_compare.png")


def test_history_on_given_axes_and_errors(fitted):
    alm, _ = fitted
    fig, given = plt.subplots(1, 2)
    axes = plot_history(alm, ["objective", "kappa"], axes=given, logy=False, marker=".")
    assert axes[0] is given[0] and axes[1] is given[1]
    assert axes[0].get_yscale() == "linear"
    assert axes[0].lines[0].get_marker() == "."
    with pytest.raises(ValueError, match="no key 'val_loss'"):
        plot_history(alm, ["val_loss"])
    with pytest.raises(ValueError, match="x must be"):
        plot_history(alm, x="seconds")
    with pytest.raises(ValueError, match="2 Axes for 3 keys"):
        plot_history(alm, ["train_loss", "kappa", "gamma"], axes=given)
    with pytest.raises(TypeError, match="history_"):
        plot_history(ElmanRNNRegressor())


def test_forecast_draws_truth_and_predictions(fitted, data, plot_dir):
    alm, _ = fitted
    X, y = data
    # Training rows replayed from zero, the rest continuing from hidden_state_.
    y_pred = np.concatenate([alm.predict(X[:120]), alm.predict(X[120:])])
    ax = plot_forecast(y, {"ALM-BCD": y_pred, "zero": np.zeros_like(y)}, train_end=120,
                       title="S&P volatility")
    truth, pred, zero = ax.lines[:3]
    np.testing.assert_array_equal(truth.get_ydata(), y)
    np.testing.assert_array_equal(truth.get_xdata(), np.arange(len(y)))
    np.testing.assert_array_equal(pred.get_ydata(), y_pred)
    np.testing.assert_array_equal(zero.get_ydata(), 0.0)
    assert [line.get_label() for line in ax.lines[:3]] == ["truth", "ALM-BCD", "zero"]
    boundary = ax.lines[3]  # axvline at the first test row
    np.testing.assert_array_equal(boundary.get_xdata(), [120, 120])
    assert ax.get_title() == "S&P volatility"
    save_and_check(ax.figure, plot_dir / "forecast.png")


def test_forecast_two_outputs_and_index():
    y = np.column_stack([np.arange(10.0), -np.arange(10.0)])
    index = np.arange(100, 110)
    ax = plot_forecast(y, y + 1, index=index, output=1)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), y[:, 1])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), y[:, 1] + 1)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), index)
    with pytest.raises(ValueError, match="rows"):
        plot_forecast(y, y[:5])
    with pytest.raises(ValueError, match="train_end"):
        plot_forecast(y, y, train_end=10)


def test_missing_matplotlib_names_the_plot_extra(fitted, monkeypatch):
    alm, _ = fitted
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import now fails
    with pytest.raises(ImportError, match=r"skalm\[plot\]"):
        plot_history(alm)
    with pytest.raises(ImportError, match="'plot' extra"):
        plot_forecast([0.0, 1.0], [0.0, 1.0])


def test_module_imports_without_matplotlib():
    src = Path(__file__).parents[1] / "skalm" / "plotting.py"
    text = src.read_text(encoding="utf-8")
    head = text.split("def _pyplot", 1)[0]
    assert "import matplotlib" not in head  # only imported inside functions
