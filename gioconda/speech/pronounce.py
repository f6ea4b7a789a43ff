"""How a written word moves the mouth: its visemes, in any language eSpeak NG reads.

English words come from the CMU pronouncing dictionary that the ``pocketsphinx`` wheel
carries (ARPAbet, the pronunciation real US speakers use: on the real English recordings it
placed the mouth better than eSpeak's rules, frame accuracy 0.63 against 0.58 on CMU
ARCTIC); words it lacks, numerals ("5" is read "five"), and every other language go through
eSpeak NG's phonemizer, whose IPA is mapped to visemes with :func:`ipa_to_viseme`.

Japanese is mostly written in kanji, which eSpeak NG's Japanese voice cannot read (it reads
kana only). :func:`words_viseme_variants` first reads a Japanese transcript as kana with
Janome (a pure-Python morphological analyser with the IPADIC dictionary inside): the whole
text at once, so that each word takes its reading in context (東京 is トーキョー, not 東 and
京 read alone), and the particle は is said ワ.

A word eSpeak cannot read in the language asked (it then switches to another language, as
it does for kanji Janome does not know) has no pronunciation: None, so that the caller lets
the network alone place the mouth there.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gioconda.speech.espeak import ESpeakEngine
from gioconda.speech.visemes import arpabet_to_viseme, ipa_to_viseme

if TYPE_CHECKING:
    from janome.tokenizer import Tokenizer

#: eSpeak NG's voice for a Whisper language code where the code itself is not one.
_ESPEAK_VOICES = {"en": "en-us", "zh": "cmn", "jw": "jv", "haw": "haw"}
# eSpeak marks a stretch it reads in another language with the language's name in
# parentheses ("(en)", "(͡e͡n)" with ties): the word's own language could not read it.
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")
_TIE = "\u0361"
# Not part of how a word sounds: punctuation around it (apostrophes inside are kept).
_WORD_EDGES = re.compile(r"^[^\w']+|[^\w']+$")
# Fillers said with the lips shut the whole time, however written ("um", "umm", "hmm",
# "mm", "mhm", "mm-hmm"): besides the dictionary's pronunciation, a hum alone (a closure
# the alignment chooses where the recording has no vowel before the /m/).
_HUM_FILLER = re.compile(r"u+h?m+|h*m+|m+-?h*m+")
_CMU_LOCK = threading.Lock()
_JANOME_LOCK = threading.Lock()
# Hiragana and katakana (with the long-vowel mark and iteration marks): what eSpeak NG's
# Japanese voice reads; katakana is hiragana's code point + 0x60.
_HIRAGANA = re.compile(r"[\u3041-\u3096\u309d\u309e]")
_KANA = re.compile(r"[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]")
# Small kana join the mora before them (キョ is one mora, not two).
_SMALL_KANA = set("ァィゥェォャュョヮ")


@functools.cache
def _cmu_dictionary() -> dict[str, str]:
    """The CMU dictionary as the pocketsphinx wheel ships it: word -> its pronunciations as
    the file writes them, one a line, the dictionary's first (most common) first, then its
    variants (``and(2)``...); :func:`_cmu_pronunciations` splits a word's into phones.

    Kept as text: splitting all 126,000 words into phones cost 0.4-0.5 s in each ``animate``
    (on the way between the recognition and the first frame), for the hundred words looked up.
    """
    from pocketsphinx import get_model_path

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    entries: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            word_and_phones = line.split(None, 1)
            if len(word_and_phones) < 2:
                continue  # a word with no phones
            word, phones = word_and_phones
            word = word.split("(", 1)[0]
            known = entries.get(word)
            entries[word] = phones if known is None else f"{known}\n{phones}"
    return entries


#: ARPAbet vowels (stress digits removed).
ARPABET_VOWELS = frozenset(
    {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
)
# Vowels that a non-rhotic accent ends with a schwa glide where the dictionary writes a
# post-vocalic /r/ ("here" /hɪə/, "sure" /ʃʊə/); after the others the /r/ just goes ("car"
# /kɑː/, "four" /fɔː/, "there" /ðɛː/).
_CENTRING_BEFORE_R = frozenset({"IY", "IH", "UH", "UW"})


def non_rhotic(
    phones: Sequence[str],
    before_vowel: bool = False,
    stressed_er: Sequence[bool] | None = None,
) -> tuple[str, ...]:
    """A CMU pronunciation (ARPAbet without stress, as PocketSphinx's dictionary writes it)
    as a non-rhotic accent (British, Australian...) says it.

    An /r/ is said only before a vowel: a post-vocalic R is dropped (after a high vowel a
    schwa glide, AH, is left: "here" /hɪə/), an unstressed ER is a schwa (AH: "water" W AO T
    AH). A stressed ER (the NURSE vowel of "her", "turned") is kept: its mouth is drawn as
    the dictionary's. ``before_vowel``: the next word begins with a vowel, so that a final
    /r/ is said (the linking /r/ of "far away", "offer any"). ``stressed_er``: whether each
    ER of ``phones``, in order, is stressed (:func:`_stressed_er`); None: only an ER that is
    the word's first vowel.

    Examples
    --------
    >>> non_rhotic(("W", "AO", "T", "ER"))
    ('W', 'AO', 'T', 'AH')
    >>> non_rhotic(("HH", "IY", "R"))
    ('HH', 'IY', 'AH')
    >>> non_rhotic(("W", "AO", "T", "ER"), before_vowel=True)
    ('W', 'AO', 'T', 'ER')
    """
    bases = [phone.rstrip("012") for phone in phones]
    if stressed_er is None:
        first_vowel = next((i for i, b in enumerate(bases) if b in ARPABET_VOWELS), None)
        stressed_er = [i == first_vowel for i, b in enumerate(bases) if b == "ER"]
    stress = iter(stressed_er)
    said: list[str] = []
    for i, (phone, base) in enumerate(zip(phones, bases, strict=True)):
        vowel_next = bases[i + 1] in ARPABET_VOWELS if i + 1 < len(phones) else before_vowel
        if base == "ER":
            stressed = next(stress, True)
            said.append(phone if stressed or vowel_next else "AH")
        elif base == "R" and i > 0 and not vowel_next and bases[i - 1] in ARPABET_VOWELS:
            if bases[i - 1] in _CENTRING_BEFORE_R:
                said.append("AH")
        else:
            said.append(phone)
    return tuple(said)


@functools.cache
def _stressed_er(word: str, count: int) -> tuple[bool, ...] | None:
    """Whether each of the ``count`` ER of a word's CMU pronunciation is stressed, from
    eSpeak NG's US English reading (its stressed NURSE vowel ɜ against the unstressed ɚ:
    "further" fˈɜːðɚ, "percent" pɚsˈɛnt); None where eSpeak reads another number of them."""
    ipa = ESpeakEngine.shared().text_to_ipa(word, "en-us")
    read = tuple(char in "ɜɝ" for char in ipa if char in "ɜɚɝ")
    return read if len(read) == count else None


def _starts_with_vowel(word: str) -> bool:
    """Whether an English word is said beginning with a vowel: its first CMU pronunciation,
    or, where the dictionary lacks it, eSpeak NG's reading ("8" is "eight", "11th"
    "eleventh", "über" begins with its ü)."""
    pronunciations = cmu_pronunciations(word)
    if pronunciations:
        return pronunciations[0][0].rstrip("012") in ARPABET_VOWELS
    text = _WORD_EDGES.sub("", word).lower()
    return bool(text) and _read_with_a_vowel_first(text)


@functools.cache
def _read_with_a_vowel_first(text: str) -> bool:
    """Whether eSpeak NG's US English reading of ``text`` begins with a vowel."""
    ipa = ESpeakEngine.shared().text_to_ipa(text, "en-us")
    return ipa.lstrip("ˈˌ ")[:1] in _IPA_VOWEL_LETTERS


