"""ALM-BCD on rows held in time chunks by dask workers (:mod:`skalm.distributed`,
``ElmanRNNRegressor.fit`` on dask arrays) against the in-memory solver, on a loopback
LocalCluster of two worker processes (the ``distributed`` extra).

The chunked implementations of the sweep, the augmented Lagrangian, the certificate, the
forward pass, the output block and the ridge start are checked one by one against the
in-memory functions (sequences starting on, before and after chunk boundaries, with and
without the skip connection); then whole fits: weights to a relative 1e-8 on T = 200,000,
the same history and stop reason, the same predictions, and nothing of size T sent to the
client during the fit."""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs the 'distributed' extra (dask)")

import dask.array as da  # noqa: E402
from dask.sizeof import sizeof  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm import distributed as sd  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.model import Lambdas, SequenceLayout, forward, init_weights  # noqa: E402
from skalm.model import linear_path_start  # noqa: E402
from skalm.solvers.alm_bcd import (  # noqa: E402
    ALMPoint, augmented_lagrangian, bcd_sweep, certificate, feasibility)
from skalm.solvers.base import Problem  # noqa: E402
from skalm.solvers.blocks import output_block  # noqa: E402

T, R, N, M = 3000, 4, 3, 2
BOUNDS = [(0, 1000), (1000, 2001), (2001, 3000)]
STARTS = [0, 1000, 1999, 2002, 2999]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        protocol="tcp://", dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as c:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield c


def case(skip, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, N))
    Y = rng.standard_normal((T, M))
    layout = SequenceLayout.from_starts(T, STARTS)
    lam = Lambdas.from_alpha(1.0, R, N, M, l6=1e-4)
    w0 = init_weights(R, N, M, scale=0.4, random_state=0, skip_connection=skip)
    U, H = forward(w0, X, get_activation("relu"), layout)
    Xi, Zeta = np.zeros((T, R)), np.zeros((T, R))
    H = H + 0.3 * rng.standard_normal(H.shape)  # not feasible: the multipliers move
    return Problem(X, Y, lam, layout), ALMPoint(w0, H, U), Xi, Zeta


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def on_workers(cp, *arrays):
    """The arrays as ChunkedArrays on cp's chunks (scattered by the test, not the code)."""
    return [cp.array([cp.client.scatter(A[a:b], workers=[w], hash=False)
                      for (a, b), w in zip(cp.bounds, cp.workers)], A.shape[1])
            for A in arrays]


