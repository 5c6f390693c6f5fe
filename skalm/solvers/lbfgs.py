"""L-BFGS on ALM-BCD's objective R: scipy's L-BFGS-B with the analytic BPTT gradient.

The one solver whose loop is not :meth:`Solver.solve <skalm.solvers.base.Solver.solve>`'s:
scipy runs it, and the monitor records every iteration from scipy's callback. Same objective,
history and stopping rules as the other forward-pass solvers of :mod:`.bptt`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._registry import register_solver
from .base import COUNT, NON_NEGATIVE, Solver, blas_limit, setting
from .base import solver_settings
from .gradient import evaluate_with_gradient, flatten, grad_norm, unflatten
from .monitor import IterationMonitor

__all__ = ["LBFGS"]


@register_solver
@solver_settings
class LBFGS(Solver):
    """L-BFGS-B of :func:`scipy.optimize.minimize` on R with the analytic gradient.

    What jax-sysid and :class:`~sklearn.neural_network.MLPRegressor` use. One iteration of
    the history is one L-BFGS iteration (``n_inner``: function and gradient evaluations it
    took, line search included).

    Parameters
    ----------
    memory : int, default=10
        Number of correction pairs kept (scipy's ``maxcor``).
    max_iter : int, default=500
        Cap on L-BFGS iterations (scipy's ``maxiter``).
    max_fun : int, default=15000
        Cap on function evaluations (scipy's ``maxfun``).
    gtol : float, default=1e-6
        scipy's own test: stop when the largest gradient entry is at most ``gtol``.
    tol : float, default=1e-4
        Relative improvement of R that counts for ``n_iter_no_change`` (scipy's ``ftol`` is
        left at its default).
    n_iter_no_change : int or None, default=10
        As :class:`GradientDescent`; None leaves stopping to scipy and the caps.
    blas_threads : int or None, default=1
    verbose : int, default=0

    Notes
    -----
    scipy also ends the run, as converged, when one iteration lowers R by at most 2.2e-9
    times ``max(abs(R), 1)`` (its ``ftol``). A warm-started fit restarts L-BFGS's memory, and its
    first step, along the gradient, can gain less than that: on short series such fits
    stop after one iteration with gradients far above ``gtol`` (on the CV's paths in
    ``benchmarks/cv_candidates.py``; with scipy's test off, its sixth run, the CV's choices
    moved on two of 33 series and random starts, no median).
    """

    name = "lbfgs"
    activation_needs = ("sigma", "derivative")
    memory: int = setting(10, COUNT)
    max_iter: int = 500
    max_fun: int = setting(15000, COUNT)
    gtol: float = setting(1e-6, NON_NEGATIVE)

    def solve(self, problem, activation, weights0, random_state=None):
        """Minimize R from ``weights0`` with scipy; see the class docstring.

        The one solver that overrides :meth:`Solver.solve <skalm.solvers.base.Solver.solve>`:
        scipy runs the loop, so it has no ``init_state``/``update`` to step by hand.
        """
        self._check_activation(activation)
        with blas_limit(self.blas_threads):
            return self._solve(problem, activation, weights0)

    def _solve(self, problem, activation, weights0):
        like = weights0.astype(problem.dtype)
        monitor = IterationMonitor(
            self.name, problem, activation, like, self.max_iter, self.tol,
            self.n_iter_no_change, self.verbose,
        )
        cache = {"x": None, "fp": None, "n_fun": 0}

        def fun(x):
            cache["n_fun"] += 1
            weights = unflatten(x, like)
            fp = evaluate_with_gradient(weights, problem, activation)
            cache["x"], cache["fp"] = x.copy(), fp
            if not np.isfinite(fp.objective):
                return np.inf, np.zeros_like(x)
            return fp.objective, flatten(fp.grad, np.float64)

        def callback(intermediate_result):
            x = intermediate_result.x
            if cache["x"] is None or not np.array_equal(x, cache["x"]):
                fun(x)
                cache["n_fun"] -= 1  # a bookkeeping evaluation, not the optimizer's
            fp = cache["fp"]
            n_inner, cache["n_fun"] = cache["n_fun"], 0
            if monitor.record(
                unflatten(x, like), kappa=grad_norm(fp.grad), n_inner=n_inner, loss=fp.loss,
                objective=fp.objective, h_last=fp.H[-1],
            ):
                raise StopIteration

        with np.errstate(all="ignore"):
            res = minimize(
                fun, flatten(like, np.float64), jac=True, method="L-BFGS-B", callback=callback,
                options=dict(
                    maxiter=int(self.max_iter), maxfun=int(self.max_fun),
                    maxcor=int(self.memory), gtol=float(self.gtol),
                ),
            )
        if not monitor.message:
            if res.status == 0:
                monitor.stop(f"L-BFGS-B converged: {res.message}")
            elif monitor.n_iter < int(self.max_iter):
                monitor.stop(f"L-BFGS-B stopped: {res.message}", converged=False)
        return monitor.result(extras={"scipy_status": int(res.status), "n_fun": int(res.nfev)})
