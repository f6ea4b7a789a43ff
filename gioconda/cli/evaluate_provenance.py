"""``gioconda eval provenance``: the watermark under attack, and on unmarked videos."""

from __future__ import annotations

import argparse
import json
import sys
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
        "--cache",
        metavar="DIR",
        help="keep each finished clip's outcome here; a rerun continues where it stopped "
        "(default: nothing kept)",
    )
    parser.add_argument(
        "--speech",
        metavar="DIR",
        help="real recordings (WAV, FLAC, MP3) to voice clips with, besides the text-to-speech "
        "voices (default: $GIOCONDA_SPEECH, else ../shared/data/speech if present)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE.md",
        help="also write the table here (and every score beside it, as .json)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, parser=parser)


def _line_printer(quiet: bool):
    """Whole lines on stderr, written above a progress bar when there is one."""

    def line(text: str) -> None:
        if quiet:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            tqdm.write(f"gioconda: {text}", file=sys.stderr)
        else:
            print(f"gioconda: {text}", file=sys.stderr, flush=True)

    return line


def run(args: argparse.Namespace) -> int:
    from gioconda.errors import GiocondaError
    from gioconda.eval.provenance import (
        ProvenanceEvalOptions,
        default_speech_dir,
        format_table,
        report_json,
        run_provenance_eval,
    )
    from gioconda.output.files import _atomic_file, check_writable

    if args.clips < 1 or args.workers < 1:
        raise GiocondaError("--clips and --workers must be at least 1")
    speech = Path(args.speech) if args.speech else default_speech_dir()
    if args.speech and not Path(args.speech).is_dir():
        raise GiocondaError(f"--speech {args.speech} is not a folder")
    if args.out is not None:
        check_writable(args.out)  # fail now, not after the run
    progress = ProgressBars(args.quiet)
    try:
        options = ProvenanceEvalOptions(
            clips=args.clips,
            quick=args.quick,
            workers=args.workers,
            cache=Path(args.cache) if args.cache else None,
            speech=speech,
        )
        # A line per finished clip or still (on stderr, like the bar): a long run shows what
        # it has done, and which clip a failure came from.
        report = run_provenance_eval(options, progress, log=_line_printer(args.quiet))
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
