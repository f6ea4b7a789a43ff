"""Kokoro-82M's phoneme tokens, and where each phone is heard: the model's per-token durations
moved to the waveform (the measurements behind each constant are in :mod:`gioconda.speech.kokoro`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gioconda.speech.visemes import ipa_to_viseme

#: Kokoro's output rate, samples per second.
SAMPLE_RATE = 24000


#: Samples per duration frame (25 ms): the unit of the model's phoneme durations.
SAMPLES_PER_FRAME = 600


# The sound runs ahead of the durations by a fixed part plus a part that scales with the pace:
# 75 ms at speed 1 (see the module's docstring).
_LEAD_FIXED_S = 0.040


_LEAD_PACED_S = 0.035


# A phone before a pause ends where its sound falls this far below the loudest 10 ms of its
# chunk (Kokoro's pauses are near digital silence: -80 dB and below), but keeps this much.
_QUIET_DB = -40.0


_LOUDNESS_WINDOW_S = 0.010


_MIN_EDGE_PHONE_S = 0.060


# A /p b m/ after a reduced vowel often closes a frame or more before its segment starts
# (the vowel's frames hold the closure): its start moves to the dip in the sound where the
# dip is at least this deep, at most this much earlier, leaving the phone before this much.
_MIN_DIP_DB = 10.0


_MAX_CLOSURE_ADVANCE_S = 0.100


_MIN_KEPT_S = 0.020


# eSpeak NG's IPA to the phonemes Kokoro was trained on for English (hexgrad's misaki G2P,
# whose eSpeak fallback does the same): diphthongs and affricates as one letter each.
_TIE = "\u0361"


# Kokoro's one-letter diphthongs, its flap and its long s, in the IPA (for their visemes).
_KOKORO_TO_IPA = {
    "A": "eɪ", "I": "aɪ", "O": "oʊ", "W": "aʊ", "Y": "ɔɪ", "Q": "əʊ", "T": "ɾ", "S": "sː",
}  # fmt: skip


_STRESS = frozenset("ˈˌ")


# Tokens that lengthen or colour the phone before them: length, aspiration, palatalization,
# nasalization, Japanese ɯᵝ, pitch arrows.
_MODIFIERS = frozenset("ːʰʲ\u0303ᵝ↓→↗↘")


_PAUSES = frozenset(';:,.!?—…"()“”')


@dataclass(frozen=True)
class _Phone:
    """A phone on the model's grid: frames [start, end) of one chunk."""

    start: int
    end: int
    label: str
    viseme: str


def _token_phones(phonemes: str, frames: np.ndarray) -> list[_Phone]:
    """Phones on the model's frame grid, from the tokens (between two pads) and their frames.

    A stress mark goes with the phone after it, a space, length mark or other modifier with
    the phone before it; pads and punctuation are pauses.
    """
    bounds = np.concatenate([[0], np.cumsum(frames)])
    phones: list[_Phone] = []
    stress_start: int | None = None
    stress = ""
    for i, token in enumerate(["_", *phonemes, "_"]):
        start, end = int(bounds[i]), int(bounds[i + 1])
        if token in _STRESS:
            stress_start = start if stress_start is None else stress_start
            stress += token
            continue
        previous = phones[-1] if phones else None
        if previous is not None and (token in _MODIFIERS or token == " "):
            label = previous.label + (token if token != " " and previous.viseme != "sil" else "")
            phones[-1] = _Phone(previous.start, end, label, previous.viseme)
            continue
        if token == "_" or token in _PAUSES or token == " ":
            label, viseme = "_", "sil"
        else:
            label = stress + token
            viseme = ipa_to_viseme(
                _KOKORO_TO_IPA.get(token, token), previous.viseme if previous else "sil"
            )
        if stress_start is not None:
            start, stress_start, stress = stress_start, None, ""
        if previous is not None and viseme == "sil" == previous.viseme:
            phones[-1] = _Phone(previous.start, end, "_", "sil")
        else:
            phones.append(_Phone(start, end, label, viseme))
    return phones