@pytest.mark.parametrize("name, skip", [("relu", False), ("relu", True), ("tanh", False)])
def test_chunked_functions_equal_in_memory_ones(client, name, skip):
    act = get_activation(name)
    prob, s, Xi, Zeta = case(skip)
    cp = sd.ChunkedProblem.scatter(client, prob.X, prob.Y, prob.lambdas, BOUNDS, prob.layout)
    assert len(set(cp.workers)) == 2  # the chunks really are spread over both processes
    H, U, Xi_d, Zeta_d = on_workers(cp, s.H, s.U, Xi, Zeta)
    sd_ = ALMPoint(s.weights, H, U)
    gamma, mu = 1.5, 1e-4
    assert augmented_lagrangian(cp, sd_, Xi_d, Zeta_d, gamma, act) == pytest.approx(
        augmented_lagrangian(prob, s, Xi, Zeta, gamma, act), rel=1e-12)
    for it in range(3):
        U_prev, U_prev_d = s.U, sd_.U
        s, (C1, C2) = bcd_sweep(prob, s, Xi, Zeta, gamma, mu, act)
        sd_, (C1_d, C2_d) = bcd_sweep(cp, sd_, Xi_d, Zeta_d, gamma, mu, act)
        for x, y in zip(sd_.weights, s.weights):
            if y is not None:
                assert rel(x, y) <= 1e-10, it
        for x, y in ((sd_.H, s.H), (sd_.U, s.U), (C1_d, C1), (C2_d, C2)):
            assert rel(x.gather(), y) <= 1e-10, it
        L = augmented_lagrangian(prob, s, Xi, Zeta, gamma, act, (C1, C2))
        assert augmented_lagrangian(cp, sd_, Xi_d, Zeta_d, gamma, act, (C1_d, C2_d)) == \
            pytest.approx(L, rel=1e-10)
        assert augmented_lagrangian(cp, sd_, Xi_d, Zeta_d, gamma, act) == pytest.approx(
            augmented_lagrangian(prob, s, Xi, Zeta, gamma, act), rel=1e-10)
        assert feasibility(C1_d, C2_d) == pytest.approx(feasibility(C1, C2), rel=1e-10)
        ref = certificate(prob, s, U_prev, Xi, Zeta, gamma, mu, act, (C1, C2))
        assert certificate(cp, sd_, U_prev_d, Xi_d, Zeta_d, gamma, mu, act,
                           (C1_d, C2_d)) == pytest.approx(ref, rel=1e-10)
        assert certificate(cp, sd_, U_prev_d, Xi_d, Zeta_d, gamma, mu, act) == \
            pytest.approx(certificate(prob, s, U_prev, Xi, Zeta, gamma, mu, act), rel=1e-10)
        loss, R_, h_last, U_f, H_f = cp.evaluate(sd_.weights, act)
        ref = prob.evaluate(sd_.weights, act)  # the forward pass over all rows in one piece
        assert loss == pytest.approx(ref[0], rel=1e-10) and R_ == pytest.approx(ref[1], rel=1e-10)
        assert rel(h_last, ref[2]) <= 1e-12
        assert rel(U_f.gather(), ref[3]) <= 1e-12 and rel(H_f.gather(), ref[4]) <= 1e-12
        assert cp.training_loss(sd_.weights, sd_.H) == pytest.approx(
            prob.training_loss(s.weights, s.H), rel=1e-10)
        for x, y in zip(output_block(cp, sd_.H, skip), output_block(prob, s.H, skip)):
            assert (x is None and y is None) or rel(x, y) <= 1e-10
        # The ALM loop's own arithmetic on the arrays (multipliers, norms).
        Xi, Zeta = Xi + gamma * C1, Zeta + gamma * C2
        Xi_d, Zeta_d = Xi_d + gamma * C1_d, Zeta_d + np.float64(gamma) * C2_d
        assert rel(Xi_d.gather(), Xi) <= 1e-10 and rel(Zeta_d.gather(), Zeta) <= 1e-10
        assert np.linalg.norm(Xi_d) == pytest.approx(np.linalg.norm(Xi), rel=1e-12)
        assert np.all(np.isfinite(Xi_d)) and not np.all(np.isfinite(Xi_d * np.inf))
        gamma *= 1.3
    assert np.abs(Xi).max() > 1e-2  # the multipliers did change the later sweeps
    for parts in (sd_.H.parts, sd_.U.parts, Xi_d.parts):  # every chunk stayed where it was
        owners = client.who_has(parts)
        assert [owners[f.key] for f in parts] == [(w,) for w in cp.workers]
    D, c = sd.linear_path_start(cp)
    D0, c0 = linear_path_start(prob.X, prob.Y, prob.lambdas)
    assert rel(D, D0) <= 1e-10 and rel(c, c0) <= 1e-10


def test_chunked_array_stays_on_the_workers(client):
    cp = sd.ChunkedProblem.scatter(client, np.ones((10, 1)), np.ones((10, 1)),
                                   Lambdas.from_alpha(1.0, 1, 1, 1), [(0, 5), (5, 10)])
    with pytest.raises(TypeError, match="gather"):
        np.asarray(cp.Y)
    with pytest.raises(TypeError):
        np.linalg.norm(cp.Y, axis=0)


# -- whole fits ---------------------------------------------------------------------------
T_BIG = 200_000
FIT = dict(n_hidden=3, max_iter=3, max_inner_iter=4, random_state=0)


