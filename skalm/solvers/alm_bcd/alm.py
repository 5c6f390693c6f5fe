"""The ALM outer loop (Algorithm 3.1) around the BCD inner loop, as a registered solver.

The loop has the jaxopt shape: :meth:`ALMBCDSolver.init_state` builds the feasible start,
:meth:`ALMBCDSolver.update` runs one outer iteration (inner BCD to its stopping rule, then
multipliers, tolerance and penalty), and the shared :meth:`~skalm.solvers.base.Solver.solve`
drives ``update`` with the stopping rules and records the history. Tests drive
``init_state``/``update`` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Real

import numpy as np

from ..._compat import Interval, StrOptions
from ..._docstring import fill_doc
from ..base import COUNT, NON_NEGATIVE, POSITIVE, EndOfRun, Solver, setting, solver_settings
from ..lagrangian import ALMPoint, augmented_lagrangian, feasibility
from .bcd import inner_loop

__all__ = ["ALMState", "ALMBCDSolver", "SETTINGS_DOC"]

_UNIT = Interval(Real, 0, 1, closed="neither")


@dataclass
class ALMState:
    """Everything one outer iteration needs and produces.

    ``s`` is s^k, ``Xi``/``Zeta`` are xi^k/zeta^k, ``gamma`` is gamma_k, ``eps`` is eps_k.
    ``momentum`` is the extrapolated inner loop's (previous point, t) carried into the next
    outer iteration (None: none yet, or the paper's BCD). ``anchor`` is the forward pass of the
    weights with the lowest objective ``anchor_R`` so far (s^0 at the start); ``reanchor`` says
    that the weights of s^k ran forward no better, so the next inner loop starts from it.
    """

    k: int
    s: ALMPoint
    s0: ALMPoint
    Xi: np.ndarray
    Zeta: np.ndarray
    gamma: float
    eps: float
    feas: float
    Gamma: float
    n_inner: int = 0
    kappa: float = float("nan")
    restarted: bool = False
    momentum: tuple | None = None
    problem: object = None
    activation: object = None
    anchor: ALMPoint | None = None
    anchor_R: float = float("inf")
    reanchor: bool = False


#: The numpydoc entries of the ALM-BCD settings that :class:`~skalm.ElmanRNNRegressor` also
#: takes as parameters: written once here, composed into both docstrings (:func:`fill_doc`).
SETTINGS_DOC = {
    "gamma0": r"""gamma0 : float, default=1.0
    :math:`\gamma_0 > 0`, the initial penalty of the augmented Lagrangian.""",
    "eta1": r"""eta1 : float, default=0.99
    :math:`\eta_1 \in (0, 1)`: the penalty stays the same when FeasVio fell below
    :math:`\eta_1` times its previous value.""",
    "eta2": r"""eta2 : float, default=5/6
    :math:`\eta_2 \in (0, 1)`: otherwise the penalty grows at least by :math:`1/\eta_2`.""",
    "eta3": r"""eta3 : float, default=0.01
    :math:`\eta_3 > 0`: ... and at least to :math:`\|\xi\|^{1+\eta_3}`,
    :math:`\|\zeta\|^{1+\eta_3}`. The paper's convergence proof (Thm 4.7) needs
    :math:`\eta_3 > 1`; its experiments, and this default, use 0.01.""",
    "eta4": r"""eta4 : float, default=5/6
    :math:`\eta_4 \in (0, 1)`: the inner tolerance shrinks as
    :math:`\epsilon_k = \eta_4 \epsilon_{k-1}`.""",
    "mu": r"""mu : float, default=1e-5
    :math:`\mu > 0`, the proximal weight of the u-block (``sigma`` in the paper's code).""",
    "max_inner_iter": r"""max_inner_iter : int, default=50
    Cap on the BCD sweeps of one inner loop (``submaxiter`` in the paper's code, whose
    default is 100). With the momentum carried across outer iterations, shorter inner
    loops lose little per sweep and let the practical rule stop sooner: on the paper's
    T=500 set, 50 stops at R = 8.09 after 3,350 sweeps, 100 at R = 7.88 after 7,300;
    L-BFGS reaches 8.37 (``benchmarks/alm_acceleration.py``; times in :ref:`performance`).""",
    "acceleration": r"""acceleration : {"nesterov"} or None, default="nesterov"
    ALM-BCD's inner loop (:func:`~skalm.solvers.alm_bcd.inner_loop`). ``"nesterov"``
    starts every BCD sweep from an extrapolated (h, u) and falls back to a plain sweep
    (restarting the momentum) whenever that would raise the augmented Lagrangian, so the
    inner loop stays monotone; the momentum carries over between outer iterations. Not in
    the paper: on the paper's T=500 synthetic set the paper's BCD stalls (R = 13.6 after 100
    outer iterations at the estimator's defaults) where the extrapolated one passes
    L-BFGS's R = 8.37 after 10 and stops by the practical rule at R = 7.88 after 73
    (``benchmarks/alm_acceleration.py``). None runs the paper's Algorithm 3.2 exactly,
    which ``tests/test_blocks_vs_kronecker.py`` checks against the Kronecker form.""",
}


@fill_doc(SETTINGS_DOC)
@solver_settings
class ALMBCDSolver(Solver):
    """ALM with BCD inner loop (Wang, Zhang and Chen, 2024), in structured form.

    Parameters
    ----------
    %(gamma0)s
    %(eta1)s
    %(eta2)s
    %(eta3)s
    %(eta4)s
    eps0 : float, default=0.1
        eps_0, the first inner tolerance on the certificate kappa.
    eps_star : float, default=1e-20
        eps_*: the outer loop stops when eps_k <= eps_*.
    %(mu)s
    max_iter : int, default=100
        Cap on outer iterations.
    %(max_inner_iter)s
    tol : float, default=1e-3
        Relative improvement that counts for the practical stopping rule.
    n_iter_no_change : int or None, default=10
        Practical rule: stop when, for this many consecutive outer iterations, neither the
        training objective R of the true forward pass nor FeasVio improved by a relative
        ``tol`` on their best values (or, with validation data, the validation loss did not).
        FeasVio counts only while it exceeds ``tol`` times the norm of the auxiliary hidden
        states: below that the constraints hold to the precision asked for. None: only eps_*
        and the caps stop the loop (the paper's algorithm unchanged).
    restart_bound : float or None, default=None
        Gamma of eq. (3.10)/(3.13): an inner loop restarts from s^0 when L at s^{k-1} exceeds
        it. None: R(s^0), the value of the feasible start.
    max_gamma : float, default=1e12
        A penalty beyond this, any non-finite iterate, or a training objective of the true
        forward pass beyond ``EXPLOSION_FACTOR`` times its start value is treated as
        divergence: the run stops, returns the last finite iterate and warns.
    %(acceleration)s
    anchor : {"best"} or None, default="best"
        ``"best"``: after every outer iteration the weights are run forward; the forward pass
        (a feasible point, where L = R) of the weights with the lowest objective R so far is
        the anchor, and an outer iteration whose weights run forward no better than the anchor
        sends the next inner loop back to it (multipliers, penalty and tolerance carry on). It
        replaces s^0 as the restart point of eq. (3.13), so the paper's rule is kept with a
        better fallback. Not in the paper. Why: at a small penalty the auxiliary h can fit y
        without the weights reproducing it; the iterates then visit weights whose forward pass
        is far better than the near-linear start (hidden-oscillator series, tanh: train MSE
        0.11 at outer iteration 6) and lose them again as gamma grows, ending at the
        near-linear KKT point (0.63); anchored, the run keeps and refines them
        (``benchmarks/near_linear_trap.py``, ``docs/user_guide/memory.rst``). None: the
        paper's Algorithm 3.1 (restarts from s^0 only when L(s^{k-1}) > Gamma).
    blas_threads : int or None, default=1
        Threads of the fit. BLAS runs on one thread whatever the value (a multi-threaded
        OpenBLAS product waits for its workers to get a core, which on a busy machine costs
        more than it saves); other than 1, each BCD sweep of at least
        2 * ``skalm._parallel.MIN_CHUNK_ROWS`` rows, of a network not narrower than
        ``skalm._parallel.MIN_CHUNK_ROW_WORK``, runs in time chunks on that many threads
        (None: as many as the process's BLAS setting, i.e. ``OMP_NUM_THREADS`` or the cores;
        :func:`~skalm.solvers.alm_bcd.bcd_sweep`); the result equals one thread's up to
        rounding. One thread is the default: a fit per core (``n_jobs`` in a grid search)
        uses the cores best.
    verbose : int, default=0
        1: one line per outer iteration.
    """

    name = "alm-bcd"
    activation_needs = ("sigma", "solve_u")
    estimator_params = (
        "gamma0", "eta1", "eta2", "eta3", "eta4", "mu", "max_iter", "max_inner_iter", "tol",
        "n_iter_no_change", "acceleration", "blas_threads", "verbose",
    )

    gamma0: float = setting(1.0, POSITIVE)
    eta1: float = setting(0.99, _UNIT)
    eta2: float = setting(5 / 6, _UNIT)
    eta3: float = setting(0.01, POSITIVE)
    eta4: float = setting(5 / 6, _UNIT)
    eps0: float = setting(0.1, POSITIVE)
    eps_star: float = setting(1e-20, NON_NEGATIVE)
    mu: float = setting(1e-5, POSITIVE)
    max_inner_iter: int = setting(50, COUNT)
    tol: float = 1e-3
    restart_bound: float | None = setting(None, Real, None)
    max_gamma: float = setting(1e12, POSITIVE)
    acceleration: str | None = setting("nesterov", StrOptions({"nesterov"}), None)
    anchor: str | None = setting("best", StrOptions({"best"}), None)

    # -- the algorithm --------------------------------------------------------------------
    def init_state(self, problem, activation, weights0, random_state=None):
        """s^0 = forward pass of the initial weights (feasible), multipliers 0."""
        weights0 = weights0.astype(problem.dtype)
        _, _, _, U, H = problem.evaluate(weights0, activation)  # the forward pass
        s0 = ALMPoint(weights0, H, U)
        zeros = np.zeros_like(U)
        R0 = augmented_lagrangian(problem, s0, zeros, zeros, float(self.gamma0), activation)
        Gamma = R0 if self.restart_bound is None else float(self.restart_bound)
        return ALMState(
            k=0, s=s0, s0=s0, Xi=zeros, Zeta=zeros.copy(), gamma=float(self.gamma0),
            eps=float(self.eps0), feas=0.0, Gamma=Gamma, problem=problem, activation=activation,
            anchor=s0, anchor_R=R0,
        )

    def inner_start(self, state):
        """Eq. (3.13): s^{k-1} when its L is at most Gamma, else the feasible start s^0.

        With ``anchor="best"`` the fallback is the anchor instead of s^0, and it is also taken
        when the weights of s^{k-1} ran forward no better than the anchor.
        """
        if state.k == 0:
            return state.s0, False
        fallback = state.s0 if self.anchor is None else state.anchor
        if self.anchor is not None and state.reanchor:
            return fallback, True
        L = augmented_lagrangian(
            state.problem, state.s, state.Xi, state.Zeta, state.gamma, state.activation
        )
        if L <= state.Gamma:
            return state.s, False
        return fallback, True

    def update(self, state):
        """One outer iteration k: inner BCD, multipliers (3.7), eps, penalty (3.8)/(3.9).

        Raises :class:`~skalm.solvers.base.EndOfRun` (divergence) when a block's linear
        system fails or the new iterate is not finite or its penalty exceeds ``max_gamma``.
        """
        try:
            new = self._outer_iteration(state)
        except np.linalg.LinAlgError as exc:  # a block's system had non-finite entries
            raise EndOfRun(
                f"linear algebra failure in the BCD blocks: {exc}", diverged=True
            ) from exc
        if not self._finite(new):
            raise EndOfRun(
                f"penalty gamma = {new.gamma:.3g} or a non-finite iterate", diverged=True
            )
        return new

    def _outer_iteration(self, state):
        problem, activation = state.problem, state.activation
        gamma, Xi, Zeta, mu = state.gamma, state.Xi, state.Zeta, float(self.mu)
        s, restarted = self.inner_start(state)
        # A restart from s^0 drops the momentum: it points along the abandoned trajectory.
        momentum = None if restarted else state.momentum
        s, C, kappa, j, momentum = inner_loop(
            problem, s, Xi, Zeta, gamma, mu, state.eps, activation, momentum,
            max_inner_iter=int(self.max_inner_iter),
            accelerate=self.acceleration == "nesterov", n_threads=self.blas_threads,
        )
        C1, C2 = C
        feas = feasibility(C1, C2)
        anchor, anchor_R, reanchor = state.anchor, state.anchor_R, False
        if self.anchor is not None:
            # One forward pass per outer iteration (a fraction of one sweep's cost).
            with np.errstate(all="ignore"):
                _, R_fwd, _, U_fwd, H_fwd = problem.evaluate(s.weights, activation)
            if R_fwd < anchor_R:
                anchor, anchor_R = ALMPoint(s.weights, H_fwd, U_fwd), R_fwd
            else:
                reanchor = True
        Xi = Xi + gamma * C1
        Zeta = Zeta + gamma * C2
        if feas > self.eta1 * state.feas:
            growth = 1.0 + self.eta3
            gamma = max(
                gamma / self.eta2,
                float(np.linalg.norm(Xi)) ** growth,
                float(np.linalg.norm(Zeta)) ** growth,
            )
        return replace(
            state, k=state.k + 1, s=s, Xi=Xi, Zeta=Zeta, gamma=gamma,
            eps=self.eta4 * state.eps, feas=feas, n_inner=j, kappa=kappa, restarted=restarted,
            momentum=momentum, anchor=anchor, anchor_R=anchor_R, reanchor=reanchor,
        )

    # -- what the shared loop of Solver.solve asks ------------------------------------------
    def _finite(self, state):
        return (
            np.isfinite(state.gamma)
            and state.gamma <= self.max_gamma
            and state.s.weights.all_finite()
            and np.all(np.isfinite(state.s.H))
            and np.all(np.isfinite(state.s.U))
        )

    def report(self, state):
        return dict(
            weights=state.s.weights, kappa=state.kappa, n_inner=state.n_inner,
            feasibility=state.feas, gamma=state.gamma,
            feasibility_scale=float(np.linalg.norm(state.s.H)),
        )

    def _blas_threads_in_solve(self):
        # BLAS on one thread whatever blas_threads says: a multi-threaded OpenBLAS product
        # waits for its workers to get a core, which stalled whole fits 3.7x on a busy
        # two-core machine (benchmarks/bench_sweep.py); the threads go to the time chunks
        # of the sweep (bcd_sweep's n_threads).
        return 1

    def stop_message(self, state):
        if state.eps <= self.eps_star:
            return f"eps_k <= eps_star after {state.k} outer iterations."
        return None

    def extras(self, state):
        own_loss = state.problem.training_loss(state.s.weights, state.s.H)  # auxiliary h
        return {"gamma": state.gamma, "feasibility": state.feas, "own_loss": own_loss}
