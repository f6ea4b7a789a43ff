"""``gioconda bench``: speed on this machine."""

from __future__ import annotations

import argparse
import sys

#: Longest benchmark clip, seconds.
MAX_BENCH_SECONDS = 600.0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help=f"length of the test clip, 1 to {MAX_BENCH_SECONDS:g} (default: 10)",
    )
    parser.add_argument(
        "--size", type=int, default=512, help="output size in pixels, 64 to 4096 (default: 512)"
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.errors import GiocondaError
    from gioconda.eval.bench import run_benchmarks

    # Checked here, not left to the benchmark: NaN seconds never ends its loop, and a size
    # the renderer cannot work at fails minutes later with a message about tracking.
    if not 1 <= args.seconds <= MAX_BENCH_SECONDS:  # NaN too
        raise GiocondaError(
            f"--seconds must be between 1 and {MAX_BENCH_SECONDS:g}, got {args.seconds:g}"
        )
    if not 64 <= args.size <= 4096:
        raise GiocondaError(f"--size must be between 64 and 4096, got {args.size}")

    run_benchmarks(seconds=args.seconds, size=args.size, out=sys.stdout)
    return 0
