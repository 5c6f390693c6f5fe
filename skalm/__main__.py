"""Command line: ``python -m skalm demo`` (see :func:`skalm._demo.run_demo`)."""

from __future__ import annotations

import argparse
import sys


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skalm",
        description="skalm: Elman RNNs trained by ALM-BCD, as scikit-learn estimators.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train on the bundled S&P 500 volatility data (paper protocol) and compare "
        "with ordinary least squares",
        description="Train ElmanRNNRegressor(n_hidden=20, alpha=1) on the first 393 rows of the "
        "S&P 500 volatility data, test on the last 44 (continuing the recurrence), and print "
        "train/test MSE next to ordinary least squares, with the time taken.",
    )
    demo.add_argument("--max-iter", type=int, default=100, help="outer ALM iterations (100)")
    demo.add_argument("--random-state", type=int, default=0, help="seed of the initial weights (0)")
    demo.add_argument(
        "-v", "--verbose", action="count", default=0, help="one line per outer iteration"
    )
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from ._demo import run_demo

    run_demo(max_iter=args.max_iter, random_state=args.random_state, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
