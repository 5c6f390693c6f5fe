"""Forward-pass safety (skalm.safety): a solver's weights whose true forward pass blows
up are never returned silently.

* A stand-in solver returns weights with spectral radius of W far above 1 and claims a tiny
  loss: the estimator warns, ends with finite predictions and a forward objective below that
  of the exploding weights and below that of the initial weights.
* The spectral-norm safeguard bounds the hidden state as its contraction argument says, for
  every activation, over a sequence far longer than the training one.
* A healthy fit is left untouched: the estimator's weights are the solver's, bit for bit.
* A real case: ALM-BCD from N(0, 0.3^2) weights on the S&P 500 data ends with an own loss
  below 1 and a forward pass worse than its (already exploding) start. Its constraint
  violation is not small there: no case with a small FeasVio and a sound start was found.
* NAILM on data scaled by 1e100 used to stop as "stationary" without a warning.
* The rule F > Z and (F > 10 S or S > Z) on weights whose forward loss lies between Z and
  10 Z, for three own losses; and the real case that made S > Z part of it: L-BFGS with 200
  hidden units from an expanding start, "converged" at 6 times the loss of predicting 0.

The oracles are the forward pass and objective of :mod:`skalm.model`, the contraction bound
||h_t|| <= (L max_t ||V x_t + b|| + ||sigma(0)||) / (1 - L ||W||_2) and numpy's spectral
norm; no expected value was taken from the code under test.
* Targets that are all zero: no blow-up warning for a sound fit, while a real blow-up on
  them is still caught.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from _cases import walk_series
from skalm import ElmanRNNRegressor
from skalm.activations import get_activation
from skalm.datasets import load_sp500_volatility
from skalm.model import Lambdas, RNNWeights, forward, init_weights, mse_loss, objective
from skalm.solvers import (
    HISTORY_KEYS, LBFGS, SOLVERS, ADMMiRNN, ALMBCDSolver, Problem, Solver,
)
from skalm.safety import (
    SPECTRAL_BOUND,
    _spectral_safeguard,
    check_forward_pass,
)
from skalm.solvers.base import SolverResult


@pytest.fixture(scope="module")
def series():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(80, 2))
    y = np.convolve(X[:, 0], [0.5, 0.3, 0.2])[:80] + 0.1 * X[:, 1]
    return X, y


def initial_weights(est, X, y):
    """The weights fit starts from (the same draw as the estimator's)."""
    return init_weights(est.n_hidden, X.shape[1], 1, init=est.init, scale=est.init_scale,
                        random_state=check_random_state(est.random_state))


def R(est, weights, X, y):
    with np.errstate(all="ignore"):
        return objective(weights, X, y.reshape(-1, 1), est.activation_, est.lambdas_)


class ExplodingSolver(Solver):
    """Returns the initial weights with W = gain * I and V, b pushed positive, and claims a
    training loss of 1e-6: the forward pass of relu grows like gain**t."""

    name = "exploding"

    def __init__(self, gain=3.0):
        self.gain = gain

    def weights(self, weights0):
        r = weights0.W.shape[0]
        return weights0._replace(W=self.gain * np.eye(r), V=np.abs(weights0.V) + 0.5,
                                 b=np.full(r, 0.5))

    def solve(self, problem, activation, weights0, random_state=None):
        return SolverResult(
            weights=self.weights(weights0), history={k: [] for k in HISTORY_KEYS}, n_iter=0,
            converged=True, message="claims success", extras={"own_loss": 1e-6},
        )


def fit_recording(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("skip", [False, True], ids=["no-skip", "skip"])
@pytest.mark.parametrize("gain, finite", [(3.0, True), (1e3, False)],
                         ids=["large-forward-loss", "overflowing-forward-pass"])
def test_exploding_weights_from_a_solver_are_replaced_with_a_warning(series, gain, finite,
                                                                      skip):
    X, y = series
    solver = ExplodingSolver(gain=gain)
    est = ElmanRNNRegressor(n_hidden=4, activation="relu", solver=solver, random_state=0,
                            skip_connection=skip)
    messages = fit_recording(est, X, y)
    assert any("forward pass of the solver's weights" in m for m in messages), messages

    w0 = initial_weights(est, X, y)
    if skip:
        w0 = w0._replace(D=np.zeros((1, X.shape[1])))
    exploding = solver.weights(w0)
    R_exploding = R(est, exploding, X, y)
    assert np.isfinite(R_exploding) == finite
    if finite:  # the premise: this is a blow-up, not a slightly worse fit
        assert R_exploding > 1e20
    R_start = R(est, w0, X, y)
    R_kept = R(est, est.weights_, X, y)
    assert np.isfinite(R_kept)
    assert R_kept < R_start  # below the start, hence far below the exploding weights
    assert np.all(np.isfinite(est.predict(X)))
    assert np.all(np.isfinite(est.predict(X, initial_state="zeros")))
    check = est.forward_check_
    assert check["blowup"] and check["kept"] in check["candidates"]
    assert np.isclose(check["candidates"][check["kept"]], R_kept, rtol=1e-10)


@pytest.mark.parametrize("activation, params", [
    ("relu", {}), ("leaky_relu", {"slope": 0.2}), ("tanh", {}), ("elu", {"alpha": 1.0}),
    ("elu", {"alpha": 3.0}),
])
def test_spectral_safeguard_bounds_the_state_over_any_length(activation, params):
    act = get_activation(activation, **params)
    slope = max(1.0, params.get("alpha", 1.0))  # sup |sigma'| of these activations
    rng = np.random.RandomState(1)
    X = rng.uniform(-1, 1, size=(40, 3))
    Y = rng.normal(size=(40, 2))
    r = 6
    weights = init_weights(r, 3, 2, scale=1.0, random_state=2)
    weights = weights._replace(W=5.0 * weights.W, b=rng.normal(size=r))
    problem = Problem(X, Y, Lambdas.from_alpha(1.0, r, 3, 2))
    safe, bound = _spectral_safeguard(weights, problem, act)

    assert np.isclose(bound, SPECTRAL_BOUND / slope, rtol=1e-6)
    norm = np.linalg.norm(safe.W, 2)
    assert norm <= bound * (1 + 1e-9)
    assert np.linalg.norm(weights.W, 2) > 10 * bound  # the premise: W was expanding
    assert_array_equal(safe.V, weights.V)
    assert_array_equal(safe.b, weights.b)
    # The contraction bound, over a sequence 250 times longer than the training rows.
    X_long = rng.uniform(-1, 1, size=(10_000, 3))
    _, H = forward(safe, X_long, act)
    drive = slope * np.max(np.linalg.norm(X_long @ safe.V.T + safe.b, axis=1))
    drive += np.linalg.norm(act.sigma(np.zeros(r)))
    assert np.max(np.linalg.norm(H, axis=1)) <= drive / (1 - slope * norm)


@pytest.mark.parametrize("skip", [False, True], ids=["no-skip", "skip"])
def test_spectral_safeguard_refits_the_output_layer_exactly(skip):
    """(A, c) -- and D with a skip connection -- of the safeguarded weights minimize R at
    fixed (W, V, b): R rises when one of them moves by a small step in any coordinate
    direction (finite differences on model.objective)."""
    act = get_activation("relu")
    rng = np.random.RandomState(3)
    X, Y = rng.uniform(-1, 1, size=(50, 2)), rng.normal(size=(50, 2))
    lambdas = Lambdas.from_alpha(0.5, 4, 2, 2)
    weights = init_weights(4, 2, 2, scale=1.0, random_state=4)
    weights = weights._replace(W=4.0 * weights.W)
    if skip:
        weights = weights._replace(D=rng.normal(size=(2, 2)))
    safe, _ = _spectral_safeguard(weights, Problem(X, Y, lambdas), act)
    assert (safe.D is None) == (not skip)
    R0 = objective(safe, X, Y, act, lambdas)
    for name in ("A", "c", "D") if skip else ("A", "c"):
        block = getattr(safe, name)
        for idx in np.ndindex(block.shape):
            for step in (1e-4, -1e-4):
                moved = block.copy()
                moved[idx] += step
                assert objective(safe._replace(**{name: moved}), X, Y, act, lambdas) > R0


class Recording:
    """Solvers that stash the weights they return (the estimator works on a deep copy)."""

    returned = {}

    @classmethod
    def wrap(cls, base):
        class Wrapped(base):
            def solve(self, problem, activation, weights0, random_state=None):
                result = super().solve(problem, activation, weights0, random_state)
                cls.returned[base.__name__] = result
                return result

        Wrapped.__name__ = base.__name__
        return Wrapped


@pytest.mark.parametrize("base, settings", [
    (ALMBCDSolver, dict(max_iter=5, max_inner_iter=10)),
    (ADMMiRNN, dict(max_iter=20)),
    (LBFGS, dict(max_iter=30)),
], ids=["alm-bcd", "admmirnn", "lbfgs"])
def test_a_healthy_fit_is_left_untouched(series, base, settings):
    X, y = series
    solver = Recording.wrap(base)(**settings)
    est = ElmanRNNRegressor(n_hidden=4, solver=solver, random_state=0)
    messages = fit_recording(est, X, y)
    assert not any("forward pass" in m for m in messages), messages
    for got, want in zip(est.weights_, Recording.returned[base.__name__].weights):
        assert_array_equal(got, want)
    assert not est.forward_check_["blowup"] and est.forward_check_["candidates"] == {}
    # the premise: the fit is healthy (better than predicting 0 on the training rows)
    with np.errstate(all="ignore"):
        _, H = forward(est.weights_, X, est.activation_)
    assert mse_loss(est.weights_, H, y.reshape(-1, 1)) < np.mean(y**2)


def test_check_forward_pass_without_a_finite_candidate_is_an_error():
    """Non-finite weights, no initial weights: no candidate can be run, so a ValueError."""
    act = get_activation("relu")
    rng = np.random.RandomState(0)
    problem = Problem(rng.normal(size=(20, 2)), rng.normal(size=(20, 1)),
                      Lambdas.from_alpha(1.0, 3, 2, 1))
    w = init_weights(3, 2, 1, random_state=0)
    bad = w._replace(V=np.full_like(w.V, np.nan))
    result = SolverResult(weights=bad, history={k: [] for k in HISTORY_KEYS}, n_iter=0,
                          converged=False, extras={"own_loss": 0.1})
    with pytest.raises(ValueError, match="No stabilized candidate has a finite forward pass"):
        check_forward_pass(result, problem, act)


def test_check_forward_pass_alone_replaces_a_blowup_without_initial_weights():
    """Used without the estimator: the safeguarded or polished weights, finite and better."""
    act = get_activation("relu")
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(100, 2))
    Y = rng.normal(size=(100, 1))
    lambdas = Lambdas.from_alpha(1.0, 3, 2, 1)
    problem = Problem(X, Y, lambdas)
    w0 = init_weights(3, 2, 1, random_state=0)
    exploding = ExplodingSolver(gain=5.0).weights(w0)
    result = SolverResult(weights=exploding, history={k: [] for k in HISTORY_KEYS}, n_iter=0,
                          converged=True, extras={"own_loss": 1e-6})
    with pytest.warns(ConvergenceWarning, match="forward pass of the solver's weights"):
        new, info = check_forward_pass(result, problem, act)
    assert info["blowup"] and info["kept"] in ("shrink", "polish")
    R_new = objective(new.weights, X, Y, act, lambdas)
    assert np.isfinite(R_new) and R_new < np.mean(Y**2)  # better than predicting 0
    assert result.weights is exploding  # the solver's result is not modified


def test_alm_bcd_on_sp500_with_a_large_init_scale_blows_up_and_is_stabilized():
    """A real ALM-BCD case. N(0, 0.3^2) initial weights with 20 hidden units and seed 1 give
    a forward pass that already runs away over the 393 rows. ALM-BCD returns weights whose
    forward pass is no better (it stops as diverged within its first iterations: at the
    first since the sweep's linear algebra moved to numpy's LAPACK, at the second before), and
    the safeguard replaces them by a stabilized fit."""
    data = load_sp500_volatility()
    X, y = data.data[: data.n_train], data.target[: data.n_train]
    solver = Recording.wrap(ALMBCDSolver)(max_iter=3, max_inner_iter=20)
    est = ElmanRNNRegressor(n_hidden=20, activation="relu", init_scale=0.3, random_state=1,
                            solver=solver)
    messages = fit_recording(est, X, y)
    assert any("forward pass of the solver's weights" in m for m in messages), messages
    raw = Recording.returned["ALMBCDSolver"]
    est_R = lambda w: R(est, w, X, y)  # noqa: E731
    w0 = initial_weights(est, X, y)
    assert est_R(raw.weights) >= est_R(w0) > 1e10  # premise: a blow-up, not mended
    R_kept = est_R(est.weights_)
    assert R_kept < np.mean(y**2)  # better than predicting 0
    assert np.all(np.isfinite(est.predict(data.data[data.n_train:])))


def test_nailm_on_data_scaled_by_1e100_warns_instead_of_claiming_stationarity(series):
    """Every trial step's objective overflows: NAILM used to stop "stationary to working
    precision" with converged=True and no warning."""
    X, y = series
    est = ElmanRNNRegressor(n_hidden=3, activation="relu", solver="nailm", max_iter=5,
                            random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X * 1e100, y * 1e100)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert any("diverged" in m and "non-finite objective" in m for m in messages), messages
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert est.weights_.all_finite()


@pytest.mark.parametrize(
    "own_factor, flagged",
    # own loss as a multiple of F: below F/10 (F > 10 S), between, and S = F (> Z)
    [(0.05, True), (0.5, False), (1.0, True)],
    ids=["own-loss-10x-lower", "own-loss-lower", "own-loss-also-worse-than-0"],
)
def test_a_forward_loss_worse_than_predicting_0_is_flagged_by_the_documented_rule(own_factor,
                                                                                   flagged):
    """Weights whose forward loss F lies between Z and 10 Z (output layer flipped and
    doubled). Flagged when the solver's own loss S is below F / 10, or above Z (the fit is
    worse than predicting 0 by its own measure too); kept when F / 10 <= S <= Z. F and Z are
    computed here by hand."""
    act = get_activation("relu")
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    Y = np.column_stack([np.sin(np.cumsum(X[:, 0]))])
    lambdas = Lambdas.from_alpha(1.0, 4, 2, 1)
    problem = Problem(X, Y, lambdas)
    good = ElmanRNNRegressor(n_hidden=4, solver="lbfgs", random_state=0).fit(X, Y).weights_
    bad = good._replace(A=-2.0 * good.A, c=-2.0 * good.c)
    _, H = forward(bad, X, act)
    F, Z = mse_loss(bad, H, Y), float(np.mean(np.sum(Y**2, axis=1)))
    assert Z < F < 10 * Z  # premise: worse than predicting 0, not by an order of magnitude
    own = own_factor * F
    if own_factor == 0.5:
        own = min(own, Z)  # F / 10 <= S <= Z: the floor case, not a blow-up
        assert F / 10 <= own <= Z
    result = SolverResult(weights=bad, history={k: [] for k in HISTORY_KEYS}, n_iter=1,
                          converged=True, extras={"own_loss": own})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, info = check_forward_pass(result, problem, act)
    assert info["blowup"] is flagged
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught) is flagged
    if flagged:
        _, H_new = forward(new.weights, X, act)
        assert mse_loss(new.weights, H_new, Y) < Z
    else:
        assert new is result


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lbfgs_from_an_expanding_start_that_ends_worse_than_predicting_0_is_replaced():
    """A real case: 200 hidden units from N(0, 0.1^2) weights (spectral radius of W about
    0.1 sqrt(200) = 1.4) on 316 rows of the paper's T=500 set. L-BFGS takes one step down
    from R ~ 1e28, then every line search fails and scipy reports convergence, at a training
    loss about 6 times that of predicting 0. The fit must not be returned as it is."""
    from skalm.datasets import make_elman_sequence

    X, Y = make_elman_sequence(500, 80, 30, 100, weight_std=0.05, noise_std=1e-5,
                               random_state=123456, return_params=False)
    X, Y = X[:316], Y[:316]
    solver = Recording.wrap(LBFGS)(max_iter=100, n_iter_no_change=None)
    est = ElmanRNNRegressor(n_hidden=200, activation="relu", init_scale=0.1, alpha=1.0,
                            solver=solver,
                            random_state=2)
    messages = fit_recording(est, X, Y)
    raw = Recording.returned["LBFGS"]
    Z = float(np.mean(np.sum(Y**2, axis=1)))
    with np.errstate(all="ignore"):
        _, H_raw = forward(raw.weights, X, est.activation_)
    assert mse_loss(raw.weights, H_raw, Y) > 2 * Z  # premise: the solver's fit is a failure
    assert any("forward pass of the solver's weights" in m for m in messages), messages
    _, H = forward(est.weights_, X, est.activation_)
    assert mse_loss(est.weights_, H, Y) < 0.5 * Z


# -- targets that are all zero ----------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_no_blowup_warning_when_the_targets_are_zero(solver):
    X, _ = walk_series()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        est = ElmanRNNRegressor(n_hidden=4, solver=solver, max_iter=5, random_state=0)
        est.fit(X, np.zeros(len(X)))
    assert not [w for w in seen if "forward pass of the solver" in str(w.message)]
    assert est.forward_check_["blowup"] is False
    assert est.forward_check_["kept"] == "solver"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_real_blowup_on_zero_targets_is_still_caught():
    """Weights whose forward pass runs away (W = 3 I) while the solver claims a tiny loss."""
    X, _ = walk_series()
    r = 4
    rng = np.random.RandomState(0)
    weights = RNNWeights(3.0 * np.eye(r), rng.normal(size=(r, 3)), np.zeros(r),
                         rng.normal(size=(1, r)), np.zeros(1))
    problem = Problem(X, np.zeros((len(X), 1)), Lambdas.from_alpha(1.0, r, 3, 1))
    result = SolverResult(weights, {}, 1, True, extras={"own_loss": 1e-6})
    with pytest.warns(ConvergenceWarning, match="forward pass of the solver"):
        _, info = check_forward_pass(result, problem, get_activation("tanh"))
    assert info["blowup"] is True
