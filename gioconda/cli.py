"""The ``gioconda`` command: argument parsing, progress bars and error messages, nothing else.

Every command calls the Python API; a :class:`~gioconda.errors.GiocondaError` becomes one line
on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources

# MediaPipe's native code logs through glog and TensorFlow Lite; keep it quiet unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# As gioconda.pipeline's LIPSYNC_METHODS and DEFAULT_LIPSYNC (not imported: the CLI starts
# without loading models; a test checks they agree).
LIPSYNC_CHOICES = ("combined", "network", "pocketsphinx", "loudness")
DEFAULT_LIPSYNC = "combined"

DEMO_TEXT = (
    "Hello. I am Gioconda. For five hundred years, people have wondered about my smile. "
    "Maybe, one day, I will tell you what I was thinking."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gioconda",
        description="One portrait photo and one voice recording in, a talking video out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    animate = commands.add_parser(
        "animate",
        help="make a talking video from a photo and speech",
        description="Make a talking video of the face in PHOTO saying AUDIO (or --text).",
    )
    animate.add_argument("photo", metavar="PHOTO", help="portrait: JPEG, PNG, WebP, ...")
    animate.add_argument(
        "audio",
        metavar="AUDIO",
        nargs="?",
        help="speech: WAV, MP3, M4A, OGG, FLAC, ... (or use --text)",
    )
    animate.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="video to write")
    animate.add_argument(
        "--text", help="say this text (Kokoro or eSpeak NG speech synthesis) instead of AUDIO"
    )
    animate.add_argument(
        "--audio",
        dest="audio_option",
        metavar="AUDIO",
        help="the same as the AUDIO argument (reads better with --motion)",
    )
    animate.add_argument(
        "--motion",
        metavar="FILE",
        help="render this motion (.csv in Live Link Face columns, or .json as --motion-out "
        "writes) instead of one made from the speech; AUDIO is optional then, cut or padded "
        "to the motion's length, and the frame rate is the file's",
    )
    _add_render_options(animate)
    _add_motion_options(animate)
    animate.add_argument(
        "--lipsync",
        choices=LIPSYNC_CHOICES,
        default=DEFAULT_LIPSYNC,
        help="how recorded audio drives the mouth: combined (PocketSphinx's English words, "
        "placed by our network), network (our network alone, any language), pocketsphinx "
        f"(English phones), loudness (default: {DEFAULT_LIPSYNC})",
    )
    animate.add_argument(
        "--motion-out",
        metavar="FILE",
        help="also write the motion: .csv (Live Link Face columns: no head distance or body "
        "sway) or .json (everything)",
    )
    animate.add_argument(
        "--max-audio-seconds",
        type=float,
        default=600.0,
        metavar="S",
        help="refuse longer audio (default: 600)",
    )

    _add_reenact_parser(commands)

    demo = commands.add_parser(
        "demo",
        help="render a short demo clip with no arguments",
        description="The Mona Lisa says a sentence, to gioconda-demo.mp4.",
    )
    demo.add_argument("-o", "--output", default="gioconda-demo.mp4", metavar="OUT.mp4")
    _add_render_options(demo)
    _add_motion_options(demo)

    bench = commands.add_parser("bench", help="measure speed (frames per second, real-time factor)")
    bench.add_argument("--seconds", type=float, default=10.0, help="length of the test clip")
    bench.add_argument("--size", type=int, default=512, help="output size in pixels")

    commands.add_parser("voices", help="list the voices that --voice accepts")

    evaluate = commands.add_parser(
        "eval",
        help="measure quality: lip sync on held-out speech, the renderer on six portraits, "
        "the motion and its controls",
        description="Measure quality; one subcommand per question.",
    )
    evaluations = evaluate.add_subparsers(dest="evaluation", required=True, metavar="EVALUATION")
    lipsync = evaluations.add_parser(
        "lipsync",
        help="lip sync of every audio-to-mouth method, judged by MediaPipe on rendered frames",
        description="Synthesize held-out speech with exact phone timings, drive the bundled "
        "portrait with each lip-sync method, re-detect the mouth on the rendered frames and "
        "print one table, method by metric (metrics defined in gioconda/evaluate.py).",
    )
    lipsync.add_argument("--quick", action="store_true", help="a few utterances (for tests)")
    lipsync.add_argument(
        "--seed", type=int, default=0, help="seed of voices, rates and head motion (default: 0)"
    )
    lipsync.add_argument(
        "--out-dir",
        metavar="DIR",
        help="also write lipsync.md, lipsync.json and lipsync_contact.png here",
    )
    lipsync.add_argument(
        "--weights", metavar="FILE.npz", help="viseme network weights (default: the shipped ones)"
    )
    lipsync.add_argument(
        "--speech",
        default="espeak,kokoro",
        metavar="SOURCES",
        help="speech synthesizers, comma-separated: espeak, kokoro (default: espeak,kokoro)",
    )
    lipsync.add_argument(
        "--real-speech",
        metavar="DIR",
        action="append",
        default=[],
        help="also score recordings with phone labels (NAME.wav + NAME.lab, times in 100 ns, "
        "ARPAbet), e.g. ../shared/data/speech, or a folder of such folders (make real-speech "
        "writes training/real-speech); each folder is a group of rows, in the language its "
        "LANGUAGE file names (default en); repeatable",
    )
    lipsync.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    render = evaluations.add_parser(
        "render",
        help="the renderer, judged by MediaPipe re-detecting the face on its frames",
        description="Render a fixed set of motions (rest, jaw, blink, gaze, head yaw/pitch/roll) "
        "on several portraits, re-detect landmarks with MediaPipe and print one table "
        "(metrics defined in gioconda/evaluate_render.py).",
    )
    render.add_argument("--quick", action="store_true", help="two portraits, fewer steps")
    render.add_argument(
        "--out-dir", metavar="DIR", help="also write render_eval.md/.json and contact sheets here"
    )
    render.add_argument(
        "--portraits",
        metavar="DIR",
        help="also score every photo in DIR (full runs; default $GIOCONDA_PORTRAITS, else "
        "../shared/data/portraits when it exists)",
    )
    render.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    motion = evaluations.add_parser(
        "motion",
        help="lifelike motion from audio (blinks, head, drift, gaze) and the controls' accuracy",
        description="Generate motion for ten minutes of synthesized speech and measure blinks, "
        "head movement against the voice, drift, gaze and brows; render commanded gaze, head "
        "distance and emotions and re-detect them with MediaPipe; print one table (metrics "
        "defined in gioconda/evaluate_motion.py).",
    )
    motion.add_argument("--quick", action="store_true", help="90 s of speech, one portrait")
    motion.add_argument("--seed", type=int, default=0, help="seed of text and motion (default: 0)")
    motion.add_argument(
        "--out-dir", metavar="DIR", help="also write motion_eval.md and motion_controls.png here"
    )
    motion.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def _add_reenact_parser(commands: argparse._SubParsersAction) -> None:
    reenact = commands.add_parser(
        "reenact",
        help="make the face in a photo do what the face in a video does",
        description="Track the face in DRIVING_VIDEO frame by frame and move the face in PHOTO "
        "the same way (head pose, mouth, blinks, gaze), keeping the video's sound.",
    )
    reenact.add_argument("photo", metavar="PHOTO", help="portrait: JPEG, PNG, WebP, ...")
    reenact.add_argument("video", metavar="DRIVING_VIDEO", help="video of a face: MP4, MOV, ...")
    reenact.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="video to write")
    reenact.add_argument(
        "--fps", type=float, default=None, help="frames per second (default: the video's)"
    )
    reenact.add_argument(
        "--size", type=int, default=512, help="side of the square video around the face"
    )
    reenact.add_argument(
        "--full-frame", action="store_true", help="render the whole photo at its own resolution"
    )
    reenact.add_argument(
        "--face", type=int, default=0, metavar="N", help="which face of PHOTO, 0 = the largest"
    )
    reenact.add_argument(
        "--motion-out",
        metavar="FILE",
        help="also write the motion: .csv (Live Link Face columns) or .json",
    )
    reenact.add_argument(
        "--max-seconds", type=float, default=600.0, metavar="S", help="refuse longer videos"
    )
    reenact.add_argument(
        "--no-label", action="store_true", help="leave out the small 'AI-generated' label"
    )
    reenact.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _run_reenact(args: argparse.Namespace) -> int:
    from gioconda.reenact import ReenactOptions, reenact

    options = ReenactOptions(
        fps=args.fps,
        size=args.size,
        full_frame=args.full_frame,
        face=args.face,
        label=not args.no_label,
        max_seconds=args.max_seconds,
    )
    progress = _ProgressBars(args.quiet)
    try:
        result = reenact(
            args.photo, args.video, args.output, options, args.motion_out, progress=progress
        )
    finally:
        progress.close()
    if not args.quiet:
        print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
    return 0


def _add_render_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--voice",
        default="jm_kumo",
        help="voice for --text: a Kokoro voice or blend such as jm_kumo:0.5,jf_alpha:0.5 "
        "(English), or any eSpeak NG voice such as en-gb, de, fr+f3 (see `gioconda voices`; "
        "default: jm_kumo)",
    )
    parser.add_argument("--fps", type=float, help="frames per second (default: 25)")
    parser.add_argument(
        "--size",
        type=int,
        default=512,
        help="side of the square video around the face (default: 512)",
    )
    parser.add_argument(
        "--full-frame",
        action="store_true",
        help="render the whole photo at its own resolution instead",
    )
    parser.add_argument(
        "--face",
        type=int,
        default=0,
        metavar="N",
        help="which face to animate, 0 = the largest (default: 0)",
    )
    parser.add_argument(
        "--no-label",
        action="store_true",
        help="leave out the small 'AI-generated' label (the file is still tagged)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


#: The motion controls' flags and their defaults (as in gioconda.controls.MotionControls); a
#: flag's name is the control's, with dashes.
MOTION_FLAG_DEFAULTS = {
    "seed": 0,
    "gaze": "camera",
    "head_distance": 1.0,
    "emotion": "neutral",
    "emotion_strength": 1.0,
    "motion_intensity": 1.0,
    "blink_rate": 17.0,
    "controls": None,
}


def _add_motion_options(parser: argparse.ArgumentParser) -> None:
    from gioconda.controls import EMOTIONS

    group = parser.add_argument_group(
        "motion controls", "what the speech does not decide (see gioconda/controls.py)"
    )
    group.add_argument("--seed", type=int, default=0, help="seed for head motion, blinks, gaze")
    group.add_argument(
        "--gaze",
        default="camera",
        metavar="YAW,PITCH",
        help="where the eyes look, in degrees from the camera (+yaw: toward the image's right, "
        "+pitch: down), or 'camera' (default: camera, with natural glances)",
    )
    group.add_argument(
        "--head-distance",
        type=float,
        default=1.0,
        metavar="F",
        help="head size: 1.0 as in the photo, 0.8 further away, 1.2 closer (default: 1.0)",
    )
    group.add_argument(
        "--emotion",
        default="neutral",
        metavar="NAME",
        help=f"expression held across the clip: {', '.join(EMOTIONS)} (default: neutral)",
    )
    group.add_argument(
        "--emotion-strength",
        type=float,
        default=1.0,
        metavar="S",
        help="how much of the emotion shows, 0 to 1 (default: 1)",
    )
    group.add_argument(
        "--motion-intensity",
        type=float,
        default=1.0,
        metavar="F",
        help="scale of head movement: 0 still, 1 typical, 2 animated (default: 1)",
    )
    group.add_argument(
        "--blink-rate",
        type=float,
        default=17.0,
        metavar="N",
        help="blinks per minute, 0 for none (default: 17)",
    )
    group.add_argument(
        "--controls",
        metavar="FILE.json",
        help="keyframes that change the controls over time: a JSON list of "
        '{"time": s, "control": name, "value": ...} (format in gioconda/controls.py)',
    )


def _motion_controls(args: argparse.Namespace):
    from gioconda.controls import MotionControls, gaze_value, read_keyframes

    return MotionControls(
        seed=args.seed,
        gaze=gaze_value(args.gaze),
        head_distance=args.head_distance,
        emotion=args.emotion,
        emotion_strength=args.emotion_strength,
        motion_intensity=args.motion_intensity,
        blink_rate=args.blink_rate,
        keyframes=() if args.controls is None else read_keyframes(args.controls),
    )


class _ProgressBars:
    """tqdm bars on stderr, one per stage, shown only for work that takes over a second."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = "frame" if stage == "render" else "step"
            bar = tqdm(
                total=total,
                desc=stage,
                unit=unit,
                delay=1.0,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
            self.bars[stage] = bar
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _options(args: argparse.Namespace, lipsync: str = DEFAULT_LIPSYNC):
    from gioconda.errors import GiocondaError
    from gioconda.pipeline import AnimateOptions

    fps = 25.0 if args.fps is None else args.fps
    if not 1 <= fps <= 120:
        raise GiocondaError(f"--fps must be between 1 and 120, got {fps:g}")
    if not 64 <= args.size <= 4096:
        raise GiocondaError(f"--size must be between 64 and 4096, got {args.size}")
    if args.face < 0:
        raise GiocondaError(f"--face must be 0 or more, got {args.face}")
    return AnimateOptions(
        fps=fps,
        size=args.size,
        full_frame=args.full_frame,
        face=args.face,
        motion=_motion_controls(args),
        lipsync=lipsync,
        max_audio_s=getattr(args, "max_audio_seconds", 600.0),
        voice=args.voice,
        label=not args.no_label,
    )


def _run(args: argparse.Namespace) -> int:
    from gioconda import pipeline

    if args.command == "animate" and args.audio_option is not None:
        if args.audio is not None:
            raise _usage("give AUDIO or --audio, not both")
        args.audio = args.audio_option
    if args.command == "animate" and args.motion is not None:
        return _run_animate_motion(args)
    if args.command == "animate":
        if args.audio is None and args.text is None:
            raise _usage("give an AUDIO file or --text")
        if args.audio is not None and args.text is not None:
            raise _usage("give an AUDIO file or --text, not both")
        if args.text is not None and not args.text.strip():
            raise _usage("--text is empty")
        progress = _ProgressBars(args.quiet)
        try:
            result = pipeline.animate(
                args.photo,
                args.output,
                audio_path=args.audio,
                text=args.text,
                options=_options(args, args.lipsync),
                motion_out=args.motion_out,
                progress=progress,
            )
        finally:
            progress.close()
        if not args.quiet:
            print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
        return 0
    if args.command == "reenact":
        return _run_reenact(args)
    if args.command == "demo":
        photo = resources.files("gioconda") / "assets" / "mona_lisa.jpg"
        progress = _ProgressBars(args.quiet)
        with resources.as_file(photo) as photo_path:
            try:
                result = pipeline.animate(
                    photo_path,
                    args.output,
                    text=DEMO_TEXT,
                    options=_options(args),
                    progress=progress,
                )
            finally:
                progress.close()
        if not args.quiet:
            print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
        return 0
    if args.command == "bench":
        from gioconda.bench import run_benchmarks

        run_benchmarks(seconds=args.seconds, size=args.size, out=sys.stdout)
        return 0
    if args.command == "eval":
        return _run_eval(args)
    if args.command == "voices":
        from gioconda import kokoro, speech

        print("Kokoro (neural, English; blend as jm_kumo:0.7,jf_alpha:0.3):")
        print("\n".join(f"  {name}" for name in kokoro.list_voices()))
        print("eSpeak NG (about 100 languages; variants as en-us+f3):")
        print("\n".join(f"  {name}" for name in speech.list_voices()))
        return 0
    raise AssertionError(args.command)


def _run_animate_motion(args: argparse.Namespace) -> int:
    from gioconda import pipeline

    if args.text is not None:
        raise _usage("--motion renders a motion file; give it AUDIO, not --text")
    if args.fps is not None:
        raise _usage("--motion takes its frame rate from the file; leave out --fps")
    changed = [
        "--" + name.replace("_", "-")
        for name, default in MOTION_FLAG_DEFAULTS.items()
        if getattr(args, name) != default
    ]
    if args.motion_out is not None:
        changed.append("--motion-out")
    if changed:
        raise _usage(f"{', '.join(changed)} cannot change a motion read with --motion")
    progress = _ProgressBars(args.quiet)
    try:
        result = pipeline.animate_motion(
            args.photo,
            args.output,
            args.motion,
            audio_path=args.audio,
            options=_options(args, args.lipsync),
            progress=progress,
        )
    finally:
        progress.close()
    if not args.quiet:
        print(f"wrote {result.path} ({result.frames} frames)", file=sys.stderr)
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    from gioconda import evaluate

    if args.evaluation == "render":
        return _run_render_eval(args)
    if args.evaluation == "motion":
        return _run_motion_eval(args)
    if args.evaluation != "lipsync":
        raise AssertionError(args.evaluation)
    options = evaluate.LipSyncEvalOptions(
        seed=args.seed,
        quick=args.quick,
        speech_sources=tuple(s.strip() for s in args.speech.split(",") if s.strip()),
        network_weights=args.weights,
        real_speech=tuple(args.real_speech),
    )
    if args.out_dir is not None:
        evaluate.prepare_out_dir(args.out_dir)  # fail now, not after the run
    progress = _ProgressBars(args.quiet)
    try:
        report = evaluate.evaluate_lipsync(options, progress)
    finally:
        progress.close()
    print(evaluate.format_table(report))
    if args.out_dir is not None:
        for path in evaluate.write_report(report, args.out_dir):
            if not args.quiet:
                print(f"wrote {path}", file=sys.stderr)
    return 0


def _run_render_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gioconda import evaluate_render
    from gioconda.errors import GiocondaError
    from gioconda.output import check_writable

    out_dir = None if args.out_dir is None else Path(args.out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        check_writable(out_dir / "render_eval.md")  # fail now, not after the run
    portraits = "auto" if args.portraits is None else Path(args.portraits)
    if portraits != "auto" and not portraits.is_dir():
        raise GiocondaError(f"portraits folder not found: {portraits}")
    progress = _ProgressBars(args.quiet)
    try:
        report = evaluate_render.run_render_eval(
            out_dir, quick=args.quick, progress=progress, portraits_dir=portraits
        )
    finally:
        progress.close()
    print(evaluate_render.format_table(report))
    return 0


def _run_motion_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gioconda import evaluate_motion
    from gioconda.errors import GiocondaError
    from gioconda.output import check_writable

    if args.seed < 0:
        raise GiocondaError(f"--seed must be 0 or more, got {args.seed}")
    if args.out_dir is not None:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        check_writable(Path(args.out_dir) / "motion_eval.md")  # fail now, not after the run
    from gioconda.reenact import reenactment_rows

    options = evaluate_motion.MotionEvalOptions(
        quick=args.quick, seed=args.seed, reenactment=reenactment_rows
    )
    progress = _ProgressBars(args.quiet)
    try:
        report = evaluate_motion.run_motion_eval(options, progress)
    finally:
        progress.close()
    print(evaluate_motion.format_table(report))
    if args.out_dir is not None:
        for path in evaluate_motion.write_report(report, args.out_dir):
            if not args.quiet:
                print(f"wrote {path}", file=sys.stderr)
    return 0


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gioconda`` command; returns the exit code."""
    from gioconda.errors import GiocondaError
    from gioconda.face import python_only_stderr

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with python_only_stderr():
            return _run(args)
    except _UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"gioconda: error: {error}", file=sys.stderr)
        return 2
    except GiocondaError as error:
        print(f"gioconda: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gioconda: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
