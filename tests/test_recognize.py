"""Phone recognition on speech whose true phone timings we know (eSpeak NG's own)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gioconda.audio import Audio, resample
from gioconda.recognize import (
    PhoneRecognizer,
    PocketSphinxRecognizer,
    viseme_accuracy,
    viseme_frames,
)
from gioconda.speech import synthesize
from gioconda.visemes import VISEME_INDEX, VISEMES, PhoneSegment

SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "Rice is often served in round bowls.",
    "Bob put a big pot of soup by the pub.",
]
VOICES = ["en-us", "en-gb"]
LEAD_S = 0.3  # silence before the speech, as in a recording


@pytest.fixture(scope="module")
def recognizer() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


@pytest.fixture(scope="module")
def corpus() -> list[tuple[Audio, list[PhoneSegment]]]:
    """eSpeak sentences after a short silence, with their true phones."""
    items = []
    for voice in VOICES:
        for text in SENTENCES:
            speech = synthesize(text, voice=voice)
            lead = np.zeros(int(LEAD_S * speech.audio.sample_rate), np.float32)
            audio = Audio(np.concatenate([lead, speech.audio.samples]), speech.audio.sample_rate)
            truth = [PhoneSegment(0.0, LEAD_S, "_", "sil")] + [
                PhoneSegment(p.start_s + LEAD_S, p.end_s + LEAD_S, p.phone, p.viseme)
                for p in speech.phones
            ]
            items.append((audio, truth))
    return items


@pytest.fixture(scope="module")
def recognized(recognizer, corpus) -> list[tuple[PhoneSegment, ...]]:
    return [recognizer.recognize(audio) for audio, _ in corpus]


def test_is_a_phone_recognizer(recognizer: PocketSphinxRecognizer) -> None:
    assert isinstance(recognizer, PhoneRecognizer)
    assert recognizer.name == "pocketsphinx"


def test_segments_are_contiguous_over_the_audio(corpus, recognized) -> None:
    for (audio, _), phones in zip(corpus, recognized, strict=True):
        assert phones[0].start_s == 0.0
        assert phones[-1].end_s == pytest.approx(audio.duration_s)
        for before, after in itertools.pairwise(phones):
            assert before.end_s == after.start_s and after.end_s > after.start_s
        assert all(p.viseme in VISEMES for p in phones)
        assert len(phones) > 10


def test_leading_silence_is_sil(corpus, recognized) -> None:
    for phones in recognized:
        assert phones[0].viseme == "sil"
        assert phones[0].end_s > 0.6 * LEAD_S


def test_viseme_frame_accuracy(corpus, recognized) -> None:
    """Measured 0.65 (en-us) and 0.62 (en-gb) on ten such sentences; chance is ~0.1."""
    scores = [
        viseme_accuracy(truth, phones, audio.duration_s)
        for (audio, truth), phones in zip(corpus, recognized, strict=True)
    ]
    assert np.mean(scores) > 0.55
    assert min(scores) > 0.4


def test_closures_are_found(corpus, recognized) -> None:
    """Most /p b m/ are recognized as closed lips at their middle (measured ~0.55)."""
    hits = total = 0
    for (audio, truth), phones in zip(corpus, recognized, strict=True):
        frames = viseme_frames(phones, int(audio.duration_s * 100))
        for phone in truth:
            if phone.viseme == "PP":
                total += 1
                hits += frames[int((phone.start_s + phone.end_s) / 2 * 100)] == VISEME_INDEX["PP"]
    assert total >= 15 and hits / total > 0.35


def test_reusable_deterministic_and_rate_independent(recognizer, corpus, recognized) -> None:
    audio, _ = corpus[0]
    again = recognizer.recognize(audio)
    assert again == recognized[0]
    at_16k = recognizer.recognize(resample(audio, 16_000))
    assert viseme_accuracy(recognized[0], at_16k, audio.duration_s) > 0.9


def test_silence_and_empty_audio(recognizer: PocketSphinxRecognizer) -> None:
    silence = recognizer.recognize(Audio(np.zeros(16_000, np.float32), 16_000))
    assert {p.viseme for p in silence} == {"sil"}
    assert silence[-1].end_s == pytest.approx(1.0)
    assert recognizer.recognize(Audio(np.zeros(0, np.float32), 16_000)) == ()


def test_viseme_accuracy_counts_frames() -> None:
    truth = [PhoneSegment(0.0, 0.5, "M", "PP"), PhoneSegment(0.5, 1.0, "AA", "aa")]
    late = [PhoneSegment(0.0, 0.6, "M", "PP"), PhoneSegment(0.6, 1.0, "AA", "aa")]
    assert viseme_accuracy(truth, truth, 1.0) == 1.0
    assert viseme_accuracy(truth, late, 1.0) == pytest.approx(0.9)
    assert viseme_frames(truth, 3).tolist() == [VISEME_INDEX["PP"]] * 3