# The IPA's vowel letters (a glide, j or w, is a consonant here: "the one", "the union").
_IPA_VOWEL_LETTERS = frozenset("aeiouyæɑɒɔəɛɜɪʊʌɐɚɝøœɨʉɯɤɘɵɞɶ")
# A written word that is said: it has a letter or a digit (not a lone mark or apostrophe).
_SAID = re.compile(r"\w")
# Punctuation that ends a clause, after a word (a title's abbreviation excepted: "Mr. Anderson").
_ENDS_CLAUSE = re.compile(
    r"(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bJr)[.!?;:…]\W*$", re.I
)
#: Words whose form is set by the next word's first sound: before a consonant only this one
#: is said ("the" is /ðə/ in "the table"; /ði/ is left for a vowel, "the apple", and for
#: emphasis). On the real English recordings the acoustic choice between the dictionary's
#: two took /ði/ before consonants ("the chill", "across the table", labelled /ðə/).
_BEFORE_CONSONANT: dict[str, tuple[str, ...]] = {"the": ("DH", "AH")}


def english_pronunciations(
    words: Sequence[str], rhotic: bool = True
) -> list[tuple[tuple[str, ...], ...] | None]:
    """Each English word's CMU pronunciations (ARPAbet, the most common first; None if the
    dictionary lacks it), read in context: "the" before a consonant is only /ðə/
    (:data:`_BEFORE_CONSONANT`); as a rhotic speaker says them or, ``rhotic`` False, a
    non-rhotic one (:func:`non_rhotic`: a final /r/ before a vowel is said).

    Examples
    --------
    >>> english_pronunciations(["the", "table"])[0]
    (('DH', 'AH'),)
    >>> english_pronunciations(["the", "apple"])[0]
    (('DH', 'AH'), ('DH', 'IY'))
    """
    said: list[tuple[tuple[str, ...], ...] | None] = []
    spoken = [i for i, word in enumerate(words) if _SAID.search(word)]
    following = dict(itertools.pairwise(spoken))  # the next word said (not a lone mark)
    for i, word in enumerate(words):
        text = _WORD_EDGES.sub("", word).lower()
        pronunciations = cmu_pronunciations(text)
        # The word said next, run on: none across a clause's end ("... as ever. And": no
        # linking /r/ over the pause).
        after = following.get(i)
        run_on = after is not None and not any(_ENDS_CLAUSE.search(w) for w in words[i:after])
        before_vowel = after is not None and run_on and _starts_with_vowel(words[after])
        if text in _BEFORE_CONSONANT and run_on and not before_vowel:
            pronunciations = (_BEFORE_CONSONANT[text],)
        if pronunciations and not rhotic:
            pronunciations = tuple(
                dict.fromkeys(
                    non_rhotic(
                        phones,
                        before_vowel,
                        _stressed_er(text, phones.count("ER")) if "ER" in phones else None,
                    )
                    for phones in pronunciations
                )
            )
        said.append(pronunciations)
    return said


