"""BCD sweeps over time chunks held by dask workers (:mod:`skalm.distributed`) against the
in-memory sweep, on a loopback LocalCluster of two worker processes (the ``distributed``
extra). Several sweeps with multiplier updates in between, sequences starting on, before
and after chunk boundaries, with and without the skip connection; the augmented Lagrangian,
FeasVio, the certificate kappa and the forward-pass objective as sums over the chunks against
the in-memory ones."""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="needs the 'distributed' extra (dask)")

from skalm import distributed as sd  # noqa: E402
from skalm.activations import get_activation  # noqa: E402
from skalm.model import Lambdas, SequenceLayout, forward, init_weights  # noqa: E402
from skalm.solvers.alm_bcd import (  # noqa: E402
    ALMPoint, augmented_lagrangian, bcd_sweep, certificate, feasibility)
from skalm.solvers.base import Problem  # noqa: E402

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


@pytest.mark.parametrize("name, skip", [("relu", False), ("relu", True), ("tanh", False)])
def test_sweeps_on_workers_equal_in_memory_sweeps(client, name, skip):
    act = get_activation(name)
    prob, s, Xi, Zeta = case(skip)
    chunks = sd.scatter_chunks(client, prob.X, prob.Y, prob.layout, s.H, s.U, Xi, Zeta, BOUNDS)
    workers = {w for _, w in chunks}
    assert len(workers) == 2  # the chunks really are spread over both processes
    gamma, mu = 1.5, 1e-4
    for it in range(3):
        U_prev = s.U
        s, (C1, C2) = bcd_sweep(prob, s, Xi, Zeta, gamma, mu, act)
        chunks, weights = sd.sweep(client, chunks, prob.lambdas, T, gamma, mu, act, skip)
        weights = weights.result()
        for x, y in zip(weights, s.weights):
            assert rel(x, y) <= 1e-10, it
        L, feas = sd.lagrangian_and_feasibility(client, chunks, weights, prob.lambdas, T, gamma)
        assert L == pytest.approx(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act, (C1, C2)),
                                  rel=1e-10)
        assert feas == pytest.approx(feasibility(C1, C2), rel=1e-10)
        kappa = sd.certificate(client, chunks, weights, prob.lambdas, T, gamma, mu)
        assert kappa == pytest.approx(
            certificate(prob, s, U_prev, Xi, Zeta, gamma, mu, act, (C1, C2)), rel=1e-10)
        loss, R = sd.objective(client, chunks, weights, act, prob.lambdas, T)
        ref = prob.evaluate(weights, act)  # the forward pass over all rows in one piece
        assert loss == pytest.approx(ref[0], rel=1e-10) and R == pytest.approx(ref[1], rel=1e-10)
        Xi, Zeta = Xi + gamma * C1, Zeta + gamma * C2
        chunks = sd.update_multipliers(client, chunks, gamma)
        # The distributed sweep used the multipliers; the point moves on from the new one.
        H, U, Xi_d = sd.gather(client, chunks, "H", "U", "Xi")
        assert rel(H, s.H) <= 1e-10 and rel(U, s.U) <= 1e-10 and rel(Xi_d, Xi) <= 1e-10
        assert {w for _, w in chunks} == workers  # the chunks did not move
        gamma *= 1.3
    assert np.abs(Xi).max() > 1e-2  # the multipliers did change the later sweeps


def test_bytes_per_sweep_do_not_grow_with_T():
    small = sd.bytes_per_sweep(100, 10, 1, n_chunks=4)
    assert small == sd.bytes_per_sweep(100, 10, 1, n_chunks=4)
    p = 111
    grams = 4 * (p * p + p * 100 + 101 * 101 + 101)
    assert small == 8 * (grams + 4 * (100 * 100 + 1000 + 100 + 100 + 1 + 2 * 100 * 100)
                         + 3 * 3 * 100)
