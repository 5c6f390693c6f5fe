"""BLAS thread limits that concurrent fits in threads can share.

threadpoolctl's limits on a library with one process-wide thread pool (OpenBLAS with its
pthreads layer, MKL) do not nest across threads: a fit that enters ``threadpool_limits(1)``
records the setting it found and restores it when it leaves. With two fits in threads, the
second records the first one's limit as the "original"; when the first leaves it lifts the
limit under the second, and when the second leaves it restores the first one's limit for
the rest of the process. (threadpoolctl 3.8 instead lets only one thread at a time change
OpenBLAS and silently ignores the others, so a fit in another thread may run unlimited.)

:func:`blas_threads_limited` keeps one count per requested limit under a lock, for the
process-wide pools: the first fit to enter records their setting and applies its limit;
while fits run, the setting is the smallest limit any of them asked for (so each runs with
at most the threads it asked for); the last one to leave restores the recorded setting.
Libraries whose limit is per calling thread (OpenMP runtimes, OpenBLAS built on OpenMP) are
limited by each fit in its own thread, as threadpoolctl does.

The loaded libraries are found by threadpoolctl's scan of the process's memory map, which
costs 2-3 ms here (some 260 mapped files once numba is loaded): paid at every limit, it
made a limited sweep of 4.6 ms take 10 ms (issue 16). The scan is kept and done again only
when modules were imported since (a new BLAS or OpenMP runtime comes with an import).
"""

import sys
import threading
from collections import Counter
from contextlib import contextmanager

import threadpoolctl
from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads_limited", "largest_blas_threads"]

_lock = threading.Lock()
_requests = Counter()  # limit -> number of active holders, in all threads
_shared = []  # [(library controller, its setting before the first holder)]
_scan = [-1, []]  # [len(sys.modules) at the last scan, the library controllers it found]


def _controllers():
    """The controllers of the loaded BLAS and OpenMP libraries, scanned again only when
    ``sys.modules`` grew or shrank since the last scan."""
    n_modules = len(sys.modules)
    if _scan[0] != n_modules:
        _scan[:] = [n_modules, ThreadpoolController().lib_controllers]
    return _scan[1]


def largest_blas_threads():
    """The largest thread count of the loaded BLAS libraries (each read live; a few
    microseconds)."""
    return max((lib.num_threads for lib in _controllers() if lib.user_api == "blas"), default=1)


def _per_thread(lib):
    return lib.user_api == "openmp" or getattr(lib, "threading_layer", None) == "openmp"


def _release_openblas():
    """Let any thread change OpenBLAS (threadpoolctl >= 3.8 lets only the thread that did
    last; here every change is made under ``_lock``)."""
    controller = getattr(threadpoolctl, "OpenBLASController", None)
    clear = getattr(controller, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


def _set_shared(n_threads=None):
    """Set every process-wide pool to ``n_threads`` (None: back to the recorded setting)."""
    _release_openblas()
    for lib, original in _shared:
        lib.set_num_threads(original if n_threads is None else n_threads)
    _release_openblas()


def _enter(n_threads, libs):
    current = min(_requests) if _requests else None
    _requests[n_threads] += 1
    if current is None:
        _shared[:] = [(lib, lib.get_num_threads()) for lib in libs if not _per_thread(lib)]
        _set_shared(n_threads)
    elif n_threads < current:
        _set_shared(n_threads)


def _leave(n_threads):
    _requests[n_threads] -= 1
    if not _requests[n_threads]:
        del _requests[n_threads]
    if not _requests:
        _set_shared(None)
        _shared.clear()
    elif n_threads < min(_requests):  # the smallest request left: the others allow more
        _set_shared(min(_requests))


@contextmanager
def blas_threads_limited(n_threads):
    """Limit every loaded BLAS (and OpenMP) library to ``n_threads`` while the block runs,
    safely across threads (None: no change).

    While several blocks run at once, in any threads, a process-wide pool is limited to the
    smallest limit they asked for, and the setting found by the first block is restored when
    the last one leaves. Per-thread pools are limited in the calling thread only.
    """
    if n_threads is None:
        yield
        return
    n_threads = int(n_threads)
    libs = _controllers()
    own = [(lib, lib.get_num_threads()) for lib in libs if _per_thread(lib)]
    with _lock:
        _enter(n_threads, libs)
    try:
        for lib, _ in own:  # this thread's setting only
            lib.set_num_threads(n_threads)
        yield
    finally:
        for lib, original in own:
            lib.set_num_threads(original)
        with _lock:
            _leave(n_threads)
