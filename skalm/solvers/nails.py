"""NAILS and NAILM (Bemporad): sequential least squares on the residuals of R.

R is a sum of squares. Stack the residual vector

    e(z) = [ (yhat_t - y_t) / sqrt(T)  for all t ;   sqrt(l6) u_t  for all t ;
             sqrt(l2) W ; sqrt(l3) V ; sqrt(l4) b ; sqrt(l1) A ; sqrt(l5) c ]

(with a skip connection also sqrt(lambda_D) D, and yhat_t = A h_t + D x_t + c: D has Jacobian
columns dyhat_t/dD_ij = x_tj e_i and none in u)

so that ||e(z)||^2 = R(z) exactly, with (u, h, yhat) from the true forward pass. Each iteration
linearizes e around z (Jacobian J from forward sensitivities: the recursion
du_t = dW h_{t-1} + dV x_t + db + W dh_{t-1}, dh_t = sigma'(u_t) du_t run forward in time,
vectorized over a batch of parameter directions) and solves the linear least-squares problem

    min_d ||e + J d||^2 + lam ||d||^2,   i.e.   (J^T J + lam I) d = -J^T e = -grad R / 2.

* :class:`NAILS` takes the Gauss-Newton direction (lam = 0) and a backtracking Armijo line
  search on R (step 1, halved until R(z + a d) <= R(z) + 1e-4 a grad R . d).
* :class:`NAILM` is Levenberg-Marquardt: a trial step z + d is accepted when the actual decrease
  of R is a positive fraction of the decrease the linear model predicts,
  ``R - ||e + J d||^2``; lam shrinks after a good step and grows otherwise
  (the update of Nielsen, as in Madsen, Nielsen and Tingleff, *Methods for non-linear least
  squares problems*, 2004), a trust region in all but name.

Adapted from the paper: Bemporad's NAILS/NAILM alternate sequential least squares with ADMM
iterations, the ADMM being there for non-smooth or non-convex regularizers (l1, group lasso,
integer constraints). R's regularization is a smooth squared L2 norm, so it simply becomes rows
of the least-squares problem and no inner ADMM is needed.

**Size limit and linear solver.** With P = r^2 + r n + r + m r + m parameters (+ m n with a
skip connection) the Jacobian has T (m + r) rows (the l6 rows are those of u) and P columns:
at the paper's T = 500 synthetic size (r = 100, n = 80, m = 30, T = 450) that is
58,500 x 21,130, about 10 GB, and J^T J alone is 3.6 GB. So two linear solvers are built
in (``linear_solver``):

* ``"dense"``: forward sensitivities for all P directions at once, J^T J formed and factored
  (Cholesky). Exact, fast for small models (the T = 10 set: P = 55; the S&P set with r = 20:
  P = 661, about 90 MB), Bemporad's setting.
* ``"cg"``: matrix-free conjugate gradients on (J^T J + lam I) d = -grad R / 2. A product with
  J^T J is one forward-sensitivity pass along one direction (J v) and one backpropagation pass
  (J^T w, :func:`skalm.solvers.gradient.backprop`), each about the cost of a gradient, with no
  matrix stored. CG stops at relative residual ``cg_tol`` or after ``cg_max_iter`` products;
  started from 0 it returns a descent direction even when truncated (Steihaug).
* ``"auto"`` (default): dense when its arrays fit in ``max_dense_mb``, else CG.

Asking for ``"dense"`` beyond the budget raises a ValueError that gives the size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from numbers import Integral

import numpy as np
from scipy.sparse.linalg import LinearOperator, cg

from .._compat import Interval, StrOptions
from ..linalg import spd_solve
from ._registry import register_solver
from .base import COUNT, NON_NEGATIVE, POSITIVE, EndOfRun, Solver
from .base import setting, solver_settings
from .gradient import backprop, evaluate_with_gradient, flatten, grad_norm, unflatten

__all__ = ["forward_sensitivities", "GaussNewtonSystem", "GaussNewtonState", "NAILS", "NAILM"]

_ARMIJO = 1e-4


def forward_sensitivities(weights, X, layout, activation, U, H, D):
    """Jacobian-times-directions of the forward pass (forward mode, K directions at once).

    Parameters
    ----------
    weights : RNNWeights
    X : ndarray of shape (T, n)
    layout : SequenceLayout
    activation : Activation
    U, H : ndarray of shape (T, r)
        The forward pass of ``weights``.
    D : ndarray of shape (P, K)
        K directions in the flat parameter order of :func:`~skalm.solvers.gradient.flatten`
        (including the skip weights last when ``weights`` has them).

    Returns
    -------
    dU : ndarray of shape (T, r, K)
        du_t/dz . D
    dY : ndarray of shape (T, m, K)
        dyhat_t/dz . D
    """
    W, A = weights.W, weights.A
    dW, dV, db, dA, dc, *dD = _split(D, weights)
    Hprev = layout.shift_down(H)
    # Direct part (no recurrence): dW h_{t-1} + dV x_t + db for every row, as two GEMMs.
    dU = np.tensordot(Hprev, dW, axes=([1], [1]))
    dU += np.tensordot(X, dV, axes=([1], [1]))
    dU += db
    Dsig = activation.derivative(U)[:, :, None]
    dH = np.empty_like(dU)
    first = layout.first
    for t in range(dU.shape[0]):
        if t > 0 and not first[t]:
            dU[t] += W @ dH[t - 1]
        np.multiply(dU[t], Dsig[t], out=dH[t])
    dY = np.einsum("ar,trk->tak", A, dH, optimize=True)
    dY += np.tensordot(H, dA, axes=([1], [1]))
    dY += dc
    if dD:  # skip weights: yhat_t also moves by dD x_t, u does not
        dY += np.tensordot(X, dD[0], axes=([1], [1]))
    return dU, dY


def _split(D, like):
    """Rows of a (P, K) array cut into the blocks of ``like``, shaped (block shape + (K,))."""
    out, start = [], 0
    for a in like:
        stop = start + a.size
        out.append(D[start:stop].reshape(a.shape + (D.shape[1],)))
        start = stop
    return out


def _penalty_diagonal(weights, lambdas):
    """diag of the regularization rows' J^T J: lambda_i for each parameter, flat order."""
    return np.concatenate(
        [np.full(a.size, lam) for a, lam in zip(weights, lambdas.for_blocks(weights))]
    ).astype(weights.W.dtype)


