"""Greedy Whisper sometimes reads a window into a repetition loop ("black, black, black,
...") and loses the rest of the window's words: the guard reads it again from the loop's
start. The inputs are eSpeak NG sentences, the same samples on every run (eSpeak speaks each
request afresh)."""

from __future__ import annotations

import difflib
import re

import numpy as np

from gioconda.speech.audio import Audio
from gioconda.speech.whisper import WHISPER_SAMPLE_RATE, WhisperListener, loop_start

from .spoken import SENTENCES, spoken


def _normal(texts: list[str]) -> list[str]:
    return [token for text in texts for token in re.findall(r"\w+", text.lower())]


def _recall(heard: list[str], script: tuple[str, ...]) -> float:
    """The share of the script's words found, in order, in ``heard``."""
    said = _normal(list(script))
    matcher = difflib.SequenceMatcher(None, said, _normal(heard), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(said)


def test_loop_start_finds_where_the_words_start_repeating() -> None:
    said = "And a big black bear bled blood.".split()
    loop = "A big white bug, a big white bug, a big white bug, a big white bug.".split()
    assert loop_start(said + loop) == len(said)
    assert loop_start(["Ve,"] * 12) == 0
    assert loop_start(["Vé" + "ve" * 30]) == 0  # one word that loops
    # Repetition a speaker makes, or a tongue twister, is not a loop.
    assert loop_start("No, no, no, not that one.".split()) is None
    assert loop_start("Fred fed Ted bread, and Ted fed Fred bread.".split()) is None
    assert loop_start(list(SENTENCES[0].split()) * 2) is None
    assert loop_start([]) is None


def test_a_window_read_into_a_loop_is_read_again_from_the_loop() -> None:
    # eSpeak's Caribbean English: tiny.en reads the fifth sentence on as "I'm being black,
    # black, black, ..." to the end of its window, 18 s of speech without a word.
    audio = spoken(voice="en-029")
    listener = WhisperListener()
    heard = listener.listen(audio, language="en")
    texts = [word.text for word in heard.words]
    # Without the guard: 170 words for the script's 103 ("black" over 100 times in them),
    # none from the last three sentences, and a word recall of 0.26 (with it: 0.40).
    assert len(texts) < 1.2 * len(_normal(list(SENTENCES)))
    assert _normal(texts).count("black") <= 6
    assert _recall(texts, SENTENCES) > 0.33
    late = [word.text for word in heard.words if word.start_s is not None and word.start_s > 25]
    assert {"fire", "went", "out"} <= set(_normal(late))
    starts = [word.start_s for word in heard.words]
    assert starts == sorted(starts)
    assert listener.listen(audio, language="en") == heard  # the same words on every run


def test_a_30_s_recording_whose_prompted_window_gives_next_to_no_words() -> None:
    """Exactly 30.0 s (480,000 samples) of speech, read as one window: tiny.en, prompted with
    fillers, wrote one word ("The") for it and skipped the rest as if silent; read again
    without the prompt it gets its words."""
    samples = np.tile(spoken().samples, 2)[: 30 * WHISPER_SAMPLE_RATE]
    heard = WhisperListener().listen(Audio(samples, WHISPER_SAMPLE_RATE), language="en")
    assert len(heard.words) > 50
    assert _recall([word.text for word in heard.words], SENTENCES[2:5]) > 0.6


def test_speech_that_repeats_itself_keeps_its_words() -> None:
    """A sentence said eight times reads as a loop would; beam search hears it the same, so
    the words are taken as said (before that rule: none at all)."""
    heard = WhisperListener().listen(spoken(("I love you.",) * 8), language="en")
    assert _normal([word.text for word in heard.words]).count("love") >= 6
