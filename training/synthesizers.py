"""The speech synthesizers that make training data, behind one small interface.

Each synthesizer says which (voice, speaker) pairs it can speak a language with, and speaks
a text with one of them at a random rate and pitch, returning audio with exact phone timings.
Adding one (Kokoro, say) takes: a class with the members of :class:`Synthesizer` (its
``voices`` maps our language codes to its voices, its ``speak`` calls
``KokoroVoice().synthesize(text, voice=..., speed=...)`` with a random speed), a line in
:data:`SYNTHESIZERS`, its module in :data:`OPTIONAL_MODULES` so that it is used only where it
is installed, and its held-out voices in :data:`training.splits.HELD_OUT_SPEAKERS`.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Protocol

import numpy as np

from gioconda.speech.espeak import SynthesizedSpeech, synthesize
from training.texts import LANGUAGES

#: eSpeak NG speaking rate, words per minute, and base pitch (0-100), drawn uniformly.
ESPEAK_WORDS_PER_MINUTE = (110, 300)
ESPEAK_PITCH = (20, 80)
#: eSpeak variants whose voice sounds female or like a child (median F0 above 150 Hz on
#: en-us at pitch 50), drawn as often as all the others together to balance the sexes.
ESPEAK_HIGH_VARIANTS: frozenset[str] = frozenset({
    "alicia", "andrea", "anika", "anikarobot", "annie", "aunty", "belinda", "caleb", "f1",
    "f2", "f3", "f4", "f5", "grandma", "linda", "shelby", "steph", "steph2", "steph3",
    "whisperf", "zac",
})  # fmt: skip
#: eSpeak's plain voice of each language is what most users of eSpeak hear: drawn as often as
#: this many variants.
ESPEAK_PLAIN_WEIGHT = 5.0


class Synthesizer(Protocol):
    """A text-to-speech engine with phone timings."""

    #: Short name, stored with every utterance and used by :mod:`training.splits`.
    name: str

    def voices(self, language: str) -> list[tuple[str, str]]:
        """(voice, speaker) pairs that speak ``language``; empty if it cannot.

        ``voice`` is what :meth:`speak` needs; ``speaker`` is the unit that splits hold out.
        """
        ...

    def speaker_weight(self, speaker: str) -> float:
        """Relative probability of drawing ``speaker`` (to balance voices)."""
        ...

    def speak(
        self, text: str, voice: str, rng: np.random.Generator
    ) -> tuple[SynthesizedSpeech, str]:
        """Speak ``text``; the speech and its settings in words (``"wpm=180 pitch=40"``)."""
        ...


class ESpeakSynthesizer:
    """eSpeak NG through :func:`gioconda.speech.synthesize`: every language and variant.

    eSpeak is not a pure function of its input: it draws random numbers (seeded from the
    clock unless told otherwise) and keeps state from one utterance to the next (the phase of
    its pitch flutter, for one). :meth:`speak` seeds its generator from ``rng``; the caller
    must also give each run of utterances a fresh process, in a fixed order, for the output
    to be reproducible (``make_data`` does).
    """

    name = "espeak"

    def __init__(self) -> None:

        from gioconda.speech.espeak import ESpeakEngine, list_voices

        self._available = set(list_voices())
        # The plain voice ("") and every variant of eSpeak's voices/!v folder.
        self._speakers = ["", *ESpeakEngine.shared().variants()]
        n_high = sum(s in ESPEAK_HIGH_VARIANTS for s in self._speakers)
        self._high_weight = (len(self._speakers) - n_high) / max(n_high, 1)

    def voices(self, language: str) -> list[tuple[str, str]]:
        lang = LANGUAGES.get(language)
        if lang is None:
            return []
        bases = [v for v in lang.espeak_voices if v in self._available]
        return [(f"{base}+{s}" if s else base, s) for base in bases for s in self._speakers]

    def speaker_weight(self, speaker: str) -> float:
        if not speaker:
            return ESPEAK_PLAIN_WEIGHT
        return self._high_weight if speaker in ESPEAK_HIGH_VARIANTS else 1.0

    def speak(
        self, text: str, voice: str, rng: np.random.Generator
    ) -> tuple[SynthesizedSpeech, str]:
        wpm = int(rng.integers(ESPEAK_WORDS_PER_MINUTE[0], ESPEAK_WORDS_PER_MINUTE[1] + 1))
        pitch = int(rng.integers(ESPEAK_PITCH[0], ESPEAK_PITCH[1] + 1))
        seed = int(rng.integers(1, 2**31))
        speech = synthesize(text, voice=voice, words_per_minute=wpm, pitch=pitch, seed=seed)
        return speech, f"wpm={wpm} pitch={pitch}"


class KokoroSynthesizer:
    """Kokoro-82M (:mod:`gioconda.kokoro`): a natural neural timbre, English only.

    About real time on this CPU, so it gets a small share of the utterances; its speakers
    are its five voices, and blends of two of them for the training split.
    """

    name = "kokoro"

    def __init__(self) -> None:
        from gioconda.speech import kokoro

        self._kokoro = kokoro
        self._voices = kokoro.list_voices()

    def voices(self, language: str) -> list[tuple[str, str]]:
        if language != "en":
            return []
        singles = [(v, v) for v in self._voices]
        # Blends only of voices that no split holds out, so none leaks into training.
        free = [v for v in self._voices if v not in KOKORO_HELD_OUT]
        # A blend's voice is "a+b": speak() draws its mix afresh for every utterance.
        blends = [(f"{a}+{b}", f"{a}+{b}") for i, a in enumerate(free) for b in free[i + 1 :]]
        return singles + blends

    def speaker_weight(self, speaker: str) -> float:
        return 1.0

    def speak(
        self, text: str, voice: str, rng: np.random.Generator
    ) -> tuple[SynthesizedSpeech, str]:
        speed = float(np.round(rng.uniform(*KOKORO_SPEED), 2))
        accent = "en-gb" if rng.random() < 0.3 else "en-us"
        if "+" in voice:
            # Any mix of two style vectors is another plausible voice: a continuum of
            # speakers between each pair rather than one midpoint.
            first, second = voice.split("+")
            share = float(np.round(rng.uniform(*KOKORO_BLEND_SHARE), 2))
            voice = f"{first}:{share},{second}:{1.0 - share:.2f}"
        speech = self._kokoro.synthesize(text, voice=voice, speed=speed, language=accent)
        return speech, f"voice={voice} speed={speed} accent={accent}"


#: Kokoro voices held out of training (valid and test), as in training/splits.py.
KOKORO_HELD_OUT = ("jf_tebukuro", "jf_nezumi")
#: Kokoro's speaking rates (1.0 = the model's own).
KOKORO_SPEED = (0.75, 1.4)
#: Share of the first voice in a two-voice blend, drawn uniformly.
KOKORO_BLEND_SHARE = (0.15, 0.85)


#: Every synthesizer by name, with its relative share of the utterances (each utterance draws
#: a synthesizer first, then one of the languages it speaks).
SYNTHESIZERS: dict[str, tuple[type, float]] = {
    "espeak": (ESpeakSynthesizer, 1.0),
    # Slow (about real time on 2 cores): opt in with --synthesizers espeak,kokoro.
    "kokoro": (KokoroSynthesizer, 0.25),
}
#: Synthesizers that need a module which may not be installed, and that module.
OPTIONAL_MODULES: dict[str, str] = {"kokoro": "gioconda.speech.kokoro"}


def available_synthesizers() -> list[str]:
    """Names of the synthesizers that can run here (their modules are installed)."""
    return [
        name
        for name in SYNTHESIZERS
        if name not in OPTIONAL_MODULES or importlib.util.find_spec(OPTIONAL_MODULES[name])
    ]


@functools.cache
def get_synthesizer(name: str) -> Synthesizer:
    """The process's instance of the named synthesizer (created on first use)."""
    return SYNTHESIZERS[name][0]()
