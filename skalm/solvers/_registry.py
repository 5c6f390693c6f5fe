"""The solver registry: name -> solver class, filled by :func:`register_solver`."""

from .._registry import look_up, register

__all__ = ["SOLVERS", "register_solver", "get_solver_class"]

#: Registry name -> solver class.
SOLVERS = {}


def register_solver(cls):
    """Class decorator: make ``cls`` reachable as ``ElmanRNNRegressor(solver=cls.name)``."""
    return register(SOLVERS, cls, "solver")


def get_solver_class(name):
    """The solver class registered under ``name`` (clear error listing the known ones)."""
    return look_up(SOLVERS, name, "solver")
