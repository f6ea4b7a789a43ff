"""What the synthetic speakers say: sentences of frequent words, and nonsense syllables.

No corpus can be downloaded here, so the text comes from PyPI packages: ``wordfreq`` ships the
most frequent words of some forty languages, and ``faker`` ships word lists for a few that
wordfreq lacks (Thai, Armenian, Azerbaijani, Latin). A "sentence" is 4 to 14 words drawn with
a mild preference for frequent ones, with commas and a final . ? or ! for prosody; nobody reads
its meaning, but its phonotactics and its letter-to-sound rules are the language's own.

Nonsense strings (CV/CVC syllables rich in /p b m f v/ before every vowel) drill what viewers
judge first: lips that close for /p b m/ and touch the teeth for /f v/. They are spoken by the
voices of many languages, including some twenty that have no word list here, so the network
hears those phonologies too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import regex

#: Words per sentence, inclusive.
MIN_WORDS, MAX_WORDS = 4, 14
#: Frequent words kept per language; rank r is drawn with weight (r + 10) ** -WORD_RANK_POWER.
WORDS_PER_LANGUAGE = 6000
WORD_RANK_POWER = 0.6
#: Share of utterances that are nonsense syllables, in languages that also have words.
NONSENSE_SHARE = 0.2


@dataclass(frozen=True)
class Language:
    """A language as the data generator knows it.

    Attributes
    ----------
    code: id used in splits and metadata (ISO 639-1 where there is one)
    espeak_voices: eSpeak NG voices (dialects) that speak it
    words: where its words come from: ``"wordfreq:CODE"``, ``"faker:LOCALE"``, or None
        (nonsense syllables only)
    script: Unicode script of its words (a ``regex`` script name), or "Kana" for Japanese
    nonsense: the writing of its nonsense syllables: "latin", "cyrillic", "kana", or None
    """

    code: str
    espeak_voices: tuple[str, ...]
    words: str | None
    script: str
    nonsense: str | None


def _wordfreq(code: str, voices: tuple[str, ...], script: str, nonsense: str | None) -> Language:
    return Language(code, voices, f"wordfreq:{code}", script, nonsense)


_LATIN, _CYRILLIC = "latin", "cyrillic"
_ENGLISH_VOICES = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
    "en-029", "en-us-nyc",
)  # fmt: skip
_NONSENSE_ONLY = (
    "af", "an", "cy", "eo", "et", "eu", "ga", "gd", "ht", "ia", "io", "kl", "lb", "mt", "om",
    "pap", "qu", "sq", "sw", "tn", "uz",
)  # fmt: skip

#: Every language the generator speaks, by code.
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        _wordfreq("ar", ("ar",), "Arabic", None),
        _wordfreq("bg", ("bg",), "Cyrillic", _CYRILLIC),
        _wordfreq("bn", ("bn",), "Bengali", None),
        _wordfreq("ca", ("ca", "ca-ba", "ca-nw", "ca-va"), "Latin", _LATIN),
        _wordfreq("cs", ("cs",), "Latin", _LATIN),
        _wordfreq("da", ("da",), "Latin", _LATIN),
        _wordfreq("de", ("de",), "Latin", _LATIN),
        _wordfreq("el", ("el",), "Greek", None),
        _wordfreq("en", _ENGLISH_VOICES, "Latin", _LATIN),
        _wordfreq("es", ("es", "es-419"), "Latin", _LATIN),
        _wordfreq("fa", ("fa",), "Arabic", None),
        _wordfreq("fi", ("fi",), "Latin", _LATIN),
        _wordfreq("fr", ("fr-fr", "fr-be", "fr-ch"), "Latin", _LATIN),
        _wordfreq("he", ("he",), "Hebrew", None),
        _wordfreq("hi", ("hi",), "Devanagari", None),
        _wordfreq("hu", ("hu",), "Latin", _LATIN),
        _wordfreq("id", ("id",), "Latin", _LATIN),
        _wordfreq("is", ("is",), "Latin", _LATIN),
        _wordfreq("it", ("it",), "Latin", _LATIN),
        # eSpeak reads kana; it spells kanji out in English ("Chinese letter"), so no kanji.
        _wordfreq("ja", ("ja",), "Kana", "kana"),
        _wordfreq("ko", ("ko",), "Hangul", None),
        _wordfreq("lt", ("lt",), "Latin", _LATIN),
        _wordfreq("lv", ("lv",), "Latin", _LATIN),
        _wordfreq("mk", ("mk",), "Cyrillic", _CYRILLIC),
        _wordfreq("ms", ("ms",), "Latin", _LATIN),
        _wordfreq("nb", ("nb",), "Latin", _LATIN),
        _wordfreq("nl", ("nl",), "Latin", _LATIN),
        _wordfreq("pl", ("pl",), "Latin", _LATIN),
        _wordfreq("pt", ("pt-pt", "pt-br"), "Latin", _LATIN),
        _wordfreq("ro", ("ro",), "Latin", _LATIN),
        _wordfreq("ru", ("ru",), "Cyrillic", _CYRILLIC),
        # wordfreq's "sh" is Serbo-Croatian in Latin letters, which eSpeak's four voices read.
        _wordfreq("sh", ("hbs", "hr", "sr", "bs"), "Latin", _LATIN),
        _wordfreq("sk", ("sk",), "Latin", _LATIN),
        _wordfreq("sl", ("sl",), "Latin", _LATIN),
        _wordfreq("sv", ("sv",), "Latin", _LATIN),
        _wordfreq("ta", ("ta",), "Tamil", None),
        _wordfreq("tr", ("tr",), "Latin", _LATIN),
        _wordfreq("uk", ("uk",), "Cyrillic", _CYRILLIC),
        _wordfreq("ur", ("ur",), "Arabic", None),
        _wordfreq("vi", ("vi", "vi-vn-x-central", "vi-vn-x-south"), "Latin", None),
        _wordfreq("zh", ("cmn",), "Han", None),
        # Cantonese reads the same characters with its own sounds and six tones.
        Language("yue", ("yue",), "wordfreq:zh", "Han", None),
        Language("th", ("th",), "faker:th_TH", "Thai", None),
        Language("hy", ("hy", "hy-arevela", "hy-arevmda"), "faker:hy_AM", "Armenian", None),
        Language("az", ("az",), "faker:az_AZ", "Latin", _LATIN),
        Language("la", ("la",), "faker:la", "Latin", _LATIN),
        # Nonsense only: Latin-script languages whose eSpeak voices read our syllables with
        # their own phonology (checked on their phone output).
        *(Language(code, (code,), None, "Latin", _LATIN) for code in _NONSENSE_ONLY),
    )
}


@functools.cache
def word_list(language: str) -> tuple[str, ...]:
    """The language's words, most frequent first, in its own script only.

    Words with digits, punctuation or another script (English loans in Hindi, say) are
    dropped: eSpeak would read those with another language's voice.
    """
    lang = LANGUAGES[language]
    if lang.words is None:
        return ()
    source, _, code = lang.words.partition(":")
    if source == "wordfreq":
        import wordfreq

        candidates = wordfreq.top_n_list(code, 4 * WORDS_PER_LANGUAGE)
    else:
        from faker import Faker

        candidates = list(Faker(code).get_words_list())
    if lang.script == "Kana":
        pattern = regex.compile(r"[\p{Hiragana}\p{Katakana}ー]{2,}")
    else:
        # Letters and combining marks (Indic vowel signs) of the script, apostrophes inside.
        script = rf"[\p{{Script={lang.script}}}\p{{M}}]"
        pattern = regex.compile(rf"{script}+(?:['’]{script}+)?")
    words = [w for w in candidates if pattern.fullmatch(w)]
    if lang.script == "Greek":
        # wordfreq folds the final sigma into σ; eSpeak reads that as a letter name.
        words = [regex.sub(r"σ\b", "ς", w) for w in words]
    return tuple(dict.fromkeys(words))[:WORDS_PER_LANGUAGE]


def has_words(language: str) -> bool:
    """Whether the language can speak sentences (not only nonsense)."""
    return bool(word_list(language))


def sentence(language: str, rng: np.random.Generator) -> str:
    """4-14 of the language's words, with some commas and a final . ? or !."""
    words = word_list(language)
    ranks = np.arange(len(words), dtype=np.float64)
    weights = (ranks + 10.0) ** -WORD_RANK_POWER
    picks = rng.choice(len(words), size=int(rng.integers(MIN_WORDS, MAX_WORDS + 1)),
                       p=weights / weights.sum())  # fmt: skip
    return _punctuate([words[i] for i in picks], rng)


