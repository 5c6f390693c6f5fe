"""The time-chunked BCD sweep of :mod:`skalm._parallel` and the numpy-only linear algebra.

* On tiny problems (chunks of 2-4 rows, ``MIN_CHUNK_ROWS`` lowered) the chunked sweep against
  the literal Kronecker sweep of ``kron_reference`` (shares no code with skalm), with sequence
  starts on, just before and just after chunk boundaries.
* On long ones against the one-piece sweep, for every activation, with and without the skip
  connection, in float64 and float32.
* ``bcd_sweep(n_threads=...)`` and a whole ALM-BCD fit with ``blas_threads=2`` give the fit
  of one thread.
* ``spd_solve_np`` against ``scipy.linalg.solve`` and, on a singular matrix, the minimum-norm
  least-squares solution.
* The z-block's Gram sums over row ranges (with and without a halo row, sequence starts at and
  inside the ranges, the skip connection) against the products of the literal design rows.
"""

import numpy as np
import pytest
import scipy.linalg
from threadpoolctl import threadpool_limits

import kron_reference as K
from skalm import _parallel
from skalm.activations import ELU, LeakyReLU, ReLU, Tanh, get_activation
from skalm.linalg import spd_solve_np
from skalm.model import Lambdas, RNNWeights, SequenceLayout, forward, init_weights
from skalm.solvers.alm_bcd import ALMBCDSolver, ALMPoint, bcd_sweep
from skalm.solvers.base import Problem

ACTIVATIONS = {
    "relu": (ReLU, K.LitActivation("relu"), 1e-12),
    "leaky_relu": (lambda: LeakyReLU(slope=0.2), K.LitActivation("leaky_relu", 0.2), 1e-12),
    "elu": (lambda: ELU(alpha=0.6), K.LitActivation("elu", 0.6), 1e-8),
    "tanh": (Tanh, K.LitActivation("tanh"), 1e-8),
}
# T = 11 rows in 3 chunks [0, 4), [4, 7), [7, 11): starts on a boundary (4), one row before
# (6: rows 4-5 a sequence of 2) and one row after (8), and a sequence of one row (7).
TINY_LAYOUTS = {"one_sequence": None, "starts_at_boundaries": [0, 4, 6, 7, 8]}


def _rel(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def tiny_case(seed, starts, T=11, r=3, n=2, m=2):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (T, n))
    Y = rng.standard_normal((T, m))
    lam = Lambdas(*rng.uniform(0.02, 0.3, 5), 1e-3)
    layout = SequenceLayout.from_starts(T, starts)
    weights = RNNWeights(
        0.5 * rng.standard_normal((r, r)), rng.standard_normal((r, n)),
        0.3 * rng.standard_normal(r), rng.standard_normal((m, r)), 0.3 * rng.standard_normal(m),
    )
    H, U, Xi, Zeta = (s * rng.standard_normal((T, r)) for s in (1.0, 1.0, 0.3, 0.3))
    gamma = float(rng.uniform(1.5, 4.0))
    return Problem(X, Y, lam, layout), K.LitProblem(X, Y, lam, layout.first), weights, H, U, \
        Xi, Zeta, gamma


