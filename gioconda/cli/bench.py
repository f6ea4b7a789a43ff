"""``gioconda bench``: speed on this machine, each figure beside its target."""

from __future__ import annotations

import argparse
import sys

from gioconda.cli.app import UsageError

#: Longest benchmark clip, seconds.
MAX_BENCH_SECONDS = 600.0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="measure speed (frames per second, real-time factor, latency, memory)"
    )
    parser.add_argument(
        "suite", nargs="?", choices=("render", "live", "batch"), default="render",
        help="render (the default): offline speed and memory; live: live sessions fed in real "
        "time; batch: clips per minute, one process per clip vs a local batch vs Ray",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=float,
        help="length of the test clip (default: render 60, live 10, batch 2)",
    )  # fmt: skip
    parser.add_argument("--size", type=int, help="output size in pixels (default: 512; batch: 256)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median printed)")
    parser.add_argument(
        "--long-minutes", type=float, default=10.0,
        help="render: long recording for the memory figure (0 leaves memory out; it takes "
        "longest)",
    )  # fmt: skip
    parser.add_argument(
        "--sessions", default="1,2,3", help="live: how many sessions at once, one run each"
    )
    parser.add_argument(
        "--threads", action="store_true",
        help="live: run the sessions in threads of one process, not a process each (to compare)",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=20, help="batch: how many clips (default: 20)")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.errors import GiocondaError

    # Checked here, not left to the benchmark: NaN seconds never ends its loop, and a size
    # the renderer cannot work at fails minutes later with a message about tracking.
    if args.seconds is not None and not 1 <= args.seconds <= MAX_BENCH_SECONDS:  # NaN too
        raise GiocondaError(
            f"--seconds must be between 1 and {MAX_BENCH_SECONDS:g}, got {args.seconds:g}"
        )
    if args.size is not None and not 64 <= args.size <= 4096:
        raise GiocondaError(f"--size must be between 64 and 4096, got {args.size}")
    if args.jobs < 1:
        raise GiocondaError(f"--jobs must be 1 or more, got {args.jobs}")
    if args.suite == "batch":
        from gioconda.eval.batch_bench import run_batch_bench

        run_batch_bench(args.jobs, args.seconds or 2.0, args.size or 256, out=sys.stdout)
        return 0
    if args.suite == "live":
        import os

        # As gioconda serve runs: one BLAS thread per call (its worker processes inherit it).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from gioconda.eval.live_bench import run_live_bench

        try:
            sessions = tuple(int(n) for n in args.sessions.split(","))
        except ValueError:
            raise UsageError(f"--sessions takes counts like 1,2,3, not {args.sessions!r}") from None
        run_live_bench(
            sessions, seconds=args.seconds or 10.0, size=args.size or 512, out=sys.stdout,
            threads=args.threads,
        )  # fmt: skip
        return 0
    from gioconda.eval.bench import run_benchmarks

    run_benchmarks(
        seconds=args.seconds or 60.0, size=args.size or 512, runs=max(1, args.runs),
        long_minutes=args.long_minutes, out=sys.stdout,
    )  # fmt: skip
    return 0
