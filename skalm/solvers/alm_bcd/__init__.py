"""ALM-BCD: the augmented Lagrangian outer loop (``alm.py``) and the BCD inner loop (``bcd.py``).

The Lagrangian pieces (:mod:`skalm.solvers.lagrangian`) and the closed-form block updates
(:mod:`skalm.solvers.blocks`), which ADMMiRNN shares, are re-exported here.
"""

from .._registry import register_solver
from ..blocks import h_block, u_block, z_block
from ..lagrangian import (
    ALMPoint,
    augmented_lagrangian,
    certificate,
    constraints,
    feasibility,
    gradients,
)
from .alm import ALMBCDSolver, ALMState
from .bcd import bcd_sweep, inner_loop

register_solver(ALMBCDSolver)

__all__ = [
    "ALMBCDSolver", "ALMState", "ALMPoint", "augmented_lagrangian", "bcd_sweep", "certificate",
    "constraints", "feasibility", "gradients", "h_block", "inner_loop", "u_block", "z_block",
]
