"""``gioconda eval``: quality measured by tools we did not write (lip sync, render, motion)."""

from __future__ import annotations

import argparse
import sys

from gioconda.cli import evaluate_provenance
from gioconda.cli.progress import ProgressBars


def register(commands: argparse._SubParsersAction) -> None:
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
        "print one table, method by metric (metrics defined in gioconda/eval/lipsync_metrics.py).",
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
    lipsync.add_argument(
        "--methods",
        default="loudness,pocketsphinx,network,combined,whisper,tts",
        metavar="METHODS",
        help="the rows, comma-separated, among loudness, pocketsphinx, network, combined, "
        "whisper, whisper-network (the alignment without PocketSphinx's English timing), tts "
        "(default: all but whisper-network; fewer is faster)",
    )
    lipsync.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    render = evaluations.add_parser(
        "render",
        help="the renderer, judged by MediaPipe re-detecting the face on its frames",
        description="Render a fixed set of motions (rest, jaw, blink, gaze, head yaw/pitch/roll) "
        "on several portraits, re-detect landmarks with MediaPipe and print one table "
        "(metrics defined in gioconda/eval/render_metrics.py).",
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
        "defined in gioconda/eval/motion.py).",
    )
    motion.add_argument("--quick", action="store_true", help="90 s of speech, one portrait")
    motion.add_argument("--seed", type=int, default=0, help="seed of text and motion (default: 0)")
    motion.add_argument(
        "--out-dir", metavar="DIR", help="also write motion_eval.md and motion_controls.png here"
    )
    motion.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    for sub in (lipsync, render, motion):
        sub.set_defaults(run=run, parser=sub)
    evaluate_provenance.register(evaluations)
    evaluate.set_defaults(parser=evaluate)


def run(args: argparse.Namespace) -> int:
    from gioconda.eval import lipsync, lipsync_report

    if args.evaluation == "render":
        return _run_render_eval(args)
    if args.evaluation == "motion":
        return _run_motion_eval(args)
    if args.evaluation != "lipsync":
        raise AssertionError(args.evaluation)
    options = lipsync.LipSyncEvalOptions(
        seed=args.seed,
        quick=args.quick,
        speech_sources=tuple(s.strip() for s in args.speech.split(",") if s.strip()),
        network_weights=args.weights,
        real_speech=tuple(args.real_speech),
        methods=tuple(m.strip() for m in args.methods.split(",") if m.strip()),
    )
    if args.out_dir is not None:
        lipsync_report.prepare_out_dir(args.out_dir)  # fail now, not after the run
    progress = ProgressBars(args.quiet)
    try:
        report = lipsync.evaluate_lipsync(options, progress)
    finally:
        progress.close()
    print(lipsync_report.format_table(report))
    if args.out_dir is not None:
        for path in lipsync_report.write_report(report, args.out_dir):
            if not args.quiet:
                print(f"wrote {path}", file=sys.stderr)
    return 0


def _run_render_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gioconda.errors import GiocondaError
    from gioconda.eval import render as evaluate_render
    from gioconda.output.files import check_writable

    out_dir = None if args.out_dir is None else Path(args.out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        check_writable(out_dir / "render_eval.md")  # fail now, not after the run
    portraits = "auto" if args.portraits is None else Path(args.portraits)
    if isinstance(portraits, Path) and not portraits.is_dir():
        raise GiocondaError(f"portraits folder not found: {portraits}")
    progress = ProgressBars(args.quiet)
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

    from gioconda.errors import GiocondaError
    from gioconda.eval import motion as evaluate_motion
    from gioconda.eval import motion_report
    from gioconda.output.files import check_writable

    if args.seed < 0:
        raise GiocondaError(f"--seed must be 0 or more, got {args.seed}")
    if args.out_dir is not None:
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        check_writable(Path(args.out_dir) / "motion_eval.md")  # fail now, not after the run
    from gioconda.eval.reenact import reenactment_rows

    options = evaluate_motion.MotionEvalOptions(
        quick=args.quick, seed=args.seed, reenactment=reenactment_rows
    )
    progress = ProgressBars(args.quiet)
    try:
        report = evaluate_motion.run_motion_eval(options, progress)
    finally:
        progress.close()
    print(motion_report.format_table(report))
    if args.out_dir is not None:
        for path in motion_report.write_report(report, args.out_dir):
            if not args.quiet:
                print(f"wrote {path}", file=sys.stderr)
    return 0
