"""The Elman RNN itself: weights, initialization, forward pass and the objective R(s).

Everything here is a plain function on numpy arrays, shared by every solver and by the
estimator. Arrays are *time-major*: a sequence of T steps with r hidden units is stored as a
(T, r) array whose row t is the paper's column vector h_t (or u_t, x_t, y_t).

Model (paper eq. 1.1)::

    u_t = W h_{t-1} + V x_t + b,   h_t = sigma(u_t),   yhat_t = A h_t + c,   h_0 = 0

with an optional linear skip connection from input to output (not in the paper, off by
default): ``yhat_t = A h_t + D x_t + c``. ``D`` has a penalty of its own, ``lambda_D ||D||_F^2``
(see :class:`Lambdas` and :func:`penalty`), so that the linear path can be tuned apart from the
recurrent one: with the recurrent part off (A = 0) the model is ridge regression.
"""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple, Optional

import numpy as np

from . import _kernels

__all__ = [
    "RNNWeights",
    "Lambdas",
    "SequenceLayout",
    "INITIALIZATIONS",
    "DELAY_LINES",
    "init_weights",
    "linear_path_start",
    "linear_path_solve",
    "forward",
    "predict_outputs",
    "mse_loss",
    "penalty",
    "objective",
]


class _WeightFields(NamedTuple):
    W: np.ndarray
    V: np.ndarray
    b: np.ndarray
    A: np.ndarray
    c: np.ndarray
    D: Optional[np.ndarray] = None


class RNNWeights(_WeightFields):
    """Parameters z = (W, V, b, A, c) of an Elman RNN, and the optional skip weights D.

    Attributes
    ----------
    W : ndarray of shape (r, r)
        Recurrent (hidden-to-hidden) weights.
    V : ndarray of shape (r, n)
        Input-to-hidden weights.
    b : ndarray of shape (r,)
        Hidden bias.
    A : ndarray of shape (m, r)
        Hidden-to-output weights.
    c : ndarray of shape (m,)
        Output bias.
    D : ndarray of shape (m, n) or None, default=None
        Input-to-output weights of the linear skip connection, ``yhat_t = A h_t + D x_t + c``.
        None: no skip connection (the paper's model).

    Notes
    -----
    Iterating yields the parameter arrays that are *present*: ``(W, V, b, A, c)`` without a
    skip connection and ``(W, V, b, A, c, D)`` with one (``len`` agrees). So
    ``W, V, b, A, c = weights`` keeps working for the paper's model and fails loudly for a
    model with skip weights, and every loop over the blocks (copies, dtype casts, finiteness,
    :func:`~skalm.solvers.gradient.flatten`) includes D exactly when it exists.
    ``RNNWeights(*arrays)`` rebuilds the same kind of tuple from such an iteration.
    """

    __slots__ = ()

    def __iter__(self):
        it = tuple.__iter__(self)
        return it if self.D is not None else islice(it, 5)

    def __len__(self):
        return 5 if self.D is None else 6

    def _replace(self, **changes):
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        fields = dict(zip(self._fields, tuple.__iter__(self)))
        fields.update(changes)
        return type(self)(**fields)

    @property
    def has_skip(self) -> bool:
        """True when the model has the input-to-output skip weights D."""
        return self.D is not None

    def copy(self) -> "RNNWeights":
        return RNNWeights(*(np.array(a, copy=True) for a in self))

    def astype(self, dtype) -> "RNNWeights":
        return RNNWeights(*(np.asarray(a, dtype=dtype) for a in self))

    def all_finite(self) -> bool:
        return all(np.all(np.isfinite(a)) for a in self)

    def max_abs(self) -> float:
        return max(float(np.max(np.abs(a), initial=0.0)) for a in self)


class _LambdaFields(NamedTuple):
    A: float
    W: float
    V: float
    b: float
    c: float
    u: float
    D: Optional[float] = None


