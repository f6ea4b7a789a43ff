"""Words placed in time by PocketSphinx's acoustic model (forced alignment).

Our viseme network was trained on synthetic speech only, and its timing is what limits the
alignment of Whisper's words on real voices: the labels' own phones forced onto its
posteriors reach only 0.78 / 0.65 / 0.69 frame accuracy (hand-labelled speaker / CMU ARCTIC /
MFA recording). The ``pocketsphinx`` wheel's US English acoustic model was trained on real
speech; forced to the same words it places them better (see the README's lip-sync section).
It knows English only; Japanese words are given it as their kana reading said by eSpeak NG's
Japanese voice, each sound as the nearest English phone (:func:`foreign_ipa_to_arpabet`), and
it times real Japanese better than our network too. Which languages use it:
:data:`gioconda.speech.transcript.SPHINX_LANGUAGES`; the others keep the network's alignment.

The decoder starts with an empty dictionary and is given each word as it is needed: from
the CMU dictionary that :mod:`gioconda.speech.pronounce` already holds (the same file the
wheel ships; loading all of it into the decoder cost 90 MB and 0.5 s, the acoustic model
alone 40 MB and 0.08 s), or, for words it lacks (names, numerals), eSpeak NG's US English
pronunciation, its IPA read as ARPAbet (:func:`ipa_to_arpabet`).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import cast

import numpy as np

from gioconda.forking import become_child, can_fork, signals_held
from gioconda.speech.audio import Audio
from gioconda.speech.pronounce import cmu_pronunciation
from gioconda.speech.visemes import VISEME_INDEX, arpabet_to_viseme
from gioconda.timeline import FEATURE_HOP_S

# PocketSphinx frame f is a 25.6 ms window that starts at f * 10 ms (as in
# gioconda.speech.pocketsphinx): a boundary before frame f lies at f * 10 ms + 7.8 ms.
_FRAME_S = 0.010
_BOUNDARY_OFFSET_S = 0.0128 - _FRAME_S / 2

# The state alignment fails ("impossible duration") on some real utterances with the
# best-path pass on; the beams are wider than the defaults so that a word said fast is kept.
_ALIGN_OPTIONS: dict[str, object] = {
    "bestpath": False,
    "beam": 1e-80,
    "wbeam": 1e-60,
    "pbeam": 1e-80,
}

#: What the decoder needs to align some words in some audio: (16-bit samples at 16 kHz, the
#: dictionary's words joined, their count).
_Job = tuple[bytes, str, int]

#: A word to align: as written (its pronunciation looked up), or (as written, its ARPAbet).
SaidWord = str | tuple[str, tuple[str, ...]]

_WORD_EDGES = re.compile(r"^[^\w']+|[^\w']+$")
# eSpeak NG marks a stretch it reads in another language with the language's name in
# parentheses ("(en)"): the word's own voice could not read it.
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")

# eSpeak NG's US English IPA as ARPAbet, longest first (diphthongs and affricates before
# their parts). Stress and length marks are dropped before.
_IPA_TO_ARPABET = sorted(
    {
        "t͡ʃ": "CH", "d͡ʒ": "JH", "tʃ": "CH", "dʒ": "JH", "aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY",
        "eɪ": "EY", "oʊ": "OW", "əʊ": "OW", "ɜ": "ER", "ɝ": "ER", "ɚ": "ER", "ɪɹ": "IH R",
        "i": "IY", "ɪ": "IH", "ᵻ": "IH", "ɛ": "EH", "e": "EH", "æ": "AE", "ɐ": "AH",
        "ɑ": "AA", "ɒ": "AA", "a": "AA", "ɔ": "AO", "o": "OW", "ʊ": "UH", "u": "UW",
        "ʌ": "AH", "ə": "AH", "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G",
        "g": "G", "f": "F", "v": "V", "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH",
        "ʒ": "ZH", "h": "HH", "m": "M", "n": "N", "ŋ": "NG", "l": "L", "ɫ": "L", "ɹ": "R",
        "r": "R", "ɾ": "T", "ʔ": "T", "j": "Y", "w": "W", "x": "K", "ç": "HH",
    }.items(),
    key=lambda item: -len(item[0]),
)  # fmt: skip
_IPA_DROPPED = re.compile("[ˈˌːˑ\u0329\u032f\\s_-]")


# Other languages' sounds as the nearest US English phone of the acoustic model, for
# eSpeak NG's IPA in their own voices (diacritics removed before: "ä" is "a", "e̞" is "e").
_FOREIGN_IPA_TO_ARPABET = sorted(
    {
        **dict(_IPA_TO_ARPABET),
        "t͡s": "T S", "d͡z": "D Z", "t͡ɕ": "CH", "d͡ʑ": "JH", "ʈ͡ʂ": "CH", "ɖ͡ʐ": "JH",
        "ʦ": "T S", "ʣ": "D Z", "ʧ": "CH", "ʤ": "JH",
        "ɯ": "UW", "ɨ": "IH", "ʉ": "UW", "y": "UW", "ʏ": "UH", "ø": "UH", "œ": "UH",
        "ɵ": "UH", "ɤ": "AH", "ɘ": "AH", "ɞ": "AH", "ɶ": "AA",
        "ɕ": "SH", "ʑ": "ZH", "ʂ": "SH", "ʐ": "ZH", "ɸ": "F", "β": "V", "ʋ": "V",
        "ɽ": "T", "ɴ": "N", "ɲ": "N", "ɳ": "N", "ɭ": "L", "ʎ": "L", "ɻ": "R", "ʁ": "R",
        "ʀ": "R", "χ": "HH", "ɣ": "G", "ɦ": "HH", "ʝ": "Y", "ɟ": "JH", "c": "K", "q": "K",
        "ɰ": "W", "ɥ": "W", "ɬ": "SH",
    }.items(),
    key=lambda item: -len(item[0]),
)  # fmt: skip
_TIES = "\u0361\u035c"
_FOREIGN_LETTERS = frozenset(ipa for ipa, _ in _FOREIGN_IPA_TO_ARPABET if len(ipa) == 1)


def foreign_ipa_to_arpabet(ipa: str) -> tuple[str, ...]:
    """eSpeak NG's IPA in any language's voice as the nearest US English ARPAbet phones.

    Diacritics (nasal, lowered, voiceless...) and modifier letters (aspiration,
    palatalization) are dropped; the base letter is read; what is unknown is skipped.

    Examples
    --------
    >>> foreign_ipa_to_arpabet("mˈizɯ͡ᵝ")
    ('M', 'IY', 'Z', 'UW')
    >>> foreign_ipa_to_arpabet("t͡ɕˈo̞tto̞")
    ('CH', 'OW', 'T', 'T', 'OW')
    """
    # A letter of the table keeps its marks ("ç" is not "c"); others lose them ("ä" is "a").
    text = "".join(
        c if c in _FOREIGN_LETTERS else "".join(
            d for d in unicodedata.normalize("NFD", c)
            if d in _TIES or not (unicodedata.combining(d) or unicodedata.category(d) == "Lm")
        )
        for c in _IPA_DROPPED.sub("", unicodedata.normalize("NFC", ipa))
    )  # fmt: skip
    return _phones_of(text, _FOREIGN_IPA_TO_ARPABET)


def ipa_to_arpabet(ipa: str) -> tuple[str, ...]:
    """eSpeak NG's US English IPA (with ties) as ARPAbet phones; unknown marks are skipped.

    Examples
    --------
    >>> ipa_to_arpabet("fˈaɪv")
    ('F', 'AY', 'V')
    """
    return _phones_of(_IPA_DROPPED.sub("", unicodedata.normalize("NFC", ipa)), _IPA_TO_ARPABET)


def _phones_of(text: str, table: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """``text`` read left to right as the ARPAbet of the first of ``table``'s IPA entries
    (longest first) that it starts with at each place; a character none starts is skipped."""
    phones: list[str] = []
    i = 0
    while i < len(text):
        for ipa_phone, arpabet in table:
            if text.startswith(ipa_phone, i):
                phones += arpabet.split()
                i += len(ipa_phone)
                break
        else:
            i += 1
    return tuple(phones)


@dataclass(frozen=True)
class AlignedPhone:
    """One phone of a forced alignment.

    Attributes
    ----------
    start_s, end_s: its time in the audio aligned
    phone: ARPAbet (``SIL`` for a pause)
    word: index of the word it belongs to in the words aligned, or -1 (a pause)
    """

    start_s: float
    end_s: float
    phone: str
    word: int


class SphinxAligner:
    """Forced alignment of known English words with the ``pocketsphinx`` wheel's acoustic
    model and the CMU dictionary (nothing downloaded). Building it loads the acoustic model
    (about 0.1 s); calls are serialized, since a decoder holds one utterance at a time."""

    _shared: SphinxAligner | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        from pocketsphinx import Decoder, get_model_path

        model = os.path.join(get_model_path(), "en-us")
        self._decoder = Decoder(
            hmm=os.path.join(model, "en-us"),
            dict=os.devnull,  # words are added as they come (see the module's docstring)
            logfn=os.devnull,
            **_ALIGN_OPTIONS,
        )
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> SphinxAligner:
        """The process's aligner, built on first use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _entry(self, word: SaidWord, language: str = "en") -> str | None:
        """The dictionary entry for a written word (added from eSpeak NG if unknown), or
        None where it has no phones (punctuation alone). The caller holds the lock.

        A word of another language (Japanese: its kana reading) is said as eSpeak NG's voice
        for that language says it, each sound as the nearest English phone
        (:func:`foreign_ipa_to_arpabet`); its entry is named ``language:word``. A word given
        with its phones (``(text, ARPAbet)``: a non-rhotic speaker's "water" W AO T AH) is
        said so, its entry named after them."""
        if not isinstance(word, str):
            written, said = word
            name = re.sub(r"\s", "_", _WORD_EDGES.sub("", written).lower())
            if not said or not name:
                return None
            entry = f"{name}/{'_'.join(said)}"
            if not self._decoder.lookup_word(entry):
                self._decoder.add_word(entry, " ".join(said), True)
            return entry
        text = _WORD_EDGES.sub("", word).lower()
        if not text:
            return None
        if language != "en":
            return self._foreign_entry(text, language)
        if self._decoder.lookup_word(text):
            return text
        phones = cmu_pronunciation(text)
        if phones is None:
            from gioconda.speech.espeak import ESpeakEngine

            ipa = ESpeakEngine.shared().text_to_ipa(text, "en-us", tie=True)
            phones = ipa_to_arpabet(ipa) or None
        if phones is None:
            return None
        # The dictionary's words have no spaces; eSpeak reads "3.5" and "mm-hmm" as it can.
        entry = re.sub(r"\s", "_", text)
        self._decoder.add_word(entry, " ".join(phones), True)
        return entry

    def _foreign_entry(self, text: str, language: str) -> str | None:
        """:meth:`_entry` of a word in a language other than English."""
        from gioconda.speech.espeak import ESpeakEngine
        from gioconda.speech.pronounce import espeak_voice

        entry = re.sub(r"\s", "_", f"{language}:{text}")
        if self._decoder.lookup_word(entry):
            return entry
        voice = espeak_voice(language)
        if voice is None:
            return None
        ipa = ESpeakEngine.shared().text_to_ipa(text, voice, tie=True)
        if _LANGUAGE_SWITCH.search(ipa.replace("\u0361", "")):
            return None  # read in another language: the network alone places it (as pronounce)
        phones = foreign_ipa_to_arpabet(ipa)
        if not phones:
            return None
        self._decoder.add_word(entry, " ".join(phones), True)
        return entry

    def align(
        self, audio: Audio, words: Sequence[SaidWord], language: str = "en"
    ) -> tuple[AlignedPhone, ...] | None:
        """The words' phones placed in ``audio`` (16 kHz mono), pauses between them as
        ``SIL``; None where the alignment fails (a word PocketSphinx cannot fit in).
        ``language``: ISO 639-1 code of the words (see :meth:`_entry`)."""
        return self.align_all([(audio, words)], language)[0]

    def align_all(
        self, sections: Sequence[tuple[Audio, Sequence[SaidWord]]], language: str = "en"
    ) -> list[tuple[AlignedPhone, ...] | None]:
        """:meth:`align` of each ``(audio, words)``, the same results; where there are several,
        the later ones in a forked process while this one aligns the earlier.

        The decoder holds Python's lock, so threads cannot share the work; a child forked with
        the decoder as it is (every word already in its dictionary) aligns its sections at
        the same time on the other core. A child that fails, or is not done
        :data:`CHILD_WAIT_S` after twice the time this process's own share took, is ended and
        its sections are aligned here.
        """
        with self._lock:
            jobs = [self._job(audio, words, language) for audio, words in sections]
            # The child takes the later sections, as near half the audio as the cuts allow.
            seconds = np.cumsum(
                [0.0] + [0.0 if job is None else len(job[0]) / 32000 for job in jobs]
            )
            split = int(np.argmin(np.abs(2 * seconds - seconds[-1])))
            forked = None
            if 0 < split < len(jobs) and seconds[-1] >= MIN_FORKED_S and can_fork():
                forked = _ForkedAlignment(self, jobs[split:])
            else:
                split = len(jobs)
            started = time.monotonic()
            done = [self._run(job) for job in jobs[:split]]
            rest = None
            if forked is not None:
                # (twice this process's time: the child may have the slower core)
                rest = forked.result(CHILD_WAIT_S + 2 * (time.monotonic() - started))
            if rest is None:
                rest = [self._run(job) for job in jobs[split:]]
        return done + rest

    def _job(self, audio: Audio, words: Sequence[SaidWord], language: str = "en") -> _Job | None:
        """What the decoder needs to align ``words`` in ``audio`` (16 kHz); None where there
        is nothing to align or a word has no phones. The caller holds the lock."""
        from gioconda.speech.pocketsphinx import _to_pcm16, _with_noise_floor

        if not words or audio.duration_s <= 0:
            return None
        entries = [self._entry(word, language) for word in words]
        if any(entry is None for entry in entries):
            return None
        return _to_pcm16(_with_noise_floor(audio)), " ".join(entries), len(words)  # type: ignore[arg-type]

    def _run(self, job: _Job | None) -> tuple[AlignedPhone, ...] | None:
        """One :meth:`_job`'s alignment (None where it fails). The caller holds the lock, or
        is a forked child that owns its copy of the decoder."""
        if job is None:
            return None
        pcm, text, n_words = job
        decoder = self._decoder
        try:
            decoder.set_align_text(text)
            # Two passes: the first finds the words, the second their phones' states.
            for second in (False, True):
                if second:
                    decoder.set_alignment()
                decoder.reinit_feat()
                decoder.start_utt()
                decoder.process_raw(pcm, full_utt=True)
                decoder.end_utt()
            alignment = decoder.get_alignment()
            if alignment is None:
                return None
            phones = []
            word_index = -1
            for word in alignment:
                is_word = word.name not in ("<s>", "</s>", "<sil>")
                word_index += is_word
                for phone in word:
                    phones.append(
                        AlignedPhone(
                            phone.start * _FRAME_S + _BOUNDARY_OFFSET_S,
                            (phone.start + phone.duration) * _FRAME_S + _BOUNDARY_OFFSET_S,
                            phone.name,
                            word_index if is_word else -1,
                        )
                    )
        except RuntimeError:
            return None
        if word_index != n_words - 1:
            return None
        return tuple(phones)


