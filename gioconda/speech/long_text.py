"""Long texts spoken piece by piece: progress as it goes, memory bounded by a piece, and the
length limit enforced as soon as the speech passes it (not after minutes of synthesis).

A text of a few sentences is one piece, spoken exactly as :func:`~gioconda.speech.synthesis.speak`
speaks it. A longer one is cut after sentences into pieces of about :data:`PIECE_CHARS`
characters; each is synthesized on its own and the pieces are joined, their phones shifted to
where each piece starts. Every voice already pauses at a sentence's end, so the joins fall
where the speech pauses anyway.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import Audio
from gioconda.speech.espeak import SynthesizedSpeech

#: Characters per piece, about 25 s of speech: long enough for natural sentences, short
#: enough for steady progress and little memory.
PIECE_CHARS = 400

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def text_pieces(text: str, piece_chars: int = PIECE_CHARS) -> list[str]:
    """``text`` cut after sentences into pieces of at most about ``piece_chars`` characters
    (a longer sentence is cut at its last space that fits)."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        while len(sentence) > piece_chars:
            cut = sentence.rfind(" ", 0, piece_chars)
            cut = cut if cut > 0 else piece_chars
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > piece_chars:
            pieces.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces or [text]


def speak_long(
    text: str,
    voice: str,
    max_duration_s: float,
    progress: Progress = no_progress,
) -> SynthesizedSpeech:
    """Speak ``text`` piece by piece (see the module docstring).

    Raises
    ------
    GiocondaError: as :func:`~gioconda.speech.synthesis.speak`, or the speech passes
        ``max_duration_s`` (raised as soon as it does).
    """
    from gioconda.speech.synthesis import speak

    pieces = text_pieces(text)
    samples: list[np.ndarray] = []
    phones = []
    rate, offset_s = 0, 0.0
    for i, piece in enumerate(pieces):
        spoken = speak(piece, voice=voice)
        rate = rate or spoken.audio.sample_rate
        phones += [
            dataclasses.replace(p, start_s=p.start_s + offset_s, end_s=p.end_s + offset_s)
            for p in spoken.phones
        ]
        samples.append(spoken.audio.samples)
        offset_s += len(spoken.audio.samples) / rate
        if offset_s > max_duration_s:
            raise GiocondaError(
                f"the speech would last over {max_duration_s:g} s, the limit (raise it with "
                "--max-audio-seconds)"
            )
        progress("speech", i + 1, len(pieces))
    return SynthesizedSpeech(Audio(np.concatenate(samples), rate), tuple(phones))
