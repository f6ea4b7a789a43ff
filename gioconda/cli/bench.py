"""``gioconda bench``: speed on this machine."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor, memory)"
    )
    parser.add_argument(
        "suite", nargs="?", choices=("batch",),
        help="batch: clips per minute, one process per clip vs a local batch vs Ray",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float, help="length of the test clip (default: 60; batch: 2)"
    )
    parser.add_argument("--size", type=int, help="output size in pixels (default: 512; batch: 256)")
    parser.add_argument("--jobs", type=int, default=20, help="batch: how many clips (default: 20)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median printed)")
    parser.add_argument(
        "--long-minutes", type=float, default=10.0,
        help="long recording for the memory figure (0: leave memory out; it takes longest)",
    )  # fmt: skip
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    if args.suite == "batch":
        from gioconda.eval.batch_bench import run_batch_bench

        run_batch_bench(args.jobs, args.seconds or 2.0, args.size or 256, out=sys.stdout)
        return 0
    from gioconda.eval.bench import run_benchmarks

    run_benchmarks(
        seconds=args.seconds or 60.0, size=args.size or 512, runs=max(1, args.runs),
        long_minutes=args.long_minutes, out=sys.stdout,
    )  # fmt: skip
    return 0
