"""``gioconda batch``: many videos from a jobs file, on this machine's cores or on Ray."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from gioconda.cli.flags import add_flags, from_args
from gioconda.motion.controls import MotionControls
from gioconda.pipeline import AnimateOptions

if TYPE_CHECKING:
    from gioconda.batch.run import Runner


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "batch",
        help="make many videos from a jobs file (CSV or JSON Lines), locally or on Ray",
        description="Make one video per row of JOBS under OUTDIR. Columns: photo, audio or "
        "text, voice, output, seed, controls (a keyframe file), gaze, head_distance, emotion, "
        "emotion_strength, motion_intensity, blink_rate, face, lipsync, size, fps (see "
        "gioconda/batch/jobs.py). The flags below set what a row leaves out. A rerun skips "
        "the rows already done.",
    )
    parser.add_argument("jobs", metavar="JOBS", help="jobs file: .csv with a header, or .jsonl")
    parser.add_argument(
        "-o", "--output", required=True, metavar="OUTDIR",
        help="folder for the videos (created if missing), or an fsspec URL (s3://bucket/dir)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: one per core)"
    )
    parser.add_argument(
        "--ray", action="store_true",
        help="run on Ray: a local Ray instance, or the cluster --ray-address names",
    )  # fmt: skip
    parser.add_argument(
        "--ray-address", metavar="auto|HOST:PORT",
        help="join this Ray cluster (auto: the one this machine belongs to); implies --ray",
    )  # fmt: skip
    parser.add_argument(
        "--retries", type=int, default=2, metavar="N",
        help="tries again of a video whose worker died (default: 2)",
    )  # fmt: skip
    add_flags(parser, AnimateOptions)
    group = parser.add_argument_group("motion controls", "for rows that do not give their own")
    add_flags(group, MotionControls)
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or per-video lines"
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.batch import read_jobs, run_batch, summary_table
    from gioconda.cli.app import UsageError

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be 1 or more")
    if args.retries < 0:
        raise UsageError("--retries must be 0 or more")
    use_ray = args.ray or args.ray_address is not None
    if use_ray and args.workers is not None:
        raise UsageError("--workers is for local batches; Ray uses the cluster's CPUs")
    defaults = from_args(AnimateOptions, args, motion=from_args(MotionControls, args))
    jobs = read_jobs(args.jobs, defaults)
    runner: Runner
    if use_ray:
        from gioconda.batch.on_ray import RayRunner

        runner = RayRunner(args.ray_address, retries=args.retries)
    else:
        from gioconda.batch.local import LocalRunner

        runner = LocalRunner(args.workers, retries=args.retries)
    _log_settings(args, defaults, len(jobs), use_ray)
    report = run_batch(
        jobs, args.output, runner, log=None if args.quiet else sys.stderr, progress=not args.quiet
    )
    print(summary_table(report))
    if report.interrupted:
        return 130
    return 0 if report.ok else 1


def _log_settings(
    args: argparse.Namespace, defaults: AnimateOptions, rows: int, use_ray: bool
) -> None:
    """What ``-v`` says before the batch starts: where it runs and what a row leaves to the
    flags (each row's own cells override these)."""
    import logging

    from gioconda.batch.local import usable_cpus
    from gioconda.output.video import encoding_for

    log = logging.getLogger("gioconda.batch")
    if use_ray:
        where = f"Ray at {args.ray_address or 'a local instance'}, one task per video"
    else:
        where = f"{args.workers or usable_cpus()} local worker processes"
    log.info("batch: %d rows from %s to %s; %s, %d retries", rows, args.jobs, args.output,
             where, args.retries)  # fmt: skip
    log.info(
        "batch defaults for rows: lip sync %s, voice %s, %s at %g fps, %s, %s",
        defaults.lipsync, defaults.voice,
        "full frame" if defaults.full_frame else f"{defaults.size} px",
        defaults.fps, encoding_for("row.mp4", defaults.preset, defaults.crf), defaults.motion,
    )  # fmt: skip
