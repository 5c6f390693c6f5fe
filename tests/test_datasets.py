"""Tests of skalm.datasets: the shipped S&P 500 volatility data and the synthetic generator."""

import csv
import hashlib
import math
import shutil
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from skalm.datasets import load_sp500_volatility, make_elman_sequence
from skalm.model import RNNWeights

REPO = Path(__file__).resolve().parents[1]
SHARED_CSV = Path("/work/shared/data/clean_SP500.csv")
SHIPPED_CSV = REPO / "skalm" / "datasets" / "data" / "clean_SP500.csv"
FEATURES = ["DP", "EP", "MKT", "HML", "SMB", "STR", "TB", "TS", "DEF", "INF", "IP"]


def _oracle():
    """Independent parse of the CSV with the csv module: {column name: list of floats}."""
    path = SHARED_CSV if SHARED_CSV.exists() else SHIPPED_CSV
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {name: [float(row[name]) for row in rows] for name in FEATURES + ["RV_SP500"]}


# --------------------------------------------------------------------------------------------
# load_sp500_volatility
# --------------------------------------------------------------------------------------------


def test_sp500_shapes_names_and_fields():
    ds = load_sp500_volatility()
    assert ds.data.shape == (437, 11)
    assert ds.target.shape == (437,)
    assert ds.data.dtype == np.float64 and ds.target.dtype == np.float64
    assert ds.feature_names == FEATURES
    assert ds.target_names == ["RV_SP500"]
    assert ds.n_train == 393
    assert ds.frame is None
    assert np.all(np.isfinite(ds.data)) and np.all(np.isfinite(ds.target))


def test_sp500_values_equal_independent_parse():
    oracle = _oracle()
    ds = load_sp500_volatility()
    for j, name in enumerate(FEATURES):
        np.testing.assert_array_equal(ds.data[:, j], oracle[name], err_msg=name)
    np.testing.assert_array_equal(ds.target, oracle["RV_SP500"])
    # The target is RV_SP500, not the first column DP (the reference code's split bug).
    assert not np.allclose(ds.target, oracle["DP"])
    assert not np.allclose(ds.target, ds.data[:, 0])


def test_shipped_csv_is_the_shared_file():
    if not SHARED_CSV.exists():
        pytest.skip("shared copy of clean_SP500.csv not available")
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()  # noqa: E731
    assert digest(SHIPPED_CSV) == digest(SHARED_CSV)


def test_sp500_columns_are_zscored_over_all_rows():
    ds = load_sp500_volatility()
    full = np.column_stack([ds.data, ds.target])
    np.testing.assert_allclose(full.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(full.std(axis=0), 1.0, rtol=1e-10)


def test_sp500_ols_baseline_test_mse():
    X, y = load_sp500_volatility(return_X_y=True)
    n_train = 393
    Xa = np.column_stack([np.ones(len(X)), X])
    coef, *_ = np.linalg.lstsq(Xa[:n_train], y[:n_train], rcond=None)
    test_mse = np.mean((Xa[n_train:] @ coef - y[n_train:]) ** 2)
    assert len(y) - n_train == 44
    assert abs(test_mse - 0.028) < 1e-3


def test_sp500_return_X_y():
    ds = load_sp500_volatility()
    out = load_sp500_volatility(return_X_y=True)
    assert isinstance(out, tuple) and len(out) == 2
    np.testing.assert_array_equal(out[0], ds.data)
    np.testing.assert_array_equal(out[1], ds.target)


def test_sp500_descr_credits_source_and_protocol():
    d = load_sp500_volatility().DESCR
    for needle in [
        "YueWANG25/ALMBCD_RNN",
        "ALMRNN/clean_SP500.csv",
        "8d2560b",
        "MIT",
        "2402.13687",
        "z-scored over all 437 rows",
        "393",
        "44",
        "r = 20",
        "split_dataset",
    ]:
        assert needle in d, needle


def test_sp500_as_frame_without_pandas_raises_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match="pandas"):
        load_sp500_volatility(as_frame=True)
    # as_frame=False never needs pandas.
    assert load_sp500_volatility().data.shape == (437, 11)


