"""Loaders and generators of the paper's data sets (Wang, Zhang & Chen 2024, section 5)."""

from __future__ import annotations

import csv
import numbers
from importlib import resources

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..activations import get_activation
from ..model import RNNWeights, forward

__all__ = ["load_sp500_volatility", "make_elman_sequence"]

_PACKAGE = "skalm.datasets"
_SP500_CSV = "clean_SP500.csv"
_SP500_DESCR = "clean_SP500.rst"
_SP500_FEATURES = ("DP", "EP", "MKT", "HML", "SMB", "STR", "TB", "TS", "DEF", "INF", "IP")
_SP500_TARGET = "RV_SP500"
_SP500_N_ROWS = 437
_SP500_N_TRAIN = 393


def _data_file(name):
    """A Traversable for ``skalm/datasets/data/<name>`` (works from an installed wheel too)."""
    return resources.files(_PACKAGE).joinpath("data", name)


def _read_sp500():
    """Parse the shipped CSV into (X, y) with the csv module (no pandas)."""
    with _data_file(_SP500_CSV).open("r", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [row for row in reader if row]
    # The first (unnamed) column is the row number 0..436.
    columns = header[1:]
    expected = list(_SP500_FEATURES) + [_SP500_TARGET]
    if columns != expected:  # pragma: no cover - guards against a corrupted install
        raise RuntimeError(f"{_SP500_CSV} has columns {columns}, expected {expected}.")
    values = np.array([[float(v) for v in row[1:]] for row in rows], dtype=np.float64)
    if values.shape != (_SP500_N_ROWS, len(expected)):  # pragma: no cover
        raise RuntimeError(f"{_SP500_CSV} has shape {values.shape}, expected (437, 12).")
    X = np.ascontiguousarray(values[:, : len(_SP500_FEATURES)])
    y = np.ascontiguousarray(values[:, expected.index(_SP500_TARGET)])
    return X, y


def _import_pandas():
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "as_frame=True requires pandas, which is not installed (it is not a dependency "
            "of skalm). Install it with `pip install pandas` or use as_frame=False."
        ) from exc
    return pd


def load_sp500_volatility(*, return_X_y=False, as_frame=False):
    """Load the S&P 500 realized-volatility data set of the paper (regression, time series).

    437 monthly observations (February 1973 - June 2009) in time order: 11 exogenous inputs
    (DP, EP, MKT, HML, SMB, STR, TB, TS, DEF, INF, IP) and the target RV_SP500. Every column is
    already z-scored over all 437 rows, as the authors shipped it.

    The paper's protocol uses the first ``n_train = 393`` rows for training and the last 44
    for testing, with r = 20 hidden units; the test error is computed by running the
    recurrence on from the end of the training rows.

    Source: the authors' reference repository (GitHub ``YueWANG25/ALMBCD_RNN``, file
    ``ALMRNN/clean_SP500.csv``, commit 8d2560b, MIT badge). Unlike the reference code's
    ``split_dataset``, which takes y from the first column (DP, also an input), the target
    returned here is RV_SP500. See ``DESCR`` for details.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a pandas Series and ``frame`` a
        DataFrame with both. Requires pandas (imported only then).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (437, 11) or DataFrame
            The inputs, float64, rows in time order.
        target : ndarray of shape (437,) or Series
            RV_SP500.
        feature_names : list of str
            ``["DP", "EP", "MKT", "HML", "SMB", "STR", "TB", "TS", "DEF", "INF", "IP"]``.
        target_names : list of str
            ``["RV_SP500"]``.
        frame : DataFrame of shape (437, 12) or None
            Inputs and target together; only when ``as_frame=True``.
        n_train : int
            393, the number of leading rows the paper trains on.
        DESCR : str
            Full description of the data set and its source.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` of shape (437, 11) and ``target`` of shape (437,).

    See Also
    --------
    make_elman_sequence : The paper's synthetic data.

    Examples
    --------
    >>> from skalm.datasets import load_sp500_volatility
    >>> ds = load_sp500_volatility()
    >>> ds.data.shape, ds.target.shape, ds.n_train
    ((437, 11), (437,), 393)
    >>> X_train, y_train = ds.data[: ds.n_train], ds.target[: ds.n_train]
    >>> X_test, y_test = ds.data[ds.n_train :], ds.target[ds.n_train :]
    >>> X_test.shape
    (44, 11)
    """
    X, y = _read_sp500()
    feature_names = list(_SP500_FEATURES)
    target_names = [_SP500_TARGET]
    frame = None
    if as_frame:
        pd = _import_pandas()
        data = pd.DataFrame(X, columns=feature_names)
        target = pd.Series(y, name=_SP500_TARGET)
        frame = pd.concat([data, target], axis=1)
        X, y = data, target
    if return_X_y:
        return X, y
    descr = _data_file(_SP500_DESCR).read_text(encoding="utf-8")
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        n_train=_SP500_N_TRAIN,
        DESCR=descr,
    )