@pytest.mark.parametrize("starts", TINY_LAYOUTS.values(), ids=TINY_LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_chunked_sweep_matches_kronecker_sweep(monkeypatch, name, starts):
    monkeypatch.setattr(_parallel, "MIN_CHUNK_ROWS", 2)
    factory, lit, tol = ACTIVATIONS[name]
    act = factory()
    for seed in range(3):
        prob, lprob, weights, H, U, Xi, Zeta, gamma = tiny_case(seed, starts)
        mu = 1e-3
        assert len(_parallel.chunk_bounds(prob.n_steps, 3)) == 3
        new, (C1, C2) = _parallel.chunked_sweep(prob, ALMPoint(weights, H, U), Xi, Zeta, gamma,
                                                mu, act, 3)
        W, V, b, A, c = weights
        lpt = K.LitPoint(K.pack_w(W, V, b), K.pack_a(A, c), H.ravel().copy(), U.ravel().copy())
        ref = K.sweep(lprob, lpt, Xi.ravel(), Zeta.ravel(), gamma, mu, lit)
        W, V, b, A, c = new.weights
        assert _rel(K.pack_w(W, V, b), ref.w) <= tol
        assert _rel(K.pack_a(A, c), ref.a) <= tol
        assert _rel(new.H, ref.h) <= tol
        assert _rel(new.U, ref.u) <= tol
        lc1, lc2 = K.constraints(lprob, ref, lit)
        assert _rel(C1, lc1) <= tol and _rel(C2, lc2) <= tol


def long_case(name, skip, dtype=np.float64, T=4100, r=6, n=3, m=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n)).astype(dtype)
    Y = rng.standard_normal((T, m)).astype(dtype)
    act = get_activation(name)
    # starts on the boundaries of 2 and 3 chunks, next to them, and a one-row sequence
    starts = [0, 1366, 2050, 2051, 2733, 2735, 4099] if T == 4100 else None
    layout = SequenceLayout.from_starts(T, starts)
    prob = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m), layout)
    w0 = init_weights(r, n, m, "normal", 0.3, random_state=0, skip_connection=skip,
                      dtype=dtype)
    U, H = forward(w0, X, act, layout)
    s = ALMPoint(w0, H + dtype(0.01) * rng.standard_normal(H.shape).astype(dtype), U)
    Xi = (0.1 * rng.standard_normal((T, r))).astype(dtype)
    Zeta = (0.1 * rng.standard_normal((T, r))).astype(dtype)
    return prob, s, Xi, Zeta, act


def _as64(prob, s, Xi, Zeta):
    p64 = Problem(prob.X.astype(np.float64), prob.Y.astype(np.float64), prob.lambdas,
                  prob.layout)
    s64 = ALMPoint(s.weights.astype(np.float64), s.H.astype(np.float64), s.U.astype(np.float64))
    return p64, s64, Xi.astype(np.float64), Zeta.astype(np.float64)


# float64: the chunked sweep equals the one-piece one to rounding. float32: the Gram sums over
# 4100 rows, added in another order, differ by ~1e-6 relative and the ridge solves amplify that;
# both float32 sweeps are compared with the float64 sweep, which each must match to 1e-4 (the
# one-piece float32 sweep is ~3e-5 from it on these cases).
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh"])
def test_chunked_sweep_equals_one_piece_sweep(name, skip, dtype, tol):
    prob, s, Xi, Zeta, act = long_case(name, skip, dtype)
    one, C = bcd_sweep(*_as64(prob, s, Xi, Zeta), 1.3, 1e-5, act)
    candidates = [_parallel.chunked_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act, k)
                  for k in (2, 3, 4)]
    if dtype != np.float64:
        candidates.append(bcd_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act))
    for new, Cn in candidates:
        assert new.H.dtype == new.U.dtype == dtype
        for x, y in zip(new.weights, one.weights):
            assert x.dtype == dtype and _rel(x, y) <= tol
        for x, y in zip((new.H, new.U, *Cn), (one.H, one.U, *C)):
            assert _rel(x, y) <= tol


def test_bcd_sweep_dispatch_and_thread_count(monkeypatch):
    monkeypatch.setattr(_parallel, "MIN_CHUNK_ROW_WORK", 0)  # chunks for this narrow network
    prob, s, Xi, Zeta, act = long_case("relu", False)
    one, _ = bcd_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act)
    two, _ = bcd_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act, n_threads=2)
    chunked, _ = _parallel.chunked_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act, 2)
    # n_threads=2 runs the chunked sweep (identical arrays), which differs from one piece
    # only by rounding.
    np.testing.assert_array_equal(two.H, chunked.H)
    assert _rel(two.H, one.H) <= 1e-12
    assert _parallel.chunk_bounds(10, 3) == [(0, 3), (3, 7), (7, 10)]


