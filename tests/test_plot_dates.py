"""plot_forecast on dates: a Series' DatetimeIndex is the horizontal axis and train_end can
be a Timestamp. The oracle is what matplotlib drew (line data, the axis' date units)."""

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from skalm.plotting import plot_forecast  # noqa: E402


@pytest.fixture
def monthly():
    index = pd.date_range("2000-01-01", periods=48, freq="MS")
    y = pd.Series(np.sin(np.arange(48) / 3.0), index=index)
    yield y
    plt.close("all")


def test_series_index_gives_dates_and_timestamp_train_end(monthly):
    y = monthly
    ax = plot_forecast(y, y.to_numpy() + 0.1, train_end=pd.Timestamp("2003-01-01"))
    for line in ax.lines[:2]:
        np.testing.assert_array_equal(np.asarray(line.get_xdata(), "datetime64[ns]"),
                                      y.index.to_numpy())
    boundary = ax.lines[2].get_xdata()  # the dashed line where the test rows start
    assert pd.Timestamp(boundary[0]) == pd.Timestamp("2003-01-01")
    # the axis is a date axis: its limits convert back to dates around the index
    low, high = (mdates.num2date(v).replace(tzinfo=None) for v in ax.get_xlim())
    assert low <= pd.Timestamp("2000-01-01") and high >= pd.Timestamp("2003-12-01")
    assert ax.get_xlabel() == ""


def test_train_end_between_dates_and_as_a_row_count(monthly):
    y = monthly
    # a date between two rows: the test rows start at the next row
    ax = plot_forecast(y, y, train_end=pd.Timestamp("2002-06-15"))
    assert pd.Timestamp(ax.lines[2].get_xdata()[0]) == pd.Timestamp("2002-07-01")
    ax = plot_forecast(y, y, train_end=36)  # an int is still a number of rows
    assert pd.Timestamp(ax.lines[2].get_xdata()[0]) == pd.Timestamp("2003-01-01")
    with pytest.raises(ValueError, match="train_end"):
        plot_forecast(y, y, train_end=pd.Timestamp("1999-01-01"))
    with pytest.raises(TypeError, match="train_end"):
        plot_forecast(y, y, train_end="not a date")