# Nonsense syllables: onsets weighted so that about half are labials, before every vowel.
_ONSETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # script: (labial onsets, other onsets)
    "latin": (("p", "b", "m", "f", "v", "pr", "bl", "pl", "br", "fr", "fl"),
              ("t", "d", "k", "g", "s", "n", "l", "r", "z", "tr", "st", "")),
    "cyrillic": (("п", "б", "м", "ф", "в", "пр", "бл", "пл", "бр", "фр"),
                 ("т", "д", "к", "г", "с", "н", "л", "р", "з", "ш", "ч", "")),
}  # fmt: skip
_VOWELS: dict[str, tuple[str, ...]] = {
    "latin": ("a", "e", "i", "o", "u"),
    "cyrillic": ("а", "э", "и", "о", "у", "ы"),
}
_CODAS: dict[str, tuple[str, ...]] = {
    "latin": ("m", "p", "b", "f", "v", "n", "s", "t", "k", "l", "r"),
    "cyrillic": ("м", "п", "ф", "н", "с", "т", "к", "л", "р"),
}
# Kana syllables are fixed CV pairs; the labial ones are listed twice to weigh them up.
_KANA_LABIAL = "ぱぴぷぺぽばびぶべぼまみむめもふわ"
_KANA_OTHER = (
    "あいうえおかきくけこさしすせそたてとなにぬねのらりるれろやゆよがぎぐげござじずぜぞだでど"
)
_KANA = tuple(_KANA_LABIAL * 2 + _KANA_OTHER)


