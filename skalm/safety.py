"""Forward-pass safety: the weights a solver returns are checked by a true forward pass.

Predictions always come from the forward pass of the learned weights. A solver that works on
auxiliary hidden states (``alm-bcd``, ``admmirnn``) measures its training loss with those
states, and a small constraint violation can hide weights whose forward pass blows up: the
recurrence amplifies the violation at every step. :func:`check_forward_pass` runs after every
solver and compares the two losses. A blow-up is never returned silently: it is replaced by the
best of a few stabilized candidates, with a :class:`~sklearn.exceptions.ConvergenceWarning`.

**What counts as a blow-up.** With :math:`F` the forward-pass training loss of the returned
weights, :math:`S` the solver's own training loss (``result.extras["own_loss"]``, see
:class:`~skalm.solvers.SolverResult`) and :math:`Z = \\frac1T\\sum_t \\|y_t\\|^2` the loss of
predicting 0 for every row (all-zero weights; small initial weights start near it), the
weights blew up when :math:`F` is not finite or

.. math::

    F > Z \\quad\\text{and}\\quad \\bigl(F > k S \\ \\text{ or }\\ S > Z\\bigr), \\qquad k = 10

(:data:`BLOWUP_FACTOR`), that is, when the forward pass is worse than predicting 0 and either
more than :math:`k` times worse than the solver's own loss, or the solver's own loss is worse
than predicting 0 too: such a fit has failed (seen with L-BFGS from a start whose recurrence
expands, ``n_hidden=200`` and ``init_scale=0.1``: its line search found no lower objective,
and scipy reported convergence). A missing or non-finite :math:`S` counts as :math:`Z`. When :math:`Z = 0` (all targets 0)
the comparisons with :math:`Z` say nothing, and only :math:`F > k S` counts. The
floor :math:`Z` keeps a solver whose own loss is tiny (its auxiliary states fit the targets) while
its forward pass is merely mediocre: that is not a blow-up, and its weights are kept. A
factor of 10 is an order of magnitude. Measured on the bundled S&P 500 data (ALM-BCD with 1
to 10 outer iterations, ADMMiRNN with 5 to 50 sweeps, four activations, ``init_scale`` 0.1 to
0.5, ``alpha`` 0.01 and 1, two to five seeds; 792 fits): the fits whose initial forward pass
was sound had :math:`F/S` between 0.84 and 6 (the highest: ADMMiRNN with ``alpha=0.01``,
where the floor matters) and :math:`F < 0.2 Z`. Every fit flagged had started from weights
whose forward pass already ran away (:math:`F_0 > 10^{12} Z`) and had :math:`F > 10^9 Z`.

**What is done about it.** The candidates, each judged by the objective :math:`R` of its true
forward pass over the training rows, are

* ``"solver"``: the weights the solver returned;
* ``"shrink"``: a spectral-norm safeguard. The singular values of :math:`W` are clipped at
  :data:`SPECTRAL_BOUND` divided by the activation's largest slope :math:`L` (estimated from
  ``activation.derivative`` on a grid), the Frobenius-nearest matrix with that spectral norm.
  Then :math:`\\|h_t\\| \\le L\\|W\\|\\,\\|h_{t-1}\\| + L\\|V x_t + b\\| + \\|\\sigma(0)\\|`
  keeps the state bounded by :math:`(L \\max_t\\|V x_t + b\\| + \\|\\sigma(0)\\|) / (1 - 0.9)`
  for every length of sequence. The output layer :math:`(A, c)` is then refitted to the new
  hidden states (the ridge regression that minimizes :math:`R` over :math:`(A, c)` exactly);
* ``"initial"``: the weights the fit started from, when given;
* ``"polish"``: at most :data:`POLISH_MAX_ITER` iterations of the registered
  :data:`POLISH_SOLVER` (L-BFGS on :math:`R` with the analytic BPTT gradient) from the best of
  the candidates above. It only accepts points whose objective is finite and lower.

The candidate with the lowest :math:`R` is kept. If no candidate has a finite forward pass (only
possible without initial weights), a ValueError is raised.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .solvers import get_solver_class
from .solvers.monitor import HISTORY_KEYS, SolverResult
from .solvers.blocks import output_block

__all__ = [
    "check_forward_pass",
    "BLOWUP_FACTOR",
    "SPECTRAL_BOUND",
    "POLISH_SOLVER",
    "POLISH_MAX_ITER",
]

#: The forward loss may exceed max(own loss, loss of predicting 0) by at most this factor.
BLOWUP_FACTOR = 10.0

#: Spectral norm of W times the activation's largest slope after the safeguard (< 1).
SPECTRAL_BOUND = 0.9

#: Registry name of the solver that polishes on the true objective, and its iteration cap.
POLISH_SOLVER = "lbfgs"
POLISH_MAX_ITER = 50

_DESCRIPTIONS = {
    "solver": "the solver's own weights (no stabilizing step did better)",
    "shrink": "W with its spectral norm clipped to {bound:.3g} and the output layer refitted",
    "initial": "the initial weights (no stabilizing step did better)",
    "polish": "{n_polish} {polisher} iterations on the true objective from the {start} weights",
}


def _forward(weights, problem, activation):
    """(training loss, objective R) of the true forward pass; (inf, inf) when not finite."""
    if not weights.all_finite():
        return np.inf, np.inf
    with np.errstate(all="ignore"):
        loss, R, _, _, _ = problem.evaluate(weights, activation)
    if not (np.isfinite(loss) and np.isfinite(R)):
        return np.inf, np.inf
    return float(loss), float(R)


def _largest_slope(activation):
    """max |sigma'(u)|, estimated on a grid of [-30, 30] that includes both sides of 0."""
    u = np.concatenate([np.linspace(-30.0, 30.0, 6001), [-1e-12, 1e-12]])
    with np.errstate(all="ignore"):
        slope = float(np.nanmax(np.abs(activation.derivative(u))))
    return slope if np.isfinite(slope) and slope > 0 else 1.0


