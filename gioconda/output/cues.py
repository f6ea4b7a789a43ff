"""Mouth cues for animators: timed mouth shapes in Rhubarb Lip Sync's TSV and JSON layouts.

People who animate with Rhubarb Lip Sync (Spine, Moho, Godot, After Effects, ...) read its
two layouts; ``gioconda lipsync`` writes the same ones, so switching is a matter of the
command. The shapes are either our 15 visemes (``sil``, ``PP``, ``FF``, ... see
:data:`~gioconda.speech.visemes.VISEMES`) or Rhubarb's nine mouth shapes
(:data:`RHUBARB_SHAPES`: A-F, the extended G and H, and X at rest).

TSV, one cue a line, its start in seconds and its shape; the last line is the end, at rest::

    0.00	X
    0.41	B
    0.48	D
    ...
    2.93	X

JSON::

    {"metadata": {"soundFile": "hello.wav", "duration": 2.93},
     "mouthCues": [{"start": 0.00, "end": 0.41, "value": "X"}, ...]}

Times are rounded to 10 ms, as Rhubarb's are; cues of the same shape next to each other are
joined, and a cue that rounding leaves empty is dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gioconda.errors import GiocondaError
from gioconda.output.files import _atomic_file
from gioconda.speech.visemes import VISEMES, PhoneSegment

#: Rhubarb's mouth shapes: what each looks like.
RHUBARB_SHAPES: dict[str, str] = {
    "A": "closed mouth: P B M",
    "B": "slightly open, clenched teeth: most consonants (K S T), and EE",
    "C": "open mouth: EH, AE",
    "D": "wide open mouth: AA",
    "E": "slightly rounded mouth: AO, ER",
    "F": "puckered lips: UW, OW, W",
    "G": "upper teeth on the lower lip: F V",
    "H": "tongue raised behind the upper teeth: long L",
    "X": "at rest: silence",
}
#: Our visemes as Rhubarb's shapes. ``nn`` holds /n/ and /l/ alike; /n/, far the commoner,
#: shows clenched teeth (B), so H (a long /l/) is never chosen.
VISEME_TO_RHUBARB: dict[str, str] = {
    "sil": "X", "PP": "A", "FF": "G", "TH": "B", "DD": "B", "kk": "B", "CH": "B", "SS": "B",
    "nn": "B", "RR": "E", "aa": "D", "E": "C", "ih": "B", "oh": "E", "ou": "F",
}  # fmt: skip
#: The shape vocabularies a cue file can use.
CUE_SHAPES = ("visemes", "rhubarb")
#: The file layouts, by suffix.
CUE_SUFFIXES = (".json", ".tsv")
#: Rest shapes of each vocabulary (the TSV's last line).
_REST = {"visemes": "sil", "rhubarb": "X"}


@dataclass(frozen=True)
class MouthCue:
    """One mouth shape held from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    value: str


def mouth_cues(
    phones: Sequence[PhoneSegment], duration_s: float, shapes: str = "visemes"
) -> tuple[MouthCue, ...]:
    """Contiguous cues from 0 to ``duration_s``: the phones' visemes, or Rhubarb's shapes.

    Times are rounded to 10 ms; neighbours of one shape are joined; gaps are at rest.

    Raises
    ------
    GiocondaError: an unknown ``shapes`` vocabulary.
    """
    if shapes not in CUE_SHAPES:
        raise GiocondaError(f"unknown mouth shapes {shapes!r}; one of {', '.join(CUE_SHAPES)}")
    rest = _REST[shapes]
    end = round(max(duration_s, 0.0), 2)
    pieces: list[MouthCue] = []
    reached = 0.0
    for phone in sorted(phones, key=lambda p: p.start_s):
        if phone.viseme not in VISEMES:
            raise GiocondaError(f"unknown viseme {phone.viseme!r}")
        value = phone.viseme if shapes == "visemes" else VISEME_TO_RHUBARB[phone.viseme]
        start = max(round(min(max(phone.start_s, 0.0), end), 2), reached)
        stop = round(min(max(phone.end_s, 0.0), end), 2)
        if start > reached:
            pieces.append(MouthCue(reached, start, rest))
        if stop > start:
            pieces.append(MouthCue(start, stop, value))
            reached = stop
    if reached < end:
        pieces.append(MouthCue(reached, end, rest))
    cues: list[MouthCue] = []
    for cue in pieces:
        if cues and cues[-1].value == cue.value:
            cues[-1] = MouthCue(cues[-1].start_s, cue.end_s, cue.value)
        else:
            cues.append(cue)
    return tuple(cues)


def cues_to_tsv(cues: Sequence[MouthCue], shapes: str = "visemes") -> str:
    """Rhubarb's TSV: ``start<TAB>shape`` a line, then the end at rest."""
    lines = [f"{cue.start_s:.2f}\t{cue.value}" for cue in cues]
    if cues:
        lines.append(f"{cues[-1].end_s:.2f}\t{_REST[shapes]}")
    return "".join(line + "\n" for line in lines)


def cues_to_json(cues: Sequence[MouthCue], sound_file: str, duration_s: float) -> str:
    """Rhubarb's JSON: ``metadata`` (sound file, duration) and ``mouthCues``."""
    cue_lines = ",\n".join(
        f'    {{ "start": {cue.start_s:.2f}, "end": {cue.end_s:.2f}, "value": '
        f"{json.dumps(cue.value)} }}"
        for cue in cues
    )
    return (
        "{\n"
        '  "metadata": {\n'
        f'    "soundFile": {json.dumps(sound_file)},\n'
        f'    "duration": {duration_s:.2f}\n'
        "  },\n"
        '  "mouthCues": [\n'
        f"{cue_lines}\n"
        "  ]\n"
        "}\n"
    )


def write_cues(
    phones: Sequence[PhoneSegment],
    duration_s: float,
    path: str | os.PathLike[str],
    sound_file: str = "",
    shapes: str = "visemes",
) -> tuple[MouthCue, ...]:
    """Write mouth cues as Rhubarb's TSV or JSON (chosen by the suffix), atomically.

    Returns
    -------
    The cues written.

    Raises
    ------
    GiocondaError: another suffix, an unknown vocabulary, the folder missing or not writable.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in CUE_SUFFIXES:
        raise GiocondaError(f"mouth cues are written as .json or .tsv, not {path}")
    cues = mouth_cues(phones, duration_s, shapes)
    if suffix == ".tsv":
        text = cues_to_tsv(cues, shapes)
    else:
        text = cues_to_json(cues, sound_file, round(duration_s, 2))
    with _atomic_file(path) as temp:
        temp.write_text(text, encoding="utf-8", newline="")
    return cues