class Lambdas(_LambdaFields):
    """Regularization weights of paper eq. (2.5), keyed by the block they penalize.

    ``A`` is the paper's lambda_1, ``W`` lambda_2, ``V`` lambda_3, ``b`` lambda_4, ``c``
    lambda_5 and ``u`` lambda_6 (on the pre-activations). ``D`` weighs the skip weights of the
    optional linear path (not in the paper); None (the default) gives it A's value.

    The positional order is the paper's (lambda_1 .. lambda_6, then D), so
    ``Lambdas(l1, l2, l3, l4, l5, l6)`` reads as in the paper. Code that needs the weight of
    each parameter block asks :meth:`for_blocks` rather than spelling the mapping again.
    """

    __slots__ = ()

    def __new__(cls, A, W, V, b, c, u, D=None):
        return super().__new__(cls, A, W, V, b, c, u, A if D is None else D)

    @classmethod
    def from_alpha(cls, alpha, n_hidden, n_features, n_outputs, l6=1e-8, D=None):
        """The paper's Table 2 rule: each block's weight is ``alpha`` over its entry count.

        lambda_1..5 = alpha/(r m), alpha/r^2, alpha/(r n), alpha/r, alpha/m (alpha is the
        paper's tau), so that every block's penalty is alpha times the mean square of its
        entries. ``D`` (the skip weights' lambda) defaults to lambda_1.
        """
        r, n, m = n_hidden, n_features, n_outputs
        return cls(alpha / (r * m), alpha / r**2, alpha / (r * n), alpha / r, alpha / m, l6, D)

    def for_blocks(self, weights):
        """The lambda of each array of ``weights``, in its iteration order (W, V, b, A, c[, D])."""
        names = ("W", "V", "b", "A", "c", "D")[: len(weights)]
        return tuple(getattr(self, name) for name in names)


class SequenceLayout(NamedTuple):
    """Where independent sequences start and end inside the T rows.

    Attributes
    ----------
    first : ndarray of bool, shape (T,)
        True at the first row of each sequence (h_{t-1} is 0 there).
    last : ndarray of bool, shape (T,)
        True at the last row of each sequence (h_t feeds no later step).
    """

    first: np.ndarray
    last: np.ndarray

    @classmethod
    def from_starts(cls, n_steps, starts=None):
        """Build the layout from the sorted start rows (``None``: one sequence)."""
        first = np.zeros(n_steps, dtype=bool)
        if n_steps:
            first[0] = True
        if starts is not None:
            first[np.asarray(starts, dtype=np.intp)] = True
        last = np.zeros(n_steps, dtype=bool)
        if n_steps:
            last[-1] = True
            last[:-1] = first[1:]
        return cls(first, last)

    @classmethod
    def from_sequence_id(cls, sequence_id):
        """Build the layout from a per-row label: a new sequence starts where it changes."""
        sid = np.asarray(sequence_id)
        T = sid.shape[0]
        if T == 0:
            return cls.from_starts(0)
        change = np.ones(T, dtype=bool)
        change[1:] = sid[1:] != sid[:-1]
        return cls.from_starts(T, np.flatnonzero(change))

    def shift_down(self, H):
        """Rows h_{t-1} for every t (zeros at sequence starts): the design's first block."""
        Hprev = np.empty_like(H)
        Hprev[1:] = H[:-1]
        Hprev[self.first] = 0
        return Hprev

    def shift_up(self, Q):
        """Rows q_{t+1} for every t (zeros at sequence ends)."""
        Qnext = np.empty_like(Q)
        Qnext[:-1] = Q[1:]
        Qnext[self.last] = 0
        return Qnext


def _he(fan_in, fan_out):
    return np.sqrt(2.0 / fan_in)


def _glorot(fan_in, fan_out):
    return np.sqrt(2.0 / (fan_in + fan_out))


def _lecun(fan_in, fan_out):
    return np.sqrt(1.0 / fan_in)


