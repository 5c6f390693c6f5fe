"""One line per outer iteration for ``verbose >= 1`` (shared by every solver)."""

import math
import sys


def format_duration(seconds):
    """``12.34s`` below a minute, ``2m05s`` below an hour, ``1h02m05s`` above; ``-`` if unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.2f}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def _number(value, width, spec):
    """``value`` formatted by ``spec``, right-aligned in ``width``; ``-`` for NaN (a quantity
    the solver does not have)."""
    text = "-" if value is None or math.isnan(value) else format(value, spec)
    return text.rjust(width)


class ProgressPrinter:
    """Prints iteration, loss, objective R, FeasVio, kappa, gamma, elapsed and estimated
    remaining time.

    ``loss`` is the training loss of the true forward pass (``history_["train_loss"]``) and
    ``R`` the objective that is minimised, loss plus penalty (``history_["objective"]``):
    the loss alone may rise for a while as R falls (the penalty shrinks faster).

    A header line comes before the first row; each row is flushed at once so that a long fit
    can be followed as it runs. The remaining time is the time to ``max_iter`` outer
    iterations at the average pace so far: an upper bound when a stopping rule ends the run
    earlier. Quantities a solver does not compute (``gamma`` of the gradient solvers) print
    as ``-``. ``verbose=0`` prints nothing.
    """

    def __init__(self, verbose, max_iter, with_validation=False, stream=None):
        self.verbose = int(verbose or 0)
        self.max_iter = int(max_iter)
        self.with_validation = with_validation
        self.stream = stream
        self._header_done = False

    def line(self, k, history):
        if self.verbose < 1:
            return
        out = self.stream or sys.stdout
        if not self._header_done:
            head = (f"{'iter':>6} {'loss':>11} {'R':>11} {'FeasVio':>10} {'kappa':>10} "
                    f"{'gamma':>10}")
            if self.with_validation:
                head += f" {'val_loss':>11}"
            print(head + f" {'elapsed':>10} {'remaining':>10}", file=out)
            self._header_done = True
        elapsed = history.last("time")
        remaining = elapsed / k * max(self.max_iter - k, 0) if k else float("nan")
        row = (
            f"{k:>6d} {_number(history.last('train_loss'), 11, '.5g')} "
            f"{_number(history.last('objective'), 11, '.5g')} "
            f"{_number(history.last('feasibility'), 10, '.3g')} "
            f"{_number(history.last('kappa'), 10, '.3g')} "
            f"{_number(history.last('gamma'), 10, '.3g')}"
        )
        if self.with_validation:
            row += f" {_number(history.last('val_loss'), 11, '.5g')}"
        row += f" {format_duration(elapsed):>10} {format_duration(remaining):>10}"
        print(row, file=out, flush=True)
