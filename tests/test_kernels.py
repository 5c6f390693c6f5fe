"""The compiled loops of :mod:`skalm._kernels` and the numpy loops they replace.

Both paths of :func:`skalm.model.forward` and :func:`skalm.solvers.gradient.backprop` are
checked against oracles that share no code with them: the literal per-step forward pass of
``kron_reference.forward_point`` and central differences of the objective. The numpy path runs
with ``SKALM_DISABLE_NUMBA=1``; the compiled one where numba is importable (the ``fast`` extra;
CI installs it). The two are also compared with each other on long random sequences, several
sequences, an initial state, float32, and on weights that overflow (the same inf/NaN pattern).
"""

import numpy as np
import pytest

import kron_reference as kr
from _cases import LAMBDAS, LAYOUTS, central_differences, gradient_point
from skalm import _kernels
from skalm.activations import ACTIVATIONS, get_activation
from skalm.activations.relu import ReLU
from skalm.model import Lambdas, SequenceLayout, forward, init_weights, objective
from skalm.solvers.gradient import flatten, objective_and_gradient, unflatten, value_and_gradient

PATHS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    not _kernels.numba_available(), reason="needs the 'fast' extra (numba)"))]
ACT_PARAMS = {"relu": {}, "leaky_relu": {"slope": 0.2}, "elu": {"alpha": 0.7}, "tanh": {}}


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Run the test with the numpy loops (numba switched off) or with the compiled ones."""
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1" if request.param == "numpy" else "0")
    assert _kernels.enabled() == (request.param == "numba")
    return request.param


def lit_activation(name):
    param = ACT_PARAMS[name].get("slope", ACT_PARAMS[name].get("alpha", 0.0))
    return kr.LitActivation(name, param)


def random_case(T, r, n, m, seed, starts=None, scale=0.5, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n)).astype(dtype)
    Y = rng.standard_normal((T, m)).astype(dtype)
    w = init_weights(r, n, m, scale=scale, random_state=rng, dtype=dtype)
    w = w._replace(b=(0.3 * rng.standard_normal(r)).astype(dtype))
    return X, Y, w, SequenceLayout.from_starts(T, starts)


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_forward_matches_literal_recurrence(path, name, starts):
    X, Y, w, layout = random_case(12, 4, 3, 2, seed=3, starts=starts)
    act = get_activation(name, **ACT_PARAMS[name])
    U, H = forward(w, X, act, layout)
    prob = kr.LitProblem(X, Y, [0.1] * 6, layout.first)
    ref = kr.forward_point(prob, w.W, w.V, w.b, w.A, w.c, lit_activation(name))
    np.testing.assert_allclose(U.ravel(), ref.u, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H.ravel(), ref.h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("starts", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_bptt_gradient_matches_central_differences(path, name, starts):
    act = get_activation(name, **ACT_PARAMS[name])
    problem, w = gradient_point(act, starts, seed=5)
    _, grad = objective_and_gradient(w, problem, act)

    def f(x):
        return objective(unflatten(x, w), problem.X, problem.Y, act, LAMBDAS, problem.layout)

    np.testing.assert_allclose(flatten(grad), central_differences(f, flatten(w)),
                               rtol=1e-6, atol=1e-7)


def both_paths(monkeypatch, fn):
    """fn() with the numpy loops, then with the compiled ones."""
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1")
    slow = fn()
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "0")
    assert _kernels.enabled()
    return slow, fn()


needs_numba = pytest.mark.skipif(not _kernels.numba_available(),
                                 reason="needs the 'fast' extra (numba)")


@needs_numba
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-11), (np.float32, 2e-4)])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_compiled_equals_numpy_on_long_sequences(monkeypatch, name, dtype, rtol):
    T, r, n, m = 3000, 23, 5, 3
    X, Y, w, layout = random_case(T, r, n, m, seed=11, starts=[0, 1, 700, 701, 2999],
                                  scale=0.25, dtype=dtype)
    act = get_activation(name, **ACT_PARAMS[name])
    lam = Lambdas.from_alpha(1.0, r, n, m, l6=1e-3)
    h0 = np.linspace(-1, 1, r).astype(dtype)

    def run():
        U, H = forward(w, X, act, layout, h0=h0)
        fp = value_and_gradient(w, X, Y, layout, act, lam, 1.0 / T, 1.0)
        return U, H, fp

    (U0, H0, fp0), (U1, H1, fp1) = both_paths(monkeypatch, run)
    assert U1.dtype == H1.dtype == dtype
    scale = max(np.abs(U0).max(), 1.0)
    np.testing.assert_allclose(U1, U0, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(H1, H0, rtol=rtol, atol=rtol * scale)
    assert fp1.objective == pytest.approx(fp0.objective, rel=rtol)
    for g0, g1 in zip(fp0.grad, fp1.grad):
        np.testing.assert_allclose(g1, g0, rtol=rtol, atol=rtol * np.abs(g0).max())


@needs_numba
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_compiled_propagates_overflow_like_numpy(monkeypatch, name):
    X, Y, w, layout = random_case(300, 6, 3, 2, seed=2, scale=40.0)
    # A positive W and b: h grows geometrically on the positive branch until it overflows.
    w = w._replace(W=np.abs(w.W), b=np.abs(w.b) + 1.0)
    act = get_activation(name, **ACT_PARAMS[name])
    (U0, H0), (U1, H1) = both_paths(monkeypatch, lambda: forward(w, X, act, layout))
    if name != "tanh":
        assert not np.all(np.isfinite(U0))  # the case does overflow
    np.testing.assert_array_equal(np.isfinite(U1), np.isfinite(U0))
    np.testing.assert_array_equal(np.isnan(H1), np.isnan(H0))
    finite = np.isfinite(U0)
    np.testing.assert_allclose(U1[finite], U0[finite], rtol=1e-9)


class ScaledReLU(ReLU):
    """A subclass with its own sigma: the kernels must not treat it as ReLU."""

    name = "scaled_relu_test"

    def sigma(self, u):
        return 2.0 * np.maximum(u, 0)

    def derivative(self, u):
        return 2.0 * (u >= 0)


@pytest.mark.parametrize("path_name", ["numpy", "numba"])
def test_unknown_activation_and_mixed_dtypes_use_the_numpy_loop(monkeypatch, path_name):
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1" if path_name == "numpy" else "0")
    X, Y, w, layout = random_case(20, 4, 3, 2, seed=1)
    act = ScaledReLU()
    assert _kernels.activation_code(act) is None
    U, H = forward(w, X, act, layout)
    h = np.zeros(4)
    for t in range(20):
        u = w.W @ h + w.V @ X[t] + w.b
        h = 2.0 * np.maximum(u, 0.0)
        np.testing.assert_allclose(U[t], u, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(H[t], h, rtol=1e-12, atol=1e-15)
    # float32 data with float64 weights: not one dtype, so the kernels decline.
    U32 = (X.astype(np.float32) @ w.V.T.astype(np.float32)).astype(np.float32)
    assert _kernels.forward_loop(U32, w.W, layout.first, np.zeros(4), ReLU()) is None


def test_disable_switch(monkeypatch):
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1")
    assert not _kernels.enabled()
    U = np.zeros((3, 2))
    assert _kernels.forward_loop(U, np.eye(2), np.zeros(3, bool), np.zeros(2), ReLU()) is None
    assert _kernels.backward_loop(U, U.copy(), np.eye(2), np.zeros(3, bool), ReLU()) is False
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "0")
    assert _kernels.enabled() == _kernels.numba_available()


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "tanh"])
def test_compiled_u_block_is_the_numpy_arithmetic(monkeypatch, name, dtype):
    """The fused u-block + constraints kernel (ReLU, leaky ReLU) does the numpy path's
    operations in the same order and dtype: the same bits, non-finite entries included; the
    other activations run the numpy path either way. Its inputs are those of a real sweep
    (z- and h-blocks from a random point); whole sweeps agree to rounding (their small
    solves invert the diagonal blocks of the factors by another loop)."""
    from skalm.solvers.alm_bcd import ALMPoint, bcd_sweep
    from skalm.solvers.base import Problem
    from skalm.solvers.blocks import h_block, u_constraints_rows, z_block

    T, r, n, m = 700, 5, 3, 2
    X, Y, w, layout = random_case(T, r, n, m, seed=4, starts=[0, 300, 301], dtype=dtype)
    act = get_activation(name, **ACT_PARAMS[name])
    rng = np.random.RandomState(0)
    H, U, Xi, Zeta = (rng.standard_normal((T, r)).astype(dtype) for _ in range(4))
    prob = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m, l6=1e-3), layout)
    s = ALMPoint(w, H, U)
    (a, Ca), (b, Cb) = both_paths(
        monkeypatch, lambda: bcd_sweep(prob, s, Xi, Zeta, 1.7, 1e-3, act))
    for x, y in zip((a.H, a.U, *Ca), (b.H, b.U, *Cb)):
        assert y.dtype == dtype
        np.testing.assert_allclose(y, x, rtol=1e-9 if dtype == np.float64 else 1e-3,
                                   atol=1e-9 if dtype == np.float64 else 1e-3)
    w1 = z_block(prob, H, U, Xi, 1.7)
    XV = X @ w1.V.T
    H1 = h_block(prob, w1, U, Xi, Zeta, 1.7, act, XV)
    old, new = both_paths(monkeypatch, lambda: u_constraints_rows(
        prob, w1, H1, U, Xi, Zeta, 1.7, 1e-3, act, XV, 0, T))
    for x, y in zip(old, new):
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, x)
    assert 0.2 < np.mean(new[0] < 0) < 0.8  # both branches of the u-update taken
    # Non-finite entries (a sweep would spread them everywhere through z): the u-block alone.
    Xi[5, 1], H[7, 2], U[9, 0], Zeta[11, 3] = np.nan, np.inf, -np.inf, -np.inf
    with np.errstate(invalid="ignore", over="ignore"):  # the numpy path's inf - inf
        old, new = both_paths(monkeypatch, lambda: u_constraints_rows(
            prob, w, H, U, Xi, Zeta, 1.7, 1e-3, act, None, 0, T))
    for x, y in zip(old, new):
        np.testing.assert_array_equal(y, x)
    assert not np.all(np.isfinite(old[0]))


@needs_numba
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_compiled_lower_inverse(monkeypatch, dtype, tol):
    """The triangular inverse of the diagonal blocks of spd_solve_np: L L^{-1} = I and
    LAPACK's inverse, in the dtype of L; None with the kernels switched off."""
    rng = np.random.RandomState(0)
    for p in (1, 2, 23, 64):
        M = rng.standard_normal((p + 5, p))
        L = np.linalg.cholesky(M.T @ M + np.eye(p)).astype(dtype)
        got = _kernels.lower_inverse(L[::-1, ::-1][::-1, ::-1])  # a non-contiguous view too
        assert got.dtype == dtype
        np.testing.assert_allclose(L.astype(np.float64) @ got, np.eye(p), atol=tol)
        np.testing.assert_allclose(got, np.linalg.inv(L), rtol=tol * 10, atol=tol)
        assert np.all(np.triu(got, 1) == 0)
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1")
    assert _kernels.lower_inverse(L) is None