class GaussNewtonSystem:
    """The Gauss-Newton model of R at one point: solves (J^T J + lam I) d = -grad R / 2.

    Built once per outer iteration (dense: J^T J formed; CG: only the forward pass kept) and
    solved for as many damping values lam as the caller needs.
    """

    def __init__(self, weights, problem, activation, fp, dense):
        self.weights, self.problem, self.activation, self.fp = weights, problem, activation, fp
        self.rhs = -0.5 * flatten(fp.grad)
        self.lam_diag = _penalty_diagonal(weights, problem.lambdas)
        self.n_products = 0
        T = max(problem.n_steps, 1)
        self.T = T
        self.M = None
        if dense:
            P = self.rhs.size
            dU, dY = forward_sensitivities(
                weights, problem.X, problem.layout, activation, fp.U, fp.H,
                np.eye(P, dtype=self.rhs.dtype),
            )
            Jy = dY.reshape(-1, P)
            M = (Jy.T @ Jy) / T
            l6 = problem.lambdas.u
            if l6:
                Ju = dU.reshape(-1, P)
                M += l6 * (Ju.T @ Ju)
            M[np.diag_indices_from(M)] += self.lam_diag
            self.M = M

    def matvec(self, v):
        """(J^T J) v without forming J."""
        self.n_products += 1
        p, fp = self.problem, self.fp
        dU, dY = forward_sensitivities(
            self.weights, p.X, p.layout, self.activation, fp.U, fp.H, v.reshape(-1, 1)
        )
        g = backprop(
            self.weights, p.X, p.layout, self.activation, fp.U, fp.H, dY[:, :, 0] / self.T,
            p.lambdas.u * dU[:, :, 0],
        )
        return flatten(g) + self.lam_diag * v

    def curvature(self, d):
        """d^T (J^T J) d: with grad R . d, the decrease the linear model predicts."""
        if self.M is not None:
            return float(d @ (self.M @ d))
        return float(np.vdot(d, self.matvec(d)))

    def solve(self, lam, cg_tol=1e-4, cg_max_iter=100):
        """The step d for damping ``lam`` (>= 0)."""
        if self.M is not None:
            M = self.M.copy()
            M[np.diag_indices_from(M)] += lam
            return spd_solve(M, self.rhs)
        n = self.rhs.size
        op = LinearOperator((n, n), matvec=lambda v: self.matvec(v) + lam * v,
                            dtype=self.rhs.dtype)
        d, _ = cg(op, self.rhs, rtol=cg_tol, atol=0.0, maxiter=cg_max_iter)
        return d


