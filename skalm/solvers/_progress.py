"""One line per outer iteration for ``verbose >= 1`` (shared by every solver)."""

import sys


class ProgressPrinter:
    """Prints iteration, loss, FeasVio, kappa, gamma, elapsed and estimated remaining time."""

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
            head = f"{'iter':>6} {'loss':>11} {'FeasVio':>10} {'kappa':>10} {'gamma':>10}"
            if self.with_validation:
                head += f" {'val_loss':>11}"
            print(head + f" {'elapsed':>9} {'remaining':>10}", file=out)
            self._header_done = True
        elapsed = history.last("time")
        remaining = elapsed / k * (self.max_iter - k) if k else float("nan")
        row = (
            f"{k:>6d} {history.last('train_loss'):>11.5g} {history.last('feasibility'):>10.3g} "
            f"{history.last('kappa'):>10.3g} {history.last('gamma'):>10.3g}"
        )
        if self.with_validation:
            row += f" {history.last('val_loss'):>11.5g}"
        print(row + f" {elapsed:>8.2f}s {remaining:>9.1f}s", file=out, flush=True)
