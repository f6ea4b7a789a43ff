"""The jobs file: one row per video, read and checked in full before anything runs.

A CSV file with a header row, or JSON Lines (one object per line), with these columns:

==================  ==========================================================================
column              value
==================  ==========================================================================
``photo``           the portrait (required); relative paths are relative to the jobs file
``audio``           the speech recording; or ``text`` instead (exactly one of the two)
``text``            words to speak with ``voice``
``voice``           Kokoro or eSpeak NG voice for ``text`` (default: the batch's ``--voice``)
``output``          the video's file name under OUTDIR (default ``row-N.mp4``); may hold
                    sub-folders, never ``..``; names must be unique
``seed``            motion seed (default 0)
``controls``        a keyframe file (JSON, see :mod:`gioconda.motion.controls`)
``gaze``, ``head_distance``, ``emotion``, ``emotion_strength``, ``motion_intensity``,
``blink_rate``      the controls held over the clip (as ``gioconda animate``'s flags)
``face``            which face in the photo, from the largest (0)
``lipsync``         how a recording drives the mouth (``combined``, ``network``, ...)
``size``, ``fps``   output size and frame rate (default: the batch's ``--size``, ``--fps``)
==================  ==========================================================================

Empty CSV cells and JSON ``null`` mean "not given". Every row is checked (columns known,
files present, values in range, keyframe files valid) and every problem is reported at once
with its row number (the first data row is row 1), so a bad jobs file costs one try.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from gioconda.errors import GiocondaError
from gioconda.motion.controls import CONTROLS, MotionControls, control_value, read_keyframes
from gioconda.pipeline import AnimateOptions

#: Columns a jobs file may have.
COLUMNS = (
    "photo", "audio", "text", "voice", "output", "seed", "controls", *CONTROLS, "face",
    "lipsync", "size", "fps",
)  # fmt: skip
#: The most problems listed when a jobs file is refused (the count says how many more).
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Job:
    """One video to make: a checked row of the jobs file.

    Attributes
    ----------
    row: the row's number in the jobs file (1 for the first data row)
    photo: absolute path of the portrait
    audio: absolute path of the recording, or None when ``text`` is given
    text: words to synthesize, or None when ``audio`` is given
    output: where the video goes under the output folder (a relative POSIX path)
    options: everything else, as ``gioconda animate`` takes it
    """

    row: int
    photo: str
    audio: str | None
    text: str | None
    output: str
    options: AnimateOptions


class JobsFileError(GiocondaError):
    """A jobs file with problems: every problem found, each with its row number."""

    def __init__(self, source: str, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        rows = {_row_number(p) for p in problems} - {0}
        counted = f"{len(problems)} problem{'s' * (len(problems) != 1)}"
        if rows:
            counted += f" in {len(rows)} row{'s' * (len(rows) != 1)}"
        lines = [f"{source}: {counted}, nothing was run"]
        lines += [f"  {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))
        self.problems = problems


def read_jobs(path: str | os.PathLike[str], defaults: AnimateOptions | None = None) -> list[Job]:
    """Read and check a jobs file (``.csv`` or ``.jsonl``).

    Parameters
    ----------
    path: the jobs file; relative paths in it are taken from its folder
    defaults: options for what a row does not say (the batch's command-line flags; None:
        ``AnimateOptions()``)

    Raises
    ------
    GiocondaError: the file cannot be read, or (:class:`JobsFileError`) any row is bad: all
        problems are listed, each with its row number.
    """
    path = Path(path)
    defaults = AnimateOptions() if defaults is None else defaults
    if not path.is_file():
        raise GiocondaError(f"jobs file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise GiocondaError(f"cannot read jobs file {path}: {error}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows, problems = _csv_rows(text)
    elif suffix in (".jsonl", ".ndjson"):
        rows, problems = _jsonl_rows(text)
    else:
        raise GiocondaError(f"jobs file must be .csv or .jsonl, got {path.name}")
    jobs = []
    for number, row in rows:
        try:
            jobs.append(_job(number, row, path.parent.resolve(), defaults))
        except _RowProblems as bad:
            problems += [f"row {number}: {p}" for p in bad.problems]
    seen: dict[str, int] = {}
    for job in jobs:
        key = job.output.lower()  # two names that differ in case collide on some disks
        if key in seen:
            problems.append(f"row {job.row}: output {job.output} is also row {seen[key]}'s")
        seen.setdefault(key, job.row)
    if not rows and not problems:
        problems.append("no jobs in the file")
    if problems:
        problems.sort(key=_row_number)
        raise JobsFileError(str(path), problems)
    return jobs


def _row_number(problem: str) -> int:
    match = re.match(r"row (\d+)", problem)
    return int(match.group(1)) if match else 0


def _csv_rows(text: str) -> tuple[list[tuple[int, dict[str, object]]], list[str]]:
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        return [], []
    names = [name.strip().lower() for name in header]
    problems = _column_problems(names, "the header")
    if problems:
        return [], problems
    rows = []
    for number, cells in enumerate(reader, start=1):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, as spreadsheets leave them
        if len(cells) > len(names):
            problems.append(f"row {number}: {len(cells)} cells, but the header has {len(names)}")
            continue
        row: dict[str, object] = {
            name: cell.strip() for name, cell in zip(names, cells, strict=False) if cell.strip()
        }
        rows.append((number, row))
    return rows, problems


def _jsonl_rows(text: str) -> tuple[list[tuple[int, dict[str, object]]], list[str]]:
    rows, problems = [], []
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"row {number}: not valid JSON: {error.msg}")
            continue
        if not isinstance(item, dict):
            problems.append(f"row {number}: expected a JSON object")
            continue
        names = [str(name).lower() for name in item]
        bad = _column_problems(names, "it")
        if bad:
            problems += [f"row {number}: {p}" for p in bad]
            continue
        rows.append((number, {str(k).lower(): v for k, v in item.items() if v is not None}))
    return rows, problems


def _column_problems(names: list[str], where: str) -> list[str]:
    problems = []
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        problems.append(
            f"unknown column(s) {', '.join(unknown)} in {where}; known: {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"column(s) {', '.join(repeated)} given twice in {where}")
    if where == "the header" and "photo" not in names:
        problems.append("the header has no photo column")
    return problems


class _RowProblems(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems


def _job(number: int, row: dict[str, object], base: Path, defaults: AnimateOptions) -> Job:
    problems: list[str] = []

    def check(what: Callable[[], object]) -> Any:
        try:
            return what()
        except GiocondaError as error:
            # The options name their command-line flags; here they are columns.
            problems.append(re.sub(r"--([a-z-]+)", lambda m: m[1].replace("-", "_"), str(error)))
            return None

    def existing_file(column: str) -> str | None:
        value = row.get(column)
        if value is None:
            return None
        if not isinstance(value, str):
            problems.append(f"{column} must be a file path, got {value!r}")
            return None
        path = base / os.path.expanduser(value)
        if not path.is_file():
            problems.append(f"{column} not found: {path}")
            return None
        return str(path.resolve())

    if "photo" not in row:
        problems.append("no photo")
    photo = existing_file("photo")
    audio = existing_file("audio")
    text = row.get("text")
    if text is not None and not (isinstance(text, str) and text.strip()):
        problems.append("text is empty" if isinstance(text, str) else "text must be a string")
        text = None
    if ("audio" in row) == ("text" in row):
        problems.append("give audio or text, not both" if "audio" in row else "no audio or text")
    output = _output_name(row.get("output", f"row-{number}.mp4"), problems)

    def number_of(column: str, kind: type, default: object) -> Any:
        value = row.get(column)
        if value is None:
            return default
        try:
            parsed: Any = kind(value) if isinstance(value, str) else value
        except ValueError:
            parsed = None
        if kind is int and isinstance(parsed, float) and parsed.is_integer():
            parsed = int(parsed)
        ok = isinstance(parsed, int | float) and not isinstance(parsed, bool)
        if not ok or (kind is int and not isinstance(parsed, int)) or not math.isfinite(parsed):
            problems.append(f"{column} must be {'an integer' if kind is int else 'a number'}, "
                            f"got {value!r}")  # fmt: skip
            return default
        return parsed

    seed = number_of("seed", int, defaults.motion.seed)
    settings = {
        "face": number_of("face", int, defaults.face),
        "size": number_of("size", int, defaults.size),
        "fps": float(number_of("fps", float, defaults.fps)),
        "lipsync": row.get("lipsync", defaults.lipsync),
        "voice": row.get("voice", defaults.voice),
    }
    for name, value in settings.items():
        # AnimateOptions checks its own values: each one alone, to report every bad one.
        if check(partial(replace, defaults, **{name: value})) is None:
            settings[name] = getattr(defaults, name)
    if not isinstance(settings["voice"], str) or not settings["voice"].strip():
        problems.append(f"voice must be a voice's name, got {settings['voice']!r}")

    controls: dict[str, Any] = {}
    for name in CONTROLS:
        if name in row:
            value = row[name]
            if name not in ("gaze", "emotion") and isinstance(value, str):
                value = number_of(name, float, None)
                if value is None:
                    continue
            # Each control checked alone, so that every bad one in a row is reported.
            try:
                controls[name] = control_value(name, value)
            except GiocondaError as error:
                problems.append(str(error))
    keyframes = ()
    controls_file = existing_file("controls")
    if controls_file is not None:
        keyframes = check(lambda: read_keyframes(controls_file)) or ()
    base_controls = defaults.motion
    motion = check(
        lambda: replace(
            base_controls, seed=seed, keyframes=keyframes or base_controls.keyframes, **controls
        )
    )
    if problems:
        raise _RowProblems(problems)
    assert isinstance(motion, MotionControls)
    assert photo is not None  # else problems holds "no photo" or why it was not found
    options = replace(defaults, motion=motion, **settings)
    return Job(number, photo, audio, text, output, options)


def _output_name(value: object, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"output must be a file name, got {value!r}")
        return ""
    name = PurePosixPath(value.strip().replace("\\", "/"))
    if name.is_absolute() or ".." in name.parts or name.name.startswith("."):
        problems.append(f"output must be a name under the output folder, got {value!r}")
        return ""
    if name.suffix.lower() != ".mp4":
        problems.append(f"output must end in .mp4, got {value!r}")
        return ""
    return str(name)
