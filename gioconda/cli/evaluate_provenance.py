"""``gioconda eval provenance``: the watermark under attack, and on unmarked videos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gioconda.cli.progress import ProgressBars


def register(evaluations: argparse._SubParsersAction) -> None:
    parser = evaluations.add_parser(
        "provenance",
        help="the watermark: detection after re-encoding, resizing, cropping, ...; false "
        "positives on unmarked videos",
        description="Render short clips from different photos and voices, mark them as "
        "render_video does, apply every attack (PyAV and OpenCV) and print the detection rate "
        "per attack and the false positives on unmarked videos (the renders without the mark, "
        "photos and pictures as still videos).",
    )
    parser.add_argument("--clips", type=int, default=50, help="marked clips (default: 50)")
    parser.add_argument("--quick", action="store_true", help="three clips, four attacks")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes sharing the work (default: 2)"
    )
    parser.add_argument(
        "--out",
        metavar="FILE.md",
        help="also write the table here (and every score beside it, as .json)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.errors import GiocondaError
    from gioconda.eval.provenance import (
        ProvenanceEvalOptions,
        format_table,
        report_json,
        run_provenance_eval,
    )
    from gioconda.output.files import _atomic_file, check_writable

    if args.clips < 1 or args.workers < 1:
        raise GiocondaError("--clips and --workers must be at least 1")
    if args.out is not None:
        check_writable(args.out)  # fail now, not after the run
    progress = ProgressBars(args.quiet)
    try:
        report = run_provenance_eval(
            ProvenanceEvalOptions(clips=args.clips, quick=args.quick, workers=args.workers),
            progress,
        )
    finally:
        progress.close()
    table = format_table(report)
    print(table)
    if args.out is not None:
        with _atomic_file(args.out) as temp:
            temp.write_text(table + "\n")
        with _atomic_file(Path(args.out).with_suffix(".json")) as temp:
            temp.write_text(json.dumps(report_json(report)) + "\n")
    return 0
