"""The ``gioconda`` parser, its commands, and how errors reach the user."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import NoReturn

# MediaPipe's native code logs through glog and TensorFlow Lite; keep it quiet unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class UsageError(Exception):
    """A command line that does not make sense: shown with the command's usage, exit 2."""


def _commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Each command's ``register``; the modules load no models until a command runs."""
    from gioconda.cli import (
        animate,
        batch,
        bench,
        evaluate,
        faces,
        lipsync,
        reenact,
        serve,
        verify,
        voices,
    )

    return [
        animate.register_animate,
        reenact.register,
        animate.register_demo,
        voices.register,
        evaluate.register,
        bench.register,
        lipsync.register,
        faces.register,
        batch.register,
        serve.register,
        verify.register,
    ]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gioconda")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gioconda",
        description="One portrait photo and one voice recording in, a talking video out.",
    )
    parser.add_argument("--version", action="version", version=f"gioconda {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say what each stage did (models, methods, settings) on stderr",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _commands():
        register(commands)
    return parser


#: A value that starts with a minus sign and a digit: a negative number or a list of numbers
#: (``-15,0``), never a flag.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def join_negative_values(argv: list[str]) -> list[str]:
    """``--gaze -15,0`` as ``--gaze=-15,0``: argparse takes a value that starts with a minus
    sign for a flag unless it is a plain negative number."""
    joined: list[str] = []
    for arg in argv:
        if (
            joined
            and _NEGATIVE_VALUE.match(arg)
            and joined[-1].startswith("--")
            and "=" not in joined[-1]
        ):
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined


def _log_to_stderr(verbose: bool, quiet: bool) -> None:
    """The stages' log records as ``gioconda: note: ...`` lines on stderr: notes (a photo
    scaled down, a small face) unless ``-q``, what each stage used with ``-v``."""
    import logging

    class _Format(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            from gioconda.cli.guard import one_line

            kind = "note: " if record.levelno >= logging.WARNING else ""
            return f"gioconda: {kind}{one_line(record.getMessage())}"

    class _Stderr(logging.StreamHandler):
        def emit(self, record: logging.LogRecord) -> None:
            # Whatever sys.stderr is now: native output is silenced by swapping it.
            self.stream = sys.stderr
            super().emit(record)

    handler = _Stderr()
    handler.setFormatter(_Format())
    logger = logging.getLogger("gioconda")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False


#: Heaps glibc's allocator may keep for a process's threads (its default is eight per core).
#: Recognition, the face, the viseme network and two render threads each allocating from a
#: heap of their own kept what they freed: a 10-minute recording peaked at 1.0 GB against
#: 0.84 GB with two (`/usr/bin/time`, `gioconda animate`), at the same speed.
MALLOC_ARENAS = 2


def _few_malloc_arenas() -> None:
    """Caps glibc's per-thread heaps (:data:`MALLOC_ARENAS`) before any thread starts; a no-op
    elsewhere (macOS, musl) or when the user set ``MALLOC_ARENA_MAX`` themselves."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, MALLOC_ARENAS)  # -8: M_ARENA_MAX in glibc's malloc.h
    except (OSError, AttributeError):
        pass


#: Thread pools of the numeric libraries, one thread each unless the user set their own: the
#: stages run on threads of their own (recognition beside the portrait, frames rendered by one
#: thread per core beside the encoder), so the libraries' idle workers only spin. Measured on
#: a 60 s ``animate``: OpenCV's workers called ``sched_yield`` 2.1 million times (none with one
#: thread); OpenBLAS's woke for each of the mesh's small inverses, so the renderer's set-up
#: beside Whisper took 1.6-7.6 s instead of 0.1-0.4 (its CPU time 0.07 s either way). The
#: frames are the same.
SINGLE_THREADED_POOLS = {"OPENBLAS_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1"}


def _single_threaded_pools() -> None:
    """Sets :data:`SINGLE_THREADED_POOLS` before NumPy and OpenCV load (they read them then).

    A user's own whole number is kept; anything else is replaced, as if unset: OpenCV stops
    with a bare ``stoull`` error in the middle of the work on a value such as ``inf``.
    """
    for name, value in SINGLE_THREADED_POOLS.items():
        if not os.environ.get(name, "").strip().isdigit():
            os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gioconda`` command; returns the exit code."""
    from gioconda.cli.guard import Terminated, one_line, stop_cleanly
    from gioconda.errors import GiocondaError
    from gioconda.face.native_logs import python_only_stderr
    from gioconda.output.files import remove_temporary_files

    _few_malloc_arenas()
    _single_threaded_pools()
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    # -v works anywhere on the line (no command uses -v for anything else).
    verbose = any(a in ("-v", "--verbose") for a in arguments)
    arguments = [a for a in arguments if a not in ("-v", "--verbose")]
    # -q before the command (`gioconda -q animate ...`, as -v) belongs to the command.
    while len(arguments) > 1 and arguments[0] in ("-q", "--quiet"):
        arguments = [arguments[1], arguments[0], *arguments[2:]]
    quiet = any(a in ("-q", "--quiet") for a in arguments)
    _log_to_stderr(verbose, quiet)
    try:
        # Inside: a flag's value may be read and refused while parsing (--controls FILE).
        with stop_cleanly():
            args = parser.parse_args(join_negative_values(arguments))
            with python_only_stderr():
                return args.run(args)
    except UsageError as error:
        args.parser.print_usage(sys.stderr)
        print(f"gioconda {args.command}: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except GiocondaError as error:
        print(f"gioconda: error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`gioconda voices | head`): stop quietly, as SIGPIPE would.
        # stdout points at /dev/null now, so the interpreter's last flush cannot fail again.
        remove_temporary_files()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except KeyboardInterrupt:
        remove_temporary_files()
        print("gioconda: interrupted", file=sys.stderr)
        return 130
    except Terminated as stop:
        remove_temporary_files()
        # Temporary files are gone now (removed on the way out, or just above); the exit
        # status is the shell's for a process ended by that signal.
        print(f"gioconda: stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum


def finish(code: int) -> NoReturn:
    """End the process with exit status ``code``: at once where the command succeeded and
    nothing of it still runs, else as usual (``sys.exit``).

    On success everything the command makes is written and closed by then; what the
    interpreter would still do is tear down its modules and the models' native objects, which
    took 0.4-0.5 s of CPU and up to a second of wall time after a 60 s ``animate`` (busy
    machine). A thread or child process still running (none should be) gets the usual exit.
    """
    import multiprocessing
    import threading

    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    if (
        code == 0
        and not any(not t.daemon for t in others)
        and not multiprocessing.active_children()
    ):
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):  # a closed or broken stream: let the usual exit say so
            sys.exit(code)
        os._exit(0)
    sys.exit(code)


def run() -> NoReturn:
    """The ``gioconda`` command's entry point: :func:`main` on the command line, then
    :func:`finish`."""
    finish(main())
