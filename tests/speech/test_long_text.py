"""Long texts: spoken piece by piece with progress, refused as soon as over the limit (issue 12)."""

from __future__ import annotations

import itertools

import pytest

from gioconda.errors import GiocondaError
from gioconda.speech.long_text import speak_long, text_pieces

SENTENCE = "The quick brown fox jumps over the lazy dog. "


def test_pieces_end_at_sentences_and_keep_every_word():
    text = SENTENCE * 30 + "A" + " very" * 200 + " long sentence."
    pieces = text_pieces(text, 200)
    assert " ".join(pieces).split() == text.split()
    assert all(len(p) <= 200 for p in pieces)
    assert all(p.endswith(".") for p in pieces[:5])


def test_a_long_text_is_joined_with_its_phones_in_place():
    steps = []
    spoken = speak_long(SENTENCE * 12, "en-us", 600.0, lambda *a: steps.append(a))
    assert len(steps) >= 2 and steps[-1][1] == steps[-1][2]
    phones = spoken.phones
    assert all(b.start_s >= a.start_s for a, b in itertools.pairwise(phones))
    assert phones[-1].end_s == pytest.approx(spoken.audio.duration_s, abs=0.05)


def test_the_limit_stops_synthesis_at_the_first_piece_past_it():
    steps = []
    with pytest.raises(GiocondaError, match="--max-audio-seconds"):
        speak_long(SENTENCE * 40, "en-us", 5.0, lambda *a: steps.append(a))
    assert len(steps) == 0  # the first piece (~25 s) is already over 5 s
