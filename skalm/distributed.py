"""ALM-BCD sweeps on a dask cluster, the rows split in time chunks that stay on the workers.

Status: the building blocks of issue 16, part 3, not yet a fit. What is here runs one BCD sweep
and the multiplier update as dask.distributed tasks on chunks that live on the workers, the
augmented Lagrangian, FeasVio and the certificate kappa as sums over the chunks, and the
forward pass over the chunks
in row order (the objective R, the forward check's and ``predict``'s pass); each equals its
in-memory counterpart to rounding (``tests/test_dask_fit.py``). What is missing is the ALM
driver around them (the penalty and tolerance updates, the restart rule, the Nesterov
extrapolation) and the estimator accepting dask arrays; see "Scaling out: a fit over several machines" in the performance notes of the user
guide.

Design
------
Each chunk of rows [a, b) is one :class:`Chunk` held by one worker: its X, Y, the sequence
layout of its rows, h, u, the multipliers xi, zeta and the last constraints C1, C2. The client
holds only the scalars; the whole sweep is submitted as one task graph. One sweep (:func:`sweep`) is

1. on each worker, the z-block's Gram sums over its rows (:func:`~skalm.solvers.blocks.
   z_sums_rows`), reading h_{a-1} from the chunk before (a one-row halo);
2. in one task, the sums added in chunk order and the two ridge systems solved
   (:func:`~skalm.solvers.blocks.z_solve`), D1^{-1} and D2 of the h-block formed;
3. on each worker, the h-block on its rows, reading q_b (one row) of the chunk after;
4. on each worker, the u-block and the constraints, reading the new h_{a-1} of the chunk before.

What travels per sweep: the Gram sums ((r+n+1)(r+n+1+r) + (r+1)(r+1+m) numbers per chunk, or
with the skip connection the output design's n more columns), the weights and the two r x r
matrices to every worker that holds a chunk, and three halo rows of r numbers per chunk boundary. Nothing of
size T moves. :func:`bytes_per_sweep` counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .model import SequenceLayout, forward, penalty, predict_outputs
from .solvers.blocks import h_matrices, h_rows, u_constraints_rows, z_solve, z_sums_rows

__all__ = [
    "Chunk", "scatter_chunks", "sweep", "update_multipliers", "objective",
    "lagrangian_and_feasibility", "certificate", "gather", "bytes_per_sweep",
]


@dataclass(frozen=True)
class Chunk:
    """The rows [start, stop) of a fit, as one worker holds them."""

    start: int
    X: np.ndarray
    Y: np.ndarray
    first: np.ndarray
    last: np.ndarray
    H: np.ndarray
    U: np.ndarray
    Xi: np.ndarray
    Zeta: np.ndarray
    C1: np.ndarray = None
    C2: np.ndarray = None
    U_prev: np.ndarray = None  # u before the last sweep (the certificate's prox term)


class _ChunkProblem(NamedTuple):
    """What the row functions of :mod:`skalm.solvers.blocks` read of a problem, for one chunk:
    its own rows, and the total number of rows of the fit (``n_steps``)."""

    X: np.ndarray
    Y: np.ndarray
    lambdas: object
    layout: SequenceLayout
    n_steps: int


class _Totals(NamedTuple):
    lambdas: object
    n_steps: int


def _local(chunk, lambdas, n_steps):
    return _ChunkProblem(chunk.X, chunk.Y, lambdas, SequenceLayout(chunk.first, chunk.last),
                         n_steps)


def scatter_chunks(client, X, Y, layout, H, U, Xi, Zeta, bounds):
    """Put each row range of ``bounds`` ([(a, b), ...], in order) on a worker, round robin.

    Returns the chunks as (future of a :class:`Chunk`, worker address) pairs, in row order."""
    workers = sorted(client.scheduler_info()["workers"])
    chunks = []
    for i, (a, b) in enumerate(bounds):
        chunk = Chunk(a, X[a:b], Y[a:b], layout.first[a:b], layout.last[a:b], H[a:b], U[a:b],
                      Xi[a:b], Zeta[a:b])
        worker = workers[i % len(workers)]
        chunks.append((client.scatter(chunk, workers=[worker]), worker))
    return chunks


def _last_h(chunk):
    return chunk.H[-1].copy()


def _z_sums(chunk, h_halo, gamma, skip, lambdas, n_steps):
    p = _local(chunk, lambdas, n_steps)
    return z_sums_rows(p, chunk.H, chunk.U, chunk.Xi, gamma, skip, 0, len(chunk.H), h_halo)


def _first_q(chunk, weights, gamma):
    return chunk.Xi[0] / gamma + chunk.U[0] - chunk.X[0] @ weights.V.T - weights.b


def _h_step(chunk, solved, gamma, activation, q_halo, lambdas, n_steps):
    weights, D1inv, D2 = solved
    p = _local(chunk, lambdas, n_steps)
    XV = chunk.X @ weights.V.T
    H = np.empty_like(chunk.U)
    h_rows(p, weights, chunk.U, chunk.Xi, chunk.Zeta, gamma, activation, XV, D1inv, D2, 0,
           len(H), H, q_halo)
    return replace(chunk, H=H)


def _u_step(chunk, weights, gamma, mu, activation, h_halo, lambdas, n_steps):
    p = _local(chunk, lambdas, n_steps)
    U, C1, C2 = u_constraints_rows(p, weights, chunk.H, chunk.U, chunk.Xi, chunk.Zeta, gamma,
                                   mu, activation, None, 0, len(chunk.H), h_halo)
    return replace(chunk, U=U, C1=C1, C2=C2, U_prev=chunk.U)


def _submit(client, fn, chunk, *args):
    """Run ``fn`` on the worker that holds the chunk (the chunk does not move); a new
    (future, worker) pair."""
    future, worker = chunk
    return client.submit(fn, future, *args, pure=False, workers=[worker],
                         allow_other_workers=False), worker


def _futures(pairs):
    return [f for f, _ in pairs]


def _reduce_solve(lambdas, n_steps, gamma, skip, *sums):
    """The z-block's sums added in chunk order (as the threaded sweep adds them), the ridge
    systems solved, and the h-block's D1^{-1}, D2: (weights, D1^{-1}, D2)."""
    total = [np.array(x, copy=True) for x in sums[0]]
    for part in sums[1:]:
        for acc, x in zip(total, part):
            acc += x
    weights = z_solve(_Totals(lambdas, n_steps), total, gamma, total[1].shape[1], skip)
    return (weights,) + h_matrices(weights, n_steps, gamma)


