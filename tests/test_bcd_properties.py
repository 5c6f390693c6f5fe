"""Properties of the structured BCD sweep and ALM loop that hold whatever the implementation.

* the z- and h-blocks are exact minimizers: the gradient of L in that block vanishes after it;
* the analytic gradients behind kappa equal central differences of augmented_lagrangian;
* within an inner loop L never increases: each block decreases L, and the u-block (a global
  minimizer of L + (mu/2)||u - u_prev||^2) decreases L by at least (mu/2)||u - u_prev||^2
  (paper eq. 4.6);
* kappa is 0 at a hand-built stationary point;
* on the paper's T=10 synthetic configuration FeasVio falls by >= 100x within 50 outer iterations;
* the reported losses come from a forward pass of the learned weights, not from the auxiliary h;
* with the skip connection D: the z-block is the ridge regression on [h_t, x_t, 1] (against
  ``numpy.linalg.lstsq``), the h-block zeroes the gradient in h, and the gradients behind
  kappa include grad_D (against central differences).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from skalm.activations import ELU, LeakyReLU, ReLU, Tanh, get_activation
from skalm.model import (
    Lambdas,
    RNNWeights,
    SequenceLayout,
    forward,
    init_weights,
    mse_loss,
    objective,
)
from skalm.solvers.alm_bcd import (
    ALMBCDSolver,
    ALMPoint,
    augmented_lagrangian,
    certificate,
    constraints,
    gradients,
    h_block,
    inner_loop,
    u_block,
    z_block,
)
from skalm.solvers.base import Problem
from _cases import alm_case

ACTIVATIONS = {
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(slope=0.2),
    "elu": lambda: ELU(alpha=1.0),
    "tanh": Tanh,
}
LAYOUTS = {"one_sequence": None, "two_sequences": [0, 5]}


def _norm(arrays):
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


# ------------------------------------------------------------------------------------------
# Exact block minimizers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_z_and_h_blocks_zero_their_gradients(name, seed, layout):
    """||grad_z L|| after z_block and ||grad_h L|| after h_block are <= 1e-10 times their
    values before the block (which are O(1) at these random points)."""
    act = ACTIVATIONS[name]()  # neither block nor the gradients need solve_u
    prob, s, Xi, Zeta, gamma = alm_case(seed, LAYOUTS[layout])
    gz0, gh0 = gradients(prob, s, Xi, Zeta, gamma, act)
    assert _norm(gz0) > 0.1 and _norm([gh0]) > 0.1

    s1 = s._replace(weights=z_block(prob, s.H, s.U, Xi, gamma))
    gz1, gh1 = gradients(prob, s1, Xi, Zeta, gamma, act)
    assert _norm(gz1) <= 1e-10 * _norm(gz0), (_norm(gz1), _norm(gz0))

    s2 = s1._replace(H=h_block(prob, s1.weights, s1.U, Xi, Zeta, gamma, act))
    gz2, gh2 = gradients(prob, s2, Xi, Zeta, gamma, act)
    assert _norm([gh2]) <= 1e-10 * _norm([gh1]), (_norm([gh2]), _norm([gh1]))
    # ... and h_block did change h, so this is not vacuous
    assert np.max(np.abs(s2.H - s1.H)) > 1e-3


# ------------------------------------------------------------------------------------------
# Analytic gradients vs finite differences
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_gradients_match_central_differences(name, seed, layout):
    """Every coordinate of grad_z L and grad_h L against a central difference of L.

    With u fixed, L restricted to one coordinate of z or h is a quadratic polynomial (C1 is
    linear in each of W, V, b, h separately; C2 is linear in h; the loss is quadratic in A, c
    and in each h_t), so the central difference is exact up to rounding, whatever the
    activation (sigma only enters through sigma(u), u fixed): tolerance 1e-9 (rounding of L
    over the step is ~1e-11).
    """
    act = ACTIVATIONS[name]()
    prob, s, Xi, Zeta, gamma = alm_case(seed, LAYOUTS[layout])
    gz, gH = gradients(prob, s, Xi, Zeta, gamma, act)
    step = 1e-4

    def L(weights, H):
        return augmented_lagrangian(prob, ALMPoint(weights, H, s.U), Xi, Zeta, gamma, act)

    scale = max(1.0, abs(L(s.weights, s.H)))
    for i, g in enumerate(gz):
        fd = np.zeros_like(g)
        for idx in np.ndindex(g.shape):
            plus = [np.array(a, copy=True) for a in s.weights]
            minus = [np.array(a, copy=True) for a in s.weights]
            plus[i][idx] += step
            minus[i][idx] -= step
            fd[idx] = (L(RNNWeights(*plus), s.H) - L(RNNWeights(*minus), s.H)) / (2 * step)
        np.testing.assert_allclose(g, fd, rtol=1e-9, atol=1e-9 * scale,
                                   err_msg=f"grad of block {'WVbAc'[i]}")
    fdH = np.zeros_like(gH)
    for idx in np.ndindex(gH.shape):
        Hp, Hm = s.H.copy(), s.H.copy()
        Hp[idx] += step
        Hm[idx] -= step
        fdH[idx] = (L(s.weights, Hp) - L(s.weights, Hm)) / (2 * step)
    np.testing.assert_allclose(gH, fdH, rtol=1e-9, atol=1e-9 * scale, err_msg="grad_h")


# ------------------------------------------------------------------------------------------
# Monotone decrease inside an inner loop
# ------------------------------------------------------------------------------------------


def _check_monotone_sweeps(prob, s, Xi, Zeta, gamma, mu, act, n_sweeps):
    """Run n_sweeps block by block; return the smallest per-block decrease margin seen."""
    Lf = lambda p: augmented_lagrangian(prob, p, Xi, Zeta, gamma, act)  # noqa: E731
    L0 = Lf(s)
    total_u_decrease = 0.0
    for j in range(1, n_sweeps + 1):
        tol = 1e-12 * max(1.0, abs(L0))
        sz = s._replace(weights=z_block(prob, s.H, s.U, Xi, gamma))
        Lz = Lf(sz)
        assert Lz <= L0 + tol, f"z-block increased L at sweep {j}: {L0!r} -> {Lz!r}"
        sh = sz._replace(H=h_block(prob, sz.weights, sz.U, Xi, Zeta, gamma, act))
        Lh = Lf(sh)
        assert Lh <= Lz + tol, f"h-block increased L at sweep {j}: {Lz!r} -> {Lh!r}"
        U, _ = u_block(prob, sh.weights, sh.H, sh.U, Xi, Zeta, gamma, mu, act)
        su = sh._replace(U=U)
        Lu = Lf(su)
        prox = 0.5 * mu * float(np.vdot(U - sh.U, U - sh.U))
        # eq. (4.6): the u-block minimizes L + (mu/2)||u - u_prev||^2 globally, so
        # L(s_j) + (mu/2)||u_j - u_{j-1}||^2 <= L(s_{j-1/2}); in particular L decreases.
        assert Lu + prox <= Lh + tol, f"u-block: L+prox {Lu + prox!r} > {Lh!r} at sweep {j}"
        total_u_decrease += Lh - Lu
        s, L0 = su, Lu
    return s, total_u_decrease


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_lagrangian_decreases_block_by_block(name, seed, layout):
    act = ACTIVATIONS[name]()
    prob, s, Xi, Zeta, gamma = alm_case(seed, LAYOUTS[layout])
    _, du = _check_monotone_sweeps(prob, s, Xi, Zeta, gamma, 0.05, act, n_sweeps=15)
    assert du > 0  # the u-block did real work


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_lagrangian_decreases_inside_the_solver_inner_loop(name):
    """Same check at the multipliers / penalty an actual ALM run reaches (after 4 outer
    iterations on the paper-style T=10 data), with the default mu = 1e-5."""
    act = ACTIVATIONS[name]()
    prob, w0 = _paper_problem(0)
    solver = ALMBCDSolver(max_inner_iter=20)
    state = solver.init_state(prob, act, w0)
    for _ in range(4):
        state = solver.update(state)
    assert np.linalg.norm(state.Xi) > 0 and state.gamma > 1
    _check_monotone_sweeps(prob, state.s, state.Xi, state.Zeta, state.gamma, solver.mu, act,
                           n_sweeps=15)


# ------------------------------------------------------------------------------------------
# kappa at a hand-built stationary point
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_kappa_vanishes_at_constructed_stationary_point(name, layout):
    """Build s feasible (forward pass), [A c] = the exact output ridge regression, and
    multipliers solving grad_z L = 0, grad_h L = 0 by hand:

    at a feasible point E1 = xi, E2 = zeta, so grad_(W,V,b) = 2 Lam_w Theta - xi^T Z = 0 with
    Z = [h_{t-1} x_t 1] is solved by the least-norm xi = Z (Z^T Z)^{-1} (2 Lam_w Theta^T), and
    grad_h_t = (2/T) A^T R_t + zeta_t - W^T xi_{t+1} = 0 fixes zeta. Then kappa (u = u_prev) is
    0 to rounding, and with u_prev != u it is exactly mu ||u - u_prev||."""
    act = ACTIVATIONS[name]()
    rng = np.random.RandomState(3)
    T, r, n, m = 12, 3, 2, 2
    starts = LAYOUTS[layout]
    X = rng.uniform(-1, 1, (T, n))
    Y = rng.standard_normal((T, m))
    l1, l2, l3, l4, l5 = rng.uniform(0.05, 0.3, 5)
    prob = Problem(X, Y, Lambdas(l1, l2, l3, l4, l5, 1e-3), SequenceLayout.from_starts(T, starts))
    W, V, b = 0.6 * rng.standard_normal((r, r)), rng.standard_normal((r, n)), rng.standard_normal(r)
    U, H = forward(RNNWeights(W, V, b, np.zeros((m, r)), np.zeros(m)), X, act, prob.layout)
    Ht = np.hstack([H, np.ones((T, 1))])
    ac = np.linalg.solve(Ht.T @ Ht + T * np.diag([l1] * r + [l5]), Ht.T @ Y)
    A, c = ac[:r].T, ac[r]
    Hprev = np.zeros_like(H)
    for t in range(1, T):
        if not prob.layout.first[t]:
            Hprev[t] = H[t - 1]
    Z = np.hstack([Hprev, X, np.ones((T, 1))])
    theta_T = np.vstack([W.T, V.T, b[None, :]])
    lam_w = np.diag([l2] * r + [l3] * n + [l4])
    Xi = Z @ np.linalg.solve(Z.T @ Z, 2 * lam_w @ theta_T)
    Xi_next = np.zeros_like(Xi)
    for t in range(T - 1):
        if not prob.layout.first[t + 1]:
            Xi_next[t] = Xi[t + 1]
    Res = H @ A.T + c - Y
    Zeta = Xi_next @ W - (2.0 / T) * Res @ A

    s = ALMPoint(RNNWeights(W, V, b, A, c), H, U)
    gamma, mu = 2.5, 0.05
    C1, C2 = constraints(prob, s, act)
    assert max(np.abs(C1).max(), np.abs(C2).max()) < 1e-14
    kap = certificate(prob, s, U, Xi, Zeta, gamma, mu, act)
    # every term of the gradients is O(1) here: 1e-12 is rounding
    assert kap <= 1e-12, kap
    dU = rng.standard_normal(U.shape)
    kap2 = certificate(prob, s, U - dU, Xi, Zeta, gamma, mu, act)
    assert abs(kap2 - mu * np.linalg.norm(dU)) <= 1e-12, (kap2, mu * np.linalg.norm(dU))
    # and a perturbation of the multipliers makes it clearly nonzero
    assert certificate(prob, s, U, Xi, Zeta + 1e-3, gamma, mu, act) > 1e-4


# ------------------------------------------------------------------------------------------
# The paper's T=10 synthetic configuration
# ------------------------------------------------------------------------------------------


def _paper_data(seed, T=10, n=5, m=3, r=4):
    """Section 5.1 / Table 1, T = 10: true weights N(0, 0.8) (std 0.8), x ~ U(-1, 1), ReLU
    recurrence, y = A h + c + N(0, 1e-3) noise (std 1e-3); every column of X and Y z-scored
    over the whole series."""
    rng = np.random.RandomState(seed)
    W = rng.normal(0, 0.8, (r, r))
    V = rng.normal(0, 0.8, (r, n))
    b = rng.normal(0, 0.8, r)
    A = rng.normal(0, 0.8, (m, r))
    c = rng.normal(0, 0.8, m)
    X = rng.uniform(-1, 1, (T, n))
    _, H = forward(RNNWeights(W, V, b, A, c), X, ReLU())
    Y = H @ A.T + c + rng.normal(0, 1e-3, (T, m))
    zs = lambda M: (M - M.mean(axis=0)) / M.std(axis=0)  # noqa: E731
    return zs(X), zs(Y)


def _paper_problem(seed):
    """9:1 split in time order (9 training steps), tau = 12, N(0, 0.1) initial weights."""
    X, Y = _paper_data(seed)
    n_train = 9
    r, n, m = 4, X.shape[1], Y.shape[1]
    prob = Problem(X[:n_train], Y[:n_train], Lambdas.from_alpha(12, r, n, m))
    w0 = init_weights(r, n, m, init="normal", scale=0.1, random_state=seed)
    return prob, w0


@pytest.mark.parametrize("acceleration", [None, "nesterov"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feasvio_falls_100x_on_paper_T10_config(seed, acceleration):
    prob, w0 = _paper_problem(seed)
    solver = ALMBCDSolver(n_iter_no_change=None, max_iter=50, acceleration=acceleration)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, by design
        result = solver.solve(prob, ReLU(), w0)
    feas = np.array(result.history["feasibility"])
    assert len(feas) == 50 and not result.diverged
    assert feas[0] > 1e-3  # the first iterate is really infeasible
    assert feas.min() <= feas[0] / 100, (feas[0], feas.min())


def test_predictions_come_from_forward_pass_not_auxiliary_h():
    """Drive the same run by hand (init_state/update) alongside solver.solve: at every outer
    iteration the recorded train_loss / objective equal the loss / R of a forward pass of
    that iteration's weights, and differ from the loss computed with the auxiliary h."""
    prob, w0 = _paper_problem(0)
    act = ReLU()
    n_iter = 8
    solver = ALMBCDSolver(n_iter_no_change=None, max_iter=n_iter, acceleration=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = solver.solve(prob, act, w0)
    hist = result.history
    assert len(hist["train_loss"]) == n_iter

    state = solver.init_state(prob, act, w0)
    gaps, iterates = [], []
    for k in range(n_iter):
        state = solver.update(state)
        weights = state.s.weights
        iterates.append(weights)
        _, Hf = forward(weights, prob.X, act, prob.layout)
        fwd_loss = mse_loss(weights, Hf, prob.Y)
        aux_loss = mse_loss(weights, state.s.H, prob.Y)
        np.testing.assert_allclose(hist["train_loss"][k], fwd_loss, rtol=1e-12)
        np.testing.assert_allclose(
            hist["objective"][k], objective(weights, prob.X, prob.Y, act, prob.lambdas,
                                            prob.layout), rtol=1e-12)
        gaps.append(abs(aux_loss - fwd_loss) / fwd_loss)
    # the auxiliary h is not the forward pass (the iterates are infeasible), and the history
    # did not use it: the recorded losses differ from the auxiliary ones by far more than 1e-12
    assert max(gaps) > 1e-4, gaps
    # the solver returns the iterate whose forward pass has the lowest objective R
    best = int(np.argmin(hist["objective"]))
    for a, b in zip(result.weights, iterates[best]):
        np.testing.assert_array_equal(a, b)
    Hres = forward(result.weights, prob.X, act, prob.layout)[1]
    assert mse_loss(result.weights, Hres, prob.Y) == pytest.approx(hist["train_loss"][best],
                                                                   rel=1e-12)


def _inner(solver, *args):
    """The BCD inner loop with ``solver``'s settings, as its outer iteration runs it."""
    return inner_loop(*args, max_inner_iter=int(solver.max_inner_iter),
                      accelerate=solver.acceleration == "nesterov", n_threads=solver.blas_threads)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_accelerated_inner_loop_is_monotone_and_certified(name):
    """The extrapolated inner loop (acceleration="nesterov") keeps L non-increasing sweep by
    sweep (its safeguard) and its kappa bounds the stationarity of the point it returns:
    recomputed here from the returned point with the prox centre of the last sweep."""
    act = ACTIVATIONS[name]()
    prob, w0 = _paper_problem(1)
    solver = ALMBCDSolver(max_inner_iter=20, acceleration="nesterov")
    state = solver.init_state(prob, act, w0)
    for _ in range(3):
        state = solver.update(state)
    Xi, Zeta, gamma, mu = state.Xi, state.Zeta, state.gamma, solver.mu
    values = []
    for n in range(1, 16):
        solver.max_inner_iter = n
        s, C, kappa, j, _ = _inner(solver, prob, state.s, Xi, Zeta, gamma, mu, 0.0, act)
        assert j == n
        values.append(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act))
    L0 = augmented_lagrangian(prob, state.s, Xi, Zeta, gamma, act)
    seq = np.array([L0] + values)
    assert np.all(np.diff(seq) <= 1e-12 * max(1.0, abs(L0))), np.diff(seq)
    # Extrapolation changes the iterates: the sequence differs from the paper's BCD.
    solver.acceleration = None
    s_plain, *_ = _inner(solver, prob, state.s, Xi, Zeta, gamma, mu, 0.0, act)
    assert not np.allclose(s_plain.H, s.H)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_momentum_carried_across_outer_iterations_keeps_inner_loops_monotone(name):
    """The momentum an inner loop hands to the next outer iteration is used from that loop's
    first sweep (the iterates differ from a loop started without it), and the safeguard
    keeps L of the *new* multipliers non-increasing sweep by sweep from the start point."""
    act = ACTIVATIONS[name]()
    prob, w0 = _paper_problem(2)
    solver = ALMBCDSolver(max_inner_iter=6, acceleration="nesterov")
    state = solver.init_state(prob, act, w0)
    for _ in range(3):
        state = solver.update(state)
        assert state.momentum is not None
    Xi, Zeta, gamma, mu = state.Xi, state.Zeta, state.gamma, solver.mu
    L0 = augmented_lagrangian(prob, state.s, Xi, Zeta, gamma, act)
    values, first = [], None
    for n in range(1, 13):
        solver.max_inner_iter = n
        s, C, kappa, j, mom = _inner(solver, prob, state.s, Xi, Zeta, gamma, mu, 0.0, act,
                                     state.momentum)
        assert j == n and mom is not None
        values.append(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act))
        if n == 1:
            first = s
    seq = np.array([L0] + values)
    assert np.all(np.diff(seq) <= 1e-12 * max(1.0, abs(L0))), np.diff(seq)
    solver.max_inner_iter = 1
    cold, *_ = _inner(solver, prob, state.s, Xi, Zeta, gamma, mu, 0.0, act, None)
    assert not np.allclose(cold.H, first.H)
    # the paper's BCD neither takes nor hands on momentum
    solver.acceleration = None
    *_, mom = _inner(solver, prob, state.s, Xi, Zeta, gamma, mu, 0.0, act, state.momentum)
    assert mom is None


