"""ALM-BCD on a dask cluster: the rows of one fit in time chunks that stay on the workers.

:class:`ChunkedProblem` is the training problem of :class:`skalm.solvers.Problem` with its
rows split in time chunks, each held by one dask worker, and the arrays of the fit (h, u,
the multipliers, the constraints) as :class:`~skalm._chunked.ChunkedArray`\\ s on the same
workers. The functions of ALM-BCD that touch those arrays (:func:`~skalm.solvers.alm_bcd.
bcd_sweep`, :func:`~skalm.solvers.lagrangian.augmented_lagrangian`,
:func:`~skalm.solvers.lagrangian.certificate`, :func:`~skalm.solvers.blocks.output_block`)
are generic in the problem; this module registers their chunked implementations, so that
:class:`~skalm.solvers.alm_bcd.ALMBCDSolver`'s own loop (penalty and tolerance updates,
restarts, anchor, Nesterov extrapolation, stopping rules, history) runs on a
ChunkedProblem unchanged. ``ElmanRNNRegressor.fit`` on dask arrays builds one
(:mod:`skalm._dask_fit`).

One sweep (:func:`sweep`), submitted as one task graph:

1. on each worker, the z-block's Gram sums over its rows (:func:`~skalm.solvers.blocks.
   z_sums_rows`), reading h_{a-1} from the chunk before (a one-row halo);
2. in one task, the sums added in chunk order and the two ridge systems solved
   (:func:`~skalm.solvers.blocks.z_solve`), D1^{-1} and D2 of the h-block formed;
3. on each worker, the h-block on its rows, reading q_b (one row) of the chunk after;
4. on each worker, the u-block and the constraints, reading the new h_{a-1} of the chunk before.

What travels per sweep: the Gram sums ((r+n+1)(r+n+1+r) + (r+1)(r+1+m) numbers per chunk, or
with the skip connection the output design's n more columns), the weights and the two r x r
matrices to every worker that holds a chunk, and three halo rows of r numbers per chunk
boundary (:func:`bytes_per_sweep`); the client receives the weights. The augmented
Lagrangian, FeasVio and the certificate are sums of a few numbers per chunk (the certificate
also the z-gradient's sums, of the weights' size). The forward pass (:meth:`ChunkedProblem.
evaluate`: the objective R, the anchor, the forward check) runs over the chunks in row order,
one row of r numbers passed from each chunk to the next. Nothing of size T moves.
"""

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from ._chunked import ChunkedArray, submit
from .model import SequenceLayout, forward, linear_path_solve, penalty, predict_outputs
from .solvers.alm_bcd.bcd import bcd_sweep
from .solvers.blocks import (
    _output_design, _output_solve, _preactivation_rows, h_matrices, h_rows, output_block,
    u_constraints_rows, z_solve, z_sums_rows,
)
from .solvers.lagrangian import ALMPoint, augmented_lagrangian, certificate

__all__ = ["ChunkedProblem", "sweep", "linear_path_start", "bytes_per_sweep"]


class Rows(NamedTuple):
    """What one worker holds of a fit's data: the rows [start, start + len(X)), and what the
    row functions of :mod:`skalm.solvers.blocks` read of a problem (``n_steps`` is the number
    of rows of the whole fit)."""

    X: np.ndarray
    Y: np.ndarray
    lambdas: object
    layout: SequenceLayout
    n_steps: int
    start: int


class _Totals(NamedTuple):
    lambdas: object
    n_steps: int


def _make_rows(X, Y, first, last, lambdas, n_steps, start):
    X = np.ascontiguousarray(X)
    Y = np.ascontiguousarray(np.asarray(Y, dtype=X.dtype).reshape(len(X), -1))
    if first is None:  # one sequence over all rows
        first = np.zeros(len(X), dtype=bool)
        last = np.zeros(len(X), dtype=bool)
        first[0] = start == 0
        last[-1] = start + len(X) == n_steps
    return Rows(X, Y, lambdas, SequenceLayout(first, last), n_steps, start)