@dataclass
class GaussNewtonState:
    """State of a NAILS/NAILM run: the iterate, its forward pass and gradient ``fp``, the
    linear solver (``dense``), the iterations taken ``k``, the trial points and CG products
    of the last one ``n_inner``, the damping of its step ``gamma`` (NAILM; NaN for NAILS),
    and NAILM's damping ``lam`` and growth factor ``nu`` for the next step."""

    problem: object
    activation: object
    weights: object
    fp: object
    dense: bool
    k: int = 0
    n_inner: int = 0
    gamma: float = float("nan")
    lam: float = float("nan")
    nu: float = 2.0


@solver_settings
class _GaussNewtonSolver(Solver):
    """Shared settings, size check, state and record of NAILS and NAILM (not registered)."""

    activation_needs = ("sigma", "derivative")
    max_iter: int = 100
    n_iter_no_change: int | None = 5
    linear_solver: str = setting("auto", StrOptions({"auto", "dense", "cg"}))
    max_dense_mb: float = setting(256, POSITIVE)
    cg_tol: float = setting(1e-4, NON_NEGATIVE)
    cg_max_iter: int = setting(100, COUNT)

    def _use_dense(self, problem, weights):
        r, n = weights.V.shape
        m = weights.A.shape[0]
        P = sum(a.size for a in weights)
        T = problem.n_steps
        # sensitivities dU, dH (T r P), dY (T m P), the identity and J^T J (P^2), float64
        mb = 8.0 * P * (T * (2 * r + m) + 2 * P) / 2**20
        if self.linear_solver == "dense":
            if mb > self.max_dense_mb:
                raise ValueError(
                    f"linear_solver='dense' needs about {mb:.0f} MB for P={P} parameters and "
                    f"T={T} rows, more than max_dense_mb={self.max_dense_mb}; use "
                    "linear_solver='cg' (matrix-free) or raise max_dense_mb."
                )
            return True
        if self.linear_solver == "cg":
            return False
        if self.linear_solver == "auto":
            return mb <= self.max_dense_mb
        raise ValueError(
            f"linear_solver must be 'auto', 'dense' or 'cg', got {self.linear_solver!r}."
        )

    def init_state(self, problem, activation, weights, random_state=None):
        """The start: ``weights`` and their forward pass and gradient; the linear solver
        chosen (a ValueError when ``"dense"`` does not fit in ``max_dense_mb``)."""
        like = weights.astype(problem.dtype)
        return GaussNewtonState(
            problem=problem, activation=activation, weights=like,
            fp=evaluate_with_gradient(like, problem, activation),
            dense=self._use_dense(problem, like),
        )

    def report(self, state):
        fp = state.fp
        return dict(
            weights=state.weights, kappa=grad_norm(fp.grad), n_inner=state.n_inner,
            loss=fp.loss, objective=fp.objective, h_last=fp.H[-1], gamma=state.gamma,
        )

    def extras(self, state):
        return {"linear_solver": "dense" if state.dense else "cg"}


_SHARED_PARAMS_DOC = """
    max_iter : int, default=100
        Cap on outer (Gauss-Newton) iterations.
    tol : float, default=1e-4
        Relative improvement of R that counts for ``n_iter_no_change``.
    n_iter_no_change : int or None, default=5
        Stop when R (or the validation loss) did not improve by ``tol`` for this many
        iterations. None: only the caps and the solver's own tests stop it.
    linear_solver : {"auto", "dense", "cg"}, default="auto"
        How the Gauss-Newton system is solved (module docstring).
    max_dense_mb : float, default=256
        Memory budget of the dense solver; ``"auto"`` switches to CG above it.
    cg_tol : float, default=1e-4
        Relative residual at which CG stops.
    cg_max_iter : int, default=100
        Cap on CG iterations (J^T J products) per linear solve.
    blas_threads : int or None, default=1
    verbose : int, default=0
"""