def test_sweep_chunks(monkeypatch):
    """One chunk per allowed thread, each of at least MIN_CHUNK_ROWS rows; one piece below
    two such chunks, with one thread, or for a network too narrow to pay for chunks."""
    monkeypatch.setattr(_parallel, "resolve_threads", lambda n: 4 if n is None else n)
    k = _parallel.MIN_CHUNK_ROWS
    assert _parallel.sweep_chunks(100 * k, 1) == 1
    assert _parallel.sweep_chunks(2 * k - 1, None) == 1
    assert _parallel.sweep_chunks(2 * k, None) == 2
    assert _parallel.sweep_chunks(3 * k + 5, None) == 3
    assert _parallel.sweep_chunks(100 * k, None) == 4
    assert _parallel.sweep_chunks(100 * k, 2) == 2
    # A network narrower than MIN_CHUNK_ROW_WORK multiply-adds per row: one piece.
    w = _parallel.MIN_CHUNK_ROW_WORK
    assert _parallel.sweep_chunks(100 * k, None, 50, 20) == (4 if 50 * 71 >= w else 1)
    assert _parallel.sweep_chunks(100 * k, None, 20, 11) == (4 if 20 * 32 >= w else 1)
    r = next(r for r in range(1, 1000) if r * (r + 1) >= w)  # the narrowest with n = 0
    assert _parallel.sweep_chunks(100 * k, None, r, 0) == 4
    assert _parallel.sweep_chunks(100 * k, None, r - 1, 0) == 1


def test_resolve_threads(monkeypatch):
    import os

    cpus = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert _parallel.resolve_threads(None) == cpus
    with threadpool_limits(1):  # a BLAS limit in effect does not count (ALM-BCD pins BLAS)
        assert _parallel.resolve_threads(None) == cpus
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert _parallel.resolve_threads(None) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1,1")
    assert _parallel.resolve_threads(None) == 1
    assert _parallel.resolve_threads(10**6) == cpus
    assert _parallel.resolve_threads(1) == 1


@pytest.mark.filterwarnings("ignore:alm-bcd reached max_iter")
def test_alm_fit_with_two_threads_equals_one_thread(monkeypatch):
    # Chunks of 1250 rows for this narrow network: the thresholds lowered.
    monkeypatch.setattr(_parallel, "MIN_CHUNK_ROWS", 1000)
    monkeypatch.setattr(_parallel, "MIN_CHUNK_ROW_WORK", 0)
    calls = []
    chunked = _parallel.chunked_sweep
    monkeypatch.setattr(_parallel, "chunked_sweep", lambda *a: calls.append(a[-1]) or chunked(*a))
    rng = np.random.RandomState(3)
    T, r, n, m = 2500, 5, 3, 1
    X = rng.standard_normal((T, n))
    Y = np.sin(np.cumsum(X[:, :1], axis=0) / 10) + 0.1 * rng.standard_normal((T, m))
    prob = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m))
    w0 = init_weights(r, n, m, random_state=0)
    act = get_activation("relu")
    runs = [ALMBCDSolver(max_iter=3, max_inner_iter=4, blas_threads=k).solve(prob, act, w0)
            for k in (1, 2)]
    for x, y in zip(runs[0].weights, runs[1].weights):
        np.testing.assert_allclose(y, x, rtol=1e-8, atol=1e-10)
    assert calls and set(calls) == {2}  # blas_threads=2 swept in two chunks


@pytest.mark.parametrize("numba", [False, True], ids=["numpy", "compiled"])
@pytest.mark.parametrize("p, k", [(8, 3), (33, 5), (65, 1), (101, 30), (181, 100)])
def test_spd_solve_np_by_blocks(monkeypatch, numba, p, k):
    """The block substitution (one to four diagonal blocks, inverted by LAPACK or by the
    compiled loop) against scipy's Cholesky solve; spd_inverse_factor against L^{-1} L = I."""
    from skalm import _kernels
    from skalm.linalg import spd_inverse_factor

    if numba and not _kernels.numba_available():
        pytest.skip("needs the 'fast' extra (numba)")
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "0" if numba else "1")
    rng = np.random.RandomState(p)
    M = rng.standard_normal((p + 20, p))
    G = M.T @ M + 0.5 * np.eye(p)
    B = rng.standard_normal((p, k))
    np.testing.assert_allclose(spd_solve_np(G, B), scipy.linalg.solve(G, B, assume_a="pos"),
                               rtol=1e-10, atol=1e-12)
    L = np.linalg.cholesky(G)
    np.testing.assert_allclose(spd_inverse_factor(G) @ L, np.eye(p), atol=1e-12)


