"""``gioconda lipsync``: mouth cues for a recording, for animators (no video rendered)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gioconda.speech.audio import DEFAULT_MAX_AUDIO_S


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "lipsync",
        help="write the mouth cues of a recording (Rhubarb Lip Sync's TSV or JSON layout)",
        description="Find the mouth shapes of AUDIO over time and write them as cues: "
        "Whisper's words in any language, placed by our network (no video is rendered). "
        "The layouts are Rhubarb Lip Sync's, for Spine, Moho, Godot, After Effects ...",
    )
    parser.add_argument("audio", metavar="AUDIO", help="speech: WAV, MP3, M4A, OGG, FLAC, ...")
    parser.add_argument(
        "-o", "--output", required=True, metavar="CUES.json|.tsv", help="cue file to write"
    )
    parser.add_argument(
        "--shapes",
        choices=("visemes", "rhubarb"),
        default="visemes",
        help="our 15 visemes (sil PP FF TH DD kk CH SS nn RR aa E ih oh ou), or Rhubarb's "
        "mouth shapes A-H and X (default: visemes)",
    )
    parser.add_argument(
        "--language",
        metavar="CODE",
        help="the recording's language, an ISO 639-1 code such as en, fr, ja (default: detected)",
    )
    parser.add_argument(
        "--transcript",
        metavar="TEXT|FILE",
        help="what the recording says, as text or a text file: recognition is skipped and "
        "these words are placed (as Rhubarb's dialog file) (default: none: recognized)",
    )
    parser.add_argument(
        "--max-audio-seconds", type=float, default=None, metavar="S",
        help=f"refuse longer audio (default: {DEFAULT_MAX_AUDIO_S:g})",
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or summary line")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from gioconda.cli.progress import ProgressBars
    from gioconda.output.cues import write_cues
    from gioconda.output.files import check_writable
    from gioconda.speech.audio import load_audio
    from gioconda.speech.transcript import WhisperRecognizer
    from gioconda.timeline import ANALYSIS_SAMPLE_RATE

    if Path(args.output).suffix.lower() not in (".json", ".tsv"):
        from gioconda.cli.app import UsageError

        raise UsageError("-o must end in .json or .tsv")
    check_writable(args.output)  # fail now, not after recognition
    recognizer = WhisperRecognizer(args.language, args.transcript)
    limit = args.max_audio_seconds if args.max_audio_seconds is not None else DEFAULT_MAX_AUDIO_S
    audio = load_audio(args.audio, ANALYSIS_SAMPLE_RATE, limit)
    with ProgressBars(args.quiet) as progress:
        phones = recognizer.recognize(audio, progress)
    cues = write_cues(
        phones, audio.duration_s, args.output, sound_file=Path(args.audio).name, shapes=args.shapes
    )
    if not args.quiet:
        heard = recognizer.heard
        language = heard.language if heard is not None and heard.language else "no speech"
        words = len(heard.words) if heard is not None else 0
        print(
            f"wrote {args.output}: {len(cues)} cues over {audio.duration_s:.2f} s "
            f"({language}, {words} words)",
            file=sys.stderr,
        )
    return 0