#: Initialization name -> std(fan_in, fan_out) rule. ``"normal"`` uses a fixed std.
INITIALIZATIONS = {"normal": None, "he": _he, "glorot": _glorot, "lecun": _lecun}


def init_weights(
    n_hidden, n_features, n_outputs, init="normal", scale=0.1, random_state=None,
    dtype=np.float64, skip_connection=False,
):
    """Random initial weights, biases zero (paper section 5.4); skip weights zero.

    Parameters
    ----------
    n_hidden, n_features, n_outputs : int
        r, n and m.
    init : {"normal", "he", "glorot", "lecun"}
        ``"normal"``: every weight N(0, scale^2) (the paper's N(0, 1e-3) and N(0, 0.1) mean
        std 1e-3 and 0.1). The others are Gaussian with the std of that rule computed from
        each matrix's fan-in / fan-out (``scale`` is then ignored).
    scale : float
        Standard deviation for ``init="normal"``.
    random_state : None, int or numpy.random.RandomState
        Resolved by the caller (``sklearn.utils.check_random_state``); an int or None is
        accepted here too.
    dtype : numpy dtype
        float64 or float32.
    skip_connection : bool, default=False
        Also return skip weights D of shape (m, n), all zero. Zero is the start because
        then the initial network is exactly the paper's model with the same random W, V, A
        (D draws nothing from ``random_state``, so those are the ones a fit without the skip
        connection starts from): the solver only moves D away from 0 where the data ask for
        it.

    Returns
    -------
    RNNWeights
        ``D`` is None unless ``skip_connection``.
    """
    if init not in INITIALIZATIONS:
        raise ValueError(f"init must be one of {sorted(INITIALIZATIONS)}, got {init!r}.")
    rng = (
        random_state
        if isinstance(random_state, np.random.RandomState)
        else np.random.RandomState(random_state)
    )
    rule = INITIALIZATIONS[init]
    r, n, m = n_hidden, n_features, n_outputs

    def draw(rows, cols):
        std = scale if rule is None else rule(cols, rows)
        return (rng.standard_normal((rows, cols)) * std).astype(dtype)

    # Draw order A, W, V matches the paper's parameter order (A, W, V, b, c).
    A = draw(m, r)
    W = draw(r, r)
    V = draw(r, n)
    D = np.zeros((m, n), dtype) if skip_connection else None
    return RNNWeights(W, V, np.zeros(r, dtype), A, np.zeros(m, dtype), D)


def linear_path_start(X, Y, lambdas):
    """The skip weights D and output bias c of the ridge model: the minimizer over (D, c) of
    (1/T) sum_t ||y_t - D x_t - c||^2 + lambda_D ||D||_F^2 + lambda_c ||c||^2, i.e. of the
    training objective with the recurrent part off (A = 0).

    A fit with a skip connection starts its linear path here, so that gradient solvers start
    from the best linear model rather than from "predict 0" (ALM-BCD's first z-block computes
    the same regression exactly, given the hidden states).

    Returns
    -------
    D : ndarray of shape (m, n)
    c : ndarray of shape (m,)
    """
    Z = np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])
    return linear_path_solve(Z.T @ Z, Z.T @ Y, X.shape[0], lambdas)


def linear_path_solve(G, ZtY, n_steps, lambdas):
    """(D, c) of :func:`linear_path_start` from the Gram sums G = Z^T Z and Z^T Y of the rows
    Z = [x_t, 1] over all ``n_steps`` rows (sums over row chunks add up to them)."""
    n = G.shape[0] - 1
    coef = _penalized_solve(G, ZtY, n_steps, np.append(np.full(n, lambdas.D), lambdas.c))
    return np.ascontiguousarray(coef[:n].T), coef[n].copy()