@needs_numba
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh"])
def test_compiled_h_block_is_the_numpy_arithmetic(monkeypatch, name, dtype, skip):
    """The h-block's fused passes (q_{t+1} and the right-hand side, sigma taken in the pass
    for ReLU and leaky ReLU, by numpy before it for tanh) do the numpy passes' operations in
    the same order and dtype: the same bits, over the whole sequence and over row ranges
    with the next row's q as a halo, with sequence starts and non-finite entries."""
    from skalm.solvers.base import Problem
    from skalm.solvers.blocks import h_matrices, h_rows

    T, r, n, m = 300, 5, 3, 2
    X, Y, w, layout = random_case(T, r, n, m, seed=5, starts=[0, 100, 101], dtype=dtype)
    if skip:
        w = w._replace(D=np.full((m, n), 0.3, dtype=dtype))
    act = get_activation(name, **ACT_PARAMS[name])
    rng = np.random.RandomState(1)
    U, Xi, Zeta = (rng.standard_normal((T, r)).astype(dtype) for _ in range(3))
    prob = Problem(X, Y, Lambdas.from_alpha(1.0, r, n, m), layout)
    XV = X @ w.V.T
    D1inv, D2 = h_matrices(w, T, 1.7)
    q_halo = (rng.standard_normal(r)).astype(dtype)

    def run():  # D1^{-1} from one path: its diagonal blocks are inverted by another loop
        whole = np.zeros_like(U)
        h_rows(prob, w, U, Xi, Zeta, 1.7, act, XV, D1inv, D2, 0, T, whole)
        part = np.zeros_like(U)
        h_rows(prob, w, U, Xi, Zeta, 1.7, act, XV, D1inv, D2, 40, 160, part, q_halo)
        h_rows(prob, w, U, Xi, Zeta, 1.7, act, XV, D1inv, D2, 160, T, part)
        return whole, part

    for x, y in zip(*both_paths(monkeypatch, run)):
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, x)
    U[7, 1], Xi[20, 2], Zeta[30, 0] = np.inf, np.nan, -np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        for x, y in zip(*both_paths(monkeypatch, run)):
            np.testing.assert_array_equal(y, x)
    monkeypatch.setenv("SKALM_DISABLE_NUMBA", "1")
    assert _kernels.next_q(Xi, U, XV, w.b, 1.7) is None
    assert _kernels.h_right_hand_side(U.copy(), U, Zeta, U, 1.7, 0.1, act) is False


