"""ALM-BCD: the augmented Lagrangian outer loop (``alm.py``), the BCD sweep and certificate
(``bcd.py``) and the closed-form block updates (``blocks.py``)."""

from .._registry import register_solver
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

register_solver(ALMBCDSolver)

__all__ = [
    "ALMBCDSolver", "ALMState", "ALMPoint", "augmented_lagrangian", "bcd_sweep", "certificate",
    "constraints", "feasibility", "gradients", "h_block", "u_block", "z_block",
]
