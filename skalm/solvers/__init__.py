"""Solver registry: name -> solver class.

Add a solver by subclassing :class:`~skalm.solvers.base.Solver` and calling
:func:`register_solver` on it.
"""

from .base import HISTORY_KEYS, Problem, Solver, SolverResult

SOLVERS = {}


def register_solver(cls):
    """Class decorator: make ``cls`` reachable as ``ElmanRNNRegressor(solver=cls.name)``."""
    if not cls.name:
        raise ValueError("a solver class needs a non-empty name")
    SOLVERS[cls.name] = cls
    return cls


def get_solver_class(name):
    """The solver class registered under ``name`` (clear error listing the known ones)."""
    try:
        return SOLVERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"solver must be one of {sorted(SOLVERS)}, got {name!r}."
        ) from None


from .alm_bcd import ALMBCDSolver  # noqa: E402,F401  (registers itself)

__all__ = [
    "SOLVERS",
    "register_solver",
    "get_solver_class",
    "Problem",
    "Solver",
    "SolverResult",
    "HISTORY_KEYS",
    "ALMBCDSolver",
]
from .bptt import (  # noqa: E402,F401  (peer solvers; each registers itself)
    LBFGS,
    Adam,
    ClippedGradientDescent,
    GradientDescent,
    MiniBatchSGD,
    NesterovGradientDescent,
)
from .nails import NAILM, NAILS  # noqa: E402,F401
from .admm import ADMMiRNN  # noqa: E402,F401

__all__ += [
    "GradientDescent",
    "ClippedGradientDescent",
    "NesterovGradientDescent",
    "MiniBatchSGD",
    "Adam",
    "LBFGS",
    "ADMMiRNN",
    "NAILS",
    "NAILM",
]