_CACHE_PROBE = """
import numpy as np
from skalm import ElmanRNNRegressor, _kernels
rng = np.random.RandomState(0)
X = rng.standard_normal((60, 2))
ElmanRNNRegressor(n_hidden=4, activation="relu", max_iter=2, random_state=0).fit(X, X[:, 0])
ran = {k: f for k, f in _kernels._kernels().items() if f.signatures}
print(len(ran), sum(sum(f.stats.cache_misses.values()) for f in ran.values()))
"""


@pytest.mark.skipif(not _kernels.numba_available(), reason="needs the 'fast' extra (numba)")
def test_a_new_process_loads_the_kernels_from_numbas_disk_cache(tmp_path):
    """The second process to run the kernels compiles none of them: every one it runs comes
    from the cache the first one wrote (a kernel calling a jitted helper that numba cannot
    name from the module missed the cache in every process and recompiled, ~1 s)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "SKALM_DISABLE_NUMBA": "0"}

    def probe():
        out = subprocess.run([sys.executable, "-c", _CACHE_PROBE], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        return int(out[0]), int(out[1])

    n_first, misses_first = probe()
    n_second, misses_second = probe()
    assert n_first == n_second >= 3  # forward, the u-block and the h-block's right-hand side
    assert misses_first >= n_first  # a fresh cache directory: everything compiled once
    assert misses_second == 0
