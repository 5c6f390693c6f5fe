"""Compiled loops over time steps (optional: the ``fast`` extra, numba).

The forward pass and the backward recurrence of BPTT are the only parts of skalm that cannot be
written as products over all T rows: each step needs the previous one. As numpy loops they cost
a few numpy calls per step, 10-30 microseconds at any r up to about 100, where the arithmetic is
2 r^2 flops (under 0.1 microsecond at r = 20). The kernels here run the same loops compiled by
numba, near the cost of the arithmetic.

They are used by :func:`skalm.model.forward` and :func:`skalm.solvers.gradient.backprop` when

* numba is importable (``pip install skalm[fast]``) and the environment variable
  ``SKALM_DISABLE_NUMBA`` is not set to a non-empty value other than ``0``,
* the activation is one of the built-in strategies (its exact class: a subclass may redefine
  sigma), and
* the arrays are float32 or float64 of one dtype.

Otherwise the numpy loops run; they stay the reference the kernels are tested against
(``tests/test_kernels.py``). Both give the same numbers up to rounding: the kernels add the
recurrent product term by term in another order than BLAS, nothing else differs.

Everything but the loop stays in numpy (the input GEMM ``X V^T + b``, sigma' over all rows,
the weight gradients), so the kernels take and return plain arrays.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "numba_available", "enabled", "activation_code", "forward_loop", "backward_loop",
    "u_and_constraints", "lower_inverse", "next_q", "h_right_hand_side",
]

try:  # pragma: no cover - which branch runs depends on the environment
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None


def numba_available():
    """True when numba can be imported (the ``fast`` extra is installed)."""
    return _numba is not None


def enabled():
    """True when the compiled loops are used: numba is there and not switched off by
    ``SKALM_DISABLE_NUMBA`` (read at each call, so it can be set at run time)."""
    flag = os.environ.get("SKALM_DISABLE_NUMBA", "")
    return _numba is not None and flag in ("", "0")


# Activation codes of the kernels. The parameter is the slope (leaky ReLU) or alpha (ELU).
_RELU, _LEAKY, _ELU, _TANH = 0, 1, 2, 3


def activation_code(activation):
    """(code, parameter) of a built-in activation for the kernels, or None for any other."""
    from .activations.elu import ELU
    from .activations.leaky_relu import LeakyReLU
    from .activations.relu import ReLU
    from .activations.tanh import Tanh

    kind = type(activation)
    if kind is ReLU:
        return _RELU, 0.0
    if kind is LeakyReLU:
        return _LEAKY, float(activation.slope)
    if kind is ELU:
        return _ELU, float(activation.alpha)
    if kind is Tanh:
        return _TANH, 0.0
    return None


def _same_float(*arrays):
    """True when the compiled loops are on and the arrays are float32 or float64 of one
    dtype."""
    if not enabled():
        return False
    dtype = arrays[0].dtype
    return dtype in (np.float32, np.float64) and all(a.dtype == dtype for a in arrays)


def _usable(activation, *arrays):
    """The activation's kernel code when the compiled loops can take these arrays, else None."""
    return activation_code(activation) if _same_float(*arrays) else None


# The kernels are module-level functions: numba's on-disk cache (cache=True) only finds
# functions it can name from the module, and a kernel that calls another jitted function
# defined inside a builder function missed it in every new process (forward_kernel
# recompiled, about 1 s, and wrote one more cache file each time). Without numba the
# decorator is the identity and the functions are never called (``enabled()`` is False).
if _numba is not None:
    _njit = _numba.njit(cache=True, nogil=True, error_model="numpy")
else:  # pragma: no cover - without the fast extra
    def _njit(func):
        return func


@_njit
def sigma_scalar(v, code, param):
    if code == 0:
        # numpy's maximum(v, 0): NaN stays NaN.
        return v if (v > 0 or v != v) else 0.0
    if code == 1:
        return v if v >= 0 else param * v
    if code == 2:
        return v if v >= 0 else param * np.expm1(v)
    return np.tanh(v)

@_njit
def forward_kernel(U, H, WT, restart, h0, code, param):
    # U holds X V^T + b on entry and the pre-activations on exit. The product W h is
    # accumulated column by column of W (rows of W^T): each update is an axpy over the r
    # outputs, which vectorizes without reassociating any sum.
    T, r = U.shape
    acc = np.empty(r, dtype=U.dtype)
    for t in range(T):
        for i in range(r):
            acc[i] = 0.0
        if t == 0 or not restart[t]:
            for j in range(r):
                hj = h0[j] if t == 0 else H[t - 1, j]
                for i in range(r):
                    acc[i] += WT[j, i] * hj
        for i in range(r):
            u = U[t, i] + acc[i]
            U[t, i] = u
            H[t, i] = sigma_scalar(u, code, param)

