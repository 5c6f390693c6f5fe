"""The structured ALM-BCD (skalm.solvers.alm_bcd) against the literal Kronecker oracle.

``kron_reference`` builds Psi(h), Phi(h_t), Q1, q1, Q2, q2, D1, D2 with np.kron and loops over
time steps and u-entries, exactly as the paper writes them; it shares no code with skalm.

Error measure (all assertions): for each variable,

    diff = max_i |structured_i - literal_i| / max(1, max_i |literal_i|)

i.e. absolute for variables of magnitude <= 1, relative (to the largest entry) otherwise.
Bound: 1e-12 for relu / leaky_relu (closed-form u-block), 1e-8 for elu / tanh (iterative
u-block on both sides). The largest diff per activation and variable is kept in ``MAX_DIFF``
and printed at the end of the module (``pytest -s``); each assertion message carries it too.
"""

from __future__ import annotations

import numpy as np
import pytest

import kron_reference as K
from skalm.activations import ELU, LeakyReLU, ReLU, Tanh
from skalm.model import Lambdas, RNNWeights, SequenceLayout
from skalm.solvers.alm_bcd import (
    ALMBCDSolver,
    ALMPoint,
    augmented_lagrangian,
    bcd_sweep,
    certificate,
    h_block,
    u_block,
    z_block,
)
from skalm.solvers.base import Problem

# name -> (skalm strategy factory, literal activation, tolerance)
ACTIVATIONS = {
    "relu": (ReLU, K.LitActivation("relu"), 1e-12),
    "leaky_relu": (lambda: LeakyReLU(slope=0.2), K.LitActivation("leaky_relu", 0.2), 1e-12),
    "elu": (lambda: ELU(alpha=1.0), K.LitActivation("elu", 1.0), 1e-8),
    "elu_a0.6": (lambda: ELU(alpha=0.6), K.LitActivation("elu", 0.6), 1e-8),
    "tanh": (Tanh, K.LitActivation("tanh"), 1e-8),
}
SEEDS = [0, 1, 2]
LAYOUTS = {"one_sequence": None, "two_sequences": [0, 4]}
# adds a sequence of length 1 (row 4, first and last at once) and one of length 2 (rows 5-6)
BLOCK_LAYOUTS = dict(LAYOUTS, three_sequences=[0, 4, 5])

MAX_DIFF: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _report_max_diff():
    yield
    print("\n\nlargest structured-vs-literal diff (max abs / max(1, max|literal|)):")
    for (test, act), d in sorted(MAX_DIFF.items()):
        print(f"  {test:10s} {act:11s} " + "  ".join(f"{k}={v:.1e}" for k, v in d.items()))


def _strategy(name):
    factory, lit, tol = ACTIVATIONS[name]
    act = factory()
    return act, lit, tol


