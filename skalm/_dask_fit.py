"""``ElmanRNNRegressor.fit`` and ``predict`` on dask arrays: one fit on a dask cluster.

``fit(X, y)`` with dask arrays chunked over rows (time; dask-ml's convention) runs ALM-BCD on
the ``dask.distributed`` client in use (``distributed.get_client()``): each block of rows
becomes one chunk of a :class:`~skalm.distributed.ChunkedProblem` on the worker that holds
it, and :class:`~skalm.solvers.alm_bcd.ALMBCDSolver`'s own loop runs on it. The client holds
the weights and a few numbers per chunk; x, y, h, u and the multipliers stay on the workers.

Without a client the fit raises a ValueError rather than computing the arrays into this
process: a dask array is usually one because it does not fit here, and ``X.compute()`` is
one call away when it does. Only ``solver="alm-bcd"`` runs on chunks (the gradient solvers'
passes are sequential in time), without ``early_stopping``.

``predict`` on a dask array returns a dask array: a chain of one task per block, each
running the recurrence over its rows from the last hidden state of the block before.

A dask DataFrame (X) or Series (y) is taken as the dask array of its values, one block per
partition (their lengths computed: one pass over the data), and a DataFrame's string column
names become ``feature_names_in_``, as with a pandas DataFrame.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import DTYPES, check_magnitude, check_sequence_id
from ._setup import initial_weights, make_activation, make_lambdas, make_solver
from ._setup import _warm, store_fit, warn_unused_settings
from ._state import TrainingRows, initial_hidden_state, warn_reused_labels
from .model import DELAY_LINES, forward, predict_outputs
from .safety import check_forward_pass
from .solvers.alm_bcd import ALMBCDSolver

__all__ = ["is_dask", "fit", "predict"]


def is_dask(*arrays):
    """True when any of ``arrays`` is a dask collection (without importing dask when it was
    not imported: then none can be)."""
    if "dask" not in sys.modules:
        return False
    from dask.base import is_dask_collection

    return any(is_dask_collection(a) for a in arrays)


def _client():
    try:
        from distributed import get_client
    except ImportError as exc:  # pragma: no cover - dask without distributed
        raise ValueError(
            "X is a dask array: a fit on dask arrays runs on a dask.distributed cluster; "
            "install the 'distributed' extra (pip install 'skalm[distributed]')."
        ) from exc
    try:
        return get_client()
    except ValueError as exc:
        raise ValueError(
            "X is a dask array but no dask.distributed Client is running: a fit on dask "
            "arrays runs its sweeps on the cluster's workers. Start one (distributed.Client"
            "(...)) or pass X.compute(), y.compute() to fit in this process."
        ) from exc


def _is_dask_frame(a):
    """A dask DataFrame or Series (without importing dask.dataframe when it was not)."""
    if "dask.dataframe" not in sys.modules:
        return False
    import dask.dataframe as dd

    return isinstance(a, (dd.DataFrame, dd.Series))


def _feature_names(X):
    """A dask DataFrame's column names when they are all strings (sklearn's rule), else None."""
    if not _is_dask_frame(X) or X.ndim != 2:
        return None
    names = np.asarray(X.columns, dtype=object)
    return names if all(isinstance(c, str) for c in names) else None


def _as_dask(name, a):
    import dask.array as da

    if _is_dask_frame(a):
        if any(dtype.kind not in "biuf" for dtype in np.atleast_1d(a.dtypes)):
            raise ValueError(f"{name} must hold numbers, got a dask "
                             f"{type(a).__name__} with dtypes {list(np.atleast_1d(a.dtypes))}.")
        a = a.to_dask_array(lengths=True)  # one block per partition
    a = a if is_dask(a) else da.from_array(np.asarray(a))
    if any(np.isnan(c) for axis in a.chunks for c in axis):
        raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes().")
    return a


def _check_data(X, y):
    """X (T, n) and Y (T, m) as float dask arrays, after the checks of ``check_array``:
    2-D X, equal numbers of rows, finite entries of a size the objective can square. One
    pass over the data on the workers."""
    import dask

    X, y = _as_dask("X", X), _as_dask("y", y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}.")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have inconsistent numbers of rows: X has {X.shape[0]}, "
                         f"y has {y.shape[0]}.")
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X needs at least 2 rows and 1 feature, got shape {X.shape}.")
    for name, a in (("X", X), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, got dtype {a.dtype}.")
    dtype = X.dtype if X.dtype in DTYPES else np.dtype(np.float64)
    X, Y = X.astype(dtype), y.astype(dtype).reshape(y.shape[0], -1)
    peaks = dask.compute(abs(X).max(), abs(Y).max())
    for name, peak in zip(("X", "y"), peaks):
        if not np.isfinite(peak):
            raise ValueError(f"Input {name} contains NaN or infinity.")
        check_magnitude(name, np.array([peak]), dtype)
    return X, Y


def _rows_of(sequence_id):
    if sequence_id is None or not is_dask(sequence_id):
        return sequence_id
    return np.asarray(sequence_id.compute())


def _setup(est, n_features, n_outputs, dtype):
    """(solver, lambdas, activation, weights0, rng) of the estimator's settings, as its own
    fit makes them (:mod:`skalm._setup`)."""
    solver = make_solver(est)
    if not isinstance(solver, ALMBCDSolver):
        raise ValueError(
            f"solver={est.solver!r} cannot fit dask arrays X, y: only solver='alm-bcd' runs "
            "its sweeps on the chunks of a dask cluster. Use solver='alm-bcd' or pass "
            "X.compute(), y.compute().")
    if est.max_iter == 0:
        raise ValueError(
            "max_iter=0 (keep the start) cannot fit dask arrays X, y. Pass X.compute(), "
            "y.compute(), or set max_iter >= 1.")
    if est.init in DELAY_LINES and not _warm(est):
        raise ValueError(
            f"init={est.init!r} cannot fit dask arrays X, y: its start is a regression on the "
            "whole sequence. Use another init or pass X.compute(), y.compute().")
    rng = check_random_state(est.random_state)
    lambdas = make_lambdas(est, n_features, n_outputs)
    activation = make_activation(est)
    warn_unused_settings(est, stacklevel=6)
    return solver, lambdas, activation, initial_weights(est, n_features, n_outputs, dtype,
                                                        rng), rng


def fit(estimator, X, y, sequence_id=None):
    """The body of ``ElmanRNNRegressor.fit`` for dask arrays (see the module docstring)."""
    from .distributed import ChunkedProblem, linear_path_start

    client = _client()
    y_1d = getattr(y, "ndim", 2) == 1
    names = _feature_names(X)
    X, Y = _check_data(X, y)
    (T, n), m = X.shape, Y.shape[1]
    sequence_id = _rows_of(sequence_id)
    layout = check_sequence_id(sequence_id, T)
    warn_reused_labels(layout, sequence_id, stacklevel=6)
    if estimator.early_stopping:
        raise ValueError("early_stopping=True is not supported when X is a dask array: the "
                         "validation rows would have to leave the workers.")
    solver, lambdas, activation, weights0, rng = _setup(estimator, n, m, X.dtype)
    problem = ChunkedProblem.from_dask(client, X, Y, lambdas, layout)
    if weights0.D is not None and not _warm(estimator):
        D0, c0 = linear_path_start(problem)
        weights0 = weights0._replace(D=D0, c=c0)
    with np.errstate(all="ignore"):
        loss0 = problem.evaluate(weights0, activation)[0]
    if not np.isfinite(loss0):
        raise ValueError("The forward pass of the initial weights over X, or its squared error "
                         "on y, is not finite. Scale X and y or use a smaller init_scale.")

    result = solver.solve(problem, activation, weights0, random_state=rng)
    result, forward_check = check_forward_pass(result, problem, activation, weights0,
                                               stacklevel=6)
    weights = result.weights.astype(X.dtype)
    with np.errstate(all="ignore"):
        loss, _, h_last, _, _ = problem.evaluate(weights, activation)
    store_fit(
        estimator, result, weights, bool(np.isfinite(loss)), activation=activation,
        lambdas=lambdas, forward_check=forward_check,
        hidden_state=np.asarray(h_last, dtype=X.dtype).copy(), n_outputs=m, y_1d=y_1d,
        # The training rows stay on the workers: "auto" cannot place a later X against
        # them, and continues from hidden_state_ (empty rows place nothing).
        train_rows=TrainingRows(np.empty((0, n), X.dtype),
                                np.empty((0, weights.W.shape[0])), None),
    )
    estimator.n_features_in_ = n
    vars(estimator).pop("feature_names_in_", None)
    if names is not None:
        estimator.feature_names_in_ = names
    return estimator


def _predict_block(X, weights, activation, h0):
    _, H = forward(weights, np.asarray(X), activation, h0=h0)
    return predict_outputs(weights, H, X), H[-1].copy()


def predict(estimator, X, sequence_id=None, initial_state=None, return_state=False):
    """``ElmanRNNRegressor.predict`` on a dask array ``X``: a dask array of predictions
    (and, with ``return_state``, a dask array of the last hidden state), computed by a
    sequential pass over the blocks of rows."""
    import dask
    import dask.array as da

    check_is_fitted(estimator)
    if sequence_id is not None:
        raise ValueError("sequence_id is not supported when X is a dask array; predict each "
                         "sequence on its own.")
    names, fitted_names = _feature_names(X), getattr(estimator, "feature_names_in_", None)
    if (names is not None and fitted_names is not None
            and not np.array_equal(names, fitted_names)):
        raise ValueError(f"The feature names of X, {list(names)}, should match those that "
                         f"were passed during fit, {list(fitted_names)}.")
    X = _as_dask("X", X)
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has shape {X.shape}, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input.")
    rule = estimator.initial_state if initial_state is None else initial_state
    if isinstance(rule, str) and rule == "auto":
        warnings.warn("initial_state='auto' does not place a dask X against the training "
                      "rows: X continues from hidden_state_ (pass 'zeros' for rows that start "
                      "a sequence).", UserWarning, stacklevel=3)
        rule = "continue"
    h0, _ = initial_hidden_state(rule, None, None, estimator._train_rows,
                                 estimator.hidden_state_, estimator.weights_,
                                 estimator.activation_)
    dtype = X.dtype if X.dtype in DTYPES else np.dtype(np.float64)
    weights = estimator.weights_.astype(dtype)
    h = None if h0 is None else np.asarray(h0, dtype=dtype)
    blocks, m = [], estimator.n_outputs_
    for block, rows in zip(X.astype(dtype).rechunk({1: -1}).to_delayed().ravel(), X.chunks[0]):
        if not rows:
            continue
        out = dask.delayed(_predict_block, nout=2, pure=True)(block, weights,
                                                               estimator.activation_, h)
        blocks.append(da.from_delayed(out[0], shape=(rows, m), dtype=dtype))
        h = out[1]
    y_pred = da.concatenate(blocks)
    y_pred = y_pred.ravel() if estimator._y_1d else y_pred
    if not return_state:
        return y_pred
    r = weights.W.shape[0]
    return y_pred, da.from_delayed(h, shape=(r,), dtype=dtype)