class ChunkedProblem:
    """A training problem whose rows are time chunks held by dask workers.

    Build it with :meth:`scatter` (from ndarrays) or :meth:`from_dask` (from dask arrays
    chunked over rows). It has what ALM-BCD and the forward check read of a
    :class:`~skalm.solvers.Problem` (``n_steps``, ``dtype``, ``lambdas``, ``Y``,
    :meth:`evaluate`, :meth:`training_loss`); no validation rows.

    Attributes
    ----------
    client : distributed.Client
    rows : list of Future
        One :class:`Rows` per chunk, in row order.
    workers : list of str
        The worker holding each chunk (every task on a chunk runs there).
    bounds : list of (int, int)
        The row range of each chunk.
    """

    has_validation = False
    X_val = Y_val = None
    #: The forward check cannot polish (L-BFGS) on chunked rows.
    chunked = True

    def __init__(self, client, rows, workers, bounds, lambdas, n_features, n_outputs, dtype):
        self.client, self.rows, self.workers = client, list(rows), list(workers)
        self.bounds = list(bounds)
        self.lambdas = lambdas
        self.n_features, self.n_outputs = int(n_features), int(n_outputs)
        self.dtype = np.dtype(dtype)
        self.n_steps = self.bounds[-1][1]
        self.Y = self.array([submit(client, operator.attrgetter("Y"), w, p)
                             for p, w in zip(self.rows, self.workers)], self.n_outputs)

    @classmethod
    def scatter(cls, client, X, Y, lambdas, bounds, layout=None):
        """The rows of ndarrays ``X``, ``Y`` in the row ranges ``bounds`` ([(a, b), ...]),
        one chunk per range, sent to the workers round robin."""
        workers = sorted(client.scheduler_info()["workers"])
        rows, chunk_workers = [], []
        T = X.shape[0]
        for i, (a, b) in enumerate(bounds):
            w = workers[i % len(workers)]
            first, last = (None, None) if layout is None else (layout.first[a:b],
                                                               layout.last[a:b])
            rows.append(client.submit(_make_rows, X[a:b], Y[a:b], first, last, lambdas, T, a,
                                      pure=False, workers=[w], allow_other_workers=False))
            chunk_workers.append(w)
        Y2 = Y.reshape(T, -1)
        return cls(client, rows, chunk_workers, bounds, lambdas, X.shape[1], Y2.shape[1],
                   X.dtype)

    @classmethod
    def from_dask(cls, client, X, Y, lambdas, layout=None):
        """The rows of dask arrays ``X`` (T, n) and ``Y`` (T, m), one chunk per block of
        ``X``'s rows (``Y`` is rechunked to match), each on the worker that holds it after
        ``client.persist`` (blocks not yet computed go where the scheduler puts them)."""
        from distributed import futures_of, wait

        X = X.rechunk({1: -1})
        Y = Y.rechunk({0: X.chunks[0], 1: -1})
        X, Y = client.persist([X, Y])
        wait([X, Y])
        xf = {f.key: f for f in futures_of(X)}
        yf = {f.key: f for f in futures_of(Y)}
        owners = client.who_has(list(xf.values()))
        T = X.shape[0]
        rows, workers, bounds = [], [], []
        a = 0
        for i, length in enumerate(X.chunks[0]):
            b = a + length
            if length:
                fx, fy = xf[(X.name, i, 0)], yf[(Y.name, i, 0)]
                w = sorted(owners[fx.key])[0]
                first, last = (None, None) if layout is None else (layout.first[a:b],
                                                                   layout.last[a:b])
                rows.append(submit(client, _make_rows, w, fx, fy, first, last, lambdas, T, a))
                workers.append(w)
                bounds.append((a, b))
            a = b
        return cls(client, rows, workers, bounds, lambdas, X.shape[1], Y.shape[1], X.dtype)

    def array(self, parts, width):
        """A ChunkedArray of per-chunk ``parts`` with ``width`` columns."""
        return ChunkedArray(self.client, parts, self.workers, (self.n_steps, width),
                            self.dtype)

    def _map(self, fn, *args):
        """``fn(rows, *args_i)`` on every chunk's worker; ChunkedArray args chunk by chunk,
        lists of per-chunk values element by element."""
        out = []
        for i, (p, w) in enumerate(zip(self.rows, self.workers)):
            own = [a.parts[i] if isinstance(a, ChunkedArray)
                   else a[i] if isinstance(a, list) else a for a in args]
            out.append(submit(self.client, fn, w, p, *own))
        return out

    def _items(self, futures, *indices):
        """Per-chunk futures of tuples split into one list of futures per index (tasks on the
        same workers)."""
        return [[submit(self.client, operator.itemgetter(j), w, f)
                 for f, w in zip(futures, self.workers)] for j in indices]

    def _halos(self, fn, parts):
        """One row per chunk boundary for the chunk after it: [None, fn(part_0), ...,
        fn(part_{k-2})], each computed where its part is."""
        return [None] + [submit(self.client, fn, w, p)
                         for p, w in zip(parts[:-1], self.workers[:-1])]

    def _sum(self, futures):
        return np.sum(self.client.gather(futures), axis=0)

    def evaluate(self, weights, activation):
        """True forward pass, as :meth:`skalm.solvers.Problem.evaluate`: (train_loss,
        objective R, final hidden state, U, H), U and H ChunkedArrays. A sequential pass over
        the chunks: each starts from the last hidden state of the one before."""
        h_prev, outs = None, []
        for p, w in zip(self.rows, self.workers):
            out = submit(self.client, _forward_rows, w, p, weights, activation, h_prev)
            h_prev = submit(self.client, operator.itemgetter(4), w, out)
            outs.append(out)
        sse, uu = self._sum([submit(self.client, _first_two, w, f)
                             for f, w in zip(outs, self.workers)])
        U, H = self._items(outs, 2, 3)
        r = weights.W.shape[0]
        loss = float(sse) / max(self.n_steps, 1)
        R = loss + (penalty(weights, None, self.lambdas) + self.lambdas.u * float(uu))
        return loss, R, h_prev.result(), self.array(U, r), self.array(H, r)

    def training_loss(self, weights, H):
        """(1/T) sum_t ||y_t - yhat_t||^2 with the hidden states ``H`` (a ChunkedArray)."""
        with np.errstate(all="ignore"):
            return float(self._sum(self._map(_sse, weights, H))) / max(self.n_steps, 1)

    def validation_loss(self, weights, activation, h_last):  # pragma: no cover - no rows
        raise ValueError("a ChunkedProblem has no validation rows")