def _penalized_solve(G, ZtY, n_steps, penalty):
    """The minimizer over B of (1/T) ||Y - Z B||^2 + sum_j penalty_j ||B_j||^2 (B_j row j),
    T = ``n_steps``, from G = Z^T Z and Z^T Y: (G + T diag(penalty)) B = Z^T Y."""
    G = np.array(G, copy=True)
    G[np.diag_indices_from(G)] += n_steps * penalty
    # lstsq, not Cholesky: with zero penalties and collinear columns G is singular.
    return np.linalg.lstsq(G, ZtY, rcond=None)[0].astype(ZtY.dtype, copy=False)


#: What the hidden units of :func:`delay_line_start` delay, per ``init`` of
#: :class:`~skalm.ElmanRNNRegressor` that builds a delay line.
DELAY_LINES = {"delay": "inputs", "delay_prediction": "prediction"}


def delay_line_start(X, Y, n_hidden, lambdas, activation, layout=None, skip_connection=True,
                     lags_of="inputs"):
    r"""Weights whose network is a ridge regression on the inputs and lags held by the hidden
    units as a delay line: the start of ``init="delay"`` (``lags_of="inputs"``) and of
    ``init="delay_prediction"`` (``lags_of="prediction"``).

    Block 0 of the hidden units (units 0 .. n - 1) holds :math:`x_t + \beta` (``V`` copies
    the inputs, its bias :math:`\beta` keeps every value positive, :math:`\beta_k` =
    max(0, -min_t x_tk) + std_k, so that an activation that is the identity on positive
    inputs passes them through unchanged). ``W`` shifts each block into the next, so the
    later blocks hold lags, zero before the start of each sequence; the units left over are
    zero.

    - ``lags_of="inputs"``: with d = ``n_hidden // n``, block j (units j n .. (j+1) n - 1)
      holds :math:`x_{t-j} + \beta`: d - 1 lags of every input.
    - ``lags_of="prediction"``: the line holds :math:`s_t + \beta_s`, :math:`s_t = D_0 x_t`
      the linear path's ridge prediction (``D_0`` of :func:`linear_path_start`, the bias
      :math:`\beta_s` as :math:`\beta`), then :math:`s_{t-1} + \beta_s`, ... in blocks of m
      units: an autoregression on the linear model's output. With ``skip_connection`` (D
      carries :math:`x_t` to the output) the line starts at unit 0, no copy of the inputs:
      q = ``n_hidden`` // m - 1 lags, any number of inputs. Without, block 0 holds the
      inputs as above and the line follows it: q = (``n_hidden`` - n) // m - 1 lags. Lags of
      every input reach (``n_hidden`` - n) // n steps back.

    The output weights (A, and D with ``skip_connection``) and c are the minimizer of the
    training objective over them given those hidden states: (1/T) sum_t ||y_t - yhat_t||^2
    + lambda_A ||A||^2 + lambda_D ||D||^2 + lambda_c ||c||^2, the blocks that are functions
    of x_t alone replaced by D x_t with the skip path. So the start predicts as ridge
    regression on the inputs and the lags, and a fit grows the recurrence from there.

    Parameters
    ----------
    X : ndarray of shape (T, n)
    Y : ndarray of shape (T, m)
    n_hidden : int
        r: at least n where block 0 copies the inputs (every line but the prediction's
        with ``skip_connection``).
    lambdas : Lambdas
        With ``lags_of="prediction"``, ``D`` and ``c`` also give the prediction's ridge
        penalties.
    activation : Activation
        Must be the identity on positive inputs (ReLU, leaky ReLU, ELU); checked.
    layout : SequenceLayout or None
        Independent sequences: the delay line restarts (at zero) with each.
    skip_connection : bool, default=True
        Whether the model has the skip weights D.
    lags_of : {"inputs", "prediction"}, default="inputs"
        What the line delays.

    Returns
    -------
    RNNWeights
    """
    T, n = X.shape
    m = Y.shape[1]
    r = int(n_hidden)
    if lags_of not in DELAY_LINES.values():
        raise ValueError(f"lags_of must be one of {sorted(DELAY_LINES.values())}, got "
                         f"{lags_of!r}.")
    init = next(k for k, v in DELAY_LINES.items() if v == lags_of)  # the name users pass
    # With the skip path, D x_t carries the inputs to the output: the prediction's line
    # needs no copy of them (block 0), and all r units hold the prediction and its lags.
    copy_inputs = not (lags_of == "prediction" and skip_connection)
    if copy_inputs and r < n:
        raise ValueError(f"init={init!r} needs n_hidden >= n_features to hold the inputs, "
                         f"got n_hidden={r} and {n} features.")
    z = np.logspace(-3, 3, 13)
    with np.errstate(all="ignore"):
        identity = np.allclose(np.asarray(activation.sigma(z), dtype=float), z, rtol=1e-12)
    if not identity:
        raise ValueError(
            f"init={init!r} needs an activation that is the identity on positive inputs "
            f"(relu, leaky_relu, elu), got {type(activation).__name__}."
        )
    dtype = X.dtype
    W = np.zeros((r, r), dtype)
    V = np.zeros((r, n), dtype)
    b = np.zeros(r, dtype)
    if copy_inputs:
        V[:n] = np.eye(n, dtype=dtype)
        b[:n] = _positive_shift(X)
    # The line: n_blocks blocks of `width` units from unit `begin`, its lag 0 first.
    if lags_of == "inputs":  # x_t (block 0 itself), x_{t-1}, ...
        begin, width, n_blocks = 0, n, r // n
    else:  # after block 0 (when the inputs are copied): s_t, s_{t-1}, ...
        begin = n if copy_inputs else 0
        width, n_blocks = m, (r - begin) // m
        if n_blocks:
            D0 = linear_path_start(X, Y, lambdas)[0]
            V[begin:begin + m] = D0
            b[begin:begin + m] = _positive_shift(X @ D0.T)
    for j in range(1, n_blocks):
        first = begin + j * width
        W[first:first + width, first - width:first] = np.eye(width, dtype=dtype)
    used = begin + n_blocks * width
    start = RNNWeights(W=W, V=V, b=b, A=np.zeros((m, r), dtype), c=np.zeros(m, dtype),
                       D=np.zeros((m, n), dtype) if skip_connection else None)
    H = forward(start, X, activation, layout)[1]
    # The regression's columns: the hidden units it may use (the whole line, or only the
    # lags when D carries x_t), then x_t for D, then the constant for c.
    hidden = np.arange(begin + width if skip_connection else 0, used)
    columns = [H[:, hidden]] + ([X] if skip_connection else []) + [np.ones((T, 1), dtype)]
    Z = np.hstack(columns)
    penalty = np.concatenate([np.full(hidden.size, lambdas.A),
                              np.full(n if skip_connection else 0, lambdas.D),
                              [lambdas.c]])
    coef = _penalized_solve(Z.T @ Z, Z.T @ Y, T, penalty).astype(dtype, copy=False)
    A = np.zeros((m, r), dtype)
    A[:, hidden] = coef[:hidden.size].T
    D = np.ascontiguousarray(coef[hidden.size:hidden.size + n].T) if skip_connection else None
    return start._replace(A=A, c=coef[-1].copy(), D=D)