# -- the blocks with the skip connection D -------------------------------------------------


ALM_ACTIVATIONS = ["relu", "leaky_relu", "elu", "tanh"]


def _fd_output_gradient(prob, s, Xi, Zeta, gamma, act, step=1e-4):
    """Central differences of L in every entry of A, D and c. L is quadratic in them, so the
    differences are exact up to rounding."""
    def L(weights):
        return augmented_lagrangian(prob, s._replace(weights=weights), Xi, Zeta, gamma, act)

    out = {}
    for name in ("A", "D", "c"):
        base = getattr(s.weights, name)
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[idx] += step
            minus[idx] -= step
            g[idx] = (L(s.weights._replace(**{name: plus}))
                      - L(s.weights._replace(**{name: minus}))) / (2 * step)
        out[name] = g
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_z_block_with_skip_is_the_ridge_regression_on_h_x_1(name, seed):
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(seed, [0, 5] if seed == 2 else None, skip=True)
    Tn, r = s.H.shape
    n = prob.X.shape[1]
    l1, l5 = prob.lambdas.D, prob.lambdas.c
    new = z_block(prob, s.H, s.U, Xi, gamma, skip=True)

    # Independent: (1/T)||Y - [H X 1] B||^2 + l1(||A||^2 + ||D||^2) + l5||c||^2 as one
    # least-squares problem on the stacked design [[H X 1] / sqrt(T); sqrt(Lam)].
    design = np.hstack([s.H, prob.X, np.ones((Tn, 1))]) / np.sqrt(Tn)
    ridge = np.diag(np.sqrt(np.r_[np.full(r + n, l1), l5]))
    B = np.linalg.lstsq(np.vstack([design, ridge]),
                        np.vstack([prob.Y / np.sqrt(Tn), np.zeros((r + n + 1, prob.Y.shape[1]))]),
                        rcond=None)[0]
    np.testing.assert_allclose(new.A, B[:r].T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.D, B[r:r + n].T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(new.c, B[r + n], rtol=1e-10, atol=1e-12)

    # ... and the gradient of L in (A, D, c) vanishes there, but not at the starting point.
    before = _fd_output_gradient(prob, s, Xi, Zeta, gamma, act)
    after = _fd_output_gradient(prob, s._replace(weights=new), Xi, Zeta, gamma, act)
    assert np.sqrt(sum(np.sum(g**2) for g in before.values())) > 0.1
    # rounding of L (~1e-16 |L|) over the step 1e-4: ~1e-12 |L|
    scale = max(1.0, abs(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act)))
    for g in after.values():
        np.testing.assert_allclose(g, 0.0, atol=1e-9 * scale)

    # The recurrent half does not see D: exactly the z-block of the model without it.
    plain = z_block(prob, s.H, s.U, Xi, gamma)
    for name_ in ("W", "V", "b"):
        np.testing.assert_array_equal(getattr(new, name_), getattr(plain, name_))
    assert plain.D is None