def _first_two(out):
    return np.array(out[:2])


def _forward_rows(rows, weights, activation, h_prev):
    """The forward pass over the chunk's rows from h_prev (None for the first chunk):
    (sum of squared errors, ||U||^2, U, H, the last hidden state)."""
    # forward() uses h0 only until the first sequence start after row 0; a chunk whose first
    # row starts a sequence starts from 0.
    h0 = None if rows.layout.first[0] else h_prev
    U, H = forward(weights, rows.X, activation, rows.layout, h0=h0)
    R = predict_outputs(weights, H, rows.X) - rows.Y
    return float(np.vdot(R, R)), float(np.vdot(U, U)), U, H, H[-1].copy()


def _sse(rows, weights, H):
    R = predict_outputs(weights, H, rows.X) - rows.Y
    return float(np.einsum("ij,ij->", R, R))


def _last_row(A):
    return A[-1].copy()


def _z_sums(rows, H, U, Xi, h_halo, gamma, skip):
    return z_sums_rows(rows, H, U, Xi, gamma, skip, 0, len(H), h_halo)


def _reduce_solve(lambdas, n_steps, gamma, skip, r, *sums):
    """The z-block's sums added in chunk order (as the threaded sweep adds them), the ridge
    systems solved, and the h-block's D1^{-1}, D2: (weights, D1^{-1}, D2)."""
    total = [np.array(x, copy=True) for x in sums[0]]
    for part in sums[1:]:
        for acc, x in zip(total, part):
            acc += x
    weights = z_solve(_Totals(lambdas, n_steps), total, gamma, r, skip)
    return (weights,) + h_matrices(weights, n_steps, gamma)


def _first_q(rows, U, Xi, weights, gamma):
    return Xi[0] / gamma + U[0] - rows.X[0] @ weights.V.T - weights.b


def _h_step(rows, U, Xi, Zeta, q_halo, solved, gamma, activation):
    weights, D1inv, D2 = solved
    XV = rows.X @ weights.V.T
    H = np.empty_like(U)
    h_rows(rows, weights, U, Xi, Zeta, gamma, activation, XV, D1inv, D2, 0, len(H), H, q_halo)
    return H