def _spectral_safeguard(weights, problem, activation):
    """``weights`` with W's singular values clipped and (A, c) refitted; None if impossible."""
    if not weights.all_finite():
        return None, np.nan
    bound = SPECTRAL_BOUND / _largest_slope(activation)
    try:
        left, sv, right = np.linalg.svd(weights.W)
    except np.linalg.LinAlgError:
        return None, bound
    W = ((left * np.minimum(sv, bound)) @ right).astype(weights.W.dtype)
    shrunk = weights._replace(W=W)
    with np.errstate(all="ignore"):
        _, _, _, U, H = problem.evaluate(shrunk, activation)
        if not (np.all(np.isfinite(H)) and np.all(np.isfinite(U))):
            return None, bound
        A, c, D = output_block(problem, H, skip=weights.D is not None)
    return shrunk._replace(A=A, c=c, D=D), bound


def _polish(start, problem, activation):
    """The polish solver's weights from ``start`` on the training rows alone."""
    polisher = get_solver_class(POLISH_SOLVER)(max_iter=POLISH_MAX_ITER)
    training_only = replace(problem, X_val=None, Y_val=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # its cap: reported below
        result = polisher.solve(training_only, activation, start)
    return result.weights, result.n_iter


def _zero_loss(Y):
    """Training loss of predicting 0: the scale the forward check measures a blow-up by."""
    return float(np.einsum("ij,ij->", Y, Y)) / max(Y.shape[0], 1)


def start_result(problem, activation, weights0):
    """What a fit of zero iterations (``max_iter=0``) returns: the start itself, with an
    empty history, and the ``info`` of :func:`check_forward_pass` (no solver ran, so there is
    no blow-up to catch: the start is kept as it is).

    Raises
    ------
    ValueError
        When the start's forward pass over the training rows is not finite.
    """
    forward_loss, _ = _forward(weights0, problem, activation)
    if not np.isfinite(forward_loss):
        raise ValueError(
            "max_iter=0 keeps the start, whose forward pass over the training rows is not "
            "finite. Scale X and y (e.g. StandardScaler), or use a smaller init_scale."
        )
    keys = HISTORY_KEYS + (("val_loss",) if problem.has_validation else ())
    result = SolverResult(
        weights=weights0, history={key: [] for key in keys}, n_iter=0, converged=True,
        message="max_iter=0: the start, no iteration.", extras={"own_loss": forward_loss},
    )
    info = dict(
        own_loss=forward_loss, forward_loss=forward_loss,
        zero_loss=_zero_loss(problem.Y), threshold=np.inf,
        blowup=False, kept="initial", candidates={}, message="",
    )
    return result, info


def check_forward_pass(result, problem, activation, weights0=None, *, stacklevel=2):
    """Check the forward pass of a solver's weights; replace a blow-up by a stabilized fit.

    The rule and the stabilizing steps are described in :ref:`safety` (and in this
    module's docstring).

    Parameters
    ----------
    result : SolverResult
        What the solver returned; ``result.extras["own_loss"]`` is its own training loss.
    problem : Problem
        The training problem (its training rows are checked; validation rows are not used).
    activation : Activation
        The activation strategy.
    weights0 : RNNWeights or None, default=None
        The weights the fit started from: one more candidate, and the fallback that is
        always finite when the fit could start.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    result : SolverResult
        ``result`` itself when the forward pass is sound; otherwise a copy whose weights are
        the best candidate's.
    info : dict
        ``"own_loss"`` (:math:`S`; NaN when the solver reported none), ``"forward_loss"``
        (:math:`F` of the solver's weights; inf when not finite), ``"zero_loss"``
        (:math:`Z`), ``"threshold"`` (the bound on :math:`F`), ``"blowup"`` (bool),
        ``"kept"`` (``"solver"``, ``"shrink"``, ``"polish"`` or ``"initial"``),
        ``"candidates"`` (name -> objective :math:`R` of its forward pass; empty without a
        blow-up) and ``"message"`` (the warning's text, empty without a blow-up).

    Raises
    ------
    ValueError
        On a blow-up where no candidate has a finite forward pass.

    Warns
    -----
    ConvergenceWarning
        On a blow-up, saying which weights were kept.
    """
    own = float(result.extras.get("own_loss", np.nan))
    forward_loss, objective = _forward(result.weights, problem, activation)
    zero_loss = _zero_loss(problem.Y)
    own_or_zero = own if np.isfinite(own) else zero_loss
    if zero_loss == 0.0:
        # y == 0: predicting 0 is exact, so "worse than predicting 0" says nothing about a
        # blow-up; only the forward pass against the solver's own loss can show one.
        threshold = BLOWUP_FACTOR * own_or_zero
    elif own_or_zero > zero_loss:  # by its own measure the solver did worse than predicting 0
        threshold = zero_loss
    else:
        threshold = max(zero_loss, BLOWUP_FACTOR * own_or_zero)
    info = dict(
        own_loss=own, forward_loss=forward_loss, zero_loss=zero_loss, threshold=threshold,
        blowup=False, kept="solver", candidates={}, message="",
    )
    if forward_loss <= threshold:  # False for inf
        return result, info

    candidates = {"solver": (result.weights, objective)}
    shrunk, bound = _spectral_safeguard(result.weights, problem, activation)
    if shrunk is not None:
        candidates["shrink"] = (shrunk, _forward(shrunk, problem, activation)[1])
    if weights0 is not None:
        candidates["initial"] = (weights0, _forward(weights0, problem, activation)[1])
    start = min(candidates, key=lambda name: candidates[name][1])
    n_polish = 0
    # L-BFGS cannot run on rows held in chunks by dask workers (skalm.distributed).
    if np.isfinite(candidates[start][1]) and not getattr(problem, "chunked", False):
        polished, n_polish = _polish(candidates[start][0], problem, activation)
        candidates["polish"] = (polished, _forward(polished, problem, activation)[1])
    kept = min(candidates, key=lambda name: candidates[name][1])
    info["candidates"] = {name: R for name, (_, R) in candidates.items()}
    info["blowup"] = True
    found = (
        f"The forward pass of the solver's weights has training loss {forward_loss:.3g}, "
        f"beyond {threshold:.3g} (the solver's own loss is {own:.3g}, that of predicting 0 "
        f"{zero_loss:.3g}; flagged when the forward loss exceeds Z and either "
        f"{BLOWUP_FACTOR:g} x own or own exceeds Z)."
    )
    if not np.isfinite(candidates[kept][1]):
        raise ValueError(
            f"{found} No stabilized candidate has a finite forward pass either. Scale X and y "
            "(e.g. StandardScaler), or increase the regularization alpha."
        )
    info["kept"] = kept
    info["message"] = f"{found} Kept " + _DESCRIPTIONS[kept].format(
        bound=bound, n_polish=n_polish, polisher=POLISH_SOLVER, start=start
    ) + f": objective R = {candidates[kept][1]:.4g} (solver's weights: {objective:.4g})."
    warnings.warn(info["message"], ConvergenceWarning, stacklevel=stacklevel)
    return replace(result, weights=candidates[kept][0]), info