def test_spd_solve_np_definite_and_singular():
    rng = np.random.RandomState(0)
    M = rng.standard_normal((30, 8))
    G = M.T @ M + 0.1 * np.eye(8)
    B = rng.standard_normal((8, 3))
    np.testing.assert_allclose(spd_solve_np(G, B), scipy.linalg.solve(G, B, assume_a="pos"),
                               rtol=1e-12)
    # Rank 4 of 8: Cholesky fails, the minimum-norm least-squares solution is returned.
    S = M[:, :4] @ rng.standard_normal((4, 8))
    Gs = S.T @ S
    Bs = Gs @ rng.standard_normal((8, 3))  # consistent right-hand sides
    Xs = spd_solve_np(Gs, Bs)
    np.testing.assert_allclose(Xs, np.linalg.pinv(Gs) @ Bs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(Gs @ Xs, Bs, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("starts", [None, [0, 4, 6, 7, 8, 10]], ids=["one_sequence", "starts"])
def test_z_sums_over_row_ranges_are_the_literal_products(skip, starts):
    """z_sums_rows reads the output Gram Ht^T Ht off Z^T Z; oracle: Z and Ht built row by
    row from the definitions, over every range [a, b) of 11 rows, in the whole problem and
    as a chunk of its own (the distributed layout: h_{a-1} passed as the halo)."""
    from skalm.solvers.blocks import z_sums_rows

    prob, _, _, H, U, Xi, Zeta, gamma = tiny_case(0, starts)
    first = prob.layout.first
    T, r = H.shape
    for a in range(T):
        for b in range(a + 1, T + 1):
            Z = np.array([np.r_[H[t - 1] if t > 0 and not first[t] else np.zeros(r),
                                prob.X[t], 1.0] for t in range(a, b)])
            Ht = np.array([np.r_[H[t], prob.X[t] if skip else [], 1.0] for t in range(a, b)])
            expected = (Z.T @ Z, Z.T @ (U[a:b] + Xi[a:b] / gamma), Ht.T @ Ht, Ht.T @ prob.Y[a:b])
            chunk = Problem(prob.X[a:b], prob.Y[a:b], prob.lambdas,
                            SequenceLayout(first[a:b], prob.layout.last[a:b]))
            halo = H[a - 1] if a > 0 else np.zeros(r)
            for got in (z_sums_rows(prob, H, U, Xi, gamma, skip, a, b),
                        z_sums_rows(chunk, H[a:b], U[a:b], Xi[a:b], gamma, skip, 0, b - a, halo)):
                for x, y in zip(got, expected):
                    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_a_sweep_too_short_for_chunks_runs_on_one_blas_thread(monkeypatch):
    """n_threads=2 on 500 rows: one piece, every BLAS on one thread during the sweep (and
    the setting restored after), the same sweep as n_threads=1."""
    import threadpoolctl

    import skalm.solvers.alm_bcd.bcd as bcd

    prob, s, Xi, Zeta, act = long_case("relu", False, T=500, r=50)
    assert s.H.size >= _parallel.MIN_ONE_THREAD_SIZE
    seen = []
    z_block = bcd.z_block

    def spy(*args, **kwargs):
        seen.append(max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                        if i["user_api"] == "blas"))
        return z_block(*args, **kwargs)

    one, _ = bcd_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act)
    monkeypatch.setattr(bcd, "z_block", spy)
    with threadpool_limits(2):
        new, _ = bcd_sweep(prob, s, Xi, Zeta, 1.3, 1e-5, act, n_threads=2)
        after = max(i["num_threads"] for i in threadpoolctl.threadpool_info()
                    if i["user_api"] == "blas")
    assert seen == [1]
    assert after == 2
    assert _rel(new.H, one.H) <= 1e-12 and _rel(new.U, one.U) <= 1e-12