def _place_phones(
    phones: Sequence[_Phone], samples: np.ndarray, speed: float
) -> list[tuple[int, str, str]]:
    """(start sample, label, viseme) of each phone where it is heard in ``samples``.

    Every boundary moves earlier by the sound's lead; a phone next to a pause keeps only the
    time its sound lasts (a /p b m/ closure before a pause is silent: it keeps at least
    ``_MIN_EDGE_PHONE_S``).
    """
    lead = round((_LEAD_FIXED_S + _LEAD_PACED_S / speed) * SAMPLE_RATE)
    n = samples.size
    starts = [0] + [max(0, p.start * SAMPLES_PER_FRAME - lead) for p in phones[1:]]
    ends = [*starts[1:], n]
    loud = _loud(samples)
    keep = int(_MIN_EDGE_PHONE_S * SAMPLE_RATE)
    for i in range(1, len(phones) - 1):
        if phones[i].viseme == "sil":
            continue
        heard = np.flatnonzero(loud[starts[i] : ends[i]])
        if phones[i + 1].viseme == "sil":
            sound_end = starts[i] + int(heard[-1]) + 1 if heard.size else starts[i]
            ends[i] = starts[i + 1] = min(ends[i], max(sound_end, starts[i] + keep))
        if phones[i - 1].viseme == "sil" and phones[i].viseme != "PP" and heard.size:
            starts[i] = ends[i - 1] = min(starts[i] + int(heard[0]), ends[i] - 1)
    _start_closures_at_the_dip(phones, starts, samples)
    ends = [*starts[1:], n]
    return [
        (start, phone.label, phone.viseme)
        for start, end, phone in zip(starts, ends, phones, strict=True)
        if end > start
    ]


def _start_closures_at_the_dip(
    phones: Sequence[_Phone], starts: list[int], samples: np.ndarray
) -> None:
    """Move each /p b m/ that follows a sound to where the sound dips into its closure.

    The dip is the quietest millisecond (above 1 kHz, where closures and nasal murmurs are
    both weak) between the phone before and the closure's end; the closure starts where the
    level falls halfway from the phone before to that floor.
    """
    level = _high_level_db(samples)
    ms = SAMPLE_RATE // 1000
    kept, advance = round(_MIN_KEPT_S * 1000), round(_MAX_CLOSURE_ADVANCE_S * 1000)
    for i in range(1, len(phones) - 1):
        if phones[i].viseme != "PP" or phones[i - 1].viseme in ("sil", "PP"):
            continue
        previous, start, end = starts[i - 1] // ms, starts[i] // ms, starts[i + 1] // ms
        earliest = max(previous + kept, start - advance)
        latest = end - kept
        if latest <= earliest:
            continue
        bottom = earliest + int(np.argmin(level[earliest:end]))
        floor, before = level[bottom], level[previous : bottom + 1].max()
        if before - floor < _MIN_DIP_DB:
            continue
        loud = np.flatnonzero(level[earliest:bottom] >= (before + floor) / 2)
        onset = earliest + (int(loud[-1]) + 1 if loud.size else 0)
        starts[i] = min(max(onset, earliest), latest) * ms


def _high_level_db(samples: np.ndarray) -> np.ndarray:
    """Pre-emphasized power (mostly above 1 kHz) over 10 ms, in dB, one value per ms."""
    emphasized = np.diff(samples.astype(np.float64), prepend=0.0)
    window = max(1, int(_LOUDNESS_WINDOW_S * SAMPLE_RATE))
    power = np.convolve(emphasized**2, np.ones(window) / window, mode="same")
    return 10 * np.log10(power[:: SAMPLE_RATE // 1000] + 1e-12)


def _loud(samples: np.ndarray) -> np.ndarray:
    """Where the 10 ms RMS around each sample is within ``_QUIET_DB`` of the loudest."""
    window = max(1, int(_LOUDNESS_WINDOW_S * SAMPLE_RATE))
    power = np.convolve(samples.astype(np.float64) ** 2, np.ones(window) / window, mode="same")
    return power > power.max() * 10 ** (_QUIET_DB / 10) if power.size else power > 0