#: Seconds of audio to align below which no child is forked (forking costs some 20 ms, an
#: alignment about 30 ms a second of audio).
MIN_FORKED_S = 8.0

#: Seconds a forked alignment may take beyond twice the time of this process's own share
#: before it is given up (and its sections aligned by this process).
CHILD_WAIT_S = 30.0


class _ForkedAlignment:
    """:meth:`SphinxAligner._run` of some jobs in a forked child, its results sent back."""

    def __init__(self, aligner: SphinxAligner, jobs: list[_Job | None]):
        context = multiprocessing.get_context("fork")
        # What this process has buffered would be written again by the child as it exits.
        sys.stdout.flush()
        sys.stderr.flush()
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_align_in_child, args=(aligner, jobs, sender), name="gioconda-align",
            daemon=True,
        )  # fmt: skip
        with signals_held():
            self._process.start()
        sender.close()

    def result(self, timeout_s: float) -> list[tuple[AlignedPhone, ...] | None] | None:
        """The child's results; None if it failed or took longer than ``timeout_s``."""
        try:
            if self._receiver.poll(timeout_s):
                message = self._receiver.recv()
                if message[0] == "ok":
                    return cast(list[tuple[AlignedPhone, ...] | None], message[1])
            return None
        except (EOFError, OSError):
            return None
        finally:
            self._receiver.close()
            if self._process.is_alive():
                self._process.kill()
            self._process.join()