def _weights(solved):
    return solved[0]


def sweep(client, chunks, lambdas, n_steps, gamma, mu, activation, skip=False):
    """One BCD sweep z -> h -> u over the chunks ((future, worker) pairs of
    :func:`scatter_chunks`, in row order), submitted as one graph: the client waits for
    nothing in between.

    Returns (new chunks, future of the new weights). The new chunks hold the new h, u and the
    constraints C1, C2 at the new point, as :func:`~skalm.solvers.alm_bcd.bcd_sweep` returns
    them. The small reduce (step 2 above) runs as a task on the first chunk's worker."""
    k = len(chunks)
    tails = [_submit(client, _last_h, c)[0] for c in chunks[:-1]]
    sums = _futures([
        _submit(client, _z_sums, c, tails[i - 1] if i else None, gamma, skip, lambdas, n_steps)
        for i, c in enumerate(chunks)])
    solved = client.submit(_reduce_solve, lambdas, n_steps, gamma, skip, *sums, pure=False,
                           workers=[chunks[0][1]])
    w_f = client.submit(_weights, solved, pure=False)
    heads = [_submit(client, _first_q, c, w_f, gamma)[0] for c in chunks[1:]]
    with_h = [_submit(client, _h_step, c, solved, gamma, activation,
                      heads[i] if i < k - 1 else None, lambdas, n_steps)
              for i, c in enumerate(chunks)]
    new_tails = [_submit(client, _last_h, c)[0] for c in with_h[:-1]]
    new = [_submit(client, _u_step, c, w_f, gamma, mu, activation,
                   new_tails[i - 1] if i else None, lambdas, n_steps)
           for i, c in enumerate(with_h)]
    return new, w_f


def _multipliers(chunk, gamma):
    return replace(chunk, Xi=chunk.Xi + gamma * chunk.C1, Zeta=chunk.Zeta + gamma * chunk.C2)


def update_multipliers(client, chunks, gamma):
    """xi += gamma C1, zeta += gamma C2 on every chunk (eq. 3.7), where the chunks are."""
    return [_submit(client, _multipliers, c, gamma) for c in chunks]


def _forward_chunk(chunk, weights, activation, h_prev, lambdas):
    """The forward pass over the chunk's rows from h_prev (the hidden state at the end of the
    chunk before; None for the first chunk): (sum of squared errors, lambda_u ||U||^2, the
    last hidden state)."""
    # forward() uses h0 only until the first sequence start after row 0; a chunk whose first
    # row starts a sequence starts from 0.
    h0 = None if chunk.first[0] else h_prev
    U, H = forward(weights, chunk.X, activation, SequenceLayout(chunk.first, chunk.last), h0=h0)
    R = predict_outputs(weights, H, chunk.X) - chunk.Y
    return float(np.vdot(R, R)), lambdas.u * float(np.vdot(U, U)), H[-1].copy()


def _sse(triple):
    return triple[:2]


def _last_state(triple):
    return triple[2]


