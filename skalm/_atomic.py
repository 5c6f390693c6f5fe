"""``fit`` either completes or leaves the estimator exactly as it was.

scikit-learn's ``validate_data(reset=True)`` sets ``n_features_in_`` (and
``feature_names_in_``) at the top of ``fit``; any error after it (a warm-start shape check, a
solver exception, a KeyboardInterrupt) would leave an estimator whose old model can no longer
predict. :func:`atomic_fit` restores the instance's attributes when the body raises.
"""

import functools
from contextlib import contextmanager

__all__ = ["atomic_fit", "atomic"]


@contextmanager
def atomic_fit(estimator):
    """Run a ``fit`` body; on any exception, put back every attribute of ``estimator``.

    A shallow copy of ``vars(estimator)`` is enough because ``fit`` replaces fitted
    attributes by new objects and never changes the old ones in place (``warm_start`` reads
    the previous weights and copies them).
    """
    saved = dict(vars(estimator))
    try:
        yield estimator
    except BaseException:  # KeyboardInterrupt too: the old model must survive it
        state = vars(estimator)
        state.clear()
        state.update(saved)
        raise


def atomic(fit):
    """Decorator: the method ``fit`` runs under :func:`atomic_fit` of its estimator."""
    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        with atomic_fit(self):
            return fit(self, *args, **kwargs)
    return wrapper
