"""The one place skalm imports scikit-learn's private modules.

Parameter validation (``_param_validation``) and the fit context (``_fit_context``) are not
public API: a scikit-learn release may move them. Every module of skalm takes them from here,
so such a move is fixed in this file alone.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)

__all__ = [
    "fit_context",
    "HasMethods",
    "Interval",
    "StrOptions",
    "make_constraint",
    "validate_parameter_constraints",
]
