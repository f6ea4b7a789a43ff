"""Options defined once: each is a dataclass field with its default, its range and its help.

The option dataclasses (:class:`~gioconda.pipeline.AnimateOptions`,
:class:`~gioconda.motion.controls.MotionControls`, ...) declare their fields with
:func:`option`; their ``__post_init__`` calls :func:`check_options`, so a value out of range is
refused where it is made, from Python as from the command line; and the CLI builds its flags,
defaults and help from the same fields (:mod:`gioconda.cli.flags`). A default, a range or a help
text is written in one place.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

from gioconda.errors import GiocondaError

#: Metadata keys :func:`option` sets on a field.
_KEYS = ("help", "flag", "metavar", "parse", "choices", "minimum", "maximum", "above", "show")


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    default_factory: Callable[[], Any] | None = None,
    flag: str | None = None,
    metavar: str | None = None,
    parse: Callable[[str], Any] | None = None,
    choices: Sequence[str] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    show: str | None = None,
) -> Any:
    """A dataclass field that is also a command-line option.

    Parameters
    ----------
    default, default_factory: as for :func:`dataclasses.field`
    help: what the option does, for ``--help`` (the default is appended)
    flag: the CLI flag, ``--`` + the field's name with dashes unless given; for a bool that
        defaults to True, a ``--no-...`` flag that turns it off
    metavar: the value's name in the usage line
    parse: turns the flag's text into the value (default: the field's type)
    choices: the allowed values
    minimum, maximum: the allowed range, inclusive; ``above``: an exclusive lower bound.
        Numbers must also be finite.
    show: how the default reads in the help (default: the default itself)
    """
    metadata = {
        "help": help,
        "flag": flag,
        "metavar": metavar,
        "parse": parse,
        "choices": tuple(choices) if choices is not None else None,
        "minimum": minimum,
        "maximum": maximum,
        "above": above,
        "show": show,
    }
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def is_option(field: dataclasses.Field) -> bool:
    """Whether a dataclass field was declared with :func:`option`."""
    return "help" in field.metadata


def flag_name(field: dataclasses.Field) -> str:
    """The field's command-line flag: ``--max-audio-seconds``, ``--no-label``, ..."""
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def check_options(instance: Any) -> None:
    """Check every :func:`option` field of a dataclass instance against its range and choices.

    Raises
    ------
    GiocondaError: naming the option's flag, its allowed values and the value given.
    """
    for field in dataclasses.fields(instance):
        if not is_option(field):
            continue
        value = getattr(instance, field.name)
        meta = field.metadata
        name = flag_name(field)
        if meta["choices"] is not None and value not in meta["choices"]:
            raise GiocondaError(
                f"{name} must be one of {', '.join(meta['choices'])}, got {value!r}"
            )
        ranged = any(meta[k] is not None for k in ("minimum", "maximum", "above"))
        if not ranged or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GiocondaError(f"{name} must be a number, got {value!r}")
        lo, hi, above = meta["minimum"], meta["maximum"], meta["above"]
        ok = math.isfinite(value)
        ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
        ok = ok and (above is None or value > above)
        if ok:
            continue
        if lo is not None and hi is not None:
            raise GiocondaError(f"{name} must be between {lo:g} and {hi:g}, got {value:g}")
        if above is not None:
            raise GiocondaError(f"{name} must be a finite number above {above:g}, got {value:g}")
        if lo is not None:
            raise GiocondaError(f"{name} must be {lo:g} or more, got {value:g}")
        raise GiocondaError(f"{name} must be {hi:g} or less, got {value:g}")
