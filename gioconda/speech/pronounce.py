"""How a written word moves the mouth: its visemes, in any language eSpeak NG reads.

English words come from the CMU pronouncing dictionary that the ``pocketsphinx`` wheel
carries (ARPAbet, the pronunciation real US speakers use: on the real English recordings it
placed the mouth better than eSpeak's rules, frame accuracy 0.63 against 0.58 on CMU
ARCTIC); words it lacks, numerals ("5" is read "five"), and every other language go through
eSpeak NG's phonemizer, whose IPA is mapped to visemes with :func:`ipa_to_viseme`.

A word eSpeak cannot read in the language asked (it then switches to another language, as
it does for kanji in Japanese) has no pronunciation: None, so that the caller lets the
network alone place the mouth there.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import unicodedata

from gioconda.speech.espeak import ESpeakEngine
from gioconda.speech.visemes import arpabet_to_viseme, ipa_to_viseme

#: eSpeak NG's voice for a Whisper language code where the code itself is not one.
_ESPEAK_VOICES = {"en": "en-us", "zh": "cmn", "jw": "jv", "haw": "haw"}
# eSpeak marks a stretch it reads in another language with the language's name in
# parentheses ("(en)", "(͡e͡n)" with ties): the word's own language could not read it.
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")
_TIE = "\u0361"
# Not part of how a word sounds: punctuation around it (apostrophes inside are kept).
_WORD_EDGES = re.compile(r"^[^\w']+|[^\w']+$")
_CMU_LOCK = threading.Lock()


@functools.cache
def _cmu_dictionary() -> dict[str, tuple[tuple[str, ...], ...]]:
    """The CMU dictionary as the pocketsphinx wheel ships it: word -> its pronunciations in
    ARPAbet, the dictionary's first (most common) first, then its variants (``and(2)``...).
    """
    from pocketsphinx import get_model_path

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    entries: dict[str, list[tuple[str, ...]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, *phones = line.split()
            if phones:
                entries.setdefault(word.split("(")[0], []).append(tuple(phones))
    return {word: tuple(variants) for word, variants in entries.items()}


def espeak_voice(language: str) -> str | None:
    """eSpeak NG's voice for an ISO 639-1 code (Whisper's), or None if it has none."""
    voice = _ESPEAK_VOICES.get(language, language)
    return voice if ESpeakEngine.shared().resolve(voice) is not None else None


def ipa_visemes(ipa: str) -> tuple[str, ...] | None:
    """The visemes of an IPA string as eSpeak NG writes it with ties (``"d͡ʒˈʌd͡ʒ"``).

    Pauses, stress, length and tone marks make no viseme of their own. None where the IPA
    holds a language switch (the word could not be read in its language).

    Examples
    --------
    >>> ipa_visemes("stˈɛp")
    ('SS', 'DD', 'E', 'PP')
    """
    if _LANGUAGE_SWITCH.search(ipa.replace(_TIE, "")):
        return None
    phones: list[str] = []
    for char in unicodedata.normalize("NFD", ipa):
        joins = phones and (
            phones[-1].endswith(_TIE) or unicodedata.combining(char) or char in "ːˑ"
        )
        if joins:
            phones[-1] += char
        else:
            phones.append(char)
    # A mark alone (stress, tone number, aspiration) has no viseme of its own: it modifies
    # the phone before, whose shape the mouth holds.
    visemes = (ipa_to_viseme(phone, "sil") for phone in phones)
    return tuple(v for v in visemes if v != "sil")


def word_visemes(word: str, language: str) -> tuple[str, ...] | None:
    """The visemes of one written word, in order (repeats kept: "pop" is PP oh PP).

    Parameters
    ----------
    word: as written or as Whisper heard it ("Hello,", "5", "l'homme", "水")
    language: ISO 639-1 code

    Returns
    -------
    The visemes (no ``sil``) of its most common pronunciation; empty for punctuation alone;
    None where no pronunciation is known (a language eSpeak NG lacks, a script it cannot read
    in that language).

    Examples
    --------
    >>> word_visemes("Bob,", "en")
    ('PP', 'aa', 'PP')
    """
    variants = word_viseme_variants(word, language)
    return None if variants is None else variants[0]


def word_viseme_variants(word: str, language: str) -> tuple[tuple[str, ...], ...] | None:
    """Every way a word is said that moves the mouth differently, the most common first.

    English words in the CMU dictionary have its variants ("to" as T UW1 and as the reduced
    T AH0; "wind" the noun and the verb); those that give the same visemes are one. Other
    words have one pronunciation. None and empty as :func:`word_visemes`.

    Examples
    --------
    >>> word_viseme_variants("to", "en")
    (('DD', 'ou'), ('DD', 'ih'), ('DD', 'aa'))
    """
    text = _WORD_EDGES.sub("", word)
    if not text:
        return ((),)
    if language == "en":
        with _CMU_LOCK:
            pronunciations = _cmu_dictionary().get(text.lower())
        if pronunciations:
            variants: list[tuple[str, ...]] = []
            for phones in pronunciations:
                visemes = tuple(arpabet_to_viseme(p) for p in phones)
                if visemes not in variants:
                    variants.append(visemes)
            return tuple(variants)
    voice = espeak_voice(language)
    if voice is None:
        return None
    read = ipa_visemes(ESpeakEngine.shared().text_to_ipa(text, voice, tie=True))
    return None if read is None else (read,)