def _check_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_real(value, name, nonnegative=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        kind = "a finite number >= 0" if nonnegative else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def _zscore(a):
    """Column-wise z-score with the population std (ddof=0); constant columns are centred only."""
    mean = a.mean(axis=0)
    std = a.std(axis=0)
    std = np.where(std < 10 * np.finfo(a.dtype).eps, 1.0, std)
    return (a - mean) / std


def make_elman_sequence(
    n_steps=10,
    n_features=5,
    n_outputs=3,
    n_hidden=4,
    *,
    weight_mean=0.0,
    weight_std=0.8,
    noise_mean=0.0,
    noise_std=1e-3,
    activation="relu",
    standardize=True,
    random_state=123456,
    return_params=True,
):
    """Generate a sequence from a random "true" Elman RNN (the paper's synthetic data).

    The generator of the paper's section 5.1 (Table 1) and of the reference package's
    ``gen_synthetic``:

    1. true weights ``A (m, r)``, ``W (r, r)``, ``V (r, n)``, ``b (r,)``, ``c (m,)``, every
       entry drawn i.i.d. from N(``weight_mean``, ``weight_std``\\ :sup:`2`), in that order;
    2. inputs ``x_t ~ U(-1, 1)`` i.i.d., shape ``(n_steps, n_features)``;
    3. the true recurrence ``h_t = sigma(W h_{t-1} + V x_t + b)`` with ``h_0 = 0`` and
       outputs ``y_t = A h_t + c + e_t``, ``e_t ~ N(noise_mean, noise_std``\\ :sup:`2`) i.i.d.;
    4. if ``standardize``, every column of X and of Y is z-scored over the whole series (mean
       0, population standard deviation 1, ddof=0); a constant column is only centred.

    With an integer ``random_state`` the draws are the same stream, in the same order, as
    the reference ``gen_synthetic`` with ``seed=random_state`` (so the true weights, inputs
    and unstandardized outputs coincide for ReLU). Unlike it, this function also
    standardizes X, returns the arrays instead of writing files, and does not touch the
    global random state.

    Parameters
    ----------
    n_steps : int, default=10
        Length T of the sequence (rows of X and Y).
    n_features : int, default=5
        Input dimension n.
    n_outputs : int, default=3
        Output dimension m.
    n_hidden : int, default=4
        Hidden units r of the true network.
    weight_mean : float, default=0.0
        Mean of the true weights and biases.
    weight_std : float, default=0.8
        Standard deviation of the true weights and biases (>= 0).
    noise_mean : float, default=0.0
        Mean of the output noise e_t.
    noise_std : float, default=1e-3
        Standard deviation of the output noise e_t (>= 0; 0 gives noiseless outputs).
    activation : str or Activation, default="relu"
        Activation of the true network, resolved by
        :func:`skalm.activations.get_activation` (``"relu"``, ``"leaky_relu"``, ``"elu"``,
        ``"tanh"``).
    standardize : bool, default=True
        Whether to z-score every column of X and Y over the whole series.
    random_state : int, RandomState instance or None, default=123456
        Seed or generator, resolved with :func:`sklearn.utils.check_random_state`. The
        default is the reference package's seed.
    return_params : bool, default=True
        Whether to also return the true weights.

    Returns
    -------
    X : ndarray of shape (n_steps, n_features)
        Inputs (standardized if ``standardize``).
    Y : ndarray of shape (n_steps, n_outputs)
        Outputs, always 2-D (standardized if ``standardize``).
    params : RNNWeights
        The true weights ``(W, V, b, A, c)`` as drawn, i.e. for the *unstandardized* data.
        Only returned if ``return_params`` is True.

    Raises
    ------
    ValueError
        If an argument is invalid (the message names it), or if the true network diverges
        so that the outputs overflow (large ``weight_std`` over many ``n_steps``).

    See Also
    --------
    load_sp500_volatility : The paper's real data.

    Notes
    -----
    The two configurations of the paper's Table 1 are::

        # T = 10: (n, m, r) = (5, 3, 4), weights N(0, 0.8), noise N(0, 1e-3)  (the defaults)
        X, Y, params = make_elman_sequence(10, 5, 3, 4, weight_std=0.8, noise_std=1e-3)

        # T = 500: (n, m, r) = (80, 30, 100), weights N(0, 0.05), noise N(0, 1e-5)
        X, Y, params = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5)

    The paper then splits each series about 9:1 in time order (train first).

    Examples
    --------
    >>> from skalm.datasets import make_elman_sequence
    >>> X, Y, params = make_elman_sequence()
    >>> X.shape, Y.shape, params.W.shape, params.V.shape, params.A.shape
    ((10, 5), (10, 3), (4, 4), (4, 5), (3, 4))
    >>> X, Y = make_elman_sequence(
    ...     500, 80, 30, 100, weight_std=0.05, noise_std=1e-5, return_params=False
    ... )
    >>> X.shape, Y.shape
    ((500, 80), (500, 30))
    """
    T = _check_int(n_steps, "n_steps")
    n = _check_int(n_features, "n_features")
    m = _check_int(n_outputs, "n_outputs")
    r = _check_int(n_hidden, "n_hidden")
    w_mean = _check_real(weight_mean, "weight_mean")
    w_std = _check_real(weight_std, "weight_std", nonnegative=True)
    e_mean = _check_real(noise_mean, "noise_mean")
    e_std = _check_real(noise_std, "noise_std", nonnegative=True)
    if not isinstance(standardize, (bool, np.bool_)):
        raise ValueError(f"standardize must be a bool, got {standardize!r}.")
    if not isinstance(return_params, (bool, np.bool_)):
        raise ValueError(f"return_params must be a bool, got {return_params!r}.")
    sigma = get_activation(activation)
    rng = check_random_state(random_state)

    # Same draw order as the reference gen_synthetic: A, W, V, b, c, then x, then e.
    A = rng.normal(w_mean, w_std, size=(m, r))
    W = rng.normal(w_mean, w_std, size=(r, r))
    V = rng.normal(w_mean, w_std, size=(r, n))
    b = rng.normal(w_mean, w_std, size=r)
    c = rng.normal(w_mean, w_std, size=m)
    X = rng.uniform(-1.0, 1.0, size=(T, n))
    params = RNNWeights(W, V, b, A, c)

    _, H = forward(params, X, sigma)
    with np.errstate(over="ignore", invalid="ignore"):
        Y = H @ A.T + c + rng.normal(e_mean, e_std, size=(T, m))
    if not np.all(np.isfinite(Y)):
        raise ValueError(
            f"The true network diverged: outputs overflowed within n_steps={T} steps. "
            f"Use a smaller weight_std (got {w_std}) or |weight_mean| (got {w_mean}), or fewer "
            "n_steps."
        )

    if standardize:
        X = _zscore(X)
        Y = _zscore(Y)
    if return_params:
        return X, Y, params
    return X, Y