def _cmu_pronunciations(word: str) -> tuple[tuple[str, ...], ...] | None:
    """A lower-case word's pronunciations in ARPAbet from the CMU dictionary, the most common
    first; None if it has none."""
    phones = _cmu_dictionary().get(word)
    if phones is None:
        return None
    return tuple(tuple(line.split()) for line in phones.split("\n"))


def cmu_pronunciations(word: str) -> tuple[tuple[str, ...], ...] | None:
    """A written word's pronunciations in the CMU dictionary (ARPAbet, the most common
    first), out of context; None if it has none. Looked up in lower case, without the
    punctuation around it."""
    text = _WORD_EDGES.sub("", word).lower()
    if not text:
        return None
    with _CMU_LOCK:
        return _cmu_pronunciations(text)


def cmu_pronunciation(word: str) -> tuple[str, ...] | None:
    """A word's most common pronunciation in the CMU dictionary (ARPAbet, as the file writes
    it), or None if it has none; the word is looked up in lower case."""
    with _CMU_LOCK:
        pronunciations = _cmu_pronunciations(word.lower())
    return pronunciations[0] if pronunciations else None


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


def word_viseme_variants(
    word: str,
    language: str,
    pronunciations: tuple[tuple[str, ...], ...] | None = None,
) -> tuple[tuple[str, ...], ...] | None:
    """Every way a word is said that moves the mouth differently, the most common first.

    English words in the CMU dictionary have its variants ("to" as T UW1 and as the reduced
    T AH0; "wind" the noun and the verb); those that give the same visemes are one. An
    English filler hummed with shut lips ("um", "hmm", "mm", "mhm") may also be a hum alone
    (``("PP",)``). Other words have one pronunciation. None and empty as :func:`word_visemes`.
    ``pronunciations``: an English word's ARPAbet pronunciations to use instead of the
    dictionary's (as :func:`english_pronunciations` reads them in context).

    Examples
    --------
    >>> word_viseme_variants("to", "en")
    (('DD', 'ou'), ('DD', 'ih'), ('DD', 'aa'))
    """
    text = _WORD_EDGES.sub("", word)
    if not text:
        return ((),)
    if language == "en":
        if pronunciations is None:
            pronunciations = cmu_pronunciations(text)
        if _HUM_FILLER.fullmatch(text.lower()):
            pronunciations = (*(pronunciations or ()), ("M",))
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
    if language == "ja" and not all(_KANA.fullmatch(char) for char in text):
        text = _WORD_EDGES.sub("", japanese_readings([text])[0])
    read = ipa_visemes(ESpeakEngine.shared().text_to_ipa(text, voice, tie=True))
    return None if read is None else (read,)


