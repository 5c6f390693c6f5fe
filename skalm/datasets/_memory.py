"""Synthetic series with known nonlinear memory (issue 14's benchmark series).

Three generators, each a single series in time order returned as ``(X, y)``:

- :func:`make_narma10`: the NARMA-10 system (Atiya and Parlos, 2000), a standard benchmark of
  reservoir computing: the target depends on the input 9 steps back and on 10 past outputs.
- :func:`make_hidden_oscillator`: a sine of fixed period plus a linear function of two
  exogenous AR(1) inputs; no input carries the cycle, so a model must keep time itself.
- :func:`make_wiener_hammerstein`: a linear filter, a static nonlinearity and a second linear
  filter in series (a Wiener-Hammerstein block system).

Each draws from one :class:`numpy.random.RandomState` in the order its docstring states, so a
seed gives the same series on every platform.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter
from sklearn.utils import check_random_state

from ._base import _check_int, _check_real

__all__ = ["make_narma10", "make_hidden_oscillator", "make_wiener_hammerstein"]

#: NARMA-10's order: the target depends on the input and on the outputs of 10 steps.
_NARMA_ORDER = 10

#: Wiener-Hammerstein filters, each with unit gain at frequency 0 (sum(b) == sum(a)).
#: G1: poles 0.7 +- 0.2j, i.e. denominator 1 - 1.4 z^-1 + 0.53 z^-2.
_WH_A1 = np.array([1.0, -1.4, 0.53])
_WH_B1 = np.array([_WH_A1.sum()])
#: G2: poles 0.5 and 0.8, i.e. denominator (1 - 0.5 z^-1)(1 - 0.8 z^-1).
_WH_A2 = np.array([1.0, -1.3, 0.4])
_WH_B2 = np.array([_WH_A2.sum()])


def make_narma10(n_steps=2000, *, burn_in=200, random_state=None):
    r"""Generate a NARMA-10 series (one input, memory of at least 10 steps).

    The inputs are :math:`u_t \sim U[0, 0.5]` i.i.d. and the outputs follow

    .. math::

        y_{t+1} = 0.3\, y_t + 0.05\, y_t \sum_{i=0}^{9} y_{t-i} + 1.5\, u_{t-9} u_t + 0.1,

    with :math:`y_t = 0` for the first 10 steps. The first ``burn_in`` steps are discarded.
    Row ``t`` of ``X`` is :math:`u_t` and its target is :math:`y_{t+1}`, so the target of a row
    depends on that row's input, on the input 9 rows back and on the targets of the 10
    previous rows.

    Parameters
    ----------
    n_steps : int, default=2000
        Number of rows returned (after the burn-in).
    burn_in : int, default=200
        Steps simulated and discarded before the first returned row (>= 9, so that every
        returned target has its full history of simulated inputs and outputs).
    random_state : int, RandomState instance or None, default=None
        Seed or generator, resolved with :func:`sklearn.utils.check_random_state`. Draws, in
        order: the ``burn_in + n_steps`` inputs.

    Returns
    -------
    X : ndarray of shape (n_steps, 1)
        The inputs :math:`u_t`.
    y : ndarray of shape (n_steps,)
        The targets :math:`y_{t+1}`.

    Raises
    ------
    ValueError
        If an argument is invalid (the message names it), or if the recursion blows up.
        NARMA-10 is not bounded for every input sequence on [0, 0.5]: for 2 of the seeds
        0-299 at the default length (and more often on longer series) the outputs grow
        without bound; then the message says so, and another seed gives a usable series.

    See Also
    --------
    make_hidden_oscillator, make_wiener_hammerstein

    References
    ----------
    A. F. Atiya and A. G. Parlos, "New results on recurrent network training: unifying the
    algorithms and accelerating convergence", IEEE Trans. Neural Networks 11(3), 2000.

    Examples
    --------
    >>> from skalm.datasets import make_narma10
    >>> X, y = make_narma10(500, random_state=0)
    >>> X.shape, y.shape
    ((500, 1), (500,))
    """
    T = _check_int(n_steps, "n_steps")
    burn = _check_int(burn_in, "burn_in", minimum=_NARMA_ORDER - 1)
    rng = check_random_state(random_state)
    n_total = burn + T
    u = rng.uniform(0.0, 0.5, size=n_total)
    # The recursion is sequential and short; a plain loop over Python floats is the fast way.
    y = [0.0] * (n_total + 1)
    window = 0.0  # sum of y_{t-9..t}, kept running instead of re-summed every step
    uu = u.tolist()
    for t in range(n_total):
        window += y[t] - (y[t - _NARMA_ORDER] if t >= _NARMA_ORDER else 0.0)
        if t >= _NARMA_ORDER - 1:
            y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * window + 1.5 * uu[t - 9] * uu[t] + 0.1
    y = np.asarray(y[burn + 1 :])
    if not np.all(np.isfinite(y)):
        raise ValueError(
            "The NARMA-10 recursion diverged for this random_state (its outputs are not "
            f"bounded for every input sequence; n_steps={T}, burn_in={burn}). Use another "
            "random_state or a shorter series."
        )
    return u[burn:].reshape(-1, 1), y


def _ar1(rng, n_steps, n_series, phi):
    """``n_series`` independent stationary AR(1) columns with unit variance.

    ``x_0 ~ N(0, 1)``, ``x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t``: started from the
    stationary law, so every row has variance 1 (no transient).
    """
    e = rng.standard_normal(size=(n_steps, n_series))
    scale = np.sqrt(1.0 - phi**2)
    drive = scale * e
    drive[0] = e[0]  # the stationary start x_0 = e_0
    return lfilter([1.0], [1.0, -phi], drive, axis=0)


def make_hidden_oscillator(n_steps=2000, *, period=25, random_state=None):
    r"""Generate a series whose target has a cycle that no input carries.

    Two independent exogenous inputs follow stationary AR(1) processes with coefficient 0.5
    and unit variance (:math:`x_{0,j} = e_{0,j}`, :math:`x_{t,j} = 0.5\, x_{t-1,j} +
    \sqrt{0.75}\, e_{t,j}`, :math:`e \sim N(0, 1)`), and the target is

    .. math::

        y_t = \sin(2 \pi t / P) + 0.5\, x_{t,1} - 0.3\, x_{t,2} + 0.1\, \varepsilon_t,
        \qquad \varepsilon_t \sim N(0, 1),

    for :math:`t = 0, \dots, T-1` with :math:`P` = ``period``. A model that sees only
    :math:`x_t` must keep track of the phase of the sine in its own state (no target lags are
    among the inputs).

    Parameters
    ----------
    n_steps : int, default=2000
        Number of rows T.
    period : float, default=25
        Period P of the hidden sine, in rows (> 0).
    random_state : int, RandomState instance or None, default=None
        Seed or generator, resolved with :func:`sklearn.utils.check_random_state`. Draws, in
        order: the (T, 2) innovations e of the inputs, then the T noise values
        :math:`\varepsilon`.

    Returns
    -------
    X : ndarray of shape (n_steps, 2)
        The inputs :math:`x_t`.
    y : ndarray of shape (n_steps,)
        The target :math:`y_t`.

    See Also
    --------
    make_narma10, make_wiener_hammerstein

    Examples
    --------
    >>> from skalm.datasets import make_hidden_oscillator
    >>> X, y = make_hidden_oscillator(300, random_state=0)
    >>> X.shape, y.shape
    ((300, 2), (300,))
    """
    T = _check_int(n_steps, "n_steps")
    P = _check_real(period, "period", nonnegative=True)
    if P == 0:
        raise ValueError(f"period must be a finite number > 0, got {period!r}.")
    rng = check_random_state(random_state)
    X = _ar1(rng, T, 2, 0.5)
    noise = rng.standard_normal(size=T)
    t = np.arange(T)
    y = np.sin(2.0 * np.pi * t / P) + 0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.1 * noise
    return X, y


def make_wiener_hammerstein(n_steps=2000, *, random_state=None):
    r"""Generate a Wiener-Hammerstein block system: filter, static nonlinearity, filter.

    With :math:`u_t \sim N(0, 1)` i.i.d.,

    - :math:`v = G_1 u`, :math:`G_1(z) = 0.13 / (1 - 1.4 z^{-1} + 0.53 z^{-2})`: a stable
      second-order low-pass with poles :math:`0.7 \pm 0.2 i` and unit gain at frequency 0;
    - :math:`w_t = \tanh(1.5\, v_t) + 0.3\, v_t^2`;
    - :math:`y = G_2 w + 0.05\, \varepsilon`, :math:`G_2(z) = 0.1 / ((1 - 0.5 z^{-1})(1 -
      0.8 z^{-1}))`: poles 0.5 and 0.8, unit gain at frequency 0; :math:`\varepsilon \sim
      N(0, 1)` i.i.d.

    Both filters start at rest (zero state before the first row), as
    :func:`scipy.signal.lfilter` does; the start-up transient lasts a few tens of rows.

    Parameters
    ----------
    n_steps : int, default=2000
        Number of rows T.
    random_state : int, RandomState instance or None, default=None
        Seed or generator, resolved with :func:`sklearn.utils.check_random_state`. Draws, in
        order: the T inputs u, then the T noise values :math:`\varepsilon`.

    Returns
    -------
    X : ndarray of shape (n_steps, 1)
        The inputs :math:`u_t`.
    y : ndarray of shape (n_steps,)
        The outputs :math:`y_t`.

    See Also
    --------
    make_narma10, make_hidden_oscillator

    Examples
    --------
    >>> from skalm.datasets import make_wiener_hammerstein
    >>> X, y = make_wiener_hammerstein(400, random_state=0)
    >>> X.shape, y.shape
    ((400, 1), (400,))
    """
    T = _check_int(n_steps, "n_steps")
    rng = check_random_state(random_state)
    u = rng.standard_normal(size=T)
    noise = rng.standard_normal(size=T)
    v = lfilter(_WH_B1, _WH_A1, u)
    w = np.tanh(1.5 * v) + 0.3 * v**2
    y = lfilter(_WH_B2, _WH_A2, w) + 0.05 * noise
    return u.reshape(-1, 1), y
