"""``gioconda reenact``: the face in a driving video moves the face in a photo."""

from __future__ import annotations

import argparse
import sys

from gioconda.cli.animate import OUTPUT_HELP, QUIET_HELP
from gioconda.cli.flags import add_flags, add_motion_out_flags, from_args
from gioconda.cli.guard import check_paths, motion_file_fps
from gioconda.cli.progress import ProgressBars
from gioconda.pipeline import ReenactOptions


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reenact",
        help="make the face in a photo do what the face in a video does",
        description="Track the face in DRIVING_VIDEO frame by frame and move the face in PHOTO "
        "the same way (head pose, mouth, blinks, gaze), keeping the video's sound.",
    )
    parser.add_argument("photo", metavar="PHOTO", help="portrait: JPEG, PNG, WebP, ...")
    parser.add_argument("video", metavar="DRIVING_VIDEO", help="video of a face: MP4, MOV, ...")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help=OUTPUT_HELP)
    add_motion_out_flags(parser)
    add_flags(parser, ReenactOptions)
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.pipeline import reenact

    check_paths(
        {"-o": args.output, "--motion-out": args.motion_out},
        {"PHOTO": args.photo, "DRIVING_VIDEO": args.video},
    )
    with ProgressBars(args.quiet) as progress:
        result = reenact(
            args.photo,
            args.video,
            args.output,
            from_args(ReenactOptions, args),
            args.motion_out,
            motion_fps=motion_file_fps(args.motion_out, args.motion_fps),
            progress=progress,
        )
    if not args.quiet:
        print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
    return 0