def nonsense(script: str, rng: np.random.Generator) -> str:
    """3-10 nonsense words of 1-3 syllables (CV, CVC, CCV) in ``script``, punctuated."""
    words = []
    for _ in range(int(rng.integers(3, 11))):
        syllables = []
        for _ in range(int(rng.integers(1, 4))):
            if script == "kana":
                syllables.append(str(rng.choice(_KANA)) + ("ん" if rng.random() < 0.1 else ""))
                continue
            labial, other = _ONSETS[script]
            onset = str(rng.choice(labial if rng.random() < 0.55 else other))
            coda = str(rng.choice(_CODAS[script])) if rng.random() < 0.3 else ""
            syllables.append(onset + str(rng.choice(_VOWELS[script])) + coda)
        words.append("".join(syllables))
    return _punctuate(words, rng)


def _punctuate(words: list[str], rng: np.random.Generator) -> str:
    """Join words with spaces, a comma after some (pauses), and end a clause."""
    parts = [w + ("," if rng.random() < 0.08 and i < len(words) - 1 else "")
             for i, w in enumerate(words)]  # fmt: skip
    end = str(rng.choice([".", "?", "!"], p=[0.7, 0.2, 0.1]))
    return " ".join(parts) + end


def utterance_text(language: str, rng: np.random.Generator) -> tuple[str, str]:
    """A text for the language and what kind it is (``"sentence"`` or ``"nonsense"``)."""
    lang = LANGUAGES[language]
    words_available = has_words(language)
    if lang.nonsense and (not words_available or rng.random() < NONSENSE_SHARE):
        return nonsense(lang.nonsense, rng), "nonsense"
    return sentence(language, rng), "sentence"
