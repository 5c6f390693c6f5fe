"""The training algorithms, and the registry that maps a name to each.

Add a solver by subclassing :class:`~skalm.solvers.base.Solver` and calling
:func:`register_solver` on it (the registry lives in :mod:`._registry`).
"""

from ._registry import SOLVERS, get_solver_class, register_solver
from .base import HISTORY_KEYS, Problem, Solver, SolverResult

# Importing the solver modules registers their solvers (in this order).
from .alm_bcd import ALMBCDSolver
from .bptt import (
    Adam,
    ClippedGradientDescent,
    GradientDescent,
    MiniBatchSGD,
    NesterovGradientDescent,
)
from .lbfgs import LBFGS
from .nails import NAILM, NAILS
from .admm import ADMMiRNN

__all__ = [
    "SOLVERS",
    "register_solver",
    "get_solver_class",
    "Problem",
    "Solver",
    "SolverResult",
    "HISTORY_KEYS",
    "ALMBCDSolver",
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