@_njit
def backward_kernel(Delta, Dsig, W, last):
    # Delta holds the direct part of every row on entry, the total df/du_t on exit:
    # delta_t += sigma'(u_t) * (delta_{t+1} W) inside each sequence.
    T, r = Delta.shape
    buf = np.empty(r, dtype=Delta.dtype)
    for t in range(T - 2, -1, -1):
        if last[t]:
            continue
        for j in range(r):
            buf[j] = 0.0
        for i in range(r):
            d = Delta[t + 1, i]
            for j in range(r):
                buf[j] += d * W[i, j]
        for j in range(r):
            Delta[t, j] += buf[j] * Dsig[t, j]

@_njit
def pos_part(x, zero):  # numpy's maximum(0, x): NaN stays NaN
    return x if (x > 0 or x != x) else zero

@_njit
def neg_part(x, zero):  # numpy's minimum(0, x)
    return x if (x < 0 or x != x) else zero

@_njit
def leaky(v, leaky_code, slope, zero):  # numpy's maximum(v, 0) or maximum(v, slope v)
    if leaky_code == 0:
        return pos_part(v, zero)
    s = slope * v
    return v if (v >= s or v != v) else s

@_njit
def u_kernel(P, XV, bias, Xi, Zeta, H, U_prev, gamma, mu, l6, slope, gw, den_p, den_m,
             half_g, half_mu, leaky_code, zero, U, C1, C2):
    # The u-block of ReLU (leaky_code 0) or leaky ReLU (1) and the constraints, one pass per
    # entry, in the operation order of the numpy path: the pre-activation p = (P + XV) + b
    # (P the recurrent term), u_rows, ReLU/LeakyReLU.solve_u (_positive_branch, _pick
    # with phi), then C1 = u - p and C2 = h - sigma(u). The scalars come in the arrays'
    # dtype, as numpy casts Python floats.
    T, r = P.shape
    for t in range(T):
        for i in range(r):
            p = (P[t, i] + XV[t, i]) + bias[i]
            h = H[t, i]
            th1 = p - Xi[t, i] / gamma
            th2 = Zeta[t, i] / gamma + h
            th3 = U_prev[t, i]
            vp = pos_part((gamma * th1 + gamma * th2 + mu * th3) / den_p, zero)
            if leaky_code == 0:
                vm = neg_part((gamma * th1 + mu * th3) / den_m, zero)
            else:
                vm = neg_part((gamma * th1 + gw * th2 + mu * th3) / den_m, zero)
            dp = vp - th1
            ep = th2 - leaky(vp, leaky_code, slope, zero)
            qp = vp - th3
            fp = half_g * (dp * dp) + half_g * (ep * ep) + half_mu * (qp * qp) + l6 * (vp * vp)
            dm = vm - th1
            em = th2 - leaky(vm, leaky_code, slope, zero)
            qm = vm - th3
            fm = half_g * (dm * dm) + half_g * (em * em) + half_mu * (qm * qm) + l6 * (vm * vm)
            u = vp if fp <= fm else vm
            U[t, i] = u
            C1[t, i] = u - p
            C2[t, i] = h - leaky(u, leaky_code, slope, zero)

@_njit
def lower_inverse_kernel(L, out):
    # Row i of L^{-1} is -(L[i, :i] L^{-1}[:i, :i]) / L[i, i]: accumulated as axpys over
    # the rows above it (contiguous, vectorized, no sum reassociated).
    p = L.shape[0]
    for i in range(p):
        for j in range(p):
            out[i, j] = 0.0
        for k in range(i):
            lik = L[i, k]
            for j in range(k + 1):
                out[i, j] -= lik * out[k, j]
        d = 1.0 / L[i, i]
        for j in range(i):
            out[i, j] *= d
        out[i, i] = d

@_njit
def next_q_kernel(Xi, U, XV, bias, gamma, Q):
    # The h-block's q_t = xi_t / gamma + u_t - V x_t - b in numpy's operation order.
    T, r = Q.shape
    for t in range(T):
        for i in range(r):
            Q[t, i] = ((Xi[t, i] / gamma + U[t, i]) - XV[t, i]) - bias[i]

@_njit
def h_rhs_kernel(rhs, S, Zeta, TA, gamma, scale, leaky_code, slope, zero):
    # rhs <- gamma (rhs + sigma(u)) - zeta + scale * TA, in numpy's operation order. S is
    # sigma(u) (leaky_code -1) or u itself, its ReLU (0) or leaky ReLU (1) taken here.
    T, r = rhs.shape
    for t in range(T):
        for i in range(r):
            s = S[t, i] if leaky_code < 0 else leaky(S[t, i], leaky_code, slope, zero)
            rhs[t, i] = ((rhs[t, i] + s) * gamma - Zeta[t, i]) + TA[t, i] * scale


_KERNELS = {"forward": forward_kernel, "backward": backward_kernel, "u": u_kernel,
        "lower_inverse": lower_inverse_kernel, "next_q": next_q_kernel,
        "h_rhs": h_rhs_kernel}


def _kernels():
    """The compiled loops by name (numba compiles each on its first call, or loads it from
    its disk cache; numba's compiler lock makes that safe from the time-chunked sweep's
    threads)."""
    return _KERNELS


