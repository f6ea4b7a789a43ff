"""Command-line flags built from the option dataclasses (:mod:`gioconda.options`), and the
dataclasses built back from the parsed flags: one source for every default, range and help."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar

from gioconda.options import flag_name, is_option

T = TypeVar("T")


def add_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    options: type,
    skip: tuple[str, ...] = (),
) -> None:
    """Add a flag for every :func:`~gioconda.options.option` field of the dataclass ``options``.

    Every flag's parsed default is None ("not given"), so that the dataclass's own default
    applies and a caller can tell which flags the user gave; the help shows the real default.
    """
    for field in dataclasses.fields(options):
        if not is_option(field) or field.name in skip:
            continue
        meta = field.metadata
        flag = flag_name(field)
        default = field.default if field.default is not dataclasses.MISSING else None
        shown = meta["show"] if meta["show"] is not None else default
        if shown is None:
            shown = "none"
        help_text = meta["help"]
        if isinstance(default, bool):
            # A flag switches a bool away from its default: --full-frame, --no-label.
            parser.add_argument(
                flag, dest=field.name, action="store_const", const=not default, default=None,
                help=help_text,
            )  # fmt: skip
            continue
        parse = meta["parse"] or (field.type if isinstance(field.type, type) else _type_of(field))
        parser.add_argument(
            flag,
            dest=field.name,
            type=parse,
            default=None,
            choices=meta["choices"],
            metavar=meta["metavar"] or (None if meta["choices"] else field.name.upper()),
            help=f"{help_text} (default: {shown})",
        )


def _type_of(field: dataclasses.Field) -> Any:
    """The parser for a field annotated as a string (``from __future__ import annotations``)."""
    names = {"int": int, "float": float, "str": str}
    annotation = str(field.type).split("|")[0].strip()
    return names.get(annotation, str)


def given(args: argparse.Namespace, options: type, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The option fields of ``options`` that the user gave on the command line, by name."""
    values = {}
    for field in dataclasses.fields(options):
        if is_option(field) and field.name not in skip:
            value = getattr(args, field.name, None)
            if value is not None:
                values[field.name] = value
    return values


def from_args(options: type[T], args: argparse.Namespace, **fixed: Any) -> T:
    """An ``options`` dataclass from the parsed flags: what the user gave, the dataclass's own
    defaults for the rest, and ``fixed`` (nested options, values the command decides)."""
    from gioconda.errors import GiocondaError

    try:
        return options(**{**given(args, options, tuple(fixed)), **fixed})
    except GiocondaError as error:
        raise GiocondaError(_with_flag(str(error), options)) from None


def _with_flag(message: str, options: type) -> str:
    """A dataclass's message about a field (``head_distance must be ...``) as the user's flag
    (``--head-distance must be ...``): errors name what the user typed."""
    for field in dataclasses.fields(options):
        if is_option(field) and message.startswith(field.name + " "):
            return flag_name(field) + message[len(field.name) :]
    return message


def add_motion_out_flags(parser: argparse.ArgumentParser) -> None:
    """``--motion-out FILE`` and ``--motion-fps``: the rendered motion as a file, for the
    commands that make one (animate, reenact)."""
    from gioconda.output.motion_files import LIVE_LINK_FACE_FPS

    parser.add_argument(
        "--motion-out",
        metavar="FILE",
        help="also write the motion: .csv (Live Link Face columns: no head distance or body "
        "sway) or .json (everything)",
    )
    parser.add_argument(
        "--motion-fps",
        type=float,
        metavar="FPS",
        help="rows per second of --motion-out, the motion resampled (default: "
        f"{LIVE_LINK_FACE_FPS:g} for .csv, Live Link Face's own rate, which its importers "
        "expect; the video's for .json)",
    )