def _u_step(rows, H, U, Xi, Zeta, h_halo, weights, gamma, mu, activation):
    return u_constraints_rows(rows, weights, H, U, Xi, Zeta, gamma, mu, activation, None, 0,
                              len(H), h_halo)


@bcd_sweep.register
def sweep(problem: ChunkedProblem, s, Xi, Zeta, gamma, mu, activation, n_threads=1):
    """One BCD sweep z -> h -> u over the chunks, as :func:`~skalm.solvers.alm_bcd.bcd_sweep`
    (whose implementation for a :class:`ChunkedProblem` this is): the new point and its
    constraints (C1, C2), ChunkedArrays on the chunks' workers. Submitted as one graph; the
    client waits only for the new weights. ``n_threads`` is not used (each worker's
    threads are its own)."""
    c, W = problem.client, problem.workers
    r, skip = s.weights.W.shape[0], s.weights.D is not None
    sums = problem._map(_z_sums, s.H, s.U, Xi, problem._halos(_last_row, s.H.parts), gamma,
                        skip)
    solved = submit(c, _reduce_solve, W[0], problem.lambdas, problem.n_steps, gamma, skip, r,
                    *sums)
    weights = submit(c, operator.itemgetter(0), W[0], solved)
    heads = [None] * len(W)
    for i in range(1, len(W)):
        heads[i - 1] = submit(c, _first_q, W[i], problem.rows[i], s.U.parts[i], Xi.parts[i],
                              weights, gamma)
    H = problem.array(problem._map(_h_step, s.U, Xi, Zeta, heads, solved, gamma, activation),
                      r)
    outs = problem._map(_u_step, H, s.U, Xi, Zeta, problem._halos(_last_row, H.parts),
                        weights, gamma, mu, activation)
    U, C1, C2 = (problem.array(parts, r) for parts in problem._items(outs, 0, 1, 2))
    return ALMPoint(weights.result(), H, U), (C1, C2)


def _constraints(rows, weights, activation, H, U, h_halo):
    P = _preactivation_rows(rows, weights, H, None, 0, len(H), h_halo)
    return U - P, H - activation.sigma(U)


def _lagrangian_sums(rows, weights, activation, H, U, Xi, Zeta, C1, C2, h_halo):
    if C1 is None:
        C1, C2 = _constraints(rows, weights, activation, H, U, h_halo)
    R = predict_outputs(weights, H, rows.X) - rows.Y
    return np.array([np.vdot(R, R), np.vdot(U, U), np.vdot(Xi, C1), np.vdot(Zeta, C2),
                     np.vdot(C1, C1), np.vdot(C2, C2)])


@augmented_lagrangian.register
def _(problem: ChunkedProblem, s, Xi, Zeta, gamma, activation, C=None):
    """L(s; xi, zeta, gamma) of eq. (3.1) as sums of six numbers per chunk (the constraints
    computed there when ``C`` is None, reading h_{a-1} of the chunk before)."""
    C1, C2 = (None, None) if C is None else C
    halos = problem._halos(_last_row, s.H.parts) if C is None else None
    sums = problem._sum(problem._map(_lagrangian_sums, s.weights, activation, s.H, s.U, Xi,
                                     Zeta, C1, C2, halos))
    sse, uu, xc1, zc2, c1c1, c2c2 = (float(x) for x in sums)
    lam = problem.lambdas
    R = sse / max(problem.n_steps, 1) + (penalty(s.weights, None, lam) + lam.u * uu)
    return R + xc1 + zc2 + 0.5 * gamma * (c1c1 + c2c2)


def _first_e1(Xi, C1, gamma):
    return Xi[0] + gamma * C1[0]


def _certificate_sums(rows, weights, H, U, U_prev, Xi, Zeta, C1, C2, e1_halo, gamma, mu):
    """The chunk's parts of :func:`skalm.solvers.lagrangian.certificate`: the sums over its
    rows in grad_z L, and the squared norms of its rows of grad_h L and mu (u - u_prev)."""
    E1 = Xi + gamma * C1
    E2 = Zeta + gamma * C2
    E1next = np.empty_like(E1)
    E1next[:-1] = E1[1:]
    E1next[-1] = 0 if e1_halo is None else e1_halo
    E1next[rows.layout.last] = 0
    Res = predict_outputs(weights, H, rows.X) - rows.Y
    gH = (2.0 / rows.n_steps) * (Res @ weights.A)
    gH += E2
    gH -= E1next @ weights.W
    dU = U - U_prev
    sums = [E1next.T @ H, E1.T @ rows.X, E1.sum(axis=0), Res.T @ H, Res.sum(axis=0)]
    if weights.D is not None:
        sums.append(Res.T @ rows.X)
    return sums, float(np.vdot(gH, gH)) + mu * mu * float(np.vdot(dU, dU))