def _case(seed, starts=None, T=7, r=3, n=2, m=2):
    """A random non-feasible point, random lambdas, nonzero multipliers, gamma != 1."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, (T, n))
    Y = rng.standard_normal((T, m))
    lam = Lambdas(*rng.uniform(0.02, 0.3, 5), 1e-3)
    layout = SequenceLayout.from_starts(T, starts)
    prob = Problem(X, Y, lam, layout)
    lprob = K.LitProblem(X, Y, lam, layout.first)
    weights = RNNWeights(
        0.5 * rng.standard_normal((r, r)), rng.standard_normal((r, n)),
        0.3 * rng.standard_normal(r), rng.standard_normal((m, r)), 0.3 * rng.standard_normal(m),
    )
    H = rng.standard_normal((T, r))
    U = rng.standard_normal((T, r))
    Xi = 0.3 * rng.standard_normal((T, r))
    Zeta = 0.3 * rng.standard_normal((T, r))
    gamma = float(rng.uniform(1.5, 4.0))
    return prob, lprob, weights, H, U, Xi, Zeta, gamma


def _lit_point(weights, H, U):
    W, V, b, A, c = weights
    return K.LitPoint(K.pack_w(W, V, b), K.pack_a(A, c), H.ravel().copy(), U.ravel().copy())


def _rel(struct, lit):
    struct, lit = np.ravel(struct), np.ravel(lit)
    return float(np.max(np.abs(struct - lit)) / max(1.0, float(np.max(np.abs(lit)))))


def _diffs(weights, H, U, lpt):
    W, V, b, A, c = weights
    return {
        "w": _rel(K.pack_w(W, V, b), lpt.w),
        "a": _rel(K.pack_a(A, c), lpt.a),
        "h": _rel(H, lpt.h),
        "u": _rel(U, lpt.u),
    }


def _record(test, act, d):
    slot = MAX_DIFF.setdefault((test, act), {})
    for k, v in d.items():
        slot[k] = max(slot.get(k, 0.0), v)


def _check(test, act, d, tol, where):
    _record(test, act, d)
    bad = {k: v for k, v in d.items() if not v <= tol}
    assert not bad, f"{test} {act} {where}: structured vs literal diff {d} exceeds {tol:g}"


# ------------------------------------------------------------------------------------------
# Oracle self-checks (the literal u-update against the brute force, the leaky-ReLU pitfall)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_literal_branch_formulas_match_brute_force(name):
    """The oracle's closed-form u-entries equal an independent brute-force global minimum."""
    lit = ACTIVATIONS[name][1]
    rng = np.random.RandomState(5)
    n_neg = 0
    for _ in range(300):
        th1, th2, th3 = 2 * rng.standard_normal(3)
        g, mu, l6 = rng.uniform(0.5, 5), 10 ** rng.uniform(-5, 0), 10 ** rng.uniform(-8, -1)
        v = K.u_entry(th1, th2, th3, g, mu, l6, lit)
        vb = K.scalar_global_min(th1, th2, th3, g, mu, l6, lit)
        n_neg += v < 0
        assert abs(v - vb) <= 1e-9 * max(1.0, abs(vb)), (th1, th2, th3, g, mu, l6, v, vb)
    assert 50 < n_neg < 250  # both branches exercised


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "elu_a0.6", "tanh"])
def test_u_block_entrywise_on_wide_theta(name):
    """u_block against the entry-by-entry literal update on many (th1, th2, th3) at once.

    For leaky ReLU the sample contains entries where the paper's printed test (4.35),
    "gamma th1 + mu th3 < 0", and the whole-numerator rule disagree; the literal oracle follows
    the whole numerator (a true global minimizer, checked by brute force above).
    """
    act, lit, tol = _strategy(name)
    rng = np.random.RandomState(11)
    T, r = 40, 5
    gamma, mu, l6 = 2.3, 0.05, 1e-3
    th1 = 2 * rng.standard_normal((T, r))
    th2 = 2 * rng.standard_normal((T, r))
    th3 = 2 * rng.standard_normal((T, r))
    # Express the thetas through u_block's inputs: P = th1 (Xi = 0), H = th2 (Zeta = 0).
    # Build a problem whose preactivation is exactly th1: W = 0, V = I, b = 0, X = th1.
    prob = Problem(th1, np.zeros((T, 1)), Lambdas(1, 1, 1, 1, 1, l6))
    weights = RNNWeights(np.zeros((r, r)), np.eye(r), np.zeros(r), np.zeros((1, r)), np.zeros(1))
    zeros = np.zeros((T, r))
    U, P = u_block(prob, weights, th2, th3, zeros, zeros, gamma, mu, act)
    np.testing.assert_array_equal(P, th1)
    ref = np.array([
        [K.u_entry(th1[t, i], th2[t, i], th3[t, i], gamma, mu, l6, lit) for i in range(r)]
        for t in range(T)
    ])
    d = {"u": _rel(U, ref)}
    _check("u_wide", name, d, tol, "entrywise")
    if name == "leaky_relu":
        w = lit.param
        printed_differs = (gamma * th1 + mu * th3 >= 0) & (
            gamma * th1 + gamma * w * th2 + mu * th3 < 0
        )
        assert printed_differs.sum() >= 5  # the pitfall region is really in the sample


@pytest.mark.parametrize("gamma,mu", [(1.0, 1e-5), (3.0, 0.1)])
@pytest.mark.parametrize("name", ["elu", "elu_a0.6", "tanh"])
def test_smooth_u_solvers_on_nonconvex_instances(name, gamma, mu):
    """ELU / tanh solve_u on a sample rich in non-convex phi (several local minima: large th2
    of the right sign, th1 pulling the other way) against the brute-force global minimizer."""
    act, lit, tol = _strategy(name)
    rng = np.random.RandomState(7)
    N = 600
    if lit.name == "elu":
        th1, th2 = rng.uniform(-8, 2, N), rng.uniform(-2, 10, N)
    else:
        th1, th2 = rng.uniform(-10, 10, N), rng.uniform(-10, 10, N)
    th3 = th1 + rng.standard_normal(N)
    l6 = 1e-8
    U = act.solve_u(th1, th2, th3, gamma, mu, l6)
    out = [K.scalar_global_min(a, b, c, gamma, mu, l6, lit, full_output=True)
           for a, b, c in zip(th1, th2, th3)]
    ref = np.array([o[0] for o in out])
    n_multi = sum(o[1] > 1 for o in out)
    assert n_multi >= 30, n_multi  # the sample really has many non-convex instances
    d = {"u": _rel(U, ref)}
    _check("u_nonconv", name, d, tol, f"gamma={gamma} mu={mu}")