def objective(client, chunks, weights, activation, lambdas, n_steps):
    """(training loss, R) of the weights by a forward pass over the chunks, in row order: each
    chunk starts from the last hidden state of the one before (one row of r numbers travels
    per chunk boundary), as :meth:`skalm.solvers.Problem.evaluate` does in one piece. The
    forward check of a fit and ``predict`` on chunked rows are this same sequential pass."""
    h_prev, parts = None, []
    for c in chunks:
        out = _submit(client, _forward_chunk, c, weights, activation, h_prev, lambdas)[0]
        parts.append(client.submit(_sse, out, pure=False))
        h_prev = client.submit(_last_state, out, pure=False)
    sums = np.sum(client.gather(parts), axis=0)
    loss = float(sums[0]) / max(n_steps, 1)
    return loss, loss + penalty(weights, None, lambdas) + float(sums[1])


def _lagrangian_sums(chunk, weights):
    R = predict_outputs(weights, chunk.H, chunk.X) - chunk.Y
    return np.array([np.vdot(R, R), np.vdot(chunk.U, chunk.U), np.vdot(chunk.Xi, chunk.C1),
                     np.vdot(chunk.Zeta, chunk.C2), np.vdot(chunk.C1, chunk.C1),
                     np.vdot(chunk.C2, chunk.C2)])


def lagrangian_and_feasibility(client, chunks, weights, lambdas, n_steps, gamma):
    """L(s; xi, zeta, gamma) of eq. (3.1) and FeasVio = max(||C1||, ||C2||) at the chunks'
    point, with the constraints the last :func:`sweep` left on them (the multipliers those of
    the chunks): sums of six numbers per chunk."""
    sums = np.sum(client.gather(_futures(
        [_submit(client, _lagrangian_sums, c, weights) for c in chunks])), axis=0)
    sse, uu, xc1, zc2, c1c1, c2c2 = (float(x) for x in sums)
    R = sse / max(n_steps, 1) + penalty(weights, None, lambdas) + lambdas.u * uu
    L = R + xc1 + zc2 + 0.5 * gamma * (c1c1 + c2c2)
    return L, max(np.sqrt(c1c1), np.sqrt(c2c2))


def _first_e1(chunk, gamma):
    return chunk.Xi[0] + gamma * chunk.C1[0]


def _certificate_sums(chunk, weights, gamma, mu, e1_halo, n_steps):
    """The chunk's parts of the certificate of :func:`skalm.solvers.lagrangian.certificate`:
    the sums over its rows in grad_z L and the squared norms of its rows of grad_h L and of
    mu (u - u_prev)."""
    W, A = weights.W, weights.A
    E1 = chunk.Xi + gamma * chunk.C1
    E2 = chunk.Zeta + gamma * chunk.C2
    E1next = np.empty_like(E1)
    E1next[:-1] = E1[1:]
    E1next[-1] = 0 if e1_halo is None else e1_halo
    E1next[chunk.last] = 0
    Res = predict_outputs(weights, chunk.H, chunk.X) - chunk.Y
    gH = (2.0 / n_steps) * (Res @ A) + E2 - E1next @ W
    dU = chunk.U - chunk.U_prev
    sums = [E1next.T @ chunk.H, E1.T @ chunk.X, E1.sum(axis=0), Res.T @ chunk.H,
            Res.sum(axis=0)]
    if weights.D is not None:
        sums.append(Res.T @ chunk.X)
    return sums, float(np.vdot(gH, gH)) + mu * mu * float(np.vdot(dU, dU))


def certificate(client, chunks, weights, lambdas, n_steps, gamma, mu):
    """kappa of :func:`skalm.solvers.lagrangian.certificate` at the chunks' point after a
    :func:`sweep` (before :func:`update_multipliers`): the z-gradient from sums over the
    chunks, the h- and u-parts as sums of squares; one halo row (xi + gamma C1 of the next
    chunk's first row) per chunk boundary."""
    heads = [_submit(client, _first_e1, c, gamma)[0] for c in chunks[1:]]
    parts = client.gather(_futures([
        _submit(client, _certificate_sums, c, weights, gamma, mu,
                heads[i] if i < len(chunks) - 1 else None, n_steps)
        for i, c in enumerate(chunks)]))
    sums = [np.sum([p[0][j] for p in parts], axis=0) for j in range(len(parts[0][0]))]
    W, V, b, A, c = weights.W, weights.V, weights.b, weights.A, weights.c
    lam, twoT = lambdas, 2.0 / n_steps
    gz = [2 * lam.W * W - sums[0], 2 * lam.V * V - sums[1], 2 * lam.b * b - sums[2],
          twoT * sums[3] + 2 * lam.A * A, twoT * sums[4] + 2 * lam.c * c]
    if weights.D is not None:
        gz.append(twoT * sums[5] + 2 * lam.D * weights.D)
    total = sum(float(np.vdot(g, g)) for g in gz) + sum(p[1] for p in parts)
    return float(np.sqrt(total))


def gather(client, chunks, *names):
    """The named arrays of all chunks, stacked in row order (for tests and small fits)."""
    parts = client.gather(_futures(chunks))
    return tuple(np.concatenate([getattr(p, name) for p in parts]) for name in names)


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
