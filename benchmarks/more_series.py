"""``ElmanRNNRegressorCV`` against RidgeCV on public series that ``real_data.py`` does not use.

The defaults of ``ElmanRNNRegressorCV`` were chosen on ``real_data.py``'s eleven series; these
nine were not looked at while choosing them, so they check the "never worse than ridge" promise
out of sample. The protocol is ``real_data.py``'s (chronological 80/20 split, z-scored on the
training rows, own lags as inputs where the series has no exogenous ones, the test rows
predicted running on from the end of training) and so is the denominator, its ``ridgecv``
(17 alphas, ``TimeSeriesSplit(5)``). One line per series: the median over ``--seeds`` random
starts of the test MSE over RidgeCV's, then each start's ratio, chosen start and alpha, and
fit CPU seconds.

Series (each from a pip-installable package, nothing downloaded):

- ``airline_dlog``: monthly log change of airline passengers (sktime ``load_airline``), 3 lags;
- ``lynx_log``: log of the yearly lynx trappings (sktime ``load_lynx``), 3 lags;
- ``uschange``: next quarter's US consumption change from this quarter's income, production,
  savings, unemployment and consumption changes (sktime ``load_uschange``);
- ``unemp_diff``, ``gdp_growth``, ``tbill_diff``: quarterly change of the US unemployment
  rate, annualized real GDP growth, change of the T-bill rate (statsmodels ``macrodata``), 4 lags;
- ``danish_dlrm``: quarterly change of Danish log real money (statsmodels ``danish_data``), 4 lags;
- ``sunspots9``: yearly sunspots with 9 lags (``real_data.py`` uses 3);
- ``co2_weekly_diff``: weekly change of the Mauna Loa CO2 level, gaps interpolated
  (statsmodels ``co2``; ``real_data.py`` uses monthly means), 4 lags.

The sktime series are skipped (and said so) without the ``sktime`` extra.

    PYTHONPATH=$PWD python benchmarks/more_series.py              # all, seeds 0, 1, 2
    PYTHONPATH=$PWD python benchmarks/more_series.py --sets lynx_log,uschange
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data as rd  # noqa: E402

from skalm import ElmanRNNRegressorCV  # noqa: E402


def _own(name, s, p, source):
    return rd._own_lags(name, np.asarray(s, dtype=float), p, 6, source, "-", name)


def _sktime():
    from sktime.datasets import load_airline, load_lynx, load_uschange

    y, X = load_uschange()
    inputs = np.column_stack([X.to_numpy()[:-1], y.to_numpy()[:-1]])
    return {
        "airline_dlog": lambda: _own("airline_dlog", np.diff(np.log(load_airline().to_numpy())),
                                     3, "sktime load_airline"),
        "lynx_log": lambda: _own("lynx_log", np.log(load_lynx().to_numpy()), 3,
                                 "sktime load_lynx"),
        "uschange": lambda: rd.Series("uschange", inputs, y.to_numpy()[1:],
                                      "sktime load_uschange", "quarterly",
                                      "next quarter's consumption change",
                                      "this quarter's five changes", 4),
    }


def _statsmodels():
    macro = rd._statsmodels("macrodata")
    co2 = rd._statsmodels("co2")["co2"].resample("W").mean().interpolate().to_numpy()
    return {
        "unemp_diff": lambda: _own("unemp_diff", np.diff(macro["unemp"].to_numpy()), 4,
                                   "statsmodels macrodata"),
        "gdp_growth": lambda: _own("gdp_growth",
                                   400 * np.diff(np.log(macro["realgdp"].to_numpy())), 4,
                                   "statsmodels macrodata"),
        "tbill_diff": lambda: _own("tbill_diff", np.diff(macro["tbilrate"].to_numpy()), 4,
                                   "statsmodels macrodata"),
        "danish_dlrm": lambda: _own("danish_dlrm",
                                    np.diff(rd._statsmodels("danish_data")["lrm"].to_numpy()),
                                    4, "statsmodels danish_data"),
        "sunspots9": lambda: _own("sunspots9",
                                  rd._statsmodels("sunspots")["SUNACTIVITY"].to_numpy(), 9,
                                  "statsmodels sunspots"),
        "co2_weekly_diff": lambda: _own("co2_weekly_diff", np.diff(co2), 4, "statsmodels co2"),
    }


NAMES = ["airline_dlog", "lynx_log", "uschange", "unemp_diff", "gdp_growth", "tbill_diff",
         "danish_dlrm", "sunspots9", "co2_weekly_diff"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(NAMES))
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args()
    loaders = _statsmodels()
    try:
        loaders.update(_sktime())
    except ImportError:
        print("sktime is not installed: its three series are skipped", flush=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"# PYTHONPATH=$PWD python benchmarks/more_series.py {' '.join(sys.argv[1:])}  "
          f"(commit {rd.git_commit()})", flush=True)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in args.sets.split(","):
            if name not in loaders:
                continue
            sp = rd.split(loaders[name]())
            ridge = rd.ridgecv_test_mse(sp)
            runs = []
            for seed in seeds:
                c0 = time.process_time()
                # n_jobs=1: the CPU figure (process_time) then counts every fit
                est = ElmanRNNRegressorCV(random_state=seed, n_jobs=1).fit(sp.X_train,
                                                                           sp.y_train)
                pred = rd.predict_continuing(est, sp.X_test).ravel()
                runs.append((float(np.mean((pred - sp.y_test) ** 2)) / ridge,
                             est.start_ or "ridge", est.alpha_, time.process_time() - c0))
            print(f"{name:16s} {len(sp.y_train):5d}/{len(sp.y_test):4d} rows  median "
                  f"{np.median([r[0] for r in runs]):.3f}  " + "; ".join(
                      f"{ratio:.3f} {start} {alpha:g} {cpu:.0f}s"
                      for ratio, start, alpha, cpu in runs), flush=True)


if __name__ == "__main__":
    main()