# ------------------------------------------------------------------------------------------
# Each block on identical inputs
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(BLOCK_LAYOUTS))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_each_block_matches_literal(name, seed, layout):
    act, lit, tol = _strategy(name)
    prob, lprob, weights, H, U, Xi, Zeta, gamma = _case(seed, BLOCK_LAYOUTS[layout])
    mu = 0.05
    xi, zeta = Xi.ravel(), Zeta.ravel()
    lpt = _lit_point(weights, H, U)

    # z-block at (h, u)
    wz = z_block(prob, H, U, Xi, gamma)
    lz = K.z_update(lprob, lpt, xi, gamma)
    d = _diffs(wz, H, U, lz)
    # h-block at the same z (the literal one, fed to both), old u
    lh = K.h_update(lprob, lz, xi, zeta, gamma, lit)
    Hs = h_block(prob, wz, U, Xi, Zeta, gamma, act)
    d["h"] = _rel(Hs, lh.h)
    # u-block at the same (z, h)
    lu = K.u_update(lprob, lh, xi, zeta, gamma, mu, lit)
    Hl = lh.h.reshape(H.shape)
    Us, P = u_block(prob, wz, Hl, U, Xi, Zeta, gamma, mu, act)
    d["u"] = _rel(Us, lu.u)
    d["p"] = _rel(P, K.Psi(lprob, lh.h, H.shape[1]) @ lz.w)
    _check("blocks", name, d, tol, f"seed={seed} {layout}")


# (r, m): the Woodbury branch (r >= 40, 2 m <= r) and the direct solve on either side of it
@pytest.mark.parametrize("r, m", [(40, 1), (40, 20), (40, 21), (40, 45), (3, 1), (3, 5)])
@pytest.mark.parametrize("layout", ["one_sequence", "three_sequences"])
def test_h_block_last_rows_both_branches_match_literal(layout, r, m):
    """The last step of each sequence solves with D2 = (2/T) A^T A + gamma I: by the Woodbury
    identity in m x m when there are at most half as many outputs as hidden units (and
    r >= 40), else directly. Both against the literal h-update, with one and with three
    sequence ends."""
    act, lit, tol = _strategy("relu")
    prob, lprob, weights, H, U, Xi, Zeta, gamma = _case(3, BLOCK_LAYOUTS[layout], r=r, m=m)
    wz = z_block(prob, H, U, Xi, gamma)
    lz = K.z_update(lprob, _lit_point(weights, H, U), Xi.ravel(), gamma)
    lh = K.h_update(lprob, lz, Xi.ravel(), Zeta.ravel(), gamma, lit)
    d = {"h": _rel(h_block(prob, wz, U, Xi, Zeta, gamma, act), lh.h)}
    _check("h_last", f"r={r} m={m}", d, tol, layout)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_last_rows_solve_is_the_d2_solve(dtype):
    """_last_rows_solve(R, A, D2, gamma, c) = R D2^{-1} for D2 = c A^T A + gamma I (oracle:
    numpy's float64 LU solve of the formed D2), on both branches and with gamma <= 0 (direct),
    in the rows' dtype, to within the forward error of a backward-stable solve: a few times
    cond(D2) times the dtype's unit roundoff, relative to the largest entry."""
    from skalm.solvers.blocks import _last_rows_solve

    rng = np.random.RandomState(0)
    for m, r, k, gamma, c in [(3, 40, 1, 1.3, 0.01), (20, 40, 4, 0.05, 2.0),
                              (5, 100, 2, 1.3, 0.5), (30, 100, 1, 1.3, 0.004),
                              (21, 40, 2, 1.3, 0.5), (12, 5, 3, 0.7, 0.1), (2, 60, 2, 0.0, 0.3)]:
        A = rng.standard_normal((m, r)).astype(dtype)
        R = rng.standard_normal((k, r)).astype(dtype)
        D2 = (c * (A.T @ A) + gamma * np.eye(r)).astype(dtype)
        if gamma == 0.0:  # rank m < r: singular, not what the sweep meets; make it definite
            D2 += np.eye(r, dtype=dtype)
        got = _last_rows_solve(R, A, D2, gamma, c)
        assert got.dtype == dtype and got.shape == R.shape
        ref = np.linalg.solve(D2.astype(np.float64), R.T.astype(np.float64)).T
        bound = 10 * np.linalg.cond(D2.astype(np.float64)) * np.finfo(dtype).eps
        assert np.max(np.abs(got - ref)) <= bound * np.max(np.abs(ref)), (m, r, gamma)