def _align_in_child(aligner: SphinxAligner, jobs: list[_Job | None], out: Connection) -> None:
    """A forked child's work: the jobs' alignments, sent to the parent."""
    become_child()
    try:
        message: tuple[object, ...] = ("ok", [aligner._run(job) for job in jobs])
    except BaseException as error:  # the parent aligns these itself
        message = ("error", f"{type(error).__name__}: {error}")
    try:
        out.send(message)
    except OSError:
        pass  # the parent is gone


def aligned_path(
    phones: Sequence[AlignedPhone], n_hops: int, n_words: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Aligned phones as a per-hop viseme path (hop ``i`` at ``i * 10`` ms) and each word's
    hops ``(first, stop)`` (``(0, 0)`` if none), as
    :func:`~gioconda.speech.transcript.align_transcript` gives them."""
    path = np.full(n_hops, VISEME_INDEX["sil"], np.int64)
    word_of = np.full(n_hops, -1, np.int64)
    times = np.arange(n_hops) * FEATURE_HOP_S
    for phone in phones:
        inside = (times >= phone.start_s) & (times < phone.end_s)
        path[inside] = VISEME_INDEX[arpabet_to_viseme(phone.phone)]
        word_of[inside] = phone.word
    spans = []
    for w in range(n_words):
        hops = np.flatnonzero(word_of == w)
        spans.append((int(hops[0]), int(hops[-1]) + 1) if len(hops) else (0, 0))
    return path, spans