def _positive_shift(S):
    """Per column, max(0, -min) + std (std 1 where it is 0): added to the column, every value
    is positive, so an activation that is the identity there passes it unchanged."""
    std = S.std(axis=0)
    return np.maximum(0.0, -S.min(axis=0)) + np.where(std > 0, std, 1.0)


def forward(weights, X, activation, layout=None, h0=None):
    """Run the recurrence over the rows of X.

    Parameters
    ----------
    weights : RNNWeights
    X : ndarray of shape (T, n)
    activation : Activation
        Strategy object from :mod:`skalm.activations`.
    layout : SequenceLayout or None
        Independent sequences (h is reset to 0 at each start). None: one sequence.
    h0 : ndarray of shape (r,) or None
        Hidden state before the first row of the first sequence (default 0). Later
        sequence starts always use 0.

    Returns
    -------
    U, H : ndarrays of shape (T, r)
        Pre-activations and hidden states.
    """
    W, V, b = weights.W, weights.V, weights.b
    T = X.shape[0]
    r = W.shape[0]
    # The input part has no recurrence: one GEMM for all steps.
    U = X @ V.T + b
    h = np.zeros(r, dtype=U.dtype) if h0 is None else np.asarray(h0, dtype=U.dtype)
    first = layout.first if layout is not None else np.zeros(T, dtype=bool)
    H = _kernels.forward_loop(U, W, first, h, activation)
    if H is not None:
        return U, H
    return U, _forward_numpy(U, W, first, h, activation)