# ------------------------------------------------------------------------------------------
# Several consecutive sweeps, each side on its own chain
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(BLOCK_LAYOUTS))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_consecutive_sweeps_match_literal(name, seed, layout):
    act, lit, tol = _strategy(name)
    prob, lprob, weights, H, U, Xi, Zeta, gamma = _case(seed, BLOCK_LAYOUTS[layout])
    mu = 0.05
    xi, zeta = Xi.ravel(), Zeta.ravel()
    s = ALMPoint(weights, H, U)
    lpt = _lit_point(weights, H, U)
    n_neg = 0
    for j in range(1, 5):
        u_prev, lu_prev = s.U, lpt.u
        s, C = bcd_sweep(prob, s, Xi, Zeta, gamma, mu, act)
        lpt = K.sweep(lprob, lpt, xi, zeta, gamma, mu, lit)
        d = _diffs(s.weights, s.H, s.U, lpt)
        lC1, lC2 = K.constraints(lprob, lpt, lit)
        d["C1"] = _rel(C[0], lC1)
        d["C2"] = _rel(C[1], lC2)
        d["L"] = _rel(
            augmented_lagrangian(prob, s, Xi, Zeta, gamma, act),
            K.lagrangian(lprob, lpt, xi, zeta, gamma, lit),
        )
        d["kappa"] = _rel(
            certificate(prob, s, u_prev, Xi, Zeta, gamma, mu, act, C),
            K.kappa(lprob, lpt, lu_prev, xi, zeta, gamma, mu, lit),
        )
        _check("sweeps", name, d, tol, f"seed={seed} {layout} sweep {j}")
        n_neg += int(np.sum(lpt.u < 0))
    assert n_neg > 0 and np.any(lpt.u > 0)  # both branches of the u-block were used


# ------------------------------------------------------------------------------------------
# Whole ALM outer iterations through ALMBCDSolver.init_state / update
# ------------------------------------------------------------------------------------------


def _alm_case(seed, starts):
    rng = np.random.RandomState(100 + seed)
    T, r, n, m = 8, 3, 2, 2
    X = rng.uniform(-1, 1, (T, n))
    Y = rng.standard_normal((T, m))
    lam = Lambdas.from_alpha(1.0, r, n, m, l6=1e-4)
    layout = SequenceLayout.from_starts(T, starts)
    prob = Problem(X, Y, lam, layout)
    lprob = K.LitProblem(X, Y, lam, layout.first)
    w0 = RNNWeights(
        0.5 * rng.standard_normal((r, r)), rng.standard_normal((r, n)), np.zeros(r),
        0.5 * rng.standard_normal((m, r)), np.zeros(m),
    )
    return prob, lprob, w0


# acceleration=None, anchor=None: the paper's BCD and restart rule (eq. 3.13), which is what the
# literal oracle implements.
ALM_SETTINGS = dict(gamma0=1.3, mu=1e-3, max_inner_iter=4, eps0=0.1, acceleration=None,
                    anchor=None)
N_OUTER = 5


