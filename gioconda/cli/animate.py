"""``gioconda animate`` (a photo and speech, or a motion file, to a video) and ``gioconda demo``."""

from __future__ import annotations

import argparse
import sys
from importlib import resources

from gioconda.cli.app import UsageError
from gioconda.cli.flags import add_flags, add_motion_out_flags, from_args, given
from gioconda.cli.guard import check_paths, motion_file_fps
from gioconda.cli.progress import ProgressBars
from gioconda.motion.controls import MotionControls
from gioconda.pipeline import AnimateOptions, AnimateResult

#: ``-o``'s help wherever a video is written.
OUTPUT_HELP = "video to write: .mp4, .m4v, .mov, .mkv (H.264 + AAC) or .webm (VP9 + Opus)"
#: ``-q``'s help wherever progress is shown.
QUIET_HELP = "no progress, notes or closing 'wrote' line on stderr (errors still show)"

DEMO_TEXT = (
    "Hello. I am Gioconda. For five hundred years, people have wondered about my smile. "
    "Maybe, one day, I will tell you what I was thinking."
)


def _add_common(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    add_flags(parser, AnimateOptions, skip=skip)
    group = parser.add_argument_group(
        "motion controls", "what the speech does not decide (see gioconda/motion/controls.py)"
    )
    add_flags(group, MotionControls)
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    _remember_controls_path(parser)


class _ControlsReader:
    """The --controls flag's parser, wrapped to remember the path it read (the flag's value
    is the keyframes; the path is needed to refuse ``-o`` naming it)."""

    def __init__(self, read: object) -> None:
        self.read = read
        self.path: str | None = None

    def __call__(self, path: str) -> object:
        self.path = path
        return self.read(path)  # type: ignore[operator]


def _remember_controls_path(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.dest == "keyframes":
            action.type = reader = _ControlsReader(action.type)
            parser.set_defaults(controls_reader=reader)


def _controls_path(args: argparse.Namespace) -> str | None:
    reader = getattr(args, "controls_reader", None)
    return None if reader is None else reader.path


def register_animate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "animate",
        help="make a talking video from a photo and speech",
        description="Make a talking video of the face in PHOTO saying AUDIO (or --text).",
    )
    parser.add_argument("photo", metavar="PHOTO", help="portrait: JPEG, PNG, WebP, ...")
    parser.add_argument(
        "audio",
        metavar="AUDIO",
        nargs="?",
        help="speech: WAV, MP3, M4A, OGG, FLAC, ... (or --text)",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help=OUTPUT_HELP)
    parser.add_argument(
        "--text",
        help="say this text instead of AUDIO, in the --voice given (Piper, Kokoro or eSpeak NG)",
    )
    parser.add_argument(
        "--audio",
        dest="audio_option",
        metavar="AUDIO",
        help="the same as the AUDIO argument (reads better with --motion)",
    )
    parser.add_argument(
        "--motion",
        metavar="FILE",
        help="render this motion (.csv in Live Link Face columns, or .json as --motion-out "
        "writes) instead of one made from the speech; AUDIO is optional then, cut or padded "
        "to the motion's length, and the frame rate is the file's",
    )
    add_motion_out_flags(parser)
    _add_common(parser)
    parser.set_defaults(run=run_animate, parser=parser)


def register_demo(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="render a short demo clip with no arguments",
        description="The Mona Lisa says a sentence, to gioconda-demo.mp4.",
    )
    parser.add_argument(
        "-o", "--output", default="gioconda-demo.mp4", metavar="OUT.mp4",
        help=f"{OUTPUT_HELP} (default: gioconda-demo.mp4)",
    )  # fmt: skip
    # The demo speaks a text: no recording to limit or to recognize.
    _add_common(parser, skip=("lipsync", "language", "transcript", "max_audio_s"))
    parser.set_defaults(run=run_demo, parser=parser)


def options(args: argparse.Namespace) -> AnimateOptions:
    """The options the flags give (the dataclasses check the values)."""
    return from_args(AnimateOptions, args, motion=from_args(MotionControls, args))


def run_animate(args: argparse.Namespace) -> int:
    from gioconda import pipeline

    if args.audio_option is not None:
        if args.audio is not None:
            raise UsageError("give AUDIO or --audio, not both")
        args.audio = args.audio_option
    if args.motion is not None:
        return _run_animate_motion(args)
    if args.audio is None and args.text is None:
        raise UsageError("give an AUDIO file or --text")
    if args.audio is not None and args.text is not None:
        raise UsageError("give an AUDIO file or --text, not both")
    if args.text is not None and not args.text.strip():
        raise UsageError("--text is empty")
    check_paths(
        {"-o": args.output, "--motion-out": args.motion_out},
        {"PHOTO": args.photo, "AUDIO": args.audio, "--controls": _controls_path(args)},
    )
    with ProgressBars(args.quiet) as progress:
        result = pipeline.animate(
            args.photo,
            args.output,
            audio_path=args.audio,
            text=args.text,
            options=options(args),
            motion_out=args.motion_out,
            motion_fps=motion_file_fps(args.motion_out, args.motion_fps),
            progress=progress,
        )
    _wrote(args, result)
    return 0


def _run_animate_motion(args: argparse.Namespace) -> int:
    from gioconda import pipeline

    if args.text is not None:
        raise UsageError("--motion renders a motion file; give it AUDIO, not --text")
    if args.fps is not None:
        raise UsageError("--motion takes its frame rate from the file; leave out --fps")
    changed = ["--" + name.replace("_", "-") for name in given(args, MotionControls)]
    changed = ["--controls" if flag == "--keyframes" else flag for flag in changed]
    if args.motion_out is not None:
        changed.append("--motion-out")
    if changed:
        raise UsageError(f"{', '.join(changed)} cannot change a motion read with --motion")
    check_paths(
        {"-o": args.output}, {"PHOTO": args.photo, "AUDIO": args.audio, "--motion": args.motion}
    )
    with ProgressBars(args.quiet) as progress:
        result = pipeline.animate_motion(
            args.photo,
            args.output,
            args.motion,
            audio_path=args.audio,
            options=options(args),
            progress=progress,
        )
    _wrote(args, result)
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from gioconda import pipeline

    photo = resources.files("gioconda") / "assets" / "mona_lisa.jpg"
    check_paths({"-o": args.output}, {})
    with resources.as_file(photo) as photo_path, ProgressBars(args.quiet) as progress:
        result = pipeline.animate(
            photo_path, args.output, text=DEMO_TEXT, options=options(args), progress=progress
        )
    _wrote(args, result)
    return 0


def _wrote(args: argparse.Namespace, result: AnimateResult) -> None:
    if not args.quiet:
        print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