def series(T, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, 2))
    y = np.sin(0.05 * np.cumsum(X[:, 0])) + 0.1 * rng.standard_normal(T)
    return X, y


def fit_recording_warnings(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X, y)
    return est, [str(w.message) for w in caught if w.category is ConvergenceWarning]


@pytest.fixture
def gathered(monkeypatch):
    """The size in bytes of everything the client receives from the cluster."""
    sizes = []
    original = distributed.Client._gather

    async def spy(self, futures, *args, **kwargs):
        out = await original(self, futures, *args, **kwargs)
        sizes.append(sizeof(out))
        return out

    monkeypatch.setattr(distributed.Client, "_gather", spy)
    return sizes


def test_fit_on_dask_arrays_equals_in_memory_fit(client, gathered, monkeypatch):
    X, y = series(T_BIG)
    ref, ref_warn = fit_recording_warnings(ElmanRNNRegressor(**FIT), X, y)
    chunks = T_BIG // 4
    Xd, yd = da.from_array(X, chunks=(chunks, 2)), da.from_array(y, chunks=chunks)
    problems = []
    build = sd.ChunkedProblem.from_dask.__func__

    def spy(cls, *args, **kwargs):
        problems.append(build(cls, *args, **kwargs))
        return problems[-1]

    monkeypatch.setattr(sd.ChunkedProblem, "from_dask", classmethod(spy))
    gathered.clear()
    est, est_warn = fit_recording_warnings(ElmanRNNRegressor(**FIT), Xd, yd)
    (problem,) = problems
    assert problem.bounds == [(i * chunks, (i + 1) * chunks) for i in range(4)]
    assert len(set(problem.workers)) == 2  # the fit ran on both worker processes
    # Nothing of size T came back during the fit: one chunk's h alone is chunks * 3 * 8 bytes.
    assert gathered and max(gathered) < 5_000 < chunks * 3 * 8
    assert est_warn == ref_warn and len(ref_warn) == 1  # the same stop reason (max_iter)
    assert est.n_iter_ == ref.n_iter_ == 3
    assert list(est.history_) == list(ref.history_)
    for key, values in ref.history_.items():
        assert len(est.history_[key]) == len(values)
        if key != "time":
            np.testing.assert_allclose(est.history_[key], values, rtol=1e-8, atol=1e-12)
    for a, b in zip(est.weights_, ref.weights_):
        if b is not None:
            assert float(np.max(np.abs(a - b)) / np.max(np.abs(b))) <= 1e-8
    assert est.forward_check_["kept"] == ref.forward_check_["kept"] == "solver"
    np.testing.assert_allclose(est.hidden_state_, ref.hidden_state_, rtol=1e-8, atol=1e-12)
    expected = ref.predict(X, initial_state="zeros")
    np.testing.assert_allclose(est.predict(X, initial_state="zeros"), expected, rtol=1e-7,
                               atol=1e-10)
    pred = est.predict(Xd, initial_state="zeros")
    assert isinstance(pred, da.Array) and pred.chunks == yd.chunks
    np.testing.assert_allclose(pred.compute(), expected, rtol=1e-7, atol=1e-10)
    # The next rows continue from the end of the training rows, as with numpy input.
    X2, _ = series(500, seed=1)
    np.testing.assert_allclose(est.predict(X2, initial_state="continue"),
                               ref.predict(X2, initial_state="continue"), rtol=1e-7, atol=1e-10)