@pytest.mark.parametrize(
    "restart", ["default", "forced"],
)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_alm_outer_iterations_match_literal(name, seed, layout, restart):
    """init_state + N_OUTER x update against the literal Algorithm 3.1.

    "forced": restart_bound = 1e-12 < L(s^{k-1}) for every k, so eq. (3.13) restarts every
    inner loop from s^0 for k >= 2 (and never at k = 1): ``state.restarted`` must say so.
    """
    act, lit, tol = _strategy(name)
    prob, lprob, w0 = _alm_case(seed, LAYOUTS[layout])
    bound = 1e-12 if restart == "forced" else None
    solver = ALMBCDSolver(restart_bound=bound, **ALM_SETTINGS)
    state = solver.init_state(prob, act, w0)
    records = K.alm(lprob, lit, *w0, max_iter=N_OUTER, restart_bound=bound,
                    gamma0=solver.gamma0, eta1=solver.eta1, eta2=solver.eta2,
                    eta3=solver.eta3, eta4=solver.eta4, eps0=solver.eps0, mu=solver.mu,
                    max_inner_iter=solver.max_inner_iter)
    d0 = _diffs(state.s0.weights, state.s0.H, state.s0.U, K.forward_point(lprob, *w0, lit))
    _check("alm", name, d0, tol, f"seed={seed} {layout} s^0")
    pattern = []
    for rec in records:
        state = solver.update(state)
        k = rec["k"]
        where = f"seed={seed} {layout} restart={restart} k={k}"
        assert state.k == k
        assert state.restarted == rec["restarted"], where
        assert state.n_inner == rec["n_inner"], where
        d = _diffs(state.s.weights, state.s.H, state.s.U, rec["s"])
        d["xi"] = _rel(state.Xi, rec["xi"])
        d["zeta"] = _rel(state.Zeta, rec["zeta"])
        d["gamma"] = _rel(state.gamma, rec["gamma"])
        d["eps"] = _rel(state.eps, rec["eps"])
        d["feas"] = _rel(state.feas, rec["feas"])
        d["kappa"] = _rel(state.kappa, rec["kappa"])
        _check("alm", name, d, tol, where)
        pattern.append(rec["restarted"])
    if restart == "forced":
        assert pattern == [False] + [True] * (N_OUTER - 1)
    # the penalty moved, so the test exercises (3.9) and the multipliers are nonzero
    assert records[-1]["gamma"] > solver.gamma0
    assert np.linalg.norm(records[-1]["xi"]) > 0


def test_alm_partial_restart_pattern_matches_literal():
    """A bound Gamma between the values L(s^{k-1}) takes, so that one inner loop restarts and
    the others do not: the structured ``state.restarted`` sequence equals the literal eq. (3.13)
    decisions. For this case (seed 2) L(s^1; xi^1, zeta^1, gamma_1) = 0.363 R(s^0) > Gamma =
    0.355 R(s^0), so k = 2 restarts; after the restart L(s^2; ...) = 0.349 R(s^0) < Gamma and
    L keeps falling, so no later inner loop restarts (margins ~2%, far above rounding).
    """
    act, lit, tol = _strategy("relu")
    prob, lprob, w0 = _alm_case(2, None)
    kw = dict(gamma0=1.3, mu=1e-3, max_inner_iter=4, eps0=0.1)
    bound = 0.355 * K.R(lprob, K.forward_point(lprob, *w0, lit))
    recs = K.alm(lprob, lit, *w0, max_iter=6, restart_bound=bound, **kw)
    assert [rec["restarted"] for rec in recs] == [False, True, False, False, False, False]
    solver = ALMBCDSolver(restart_bound=bound, acceleration=None, anchor=None, **kw)
    state = solver.init_state(prob, act, w0)
    for rec in recs:
        state = solver.update(state)
        assert state.restarted == rec["restarted"], rec["k"]
        d = _diffs(state.s.weights, state.s.H, state.s.U, rec["s"])
        d["xi"] = _rel(state.Xi, rec["xi"])
        d["gamma"] = _rel(state.gamma, rec["gamma"])
        _check("alm_mixed", "relu", d, tol, f"k={rec['k']}")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_alm_penalty_rule_branches_match_literal(name):
    """A case (targets x3, eta1 = 0.9) where a multiplier-norm term ||xi^k||^(1+eta3) or
    ||zeta^k||^(1+eta3) of (3.9) sets gamma_k (it never wins in the cases above, where only
    gamma_{k-1}/eta2 and "kept" occur), besides iterations that keep gamma by (3.8)."""
    act, lit, tol = _strategy(name)
    prob, lprob, w0 = _alm_case(1, None)
    prob = Problem(prob.X, 3.0 * prob.Y, prob.lambdas, prob.layout)
    lprob = K.LitProblem(prob.X, prob.Y, prob.lambdas, prob.layout.first)
    kw = dict(gamma0=1.0, eta1=0.9, mu=1e-3, max_inner_iter=4, eps0=0.1)
    solver = ALMBCDSolver(acceleration=None, anchor=None, **kw)
    recs = K.alm(lprob, lit, *w0, max_iter=6, **kw)
    branches = {rec["gamma_branch"] for rec in recs}
    assert "kept" in branches and branches & {"||xi||", "||zeta||"}, branches
    state = solver.init_state(prob, act, w0)
    for rec in recs:
        state = solver.update(state)
        d = _diffs(state.s.weights, state.s.H, state.s.U, rec["s"])
        d["xi"] = _rel(state.Xi, rec["xi"])
        d["zeta"] = _rel(state.Zeta, rec["zeta"])
        d["gamma"] = _rel(state.gamma, rec["gamma"])
        _check("alm_gamma", name, d, tol, f"k={rec['k']} ({rec['gamma_branch']})")