def words_viseme_variants(
    words: Sequence[str], language: str, rhotic: bool = True
) -> list[tuple[tuple[str, ...], ...] | None]:
    """:func:`word_viseme_variants` of each word of one transcript, read in context.

    Japanese words are first read as kana (:func:`japanese_readings`); English words as
    :func:`english_pronunciations` gives them ("the" before a consonant; a non-rhotic
    speaker's final /r/ said before a vowel); other languages word by word.

    Parameters
    ----------
    words: the transcript's words in order, as written (Whisper splits Japanese into
        characters and short runs: "水", "を", "変", "わ")
    language: ISO 639-1 code

    Returns
    -------
    One entry per word, as :func:`word_viseme_variants` gives it (a word of a kanji token
    that Janome reads but that Whisper split: its share of the reading).

    Examples
    --------
    >>> words_viseme_variants(["水", "を"], "ja")
    [(('PP', 'ih', 'SS', 'ou'),), (('oh',),)]
    """
    if language == "ja":
        words = japanese_readings(words)
    if language == "en":
        said = english_pronunciations(words, rhotic)
        return [
            word_viseme_variants(word, language, phones)
            for word, phones in zip(words, said, strict=True)
        ]
    return [word_viseme_variants(word, language) for word in words]


@functools.cache
def _janome_tokenizer() -> Tokenizer:
    """Janome's tokenizer, loaded once per process and only when Japanese is read (its
    dictionary is memory-mapped: about 0.4 s and 90 MB resident on first use)."""
    from janome.tokenizer import Tokenizer

    return Tokenizer()


def _katakana(text: str) -> str:
    return _HIRAGANA.sub(lambda m: chr(ord(m.group()) + 0x60), text)


def _morae(kana: str) -> list[str]:
    morae: list[str] = []
    for char in kana:
        if morae and char in _SMALL_KANA:
            morae[-1] += char
        else:
            morae.append(char)
    return morae


def _split_reading(surface: str, reading: str) -> list[str]:
    """``reading`` (katakana) cut into one piece per character of ``surface``.

    Kana in the surface stand for themselves; each run of kanji takes the reading between
    them, shared out by morae in proportion to its characters (東京 -> トウ, キョウ). Where
    the surface's kana are not found in the reading, the whole token is shared out so.
    """
    runs = re.findall(r"[^\u3041-\u3096\u30a1-\u30fa\u30fc]+|.", surface)
    pattern = "".join(
        "(.+)" if not _KANA.fullmatch(run) else re.escape(_katakana(run)) for run in runs
    )
    match = re.fullmatch(pattern, reading)
    if match is None:
        runs, groups = [surface], [reading]
    else:
        kanji_readings = iter(match.groups())
        groups = [
            next(kanji_readings) if not _KANA.fullmatch(run) else _katakana(run) for run in runs
        ]
    pieces: list[str] = []
    for run, kana in zip(runs, groups, strict=True):
        morae = _morae(kana)
        cuts = [round(i * len(morae) / len(run)) for i in range(len(run) + 1)]
        pieces.extend("".join(morae[a:b]) for a, b in itertools.pairwise(cuts))
    return pieces


def japanese_readings(words: Sequence[str]) -> list[str]:
    """Japanese words as kana, each read in the context of the whole text.

    Janome tokenizes the words joined; a token inside one word is written as it is said
    (its pronunciation field: トーキョー, ワ for the particle は); a token split over several
    words has its reading shared out among them (:func:`_split_reading`). Tokens Janome has
    no reading for (words outside its dictionary, Latin letters, digits) stay as written.

    Examples
    --------
    >>> japanese_readings(["東京", "に", "行き", "ます"])
    ['トーキョー', 'ニ', 'イキ', 'マス']
    """
    text = "".join(words)
    with _JANOME_LOCK:
        tokens = list(_janome_tokenizer().tokenize(text))
    if "".join(token.surface for token in tokens) != text:
        return list(words)  # not expected; the words as written are still read as today
    # Which word each character of the text belongs to.
    owner = [i for i, word in enumerate(words) for _ in word]
    read = [""] * len(words)
    at = 0
    for token in tokens:
        surface = token.surface
        first, last = owner[at], owner[at + len(surface) - 1]
        at += len(surface)
        reading = token.reading if token.reading != "*" else None
        said = token.phonetic if token.phonetic != "*" else reading
        if reading is None or said is None or not _KANA.fullmatch(reading[:1] or "x"):
            # No reading (outside the dictionary) or not Japanese: as written.
            for i, char in zip(owner[at - len(surface) : at], surface, strict=True):
                read[i] += char
        elif first == last:
            read[first] += said
        else:
            pieces = _split_reading(surface, reading)
            for i, piece in zip(owner[at - len(surface) : at], pieces, strict=True):
                read[i] += piece
    return read
