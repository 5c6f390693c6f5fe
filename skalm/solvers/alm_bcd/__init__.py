"""ALM-BCD: the augmented Lagrangian outer loop (``alm.py``), the BCD sweep and certificate
(``bcd.py``) and the closed-form block updates (``blocks.py``)."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from .. import register_solver
from ..base import Solver
from .alm import ALMBCDSolver, ALMState
from .bcd import (
    ALMPoint,
    augmented_lagrangian,
    bcd_sweep,
    certificate,
    constraints,
    feasibility,
    gradients,
)
from .blocks import h_block, u_block, z_block

# The settings' constraints (checked by Solver._validate_params). Kept here rather than in the
# class body of alm.py only while that file has other changes pending; they belong there.
_unit = Interval(Real, 0, 1, closed="neither")
_positive = Interval(Real, 0, None, closed="neither")
ALMBCDSolver._parameter_constraints = {
    **Solver._parameter_constraints,
    "gamma0": [_positive],
    "eta1": [_unit],
    "eta2": [_unit],
    "eta3": [_positive],
    "eta4": [_unit],
    "eps0": [_positive],
    "eps_star": [Interval(Real, 0, None, closed="left")],
    "mu": [_positive],
    "max_inner_iter": [Interval(Integral, 1, None, closed="left")],
    "restart_bound": [Real, None],
    "max_gamma": [_positive],
    "acceleration": [StrOptions({"nesterov"}), None],
}
register_solver(ALMBCDSolver)

__all__ = [
    "ALMBCDSolver", "ALMState", "ALMPoint", "augmented_lagrangian", "bcd_sweep", "certificate",
    "constraints", "feasibility", "gradients", "h_block", "u_block", "z_block",
]