@pytest.mark.parametrize("layout", [None, [0, 5]], ids=["one", "two"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_h_block_with_skip_zeroes_the_gradient_in_h(name, seed, layout):
    """L is a strictly convex quadratic in h at fixed (z, u): its central differences are
    exact, and they vanish at the h-block's answer (which the model without D does not
    give)."""
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(seed, layout, skip=True)
    s = s._replace(weights=z_block(prob, s.H, s.U, Xi, gamma, skip=True))
    step = 1e-4

    def fd_grad_h(H):
        def L(Hx):
            return augmented_lagrangian(prob, s._replace(H=Hx), Xi, Zeta, gamma, act)

        g = np.zeros_like(H)
        for idx in np.ndindex(H.shape):
            Hp, Hm = H.copy(), H.copy()
            Hp[idx] += step
            Hm[idx] -= step
            g[idx] = (L(Hp) - L(Hm)) / (2 * step)
        return g

    assert np.linalg.norm(fd_grad_h(s.H)) > 0.1
    H1 = h_block(prob, s.weights, s.U, Xi, Zeta, gamma, act)
    scale = max(1.0, abs(augmented_lagrangian(prob, s, Xi, Zeta, gamma, act)))
    np.testing.assert_allclose(fd_grad_h(H1), 0.0, atol=1e-9 * scale)
    H_without = h_block(prob, s.weights._replace(D=None), s.U, Xi, Zeta, gamma, act)
    assert np.max(np.abs(H_without - H1)) > 1e-3


@pytest.mark.parametrize("name", ALM_ACTIVATIONS)
def test_alm_gradients_and_kappa_include_D(name):
    """gradients() (grad_D included) against central differences of L, and kappa equal to
    the norm of the differences."""
    act = get_activation(name)
    prob, s, Xi, Zeta, gamma = alm_case(3, [0, 4], skip=True)
    gz, gH = gradients(prob, s, Xi, Zeta, gamma, act)
    assert len(gz) == 6
    fd = _fd_output_gradient(prob, s, Xi, Zeta, gamma, act)
    np.testing.assert_allclose(gz[5], fd["D"], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(gz[3], fd["A"], rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(gz[4], fd["c"], rtol=1e-9, atol=1e-8)
    mu = 0.05
    dU = np.random.RandomState(1).standard_normal(s.U.shape)
    kappa = certificate(prob, s, s.U - dU, Xi, Zeta, gamma, mu, act)
    without_D = np.sqrt(sum(np.sum(g**2) for g in gz[:5]) + np.sum(gH**2)
                        + mu**2 * np.sum(dU**2))
    expected = np.sqrt(without_D**2 + np.sum(fd["D"] ** 2))
    assert kappa == pytest.approx(expected, rel=1e-9)
    assert expected - without_D > 1e-3  # D's term matters here