def test_sp500_as_frame_with_pandas():
    pd = pytest.importorskip("pandas")
    ds = load_sp500_volatility(as_frame=True)
    assert isinstance(ds.data, pd.DataFrame) and isinstance(ds.target, pd.Series)
    assert list(ds.data.columns) == FEATURES
    assert list(ds.frame.columns) == FEATURES + ["RV_SP500"]
    np.testing.assert_array_equal(ds.target.to_numpy(), load_sp500_volatility().target)


def test_package_data_found_by_importlib_resources():
    data = resources.files("skalm.datasets").joinpath("data")
    assert data.joinpath("clean_SP500.csv").is_file()
    assert data.joinpath("clean_SP500.rst").is_file()


def test_package_data_is_installed_by_a_build(tmp_path):
    """A setuptools build of the project (as an install does) carries the CSV, and the
    loader works from the built copy rather than from the source tree."""
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(REPO / "pyproject.toml", proj)
    shutil.copy(REPO / "README.md", proj)
    shutil.copytree(REPO / "skalm", proj / "skalm", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
         "--build-lib", str(out)],
        cwd=proj, check=True, capture_output=True,
    )  # fmt: skip
    assert (out / "skalm" / "datasets" / "data" / "clean_SP500.csv").is_file()
    assert (out / "skalm" / "datasets" / "data" / "clean_SP500.rst").is_file()
    code = textwrap.dedent(
        f"""
        import skalm.datasets as d
        assert d.__file__.startswith({str(out)!r}), d.__file__
        ds = d.load_sp500_volatility()
        assert ds.data.shape == (437, 11) and "8d2560b" in ds.DESCR
        """
    )
    env = {"PYTHONPATH": str(out), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, env=env)


# --------------------------------------------------------------------------------------------
# make_elman_sequence
# --------------------------------------------------------------------------------------------


def _loop_outputs(params, X, sigma):
    """Plain python recurrence: h_t = sigma(W h_{t-1} + V x_t + b), y_t = A h_t + c, h_0 = 0."""
    W, V, b, A, c = (np.asarray(a).tolist() for a in params)
    r, n, m = len(b), len(X[0]), len(c)
    h = [0.0] * r
    Y = []
    for x in np.asarray(X).tolist():
        h = [
            sigma(
                sum(W[i][k] * h[k] for k in range(r)) + sum(V[i][j] * x[j] for j in range(n)) + b[i]
            )
            for i in range(r)
        ]
        Y.append([sum(A[i][k] * h[k] for k in range(r)) + c[i] for i in range(m)])
    return np.array(Y)


def test_make_elman_sequence_shapes_and_params():
    X, Y, params = make_elman_sequence()
    assert X.shape == (10, 5) and Y.shape == (10, 3)
    assert isinstance(params, RNNWeights)
    assert params.W.shape == (4, 4) and params.V.shape == (4, 5) and params.b.shape == (4,)
    assert params.A.shape == (3, 4) and params.c.shape == (3,)
    out = make_elman_sequence(7, 2, 1, 3, return_params=False)
    assert isinstance(out, tuple) and len(out) == 2
    assert out[0].shape == (7, 2) and out[1].shape == (7, 1)  # Y is 2-D even with m = 1


