"""The solver registry: name -> solver class, filled by :func:`register_solver`."""

__all__ = ["SOLVERS", "register_solver", "get_solver_class"]

#: Registry name -> solver class.
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
