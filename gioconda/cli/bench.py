"""``gioconda bench``: speed on this machine."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the test clip")
    parser.add_argument("--size", type=int, default=512, help="output size in pixels")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.eval.bench import run_benchmarks

    run_benchmarks(seconds=args.seconds, size=args.size, out=sys.stdout)
    return 0
