"""Arrays of T rows split in time chunks that stay on the dask workers holding them.

:class:`ChunkedArray` is what ALM-BCD's loop holds in place of a (T, r) ndarray when the
rows of a fit live on a dask cluster (:mod:`skalm.distributed`): one future per chunk,
each pinned to the worker that holds that chunk's rows. It speaks numpy's protocols for
what the loop does with its arrays, so that the loop runs unchanged on it:

* elementwise ufuncs and the arithmetic operators (the multiplier update ``Xi + gamma C1``,
  the Nesterov extrapolation, ``np.isfinite``) run as one task per chunk, on its worker;
* the reductions the loop reads (``np.linalg.norm``, ``np.vdot``, ``np.all``, the full
  contraction ``np.einsum("ij,ij->", a, b)``) add one number per chunk, in chunk order;
* ``np.zeros_like`` makes the zeros on the workers.

Anything else, ``np.asarray`` included, raises a TypeError: nothing of size T comes back to
the client unless :meth:`ChunkedArray.gather` is called, which only tests and small fits do.
The parts are never written in place (every task returns new arrays), so :meth:`copy`
shares them.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__all__ = ["ChunkedArray", "submit"]


def submit(client, fn, worker, *args):
    """``fn(*args)`` as a task on ``worker`` only (its chunk does not move)."""
    return client.submit(fn, *args, pure=False, workers=[worker], allow_other_workers=False)


def _part(x, i):
    return x.parts[i] if isinstance(x, ChunkedArray) else x


def _ufunc_call(ufunc, *args):
    return ufunc(*args)


def _sum_of_squares(a):
    return float(np.vdot(a, a))


def _vdot(a, b):
    return float(np.vdot(a, b))


def _all(a):
    return bool(np.all(a))


class ChunkedArray(NDArrayOperatorsMixin):
    """A (T, ...) array held as row chunks on dask workers.

    Parameters
    ----------
    client : distributed.Client
    parts : list of Future
        One future per chunk, in row order, each an ndarray of that chunk's rows.
    workers : list of str
        The worker address of each part.
    shape : tuple of int
        The shape of the whole array.
    dtype : numpy dtype
    """

    def __init__(self, client, parts, workers, shape, dtype):
        self.client = client
        self.parts = list(parts)
        self.workers = list(workers)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return (f"ChunkedArray(shape={self.shape}, dtype={self.dtype}, "
                f"chunks={len(self.parts)})")

    def like(self, parts, dtype=None, shape=None):
        """A ChunkedArray of new ``parts`` on the same workers."""
        return ChunkedArray(self.client, parts, self.workers,
                            self.shape if shape is None else shape,
                            self.dtype if dtype is None else dtype)

    def copy(self):
        return self.like(self.parts)

    def map(self, fn, *args, dtype=None):
        """``fn(part, *args_i)`` on every chunk's worker, args that are ChunkedArrays taken
        chunk by chunk: a ChunkedArray of the results."""
        parts = [submit(self.client, fn, w, p, *(_part(a, i) for a in args))
                 for i, (p, w) in enumerate(zip(self.parts, self.workers))]
        return self.like(parts, dtype)

    def reduce(self, fn, *args):
        """``fn(part, *args_i)`` (a number) per chunk, gathered in row order."""
        parts = [submit(self.client, fn, w, p, *(_part(a, i) for a in args))
                 for i, (p, w) in enumerate(zip(self.parts, self.workers))]
        return self.client.gather(parts)

    def gather(self):
        """The whole array on the client (tests and small fits only)."""
        return np.concatenate(self.client.gather(self.parts))

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a ChunkedArray stays on the dask workers; call .gather() to bring it to the "
            "client explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or ufunc.nout != 1:
            return NotImplemented
        if any(not isinstance(x, ChunkedArray) and np.ndim(x) != 0 for x in inputs):
            return NotImplemented  # only scalars broadcast against chunks
        probe = [np.empty((0,) + x.shape[1:], x.dtype) if isinstance(x, ChunkedArray) else x
                 for x in inputs]
        dtype = ufunc(*probe).dtype
        head = next(x for x in inputs if isinstance(x, ChunkedArray))
        parts = [submit(head.client, _ufunc_call, w, ufunc, *(_part(x, i) for x in inputs))
                 for i, w in enumerate(head.workers)]
        return head.like(parts, dtype)

    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func)
        if handler is None or not all(issubclass(t, (ChunkedArray, np.ndarray)) for t in types):
            return NotImplemented
        return handler(*args, **kwargs)


def _norm(x, ord=None, axis=None, keepdims=False):
    if ord is not None or axis is not None or keepdims:
        raise TypeError("ChunkedArray supports only the Frobenius norm of all entries")
    return float(np.sqrt(sum(x.reduce(_sum_of_squares))))


def _einsum(subscripts, a, b, **kwargs):
    if subscripts.replace(" ", "") not in ("ij,ij->", "i,i->") or kwargs:
        raise TypeError("ChunkedArray supports only the full contraction 'ij,ij->' of einsum")
    return sum(a.reduce(_vdot, b))


def _zeros_like(a, dtype=None):
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    return a.map(np.zeros_like, dtype, dtype=dtype)


_FUNCTIONS = {
    np.linalg.norm: _norm,
    np.vdot: lambda a, b: sum(a.reduce(_vdot, b)),
    np.einsum: _einsum,
    np.all: lambda a: all(a.reduce(_all)),
    np.zeros_like: _zeros_like,
}
