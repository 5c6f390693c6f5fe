"""skalm: Elman recurrent networks trained by ALM-BCD, as scikit-learn estimators.

The augmented Lagrangian method with block coordinate descent of Wang, Zhang and Chen (2024)
trains an Elman RNN without backpropagation through time. :class:`ElmanRNNRegressor` is the
scikit-learn estimator, :class:`ElmanRNNRegressorCV` the same with its penalties tuned by
time-ordered cross-validation (the recommended forecaster), :class:`RNNEnsembleRegressor` the average of several of them fitted
from different starts; :mod:`skalm.solvers` holds the training algorithms,
:mod:`skalm.activations` the activation strategies, :mod:`skalm.model` the network as plain
functions and :mod:`skalm.datasets` the paper's data.
"""

from . import datasets
from ._state import HiddenStateWarning
from .cv import ElmanRNNRegressorCV
from .ensemble import RNNEnsembleRegressor
from .estimator import ElmanRNNRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "ElmanRNNRegressor", "ElmanRNNRegressorCV", "RNNEnsembleRegressor", "HiddenStateWarning",
    "datasets", "__version__",
]
