"""``gioconda serve``: the web app (page, live stream, file jobs) under uvicorn."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gioconda.serve.app import ServeConfig


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the web app: a page to talk through a portrait live, and render files",
        description="Serve the page and its API; open http://HOST:PORT/ in a browser.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                        "this machine only; 0.0.0.0 for every interface)")  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--size", type=int, default=512, metavar="PX",
        help="side of the live frames and file videos, pixels (default: 512)",
    )  # fmt: skip
    parser.add_argument("--max-sessions", type=int, default=2, metavar="N",
                        help="live sessions at once; more are refused (gioconda bench live "
                        "says how many this machine sustains at 25 fps) (default: 2)")  # fmt: skip
    parser.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                        help="largest photo or audio upload (default: 20)")  # fmt: skip
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    import os

    # One BLAS thread per call: the network's small products gain nothing from more, and
    # sessions run side by side on threads of their own (set before NumPy loads, where it
    # has not yet).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from gioconda.cli.app import UsageError
    from gioconda.serve.app import ServeConfig, serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be 1..65535, got {args.port}")
    if not 64 <= args.size <= 1024 or args.max_sessions < 1 or args.max_upload_mb <= 0:
        raise UsageError("--size must be 64..1024, --max-sessions and --max-upload-mb positive")
    config = ServeConfig(
        size=args.size,
        max_sessions=args.max_sessions,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
    )
    _log_settings(config)
    serve(args.host, args.port, config)
    return 0


def _log_settings(config: ServeConfig) -> None:
    """What ``-v`` says as the server starts: what the live path and the file jobs use."""
    import logging

    from gioconda.output.video import DEFAULT_CRF, DEFAULT_PRESET, encoding_for
    from gioconda.pipeline import DEFAULT_LIPSYNC
    from gioconda.speech.synthesis import synthesizer_of

    log = logging.getLogger("gioconda.serve")
    size, fps, voice = config.size, config.fps, config.voice
    log.info(
        "serve: live frames %d px at %g fps, JPEG over a WebSocket; microphone lip sync by our "
        "viseme network hop by hop (the only method that need not wait for the whole "
        "utterance); text spoken by %s, voice %s unless the page picks another",
        size, fps, synthesizer_of(voice), voice,
    )  # fmt: skip
    log.info(
        "serve: file jobs at %d px, 25 fps, lip sync %s, %s; at most %d live sessions, uploads "
        "up to %.0f MB, audio up to %g s", size, DEFAULT_LIPSYNC,
        encoding_for("job.mp4", DEFAULT_PRESET, DEFAULT_CRF), config.max_sessions,
        config.max_upload_bytes / 2**20, config.max_audio_s,
    )  # fmt: skip
