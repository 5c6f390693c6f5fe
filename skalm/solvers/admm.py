"""ADMMiRNN (Tang et al., 2020) adapted to the Elman regression problem of ALM-BCD.

The problem is ALM-BCD's (2.6): minimize R(s) over s = (z, h, u), z = (W, V, b, A, c),
subject to C1 = u_t - W h_{t-1} - V x_t - b = 0 and C2 = h_t - sigma(u_t) = 0, with the
augmented Lagrangian

    L(s; xi, zeta, rho) = R(s) + <xi, C1> + <zeta, C2> + (rho/2)(||C1||^2 + ||C2||^2).

One ADMMiRNN iteration is one *symmetric* sweep over the blocks followed by one multiplier step
with a fixed penalty:

    backward half:  (A, c) -> h -> u -> (W, V, b)
    forward half:   (W, V, b) -> u -> h -> (A, c)
    multipliers:    xi <- xi + rho C1,   zeta <- zeta + rho C2

(The seed's order o -> c -> v -> s -> a -> b -> w -> u and back, with its o dropped and
(v, c) = (A, c), s = h, a = u, (u, w, b) = (V, W, b); an exact block repeated back to back
changes nothing, so (W, V, b) is solved once in the middle and (A, c), unchanged by the
multiplier step, once at the end.) The blocks are the exact minimizers of
:mod:`skalm.solvers.blocks` with gamma = rho; u gets the proximal term
(mu/2)||u - u_prev||^2 as in ALM-BCD.

**What was adapted from the seed, and why.**

* **No output variable o.** The seed adds o_t = v s_t + c with its own penalty rho_3 (the
  setting it found decisive, Table 2) because its loss is a general one. Ours is least
  squares in (A, c, h): the loss stays as it is and o and rho_3 disappear.
* **Every constraint has multipliers.** The seed relaxes the constraints of steps t < N by a
  fixed quadratic penalty nu (Problem 2, nu as small as 1e-8) and keeps multipliers only at
  the last step. The relaxed problem is infeasible, and our predictions come from the true
  forward pass, so the seed's treatment of step N is applied to every step: (2.6) exactly,
  as ALM-BCD does, with one penalty rho for C1 and C2 (the seed's rho_1, rho_2; it reports
  they matter little).
* **Exact blocks instead of linearized ones.** The seed linearizes the weight updates
  (proximal parameter r) to avoid pseudo-inverses of per-step inputs, and uses the "trick"
  tanh(a) ~ a in the a-update. With all T steps at once the weight blocks are two small ridge
  regressions (closed form), the h block is a linear solve, and every activation strategy
  has the global minimizer of the one-dimensional u problems; they are used instead.
* **Penalty units and schedule.** The seed keeps rho fixed ("fixed value strategy"); so does
  the default here, but the setting is per time step (L uses rho / T) because our loss is a
  mean over time, and a fixed absolute rho that works at T = 9 stalls at T = 450.
  ``rho_growth > 1`` multiplies rho after every iteration whose FeasVio did not fall below
  0.99 times the previous one (capped at ``max_rho``), a mild version of ALM-BCD's rule, for
  problems where a fixed rho leaves the iterates infeasible.

The difference from ALM-BCD is then the method itself: ADMM takes one (symmetric) sweep per
multiplier step with a fixed penalty; ALM-BCD runs the inner BCD to a tolerance and adapts the
penalty.

With a skip connection (yhat_t = A h_t + D x_t + c) the output-layer update is the ridge
regression of :func:`~skalm.solvers.blocks.output_block` on [h_t, x_t, 1], giving (A, D, c)
together, and the h block uses y_t - c - D x_t.

History: ``feasibility`` = FeasVio = max(||C1||, ||C2||); ``kappa`` = ALM-BCD's certificate
sqrt(||grad_z L||^2 + ||grad_h L||^2 + mu^2 ||u - u_prev||^2) at the end of the sweep (the
same quantity as ALM-BCD's kappa; here only an indicator, because u is not the last block);
``gamma`` = rho / T, the penalty in L; ``n_inner`` = 1 (one sweep); ``train_loss`` and
``objective`` of the true forward pass of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Real

import numpy as np

from .._compat import Interval
from ..model import forward
from ._registry import register_solver
from .base import POSITIVE, EndOfRun, Solver, setting, solver_settings
from .blocks import h_block, output_block, u_block, z_block
from .lagrangian import ALMPoint, certificate, constraints, feasibility

__all__ = ["ADMMiRNN", "ADMMState"]


@dataclass
class ADMMState:
    """State of an ADMMiRNN run: the point (weights, H, U) of the last sweep, its FeasVio
    ``feas`` and certificate ``kappa``, the penalty ``rho_used`` in that sweep, and the
    multipliers and penalty ``rho`` for the next sweep (per step: rho / T)."""

    problem: object
    activation: object
    weights: object
    H: np.ndarray
    U: np.ndarray
    Xi: np.ndarray
    Zeta: np.ndarray
    rho: float
    T: int
    rho_used: float = float("nan")
    feas: float = float("inf")
    kappa: float = float("nan")


@register_solver
@solver_settings
class ADMMiRNN(Solver):
    """ADMM over the unfolded RNN (Tang et al., 2020), adapted; see the module docstring.

    Parameters
    ----------
    rho : float, default=10.0
        Penalty of both constraint sets *per time step*: L uses rho / T (fixed unless
        ``rho_growth > 1``). The loss is a mean over the T steps, so the penalty that balances
        it scales like 1/T; in these units one value suits any length (measured on the
        paper's synthetic sets, T = 9 and T = 450 training rows: 10 converges on both; 3
        oscillates at T = 9; 30 is slower at T = 450).
    rho_growth : float, default=1.0
        Factor applied to rho after an iteration without sufficient FeasVio decrease.
    max_rho : float, default=1e8
        Cap on rho (same units).
    mu : float, default=1e-5
        Proximal weight of the u block.
    max_iter : int, default=200
        Cap on ADMM iterations (sweeps).
    tol : float, default=1e-4
        Relative improvement that counts for ``n_iter_no_change``.
    n_iter_no_change : int or None, default=10
        Stop when, for this many iterations, neither R of the true forward pass nor FeasVio
        (while above ``tol`` times the norm of the auxiliary h) improved by a relative ``tol``
        (with validation data: the validation loss did not).
    blas_threads : int or None, default=1
    verbose : int, default=0
    """

    name = "admmirnn"
    activation_needs = ("sigma", "solve_u")
    rho: float = setting(10.0, POSITIVE)
    rho_growth: float = setting(1.0, Interval(Real, 1, None, closed="left"))
    max_rho: float = setting(1e8, POSITIVE)
    mu: float = setting(1e-5, POSITIVE)
    max_iter: int = 200

    def sweep(self, problem, weights, H, U, Xi, Zeta, rho, activation):
        """One symmetric sweep; returns (weights, H, U, U_prev) with U_prev the prox centre
        of the last u update."""
        mu = float(self.mu)
        skip = weights.D is not None
        H = h_block(problem, weights, U, Xi, Zeta, rho, activation)
        U, _ = u_block(problem, weights, H, U, Xi, Zeta, rho, mu, activation)
        weights = z_block(problem, H, U, Xi, rho, skip=skip)
        U_prev = U
        U, _ = u_block(problem, weights, H, U, Xi, Zeta, rho, mu, activation)
        H = h_block(problem, weights, U, Xi, Zeta, rho, activation)
        A, c, D = output_block(problem, H, skip)
        weights = weights._replace(A=A, c=c, D=D)
        return weights, H, U, U_prev

    def init_state(self, problem, activation, weights, random_state=None):
        """The forward pass of ``weights`` (feasible), zero multipliers, rho / T."""
        weights = weights.astype(problem.dtype)
        U, H = forward(weights, problem.X, activation, problem.layout)
        T = max(problem.n_steps, 1)
        return ADMMState(
            problem=problem, activation=activation, weights=weights, H=H, U=U,
            Xi=np.zeros_like(U), Zeta=np.zeros_like(U), rho=float(self.rho) / T, T=T,
        )

    def update(self, state):
        """One symmetric sweep, then the multiplier step and the penalty for the next one."""
        problem, activation, rho = state.problem, state.activation, state.rho
        Xi, Zeta = state.Xi, state.Zeta
        weights, H, U, U_prev = self.sweep(problem, state.weights, state.H, state.U, Xi, Zeta,
                                           rho, activation)
        point = ALMPoint(weights, H, U)
        C1, C2 = constraints(problem, point, activation)
        feas = feasibility(C1, C2)
        kappa = certificate(problem, point, U_prev, Xi, Zeta, rho, float(self.mu), activation,
                            (C1, C2))
        new = replace(state, weights=weights, H=H, U=U, rho_used=rho, feas=feas, kappa=kappa)
        if not (np.isfinite(feas) and np.all(np.isfinite(H))):
            raise EndOfRun("non-finite auxiliary variables", diverged=True, state=new)
        if self.rho_growth > 1 and feas > 0.99 * state.feas:
            rho = min(rho * float(self.rho_growth), float(self.max_rho) / state.T)
        return replace(new, Xi=Xi + state.rho * C1, Zeta=Zeta + state.rho * C2, rho=rho)

    def report(self, state):
        return dict(
            weights=state.weights, feasibility=state.feas, kappa=state.kappa,
            gamma=state.rho_used, n_inner=1, feasibility_scale=float(np.linalg.norm(state.H)),
        )

    def extras(self, state):
        return {"rho": state.rho_used, "feasibility": state.feas,
                "own_loss": state.problem.training_loss(state.weights, state.H)}
