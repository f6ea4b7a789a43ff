"""Whisper reads a recording of more than one window's speech in two halves at once, and the
English reading beside the language detection: the words must be those of the whole, in order,
the same on every run."""

from __future__ import annotations

import numpy as np

from gioconda.speech.audio import Audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.whisper import (
    SPLIT_MIN_SPEECH_S,
    WHISPER_SAMPLE_RATE,
    WhisperListener,
    _halves,
    whisper_samples,
)

SENTENCES = (
    "Peter Piper picked a peck of pickled peppers near the old mill.",
    "The quick brown fox jumps over the lazy dog every single morning.",
    "She sells sea shells by the sea shore, and the shells are surely seashells.",
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood?",
    "A big black bug bit a big black bear, and the big black bear bled blood.",
    "Betty bought a bit of butter, but the butter Betty bought was bitter.",
    "Fred fed Ted bread, and Ted fed Fred bread, before the fire went out.",
    "Many merry men made music by the moonlit meadow until the morning came.",
)


def test_halves_cut_in_the_widest_pause_near_the_middle() -> None:
    rate = WHISPER_SAMPLE_RATE
    samples = np.zeros(60 * rate, np.float32)
    spans = ((0.5, 20.0), (20.5, 27.0), (28.5, 40.0), (40.2, 59.0))  # widest middle pause 27-28.5
    assert _halves(spans, samples) == [(0, round(27.75 * rate)), (round(27.75 * rate), 60 * rate)]
    # A pause outside 35-65% of the recording is not taken, however wide.
    spans = ((0.5, 5.0), (15.0, 59.0))
    cut = _halves(spans, samples)[0][1]
    assert 0.35 * len(samples) <= cut <= 0.65 * len(samples)
    # One window's speech is read whole: two would only pad.
    assert _halves(((1.0, 1.0 + SPLIT_MIN_SPEECH_S - 1),), samples) == [(0, 60 * rate)]


def test_long_recording_read_in_halves_keeps_every_sentence_in_order() -> None:
    pause = np.zeros(WHISPER_SAMPLE_RATE // 2, np.float32)
    pieces = []
    for sentence in SENTENCES:
        speech = resample(synthesize(sentence, voice="en-us").audio, WHISPER_SAMPLE_RATE)
        pieces += [speech.samples, pause]
    audio = Audio(np.concatenate(pieces), WHISPER_SAMPLE_RATE)
    listener = WhisperListener()
    heard = listener.listen(audio)
    speech_s = sum(end - start for start, end in heard.speech_spans)
    assert speech_s > SPLIT_MIN_SPEECH_S  # so it is read in two halves
    assert heard.language == "en"
    starts = [w.start_s for w in heard.words]
    assert starts == sorted(starts) and 0 <= starts[0] and starts[-1] < audio.duration_s
    # eSpeak's voice is hard for tiny.en; these words of five sentences it reads, in order.
    text = [w.text.lower().strip(".,?") for w in heard.words]
    anchors = [text.index(word) for word in ("pickled", "chuck", "black", "fire", "music")]
    assert anchors == sorted(anchors)
    # Both halves heard: words on each side of the cut.
    [(_, cut), _] = _halves(heard.speech_spans, whisper_samples(audio))
    assert sum(t < cut / WHISPER_SAMPLE_RATE for t in starts) >= 20
    assert sum(t > cut / WHISPER_SAMPLE_RATE for t in starts) >= 20
    assert listener.listen(audio) == heard  # the same words, whichever half ends first
