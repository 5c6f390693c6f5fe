"""Forecasting 24 months ahead with the sktime forecaster, against the seasonal-naive one.

The log of the monthly airline passenger counts (1949-1960, sktime's ``load_airline``): the
last 24 months are held out, :class:`skalm.sktime.ElmanRNNForecaster` (the last 12 monthly
differences as inputs, recursive forecasts) is fitted on the rest and forecasts all 24 at
once, next to the seasonal-naive forecast (the same month one year earlier). Prints the mean
absolute error of both and plots the forecasts against the truth with
:func:`skalm.plotting.plot_forecast` (dates on the axis).

Run: ``python docs/examples/airline_forecast.py [output directory]`` (writes
``airline_forecast.png``; needs the ``sktime`` and ``plot`` extras).
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sktime.datasets import load_airline
from sktime.forecasting.naive import NaiveForecaster

from skalm.plotting import plot_forecast
from skalm.sktime import ElmanRNNForecaster

start = time.perf_counter()
out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
out_dir.mkdir(parents=True, exist_ok=True)

y = np.log(load_airline())  # monthly PeriodIndex
train, test = y[:-24], y[-24:]
fh = np.arange(1, 25)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # sktime's notice on remember_data
    warnings.simplefilter("ignore", ConvergenceWarning)  # L-BFGS stops at max_iter=200
    rnn = ElmanRNNForecaster(lags=12).fit(train).predict(fh)
    naive = NaiveForecaster(strategy="last", sp=12).fit(train).predict(fh)

for name, forecast in (("Elman RNN", rnn), ("seasonal naive", naive)):
    mae = np.mean(np.abs(forecast.to_numpy() - test.to_numpy()))
    print(f"{name:<15} MAE of log passengers over 24 months: {mae:.4f}")

shown = y[-72:]
shown.index = shown.index.to_timestamp()  # dates on the plot's axis
before = np.full(48, np.nan)  # the forecasts start after the 48 months shown before them
ax = plot_forecast(
    shown,
    {"Elman RNN (24 steps, recursive)": np.r_[before, rnn.to_numpy()],
     "seasonal naive": np.r_[before, naive.to_numpy()]},
    train_end=shown.index[48],
    title="log airline passengers: 24-month forecasts from January 1959",
)
path = out_dir / "airline_forecast.png"
ax.figure.savefig(path, dpi=90)
print(f"wrote {path}; total {time.perf_counter() - start:.1f} s")
