"""``gioconda bench``: speed on this machine."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor)"
    )
    parser.add_argument(
        "what", nargs="?", choices=("render", "live"), default="render",
        help="render (the default): offline speed; live: live sessions fed in real time",
    )  # fmt: skip
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the test clip")
    parser.add_argument(
        "--sessions", default="1,2,3", help="live: how many sessions at once, one run each"
    )
    parser.add_argument("--size", type=int, default=512, help="output size in pixels")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    if args.what == "live":
        import os

        # As gioconda serve runs: one BLAS thread per call, sessions on threads of their own.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from gioconda.cli.app import UsageError
        from gioconda.eval.live_bench import run_live_bench

        try:
            sessions = tuple(int(n) for n in args.sessions.split(","))
        except ValueError:
            raise UsageError(f"--sessions takes counts like 1,2,3, not {args.sessions!r}") from None
        run_live_bench(sessions, seconds=args.seconds, size=args.size, out=sys.stdout)
        return 0
    from gioconda.eval.bench import run_benchmarks

    run_benchmarks(seconds=args.seconds, size=args.size, out=sys.stdout)
    return 0
