"""The ``gioconda`` parser, its commands, and how errors reach the user."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable

# MediaPipe's native code logs through glog and TensorFlow Lite; keep it quiet unless asked.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class UsageError(Exception):
    """A command line that does not make sense: shown with the command's usage, exit 2."""


def _commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Each command's ``register``; the modules load no models until a command runs."""
    from gioconda.cli import animate, bench, evaluate, reenact, verify, voices

    return [
        animate.register_animate,
        reenact.register,
        animate.register_demo,
        voices.register,
        evaluate.register,
        bench.register,
        verify.register,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gioconda",
        description="One portrait photo and one voice recording in, a talking video out.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _commands():
        register(commands)
    return parser


#: A value that starts with a minus sign and a digit: a negative number or a list of numbers
#: (``-15,0``), never a flag.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


def _join_negative_values(argv: list[str]) -> list[str]:
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gioconda`` command; returns the exit code."""
    from gioconda.errors import GiocondaError
    from gioconda.face.native_logs import python_only_stderr

    parser = build_parser()
    try:
        # Inside: a flag's value may be read and refused while parsing (--controls FILE).
        args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
        with python_only_stderr():
            return args.run(args)
    except UsageError as error:
        args.parser.print_usage(sys.stderr)
        print(f"gioconda {args.command}: error: {error}", file=sys.stderr)
        return 2
    except GiocondaError as error:
        print(f"gioconda: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gioconda: interrupted", file=sys.stderr)
        return 130