def test_fit_on_dask_with_skip_and_sequences_equals_in_memory_fit(client):
    X, y = series(6000, seed=2)
    sid = np.repeat([0, 1, 2], [2500, 1700, 1800])
    kw = dict(FIT, skip_connection=True, activation="relu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = ElmanRNNRegressor(**kw).fit(X, y, sequence_id=sid)
        est = ElmanRNNRegressor(**kw).fit(da.from_array(X, chunks=(1000, 2)),
                                          da.from_array(y, chunks=1000), sequence_id=sid)
    for a, b in zip(est.weights_, ref.weights_):
        assert float(np.max(np.abs(a - b)) / np.max(np.abs(b))) <= 1e-8
    np.testing.assert_allclose(est.history_["objective"], ref.history_["objective"], rtol=1e-8)


def test_dask_input_errors(client, monkeypatch):
    X, y = series(400)
    Xd, yd = da.from_array(X, chunks=(100, 2)), da.from_array(y, chunks=100)
    with pytest.raises(ValueError, match="solver='lbfgs'"):
        ElmanRNNRegressor(solver="lbfgs").fit(Xd, yd)
    with pytest.raises(ValueError, match="early_stopping"):
        ElmanRNNRegressor(early_stopping=True).fit(Xd, yd)
    with pytest.raises(ValueError, match="max_iter=0"):
        ElmanRNNRegressor(max_iter=0).fit(Xd, yd)
    with pytest.raises(ValueError, match="inconsistent numbers of rows"):
        ElmanRNNRegressor().fit(Xd, yd[:-1])
    bad = X.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ElmanRNNRegressor().fit(da.from_array(bad, chunks=(100, 2)), yd)
    est = ElmanRNNRegressor(n_hidden=2, max_iter=2, max_inner_iter=2)
    with pytest.raises(ValueError, match="expecting 2 features"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y).predict(da.from_array(X[:, :1], chunks=(100, 1)))

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(ValueError, match="no dask.distributed Client"):
        ElmanRNNRegressor().fit(Xd, yd)


def test_fit_on_dask_dataframe_equals_fit_on_pandas(client):
    """A dask DataFrame X and Series y (dask-ml's other input) fit as the dask arrays of their
    values, one block per partition: the in-memory fit on the pandas frames to a relative
    1e-8, its column names as feature_names_in_, and predict takes the frame."""
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe", reason="needs the 'distributed' extra's "
                             "dask[dataframe]")
    X, y = series(3000, seed=3)
    df, ys = pd.DataFrame(X, columns=["speed", "load"]), pd.Series(y, name="y")
    ddf, dys = dd.from_pandas(df, npartitions=3), dd.from_pandas(ys, npartitions=3)
    ref, ref_warn = fit_recording_warnings(ElmanRNNRegressor(**FIT), df, ys)
    est, est_warn = fit_recording_warnings(ElmanRNNRegressor(**FIT), ddf, dys)
    assert est_warn == ref_warn and est.n_iter_ == ref.n_iter_
    for a, b in zip(est.weights_, ref.weights_):
        if b is not None:
            assert float(np.max(np.abs(a - b)) / np.max(np.abs(b))) <= 1e-8
    assert list(est.feature_names_in_) == list(ref.feature_names_in_) == ["speed", "load"]
    pred = est.predict(ddf, initial_state="zeros")
    assert isinstance(pred, da.Array) and pred.chunks == (tuple(len(p) for p in
                                                                 np.array_split(y, 3)),)
    np.testing.assert_allclose(pred.compute(), ref.predict(df, initial_state="zeros"),
                               rtol=1e-7, atol=1e-10)
    # the frame's column names are checked as for a pandas frame
    with pytest.raises(ValueError, match="feature names"):
        est.predict(ddf.rename(columns={"load": "torque"}))
    text = dd.from_pandas(df.assign(load=df["load"].astype(str)), npartitions=3)
    with pytest.raises(ValueError, match="X must hold numbers"):
        ElmanRNNRegressor(**FIT).fit(text, dys)


def test_bytes_per_sweep_do_not_grow_with_T():
    small = sd.bytes_per_sweep(100, 10, 1, n_chunks=4)
    assert small == sd.bytes_per_sweep(100, 10, 1, n_chunks=4)
    p = 111
    grams = 4 * (p * p + p * 100 + 101 * 101 + 101)
    assert small == 8 * (grams + 4 * (100 * 100 + 1000 + 100 + 100 + 1 + 2 * 100 * 100)
                         + 3 * 3 * 100)
