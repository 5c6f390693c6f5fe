"""skalm.sktime.ElmanRNNForecaster: sktime's own estimator checks, the recursive forecast
against a plain numpy loop over the fitted weights, and 24 steps ahead on a seasonal series
against the seasonal-naive forecast."""

import warnings

import numpy as np
import pandas as pd
import pytest

sktime = pytest.importorskip("sktime")

from sktime.datasets import load_airline  # noqa: E402
from sktime.forecasting.naive import NaiveForecaster  # noqa: E402
from sktime.utils.estimator_checks import check_estimator  # noqa: E402

from skalm import ElmanRNNRegressor  # noqa: E402
from skalm.sktime import ElmanRNNForecaster  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # sktime's remember_data notice
]


def test_sktime_check_estimator():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(ElmanRNNForecaster, raise_exceptions=False)
    failed = {name: str(result) for name, result in results.items() if result != "PASSED"}
    assert len(results) > 100 and not failed


def _forecast_by_hand(est, y_seen, y_train, lags, steps, difference=True):
    """Recursive forecast with the fitted weights in a numpy loop: the differences of the
    series seen, standardized as the training ones were, as lag inputs; the state run from
    zero over the rows seen, then carried through the forecast steps."""
    W, V, b = est.recurrent_weights_, est.input_weights_, est.hidden_bias_
    A, c, D = est.output_weights_, est.output_bias_, est.skip_weights_
    transform = np.diff if difference else np.asarray
    z_train = transform(np.asarray(y_train, float))
    mean, scale = z_train.mean(), z_train.std()
    z = list((transform(np.asarray(y_seen, float)) - mean) / scale)
    h = np.zeros(W.shape[0])

    def step(h, x):
        u = W @ h + V @ x + b
        h = np.tanh(u) if est.activation_.name == "tanh" else np.maximum(u, 0.0)
        return h, float((A @ h + c + D @ x)[0])  # skip connection on

    for t in range(lags, len(z)):
        h, _ = step(h, np.array(z[t - lags:t][::-1]))
    level, out = float(np.asarray(y_seen)[-1]), []
    for _ in range(steps):
        h, z_hat = step(h, np.array(z[-lags:][::-1]))
        z.append(z_hat)
        value = z_hat * scale + mean
        level = level + value if difference else value
        out.append(level)
    return np.array(out)


@pytest.mark.parametrize("difference", [True, False])
def test_recursive_forecast_equals_the_loop_by_hand(difference):
    rng = np.random.RandomState(0)
    t = np.arange(120)
    y = np.sin(2 * np.pi * t / 12) + 0.02 * t + 0.1 * rng.normal(size=t.size)
    est = ElmanRNNRegressor(n_hidden=5, solver="lbfgs", skip_connection=True, max_iter=50,
                            random_state=0)
    series = pd.Series(y)
    forecaster = ElmanRNNForecaster(est, lags=6, difference=difference).fit(series[:100])
    got = forecaster.predict(fh=np.arange(1, 21))
    want = _forecast_by_hand(forecaster.estimator_, y[:100], y[:100], 6, 20, difference)
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-10, atol=1e-10)
    assert list(got.index) == list(range(100, 120))
    # a horizon with gaps picks the same steps of the recursion
    some = forecaster.predict(fh=[3, 7, 20])
    np.testing.assert_allclose(some.to_numpy(), want[[2, 6, 19]], rtol=1e-10, atol=1e-10)

    # update without refitting: the weights stay, the state and lags move to the new end
    weights = [w.copy() for w in forecaster.estimator_.weights_]
    forecaster.update(series[100:110], update_params=False)
    for before, after in zip(weights, forecaster.estimator_.weights_):
        np.testing.assert_array_equal(before, after)
    got = forecaster.predict(fh=np.arange(1, 11))
    # by hand, with the standardization of the training rows (not refitted)
    want = _forecast_by_hand(forecaster.estimator_, y[:110], y[:100], 6, 10, difference)
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-10, atol=1e-10)


def test_beats_seasonal_naive_24_steps_ahead_on_the_airline_series():
    """log airline passengers (monthly, trend and yearly season): the last 24 months held
    out, forecast from the end of the rest."""
    y = np.log(load_airline())
    train, test = y[:-24], y[-24:]
    fh = np.arange(1, 25)
    naive = NaiveForecaster(strategy="last", sp=12).fit(train).predict(fh)
    rnn = ElmanRNNForecaster(lags=12).fit(train).predict(fh)
    mae_naive = np.mean(np.abs(naive.to_numpy() - test.to_numpy()))
    mae_rnn = np.mean(np.abs(rnn.to_numpy() - test.to_numpy()))
    assert mae_rnn < mae_naive