@register_solver
@solver_settings
class NAILS(_GaussNewtonSolver):
    """Gauss-Newton with an Armijo backtracking line search (Bemporad's NAILS, no ADMM).

    History: ``kappa`` = ||grad R||, ``gamma`` NaN, ``feasibility`` 0, ``n_inner`` = trial
    points of the line search plus CG products.

    Parameters
    ----------
    max_line_search : int, default=30
        Halvings of the step before the run stops (no decrease along the Gauss-Newton
        direction: a stationary point to working precision).
    """

    __doc__ += _SHARED_PARAMS_DOC
    name = "nails"
    max_line_search: int = setting(30, Interval(Integral, 0, None, closed="left"))

    def update(self, state):
        """One Gauss-Newton step with its Armijo line search."""
        problem, activation, weights, fp = state.problem, state.activation, state.weights, state.fp
        system = GaussNewtonSystem(weights, problem, activation, fp, state.dense)
        d = system.solve(0.0, self.cg_tol, self.cg_max_iter)
        slope = float(np.vdot(flatten(fp.grad), d))
        x = flatten(weights)
        alpha, trials, new = 1.0, 0, None
        if slope < 0:
            for _ in range(int(self.max_line_search) + 1):
                trials += 1
                cand = unflatten(x + alpha * d, weights)
                cfp = evaluate_with_gradient(cand, problem, activation)
                if np.isfinite(cfp.objective) and (
                    cfp.objective <= fp.objective + _ARMIJO * alpha * slope
                ):
                    new = cand, cfp
                    break
                alpha *= 0.5
        if new is None:
            raise EndOfRun(
                f"NAILS: no decrease of R along the Gauss-Newton direction after "
                f"{trials} trial steps (stationary to working precision) at iteration "
                f"{state.k + 1}."
            )
        weights, fp = new
        return replace(state, weights=weights, fp=fp, k=state.k + 1,
                       n_inner=trials + system.n_products)


@register_solver
@solver_settings
class NAILM(_GaussNewtonSolver):
    """Levenberg-Marquardt with trust-region damping updates (Bemporad's NAILM, no ADMM).

    A step solves (J^T J + lam I) d = -grad R / 2. With rho the ratio of the actual decrease
    of R to the one the linear model predicts, ``-grad R . d - d^T J^T J d``: rho > 1e-4
    accepts the step and sets
    lam <- lam max(1/3, 1 - (2 rho - 1)^3), nu <- 2; otherwise lam <- nu lam, nu <- 2 nu and
    the step is solved again (same J, no new sensitivities).

    History: ``kappa`` = ||grad R||, ``gamma`` = the damping lam of the accepted step,
    ``feasibility`` 0, ``n_inner`` = trial steps plus CG products.

    Parameters
    ----------
    damping : float, default=1e-3
        Initial lam.
    max_trials : int, default=30
        Rejected steps in a row before the run stops (lam has grown by about 2^(trials^2/2):
        a stationary point to working precision).
    """

    __doc__ += _SHARED_PARAMS_DOC
    name = "nailm"
    damping: float = setting(1e-3, POSITIVE)
    max_trials: int = setting(30, COUNT)

    def init_state(self, problem, activation, weights, random_state=None):
        return replace(super().init_state(problem, activation, weights),
                       lam=float(self.damping), nu=2.0)

    def update(self, state):
        """One accepted Levenberg-Marquardt step (after as many rejected trials as needed)."""
        problem, activation, weights, fp = state.problem, state.activation, state.weights, state.fp
        lam, nu = state.lam, state.nu
        system = GaussNewtonSystem(weights, problem, activation, fp, state.dense)
        g = flatten(fp.grad)
        x = flatten(weights)
        new, overflowed = None, 0
        for trials in range(1, int(self.max_trials) + 1):
            d = system.solve(lam, self.cg_tol, self.cg_max_iter)
            # R - ||e + J d||^2 (exact even for a truncated CG step)
            pred = -float(np.vdot(g, d)) - system.curvature(d)
            cand = unflatten(x + d, weights)
            cfp = evaluate_with_gradient(cand, problem, activation)
            rho = (fp.objective - cfp.objective) / pred if pred > 0 else -np.inf
            overflowed += not np.isfinite(cfp.objective)
            if np.isfinite(cfp.objective) and rho > 1e-4:
                new = cand, cfp, lam
                lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                break
            lam *= nu
            nu *= 2.0
        if new is None and overflowed == trials:
            # Not stationarity: no trial could even be evaluated (data near overflow).
            raise EndOfRun(
                f"every one of {trials} trial steps had a non-finite objective R; "
                "scale X and y", diverged=True,
            )
        if new is None:
            raise EndOfRun(
                f"NAILM: {self.max_trials} rejected steps in a row (damping {lam:.3g}): "
                f"stationary to working precision at iteration {state.k + 1}."
            )
        weights, fp, used = new
        return replace(state, weights=weights, fp=fp, lam=lam, nu=nu, gamma=used,
                       k=state.k + 1, n_inner=trials + system.n_products)
