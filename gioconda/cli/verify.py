"""``gioconda verify``: was this video made by Gioconda?"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "verify",
        help="check videos for Gioconda's watermark, metadata and C2PA manifest",
        description="Check each video for the invisible watermark Gioconda puts in every frame "
        "(it survives re-encoding, resizing, cropping and screen recording), its payload, the "
        "container's metadata and any C2PA manifest. Exit code: 0 if every video carries the "
        "watermark, 1 if one does not, 2 if one cannot be read.",
    )
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files to check")
    parser.add_argument(
        "--max-frames",
        type=int,
        default=250,
        metavar="N",
        help="frames to read from each video (default: 250, 10 s at 25 fps)",
    )
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.errors import GiocondaError
    from gioconda.provenance.verify import describe, verify

    if args.max_frames < 1:
        raise GiocondaError(f"--max-frames must be at least 1, got {args.max_frames}")
    worst = 0
    for path in args.videos:
        result = verify(path, args.max_frames)
        print(describe(result), flush=True)
        worst = max(worst, result.exit_code)
    return worst
