"""Whisper reads a recording of more than one window's speech in two halves at once, and the
English reading beside the language detection: the words must be those of the whole, in order,
the same on every run."""

from __future__ import annotations

import numpy as np

from gioconda.speech.whisper import (
    SPLIT_MIN_SPEECH_S,
    WHISPER_SAMPLE_RATE,
    WhisperListener,
    _halves,
    whisper_samples,
)

from .spoken import spoken


def test_halves_hold_half_the_speech_each_cut_in_a_pause() -> None:
    rate = WHISPER_SAMPLE_RATE
    rng = np.random.default_rng(0)
    samples = rng.normal(0, 0.1, 60 * rate).astype(np.float32)
    # 56 s of speech; half of it said by 29.5 s, where a pause (29-30 s) is the cut.
    spans = ((0.0, 20.0), (21.0, 29.0), (30.0, 58.0))
    assert _halves(spans, samples) == [(0, round(29.5 * rate)), (round(29.5 * rate), 60 * rate)]
    # No pause near the middle of the speech (said by 31.2 s, inside a 32.6 s stretch): the
    # quietest tenth of a second within reach of it, not the pauses at 10 s or 27.2 s.
    spans = ((0.0, 9.0), (11.0, 27.0), (27.4, 60.0))
    samples[round(32.2 * rate) : round(32.3 * rate)] *= 0.01
    [(_, cut), _] = _halves(spans, samples)
    assert abs(cut / rate - 32.25) < 0.06
    # One window's speech is read whole: two would only pad.
    assert _halves(((1.0, 1.0 + SPLIT_MIN_SPEECH_S - 1),), samples) == [(0, 60 * rate)]


def test_long_recording_read_in_halves_keeps_every_sentence_in_order() -> None:
    # The same audio whatever the other tests spoke before (eSpeak NG starts each utterance
    # afresh); before it did, tiny.en once read this speech into a loop after theirs.
    audio = spoken()
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