def forward_loop(U, W, restart, h0, activation):
    """Run the recurrence in place on ``U`` (holding X V^T + b); return H, or None when the
    compiled loop cannot run (then the caller runs the numpy loop on the untouched U).

    Parameters
    ----------
    U : ndarray of shape (T, r), C-contiguous, written in place
    W : ndarray of shape (r, r)
    restart : ndarray of bool, shape (T,)
        True where h_{t-1} is replaced by 0 (ignored at t = 0, where ``h0`` is used).
    h0 : ndarray of shape (r,)
    activation : Activation
    """
    code = _usable(activation, U, W, h0)
    if code is None or not U.flags.c_contiguous:
        return None
    H = np.empty_like(U)
    WT = np.ascontiguousarray(W.T)
    _kernels()["forward"](U, H, WT, np.ascontiguousarray(restart, dtype=np.bool_),
                          np.ascontiguousarray(h0), code[0], code[1])
    return H


def backward_loop(Delta, Dsig, W, last, activation):
    """The BPTT recurrence in place on ``Delta``; False (Delta untouched) when the compiled
    loop cannot run. ``activation`` only decides whether it can (sigma' is in ``Dsig``)."""
    code = _usable(activation, Delta, Dsig, W)
    if code is None or not (Delta.flags.c_contiguous and Dsig.flags.c_contiguous):
        return False
    _kernels()["backward"](Delta, Dsig, np.ascontiguousarray(W),
                           np.ascontiguousarray(last, dtype=np.bool_))
    return True


def u_and_constraints(P, XV, bias, Xi, Zeta, H, U_prev, gamma, mu, l6, activation):
    """The u-block of ReLU or leaky ReLU and the constraints (U, C1, C2) in one compiled pass
    over the rows of P (the recurrent term of the pre-activation, to which the kernel adds
    ``XV`` = X V^T and ``bias``), or None (for other activations, or without the kernels):
    then the caller runs the numpy path (:func:`skalm.solvers.blocks.u_rows`)."""
    code = _usable(activation, P, XV, bias, Xi, Zeta, H, U_prev)
    if code is None or code[0] not in (_RELU, _LEAKY):
        return None
    dt = P.dtype.type
    slope = code[1]
    # The Python-float expressions of ReLU.solve_u / LeakyReLU.solve_u / phi, evaluated in
    # Python floats and rounded once to the arrays' dtype, as numpy does with them.
    den_p = 2 * gamma + mu + 2 * l6
    den_m = (gamma + mu + 2 * l6) if code[0] == _RELU else (
        gamma + gamma * slope * slope + mu + 2 * l6)
    U, C1, C2 = (np.empty_like(P) for _ in range(3))
    _kernels()["u"](P, XV, bias, Xi, Zeta, H, U_prev, dt(gamma), dt(mu), dt(l6), dt(slope),
                    dt(gamma * slope), dt(den_p), dt(den_m), dt(0.5 * gamma), dt(0.5 * mu),
                    code[0], dt(0.0), U, C1, C2)
    return U, C1, C2


def next_q(Xi, U, XV, bias, gamma):
    """Xi / gamma + U - XV - bias (rows of the h-block's q) in one compiled pass, or None
    without the kernels (the caller's four numpy passes). The same bits as numpy's."""
    if not _same_float(Xi, U, XV, bias):
        return None
    Q = np.empty(Xi.shape, dtype=Xi.dtype)
    _kernels()["next_q"](Xi, U, XV, bias, Xi.dtype.type(gamma), Q)
    return Q


def h_right_hand_side(rhs, U, Zeta, TA, gamma, scale, activation):
    """rhs <- gamma (rhs + sigma(U)) - Zeta + scale * TA in place in one compiled pass; False
    (rhs untouched) without the kernels. sigma is taken in the pass for ReLU and leaky ReLU,
    by ``activation.sigma`` before it for the others. The same bits as the numpy passes of
    the h-block."""
    if not _same_float(rhs, U, Zeta, TA):
        return False
    code = activation_code(activation)
    if code is not None and code[0] in (_RELU, _LEAKY):
        S, leaky_code, slope = U, code[0], code[1]
    else:
        S, leaky_code, slope = activation.sigma(U), -1, 0.0
        if S.dtype != rhs.dtype:
            return False
    dt = rhs.dtype.type
    _kernels()["h_rhs"](rhs, S, Zeta, TA, dt(gamma), dt(scale), leaky_code, dt(slope), dt(0.0))
    return True


def lower_inverse(L):
    """L^{-1} of a small lower-triangular L by row-wise substitution (the diagonal blocks of
    :func:`skalm.linalg.spd_solve_np`), or None without the kernels: then LAPACK's inverse.

    LAPACK's general inverse (LU with pivoting) runs at some 2 GFLOP/s on the 20-60 rows of
    these blocks, 14 microseconds at 23 rows, and a sweep at (r, n) = (100, 80) inverts 16
    of them; the loop here takes about 1 microsecond at that size."""
    if not enabled() or L.dtype not in (np.float32, np.float64):
        return None
    out = np.empty(L.shape, dtype=L.dtype)
    _kernels()["lower_inverse"](np.ascontiguousarray(L), out)
    return out
