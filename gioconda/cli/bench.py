"""``gioconda bench``: speed on this machine."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor, memory)"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test clip")
    parser.add_argument("--size", type=int, default=512, help="output size in pixels")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median printed)")
    parser.add_argument(
        "--long-minutes", type=float, default=10.0,
        help="long recording for the memory figure (0: leave memory out; it takes longest)",
    )  # fmt: skip
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.eval.bench import run_benchmarks

    run_benchmarks(
        seconds=args.seconds, size=args.size, runs=max(1, args.runs),
        long_minutes=args.long_minutes, out=sys.stdout,
    )  # fmt: skip
    return 0
