"""Text to speech behind one call: :func:`speak` chooses Piper, Kokoro-82M or eSpeak NG by the
voice's name; whichever it is, the synthesizer's own phone timings come with the audio.
"""

from __future__ import annotations

import unicodedata

from gioconda.errors import GiocondaError
from gioconda.speech import piper
from gioconda.speech.espeak import SynthesizedSpeech
from gioconda.speech.espeak import synthesize as espeak_synthesize
from gioconda.speech.kokoro import (
    DEFAULT_KOKORO_VOICE,
    VOICE_PREFIX,
    list_voices,
    parse_voice,
    synthesize,
)

#: The voice used when none is named: Piper's joe, a native speaker of American English (the
#: Kokoro voices are Japanese speakers reading English); Kokoro's jm_kumo where Piper is not
#: installed.
DEFAULT_VOICE = "joe" if piper.is_installed("joe") else DEFAULT_KOKORO_VOICE


def is_kokoro_voice(voice: str) -> bool:
    """Whether ``voice`` names Kokoro: ``"kokoro:..."``, or a name or blend of its voices."""
    if voice.strip().lower().startswith(VOICE_PREFIX):
        return True
    try:
        names = set(list_voices())
        return all(name in names for name, _ in parse_voice(voice))
    except GiocondaError:  # not a blend, or Kokoro is not installed
        return False


def is_english_script(text: str) -> bool:
    """Whether the text's letters (if any) are nearly all Latin: what Kokoro can be given."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return latin >= 0.9 * len(letters)


def synthesizer_of(voice: str) -> str:
    """Which synthesizer speaks ``voice``, in words (for ``-v``)."""
    if piper.voice_name(voice) is not None:
        return "Piper (VITS, ONNX)"
    if is_kokoro_voice(voice):
        return "Kokoro-82M (int8 ONNX)"
    return "eSpeak NG"


def speak(text: str, voice: str = DEFAULT_VOICE) -> SynthesizedSpeech:
    """Speak ``text`` with Piper, Kokoro or eSpeak NG, whichever ``voice`` names.

    Parameters
    ----------
    text: what to say
    voice: Piper's ``"joe"`` (``"piper:joe"``); a Kokoro voice or blend (``"jm_kumo"``,
        ``"kokoro:jf_alpha"``, ``"jm_kumo:0.7,jf_alpha:0.3"``), spoken in English; or an
        eSpeak NG voice
        (``"en-us"``, ``"fr-fr"``, ``"de+f3"``, ...) for any of its languages

    Raises
    ------
    GiocondaError: the voice is unknown to both, or a Kokoro voice is given text in a
    script other than Latin (choose an eSpeak NG voice for that language).
    """
    if piper.voice_name(voice) is not None:
        if not is_english_script(text):
            raise GiocondaError(
                f"the Piper voice {voice!r} speaks English; for this text choose an eSpeak NG "
                "voice for its language (gioconda voices)"
            )
        return piper.synthesize(text, voice)
    if not is_kokoro_voice(voice):
        return espeak_synthesize(text, voice=voice)
    if not is_english_script(text):
        raise GiocondaError(
            f"the Kokoro voice {voice!r} speaks English; for this text choose an eSpeak NG "
            "voice for its language (gioconda voices)"
        )
    return synthesize(text, voice)
