"""``init="delay"`` and ``init="delay_prediction"``: the hidden units start as a delay line
(of the inputs, or of their linear prediction) and the output weights as the ridge
regression on it.

Oracle: scikit-learn's Ridge on a lag matrix built by hand (lag j of x_t + beta, or of the
ridge prediction s_t + beta_s, zero before the sequence starts, as the delay line holds it),
whose predictions the start's forward pass must reproduce; the hidden states are checked
against the lags themselves.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge

from skalm import ElmanRNNRegressor
from skalm.activations import get_activation
from skalm.model import (
    Lambdas, SequenceLayout, delay_line_start, forward, objective, predict_outputs,
)


def _data(T=120, n=2, m=1, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((T, n))
    Y = np.zeros((T, m))
    Y[3:] = X[:-3] @ rng.standard_normal((n, m)) + X[2:-1] @ rng.standard_normal((n, m))
    return X, Y + 0.1 * rng.standard_normal((T, m))


def _lambdas(lam):
    """lambda_A = lambda_D = ``lam`` (the line's lags and the inputs), lambda_c = 0 as in
    Ridge's unpenalized intercept; the recurrent blocks' penalties play no part in the start."""
    return Lambdas(lam, 1.0, 1.0, 1.0, 0.0, 1e-8, D=lam)


def _line(X, Y, r, lam, activation="relu", layout=None, **kwargs):
    """The delay start's weights and its hidden states over X."""
    act = get_activation(activation)
    w = delay_line_start(X, Y, r, _lambdas(lam), act, layout=layout, **kwargs)
    return w, forward(w, X, act, layout)[1]


def _shift(S):
    """beta of the docstring of delay_line_start: max(0, -min) + std, per column."""
    return np.maximum(0.0, -S.min(axis=0)) + S.std(axis=0)


def _lag_columns(S, lags, first):
    """Columns S_{t-j} + beta for j in ``lags`` (0 where the lag reaches before the start of
    the row's sequence, as the delay line holds it)."""
    T = S.shape[0]
    starts = np.maximum.accumulate(np.where(first, np.arange(T), 0))
    cols = []
    for j in lags:
        lag = np.zeros_like(S)
        ok = np.arange(T) - j >= starts
        lag[ok] = S[np.arange(T)[ok] - j] + _shift(S)
        cols.append(lag)
    return np.hstack(cols)


def _lags(X, d, first):
    """The lags 1..d-1 of every input, and beta."""
    return _lag_columns(X, range(1, d), first), _shift(X)


def _prediction_lags(X, Y, lam, n_lags, first):
    """s_t = the ridge prediction of Y from X without its intercept (scikit-learn's Ridge, in
    its units: alpha = T lambda), and its lags 0..n_lags."""
    T = X.shape[0]
    S = X @ Ridge(alpha=T * lam).fit(X, Y).coef_.reshape(Y.shape[1], -1).T
    return _lag_columns(S, range(n_lags + 1), first)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu"])
@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("m", [1, 2])
def test_delay_start_predicts_as_ridge_on_the_lags(activation, skip, m):
    X, Y = _data(m=m)
    T, n = X.shape
    r = 9  # 4 blocks of 2 inputs and one unit left over
    lam = 0.02
    w, H = _line(X, Y, r, lam, activation, skip_connection=skip)
    lags, beta = _lags(X, r // n, np.arange(T) == 0)
    # the hidden states are the delay line: block 0 is x_t + beta, block j lag j
    assert_allclose(H[:, :n], X + beta, rtol=1e-12, atol=1e-12)
    assert_allclose(H[:, n:(r // n) * n], lags, rtol=1e-12, atol=1e-12)
    assert_allclose(H[:, (r // n) * n:], 0.0)
    # block 0 is x_t up to a constant, which the unpenalized intercept absorbs
    ridge = Ridge(alpha=T * lam).fit(np.hstack([lags, X]), Y)
    pred = predict_outputs(w, H, X if skip else None)
    assert_allclose(pred, ridge.predict(np.hstack([lags, X])).reshape(T, m),
                    rtol=1e-8, atol=1e-10)
    assert (w.D is not None) == skip


@pytest.mark.parametrize("lags_of", ["inputs", "prediction"])
def test_delay_line_restarts_with_each_sequence(lags_of):
    X, Y = _data(T=60)
    first = np.zeros(60, bool)
    first[[0, 25]] = True
    layout = SequenceLayout.from_sequence_id(np.r_[np.zeros(25), np.ones(35)])
    w, H = _line(X, Y, 6, 0.01, layout=layout, lags_of=lags_of)
    if lags_of == "inputs":  # copies of the inputs: exact
        assert_allclose(H[:, 2:6], _lags(X, 3, first)[0], rtol=1e-12, atol=1e-12)
    else:  # the prediction comes out of a ridge solve: to rounding; with the skip path (the
        # default) the line is all 6 units, s_t and 5 lags
        assert_allclose(H, _prediction_lags(X, Y, 0.01, 5, first), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu"])
@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("m", [1, 2])
def test_prediction_delay_start_predicts_as_ridge_on_the_lags(activation, skip, m):
    X, Y = _data(m=m)
    T, n = X.shape
    r = 11 if m == 1 else 13  # with x_t: s_t, 7 (m=1) or 4 (m=2) lags of s, one unit spare
    # with the skip path D carries x_t: no copy of it, and the line starts at unit 0
    begin = 0 if skip else n
    n_lags = (r - begin) // m - 1
    lam = 0.02
    w, H = _line(X, Y, r, lam, activation, skip_connection=skip, lags_of="prediction")
    lags = _prediction_lags(X, Y, lam, n_lags, np.arange(T) == 0)
    used = begin + (n_lags + 1) * m
    # the hidden states are the delay line: (x_t + beta without the skip path), then
    # s_t + beta_s and its lags
    if not skip:
        assert_allclose(H[:, :n], X + _shift(X), rtol=1e-12, atol=1e-12)
    assert_allclose(H[:, begin:used], lags, rtol=1e-10, atol=1e-10)
    assert_allclose(H[:, used:], 0.0)
    # without the skip path the readout sees x_t and s_t through the hidden units, up to
    # constants that the unpenalized intercept absorbs
    columns = np.hstack([lags[:, m:], X] if skip else [lags, X])
    ridge = Ridge(alpha=T * lam).fit(columns, Y)
    pred = predict_outputs(w, H, X if skip else None)
    assert_allclose(pred, ridge.predict(columns).reshape(T, m), rtol=1e-8, atol=1e-10)
    assert (w.D is not None) == skip


def test_prediction_line_with_the_skip_path_holds_any_number_of_inputs():
    """With the skip path the prediction's line copies no input: more inputs than hidden
    units still give r // m - 1 lags of s, and the start predicts as Ridge on [lags, X]."""
    rng = np.random.RandomState(2)
    T, n, r, lam = 150, 6, 4, 0.02
    X = rng.standard_normal((T, n))
    Y = (X @ rng.standard_normal(n) + 0.3 * rng.standard_normal(T))[:, None]
    w, H = _line(X, Y, r, lam, lags_of="prediction")
    lags = _prediction_lags(X, Y, lam, r - 1, np.arange(T) == 0)
    assert_allclose(H, lags, rtol=1e-10, atol=1e-10)
    columns = np.hstack([lags[:, 1:], X])
    ridge = Ridge(alpha=T * lam).fit(columns, Y)
    assert_allclose(predict_outputs(w, H, X), ridge.predict(columns).reshape(T, 1), rtol=1e-8,
                    atol=1e-10)
    with pytest.raises(ValueError, match="init='delay_prediction' needs n_hidden"):
        _line(X, Y, r, lam, lags_of="prediction", skip_connection=False)


def test_delay_line_reaches_further_back_than_lags_of_every_input():
    """With the skip path the line holds r // m - 1 lags of the prediction: on a target with
    a part 12 steps back, out of reach of lags of each of 3 inputs in 20 units (5 lags), the
    start itself leaves a small fraction of the error of ridge on those 5 lags."""
    rng = np.random.RandomState(1)
    T, n, r = 400, 3, 20
    X = rng.standard_normal((T, n))
    w = np.array([1.0, -0.5, 0.25])
    y = X @ w
    y[12:] += X[:-12] @ w
    start, H = _line(X, y[:, None], r, 1e-6, lags_of="prediction")
    pred = predict_outputs(start, H, X)[:, 0]
    lags = np.hstack([X] + [np.vstack([np.zeros((j, n)), X[:-j]]) for j in range(1, 6)])
    ridge = Ridge(alpha=T * 1e-6).fit(lags, y).predict(lags)
    later = slice(40, None)
    assert np.mean((pred[later] - y[later]) ** 2) < 0.1 * np.mean((ridge[later] - y[later]) ** 2)


def test_delay_start_rejects_what_cannot_hold_it():
    X, Y = _data()
    lambdas = _lambdas(0.01)
    with pytest.raises(ValueError, match="identity on positive inputs"):
        delay_line_start(X, Y, 8, lambdas, get_activation("tanh"))
    with pytest.raises(ValueError, match="n_hidden >= n_features"):
        delay_line_start(X, Y, 1, lambdas, get_activation("relu"))
    with pytest.raises(ValueError, match="init='delay' needs an activation"):
        ElmanRNNRegressor(init="delay", activation="tanh", max_iter=2).fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="init='delay_prediction' needs an activation"):
        ElmanRNNRegressor(init="delay_prediction", activation="tanh", max_iter=2).fit(
            X, Y[:, 0])
    with pytest.raises(ValueError, match="init='delay_prediction' needs n_hidden"):
        delay_line_start(X, Y, 1, lambdas, get_activation("relu"), lags_of="prediction",
                         skip_connection=False)
    with pytest.raises(ValueError, match="lags_of"):
        delay_line_start(X, Y, 8, lambdas, get_activation("relu"), lags_of="outputs")


def test_estimator_with_delay_start_ends_no_worse_than_its_start():
    """A fit from the delay start ends at a training objective no higher than the start's
    (the ridge model on the lags, whose predictions are checked above against Ridge): ALM-BCD
    keeps the best forward pass it has seen, the start included."""
    X, Y = _data()
    est = ElmanRNNRegressor(activation="relu", init="delay", n_hidden=8, skip_connection=True,
                            alpha=0.5, lambda_c=0.0, max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, Y[:, 0])
    act = get_activation("relu")
    lambdas = Lambdas.from_alpha(0.5, 8, 2, 1)._replace(c=0.0)
    lambdas = lambdas._replace(D=lambdas.A)
    start = delay_line_start(X, Y, 8, lambdas, act)
    R0 = objective(start, X, Y, act, lambdas)
    R = objective(est.weights_, X, Y, act, lambdas)
    assert np.isfinite(R) and R <= R0 * (1 + 1e-9)
    assert not np.allclose(est.weights_.W, start.W)  # the fit moved
