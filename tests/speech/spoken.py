"""Long English speech for the Whisper tests: tongue-twister sentences spoken by eSpeak NG."""

from __future__ import annotations

import numpy as np

from gioconda.speech.audio import Audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.whisper import WHISPER_SAMPLE_RATE

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


def spoken(sentences: tuple[str, ...] = SENTENCES, voice: str = "en-us") -> Audio:
    """``sentences`` by eSpeak NG's ``voice`` at Whisper's 16 kHz, half a second of silence
    after each."""
    pause = np.zeros(WHISPER_SAMPLE_RATE // 2, np.float32)
    pieces = []
    for sentence in sentences:
        speech = resample(synthesize(sentence, voice=voice).audio, WHISPER_SAMPLE_RATE)
        pieces += [speech.samples, pause]
    return Audio(np.concatenate(pieces), WHISPER_SAMPLE_RATE)