@certificate.register
def _(problem: ChunkedProblem, s, U_prev, Xi, Zeta, gamma, mu, activation, C=None):
    """kappa of the in-memory certificate: the z-gradient from sums over the chunks, the h-
    and u-parts as sums of squares; one halo row (xi + gamma C1 of the next chunk's first
    row) per chunk boundary."""
    if C is None:
        C1, C2 = (problem.array(p, s.H.shape[1]) for p in problem._items(
            problem._map(_constraints, s.weights, activation, s.H, s.U,
                         problem._halos(_last_row, s.H.parts)), 0, 1))
    else:
        C1, C2 = C
    heads = [submit(problem.client, _first_e1, w, x, c, gamma)
             for x, c, w in zip(Xi.parts[1:], C1.parts[1:], problem.workers[1:])] + [None]
    parts = problem.client.gather(problem._map(_certificate_sums, s.weights, s.H, s.U, U_prev,
                                               Xi, Zeta, C1, C2, heads, gamma, mu))
    sums = [np.sum([p[0][j] for p in parts], axis=0) for j in range(len(parts[0][0]))]
    w, lam, twoT = s.weights, problem.lambdas, 2.0 / problem.n_steps
    gz = [2 * lam.W * w.W - sums[0], 2 * lam.V * w.V - sums[1], 2 * lam.b * w.b - sums[2],
          twoT * sums[3] + 2 * lam.A * w.A, twoT * sums[4] + 2 * lam.c * w.c]
    if w.D is not None:
        gz.append(twoT * sums[5] + 2 * lam.D * w.D)
    total = sum(float(np.vdot(g, g)) for g in gz) + sum(p[1] for p in parts)
    return float(np.sqrt(total))


def _output_sums(rows, H, skip):
    Ht = _output_design(rows, H, skip, 0, len(H))
    return Ht.T @ Ht, Ht.T @ rows.Y


@output_block.register
def _(problem: ChunkedProblem, H, skip=False):
    """The output ridge regression of :func:`~skalm.solvers.blocks.output_block` from Gram
    sums over the chunks (the forward check's spectral safeguard refits (A, c) with it)."""
    parts = problem.client.gather(problem._map(_output_sums, H, skip))
    G2 = np.sum([p[0] for p in parts], axis=0)
    rhs2 = np.sum([p[1] for p in parts], axis=0)
    return _output_solve(problem, G2, rhs2, H.shape[1], skip)


def bytes_per_sweep(r, n, m, n_chunks, skip=False, itemsize=8):
    """Bytes of arrays that cross the network in one :func:`sweep` (serialization overhead
    not counted): Gram sums up, the weights and the two r x r matrices down to each worker
    holding a chunk, three halo rows per chunk boundary."""
    p, q = r + n + 1, r + 1 + (n if skip else 0)
    grams = n_chunks * (p * p + p * r + q * q + q * m)
    weights = r * r + r * n + r + m * r + m + (m * n if skip else 0)
    down = n_chunks * (weights + 2 * r * r)
    halos = 3 * (n_chunks - 1) * r
    return itemsize * (grams + down + halos)


def _linear_sums(rows):
    Z = np.hstack([rows.X, np.ones((len(rows.X), 1), dtype=rows.X.dtype)])
    return Z.T @ Z, Z.T @ rows.Y


def linear_path_start(problem):
    """:func:`skalm.model.linear_path_start` (the ridge model's D, c) on the chunks' rows,
    from their Gram sums."""
    parts = problem.client.gather(problem._map(_linear_sums))
    G = np.sum([p[0] for p in parts], axis=0)
    ZtY = np.sum([p[1] for p in parts], axis=0)
    return linear_path_solve(G, ZtY, problem.n_steps, problem.lambdas)