def _forward_numpy(U, W, first, h, activation):
    """The recurrence of :func:`forward` as a numpy loop (in place on U; returns H): the
    fallback without the compiled kernel, and its reference in the tests."""
    T, r = U.shape
    H = np.empty_like(U)
    # Python bools: indexing a numpy bool array per step costs more than the test itself.
    restart = first.tolist()
    sigma = activation.sigma
    WT = np.ascontiguousarray(W.T)
    # The loop is the hot path of every gradient solver (one pass per function evaluation):
    # the recurrent product goes into a buffer and h is a view of H, not a fresh copy.
    rec = np.empty(r, dtype=np.result_type(U.dtype, WT.dtype))
    dot, add = np.dot, np.add
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            if restart[t] and t > 0:
                h = np.zeros(r, dtype=U.dtype)
            u = U[t]
            add(u, dot(h, WT, out=rec), out=u)
            H[t] = sigma(u)
            h = H[t]
    return H


def predict_outputs(weights, H, X=None):
    """yhat_t = A h_t + c (+ D x_t with a skip connection) for every row of H.

    Parameters
    ----------
    weights : RNNWeights
    H : ndarray of shape (T, r)
        Hidden states.
    X : ndarray of shape (T, n) or None
        The inputs of the same rows. Required when ``weights.D`` is not None; ignored
        otherwise.

    Returns
    -------
    ndarray of shape (T, m)
    """
    out = H @ weights.A.T + weights.c
    if weights.D is not None:
        if X is None:
            raise ValueError(
                "X is required: the weights have a skip connection D, so the outputs "
                "A h_t + D x_t + c depend on the inputs."
            )
        out += X @ weights.D.T
    return out


def mse_loss(weights, H, Y, X=None):
    """(1/T) sum_t ||y_t - yhat_t||^2: the paper's TrainErr (mean over time steps).

    ``X`` (the inputs of the rows) is required with a skip connection, see
    :func:`predict_outputs`.
    """
    R = predict_outputs(weights, H, X) - Y
    return float(np.einsum("ij,ij->", R, R)) / max(Y.shape[0], 1)


def penalty(weights, U, lambdas):
    """P(s) of paper eq. (2.5): sum over the blocks of lambda ||block||^2, plus
    ``lambdas.u ||U||^2`` (U may be None: the weights' part alone) and, with a skip
    connection, ``lambdas.D ||D||_F^2``."""
    P = sum(lam * float(np.vdot(a, a)) for lam, a in zip(lambdas.for_blocks(weights), weights))
    if U is not None:
        P += lambdas.u * float(np.vdot(U, U))
    return P


def objective(weights, X, Y, activation, lambdas, layout=None):
    """R(s) at the feasible point of the weights: loss + P with (u, h) from the forward pass.

    This is the training objective every solver is compared on.
    """
    U, H = forward(weights, X, activation, layout)
    return mse_loss(weights, H, Y, X) + penalty(weights, U, lambdas)