def test_make_elman_sequence_reproducible_and_seed_dependent():
    a = make_elman_sequence(random_state=0)
    b = make_elman_sequence(random_state=0)
    c = make_elman_sequence(random_state=1)
    for u, v in zip(a[:2], b[:2]):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(a[2], b[2]):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a[0], c[0])
    assert not np.allclose(a[1], c[1])
    assert not np.allclose(a[2].W, c[2].W)
    # A RandomState instance is accepted and used.
    d = make_elman_sequence(random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(a[1], d[1])


@pytest.mark.parametrize(
    "args",
    [
        dict(n_steps=10, n_features=5, n_outputs=3, n_hidden=4, weight_std=0.8, noise_std=1e-3),
        dict(n_steps=500, n_features=80, n_outputs=30, n_hidden=100, weight_std=0.05,
             noise_std=1e-5),
    ],
)  # fmt: skip
def test_make_elman_sequence_standardized_columns(args):
    X, Y, _ = make_elman_sequence(**args)
    for Z in (X, Y):
        np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-10)
    # Standardizing is a column-wise affine map of the raw series of the same seed.
    Xr, Yr, _ = make_elman_sequence(**args, standardize=False)
    np.testing.assert_allclose(X, (Xr - Xr.mean(0)) / Xr.std(0), atol=1e-12)
    np.testing.assert_allclose(Y, (Yr - Yr.mean(0)) / Yr.std(0), atol=1e-10)
    assert np.all(np.abs(Xr) <= 1.0)  # raw inputs are U(-1, 1)


@pytest.mark.parametrize(
    "activation, sigma",
    [("relu", lambda u: max(u, 0.0)), ("tanh", math.tanh)],
)
def test_make_elman_sequence_matches_loop_recurrence(activation, sigma):
    X, Y, params = make_elman_sequence(
        12, 3, 2, 5, noise_std=0.0, standardize=False, activation=activation, random_state=7
    )
    np.testing.assert_allclose(Y, _loop_outputs(params, X, sigma), rtol=1e-12, atol=1e-12)


def test_make_elman_sequence_noise_and_weight_moments():
    # noise_mean shifts the noiseless outputs by a constant.
    X, Y, params = make_elman_sequence(
        8, 3, 2, 4, noise_mean=0.5, noise_std=0.0, standardize=False, random_state=3
    )
    np.testing.assert_allclose(Y, _loop_outputs(params, X, lambda u: max(u, 0.0)) + 0.5)
    # With noise, the residual of the true network has about the requested spread.
    X, Y, params = make_elman_sequence(
        2000, 3, 2, 4, weight_std=0.2, noise_std=0.1, standardize=False, random_state=3
    )
    assert np.abs(Y).max() < 10  # a stable true network at this weight scale
    resid = Y - _loop_outputs(params, X, lambda u: max(u, 0.0))
    assert abs(resid.std() - 0.1) < 0.01 and abs(resid.mean()) < 0.01
    # weight_mean / weight_std drive the true parameters (returned unstandardized).
    _, _, params = make_elman_sequence(weight_mean=2.5, weight_std=0.0)
    for p in params:
        np.testing.assert_array_equal(p, 2.5)


def test_make_elman_sequence_diverging_network_raises():
    with pytest.raises(ValueError, match="weight_std"):
        # All-ones W of size 4 has spectral radius 4: h_t grows like 4^t and overflows.
        make_elman_sequence(2000, 3, 2, 4, weight_mean=1.0, weight_std=0.0)


def test_make_elman_sequence_constant_columns_are_guarded():
    X, Y, _ = make_elman_sequence(n_steps=1)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(Y))
    np.testing.assert_array_equal(Y, 0.0)
    # weight_std = noise_std = 0: every output equals c at each step, a constant column.
    X, Y, _ = make_elman_sequence(weight_std=0.0, noise_std=0.0)
    assert np.all(np.isfinite(Y))
    np.testing.assert_array_equal(Y, 0.0)
    np.testing.assert_allclose(X.std(axis=0), 1.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_steps=0), "n_steps"),
        (dict(n_steps=2.5), "n_steps"),
        (dict(n_steps=True), "n_steps"),
        (dict(n_features=0), "n_features"),
        (dict(n_outputs=-1), "n_outputs"),
        (dict(n_hidden="4"), "n_hidden"),
        (dict(weight_mean=float("nan")), "weight_mean"),
        (dict(weight_std=-0.1), "weight_std"),
        (dict(noise_mean=float("inf")), "noise_mean"),
        (dict(noise_std=-1e-3), "noise_std"),
        (dict(activation="sigmoid"), "activation"),
        (dict(standardize="yes"), "standardize"),
        (dict(return_params=None), "return_params"),
    ],
)
def test_make_elman_sequence_invalid_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_elman_sequence(**kwargs)
