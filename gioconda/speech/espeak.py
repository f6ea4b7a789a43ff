"""Text to speech with exact phone timings, from eSpeak NG.

eSpeak NG (through the ``espeakng-loader`` wheel, which carries the library and its data for
about a hundred languages) reports an event for every phoneme it speaks, with the sample at
which the phoneme's sound starts. Those events are the mouth's timing when the input is text.

What the events mean was measured on the waveform, not assumed (eSpeak NG 1.52):

* The event's sample is exact: there is no constant offset. The silent closure before a
  stop ends on the very sample that the stop's event names.
* But eSpeak writes a consonant's *pre-pause* (the closure of /p t k/, the short gap before
  some word-initial consonants) before the event. Taken as they come, the events give that
  silence to the previous phone, and the lips would close only at the release: 48 ms late on
  average. :func:`synthesize` gives each consonant the silence before it (then -1.5 +- 2 ms).
* A vowel after a nasal or liquid is reported only after the vowel's onset: an /m/ would
  stay closed 19 ms into its vowel. :func:`synthesize` starts such a vowel where the nasal
  is released, found on the waveform (then -1 +- 2 ms).
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import espeakng_loader
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio
from gioconda.speech.espeak_timing import (
    _give_closures_to_consonants,
    _phone_starts,
    _segments,
    _start_vowels_at_nasal_release,
)
from gioconda.speech.visemes import (
    ESPEAK_STRESS_MARKS,
    PhoneSegment,
    espeak_to_viseme,
    ipa_to_viseme,
)

#: Speaking rates that eSpeak NG accepts, in words per minute.
MIN_WORDS_PER_MINUTE, MAX_WORDS_PER_MINUTE = 80, 450


# Values from espeak-ng's speak_lib.h (API revision 12/13).
_AUDIO_OUTPUT_SYNCHRONOUS = 2


_INITIALIZE_PHONEME_EVENTS = 0x0001


_CHARS_UTF8 = 1


_EVENT_LIST_TERMINATED = 0


_EVENT_PHONEME = 7


_PARAM_RATE = 1


_PARAM_PITCH = 3


_EE_OK = 0


_POS_CHARACTER = 1


# espeak_TextToPhonemes' phonememode: IPA (UTF-8) instead of mnemonics; with the tie flag,
# bits 8-23 hold the character that joins the letters of one phoneme (d͡ʒ, a͡ɪ).
_PHONEMES_IPA = 0x02


_PHONEMES_TIE = 0x80


_IPA_TIE = "\u0361"


# Clause punctuation that text_to_ipa keeps: eSpeak's phonemizer returns the phonemes of each
# clause without it. A clause ends at such a run followed by a space or the end of the text.
_CLAUSE_END = re.compile(r"(?<=[.,;:!?…—])[\"'”’)\]]*\s+")


_CLAUSE_PUNCTUATION = re.compile(r"[.,;:!?…—]+(?=[\"'”’)\]]*$)")


class _Event(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    class _Id(ctypes.Union):
        _fields_ = [
            ("number", ctypes.c_int),
            ("name", ctypes.c_char_p),
            ("string", ctypes.c_char * 8),  # phoneme mnemonic, NUL-terminated unless 8 long
        ]

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms, truncated: we use `sample` instead
        ("sample", ctypes.c_int),  # output sample at which the event happens
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


class _Voice(ctypes.Structure):
    """``espeak_VOICE`` from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated name)*, then a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class SynthesizedSpeech:
    """Speech made from text, with when each phone is heard.

    Attributes
    ----------
    audio:
        eSpeak's output at its native rate (22050 Hz), mono float32.
    phones:
        Contiguous segments from 0 to ``audio.duration_s``; pauses have viseme ``"sil"``.
    """

    audio: Audio
    phones: tuple[PhoneSegment, ...]


@dataclass
class _Capture:
    """What one synthesis call hands back through the callback."""

    chunks: list[np.ndarray]
    events: list[tuple[int, str]]  # (sample, mnemonic)


class ESpeakEngine:
    """The eSpeak NG library, loaded and initialized once per process.

    The C library keeps global state (the current voice, its parameters, one callback), so
    every call goes through one lock, and :meth:`shared` hands out a single instance.

    Some of that state survives ``espeak_Terminate`` and ``espeak_Initialize`` (static
    variables of its wave generator, such as the phase of its pitch flutter): the same text
    spoken twice in one process differed by a few dozen samples, so a server or a batch
    worker gave a text another audio, and then other words, than a fresh process did. So
    before each utterance but the first the library is unloaded and loaded again (about
    7 ms), which gives it fresh static state: what :meth:`synthesize` returns depends on its
    arguments alone.
    """

    _shared: ESpeakEngine | None = None
    _shared_lock = threading.Lock()

    def __init__(self, library_path: str, data_path: str) -> None:
        self._library_path = library_path
        self._data_path = data_path
        self._lock = threading.Lock()
        self._capture: _Capture | None = None
        # ctypes must keep the C callback object alive as long as the library may call it.
        self._callback = _SynthCallback(self._on_synth)
        self._lib = self._load()
        self.sample_rate = self._initialize()
        self._spoken = False  # whether the loaded library has synthesized since it was loaded
        self._languages, self._voice_ids = self._read_voices()
        self._variants = self._read_variants()

    def _load(self) -> ctypes.CDLL:
        lib = ctypes.CDLL(self._library_path)
        _declare_signatures(lib)
        return lib

    def _initialize(self) -> int:
        # The path is the data directory itself, which espeak_Initialize also accepts.
        rate = int(
            self._lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, self._data_path.encode(), _INITIALIZE_PHONEME_EVENTS
            )
        )
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed with data at {self._data_path}")
        self._lib.espeak_SetSynthCallback(self._callback)
        return rate

    def _fresh(self) -> None:
        """A library with no state left from earlier utterances (the lock held)."""
        if not self._spoken:
            return
        self._lib.espeak_Terminate()
        # Nothing else in the process opens this copy of the library, so closing our handle
        # unloads it, and loading it again starts from its initial static state.
        _dlclose(self._lib._handle)
        self._lib = self._load()
        self._initialize()
        self._spoken = False

    @classmethod
    def shared(cls) -> ESpeakEngine:
        """The process's engine, created on first use from the ``espeakng-loader`` wheel."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(
                    espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
                )
            return cls._shared

    def languages(self) -> list[str]:
        """Language names that select a voice, sorted (``"en-us"``, ``"fr-fr"``, ...)."""
        return sorted(self._languages)

    def variants(self) -> list[str]:
        """Voice variants that can follow a language after ``+`` (``"f3"``, ``"m2"``, ...)."""
        return sorted(self._variants)

    def resolve(self, voice: str) -> str | None:
        """eSpeak's own name for ``voice`` (``"en-gb+f3"`` -> ``"gmw/en+f3"``), None if unknown.

        ``espeak_SetVoiceByName`` finds voice files and names but not language codes such as
        ``en-gb``, and it ignores an unknown variant silently; so we look both up ourselves.
        """
        base, _, variant = voice.strip().lower().partition("+")
        identifier = self._voice_ids.get(base)
        if identifier is None or (variant and variant not in self._variants):
            return None
        return f"{identifier}+{self._variants[variant]}" if variant else identifier

    def synthesize(
        self, text: str, voice: str, words_per_minute: int, pitch: int, seed: int | None = None
    ) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Speak ``text``: the int16 samples and the phoneme events as (sample, mnemonic).

        ``seed`` seeds eSpeak's own random generator first (its whisper and breath noise);
        None leaves it running.
        """
        data = text.encode("utf-8") + b"\0"
        spec = self.resolve(voice)
        with self._lock:
            self._fresh()
            self._spoken = True
            if seed is not None:
                self._lib.espeak_ng_SetRandSeed(seed)
            if spec is None or self._lib.espeak_SetVoiceByName(spec.encode("utf-8")) != _EE_OK:
                raise GiocondaError(f"eSpeak NG cannot load voice {voice!r}")
            self._lib.espeak_SetParameter(_PARAM_RATE, words_per_minute, 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            self._capture = _Capture([], [])
            try:
                status = self._lib.espeak_Synth(
                    data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
                capture = self._capture
            finally:
                self._capture = None
        if status != _EE_OK:
            raise GiocondaError(f"eSpeak NG could not speak the text (error {status})")
        samples = np.concatenate(capture.chunks) if capture.chunks else np.zeros(0, np.int16)
        return samples, capture.events

    def text_to_ipa(self, text: str, voice: str, tie: bool = False) -> str:
        """``text`` in the International Phonetic Alphabet, as eSpeak NG would speak it.

        Parameters
        ----------
        text: what to say (UTF-8, any script the voice's language reads)
        voice: a language from :func:`list_voices`, optionally with ``+variant``
        tie: join the letters of a multi-letter phoneme with U+0361 (``d͡ʒ``, ``a͡ɪ``), so
            that affricates and diphthongs can be told from two phonemes in a row

        Returns
        -------
        Words separated by spaces, stress marks (ˈ ˌ) before the stressed syllable, and the
        text's clause punctuation (``, . ; : ! ? … —``) after its clause, which eSpeak's
        phonemizer drops: ``"Hello world, how are you?"`` -> ``"həlˈoʊ wˈɜːld, hˈaʊ ɑːɹ juː?"``.
        Numbers and abbreviations come out as eSpeak reads them.

        Raises
        ------
        GiocondaError: the voice is unknown.
        """
        spec = self.resolve(voice)
        mode = _PHONEMES_IPA | (_PHONEMES_TIE | ord(_IPA_TIE) << 8 if tie else 0)
        clauses = []
        with self._lock:
            if spec is None or self._lib.espeak_SetVoiceByName(spec.encode("utf-8")) != _EE_OK:
                raise GiocondaError(f"eSpeak NG cannot load voice {voice!r}")
            for clause in _CLAUSE_END.split(text.strip()):
                phonemes = self._clause_phonemes(clause, mode)
                punctuation = _CLAUSE_PUNCTUATION.search(clause)
                if phonemes or punctuation:
                    clauses.append(phonemes + (punctuation.group() if punctuation else ""))
        return " ".join(clauses)

    def _clause_phonemes(self, text: str, mode: int) -> str:
        """espeak_TextToPhonemes over all of ``text``: it returns one clause per call."""
        buffer = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        parts = []
        while pointer.value:  # eSpeak sets it to NULL after the last clause
            phonemes = self._lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, mode)
            if phonemes:
                parts.append(phonemes.decode("utf-8", "replace").strip())
        return " ".join(part for part in parts if part)

    def _on_synth(self, wav: Any, n_samples: int, events: Any) -> int:
        """SynthCallback: collect samples and phoneme events; 0 tells eSpeak to go on."""
        capture = self._capture
        if capture is None:
            return 1
        if wav and n_samples > 0:
            capture.chunks.append(np.ctypeslib.as_array(wav, (n_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = event.id.string.split(b"\0")[0].decode("utf-8", "replace")
                capture.events.append((event.sample, name))
            i += 1
        return 0

    def _read_voices(self) -> tuple[frozenset[str], dict[str, str]]:
        """Language names, and every accepted name (lower case) -> voice identifier.

        A language goes to the voice that lists it with the best (lowest) priority: "en"
        is British English, as in eSpeak's own command line.
        """
        best: dict[str, tuple[int, str]] = {}
        names: dict[str, str] = {}
        voices = self._lib.espeak_ListVoices(None)
        i = 0
        while voices[i]:
            voice = voices[i].contents
            identifier = voice.identifier.decode("utf-8")
            i += 1
            if not self._has_dictionary(identifier):
                continue  # listed, but this build of the data lacks it: it would speak nothing
            names[voice.name.decode("utf-8").strip().lower()] = identifier
            names[identifier.lower()] = identifier
            for priority, language in _language_list(voice.languages):
                if language not in best or priority < best[language][0]:
                    best[language] = (priority, identifier)
        names.update({language: identifier for language, (_, identifier) in best.items()})
        return frozenset(best), names

    def _has_dictionary(self, identifier: str) -> bool:
        """Whether the voice's pronunciation dictionary is in the data folder.

        As in eSpeak's voices.c: a voice file's first ``language`` names its dictionary (the
        part before any ``-``) unless a ``dictionary`` line names another.
        """
        dictionary = None
        try:
            with open(os.path.join(self._data_path, "lang", identifier), encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "dictionary":
                        dictionary = value.split()[0]
                        break
                    if key == "language" and dictionary is None and value.strip():
                        dictionary = value.split()[0].split("-")[0]
        except OSError:
            return True  # not a plain voice file: let eSpeak decide
        return dictionary is None or os.path.isfile(
            os.path.join(self._data_path, f"{dictionary}_dict")
        )

    def _read_variants(self) -> dict[str, str]:
        """Variant names (lower case) -> their file names in eSpeak's ``voices/!v`` folder."""
        folder = os.path.join(self._data_path, "voices", "!v")
        files = os.listdir(folder) if os.path.isdir(folder) else []
        return {name.lower(): name for name in files}


def _dlclose(handle: int) -> None:
    """Close a library handle that ``ctypes.CDLL`` opened (dlclose is in glibc itself)."""
    process = ctypes.CDLL(None)
    process.dlclose.argtypes = [ctypes.c_void_p]
    if process.dlclose(handle) != 0:
        raise RuntimeError("dlclose failed on eSpeak NG's library")


def _declare_signatures(lib: ctypes.CDLL) -> None:
    """The C signatures of the functions we call (ctypes assumes int arguments otherwise)."""
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ng_SetRandSeed.restype = None
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    lib.espeak_TextToPhonemes.argtypes = [
        ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int,
    ]  # fmt: skip
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p


def _language_list(pointer: int) -> list[tuple[int, str]]:
    """Decode ``espeak_VOICE.languages``: (priority byte, name, NUL)* ending with a 0 byte."""
    languages = []
    while (priority := ctypes.string_at(pointer, 1)[0]) != 0:
        name = ctypes.string_at(pointer + 1)
        languages.append((priority, name.decode("utf-8").lower()))
        pointer += len(name) + 2
    return languages


def list_voices() -> list[str]:
    """Voices that :func:`synthesize` accepts, as eSpeak NG language names.

    Any of them may take a variant after ``+`` for another speaker (``"en-us+f3"``); the
    variants are the files in eSpeak's ``voices/!v`` folder.

    Returns
    -------
    Sorted language names: ``["af", "am", ..., "en-gb", "en-us", ..., "zh"]``.
    """
    return ESpeakEngine.shared().languages()


def synthesize(
    text: str,
    voice: str = "en-us",
    words_per_minute: int = 165,
    pitch: int = 50,
    seed: int | None = None,
) -> SynthesizedSpeech:
    """Speak ``text`` with eSpeak NG and time every phone on the audio.

    Parameters
    ----------
    text: what to say (UTF-8, any script the voice's language reads)
    voice: a language from :func:`list_voices`, optionally with ``+variant`` (``"en-us+f3"``)
    words_per_minute: speaking rate, 80 to 450
    pitch: base pitch, 0 to 100 (50 is the voice's normal)
    seed: seeds eSpeak's random generator (the noise of whispered and breathy variants).
        With a seed the audio depends on the arguments alone, whatever the process spoke
        before (see :class:`ESpeakEngine`).

    Returns
    -------
    The audio at eSpeak's rate, and contiguous phone segments covering all of it.

    Raises
    ------
    GiocondaError: the text is empty, the voice is unknown, or a parameter is out of range.

    Examples
    --------
    >>> speech = synthesize("Hello world", voice="en-gb")
    >>> [p.viseme for p in speech.phones if p.viseme != "sil"][:4]
    ['kk', 'aa', 'nn', 'oh']
    """
    _check_request(text, voice, words_per_minute, pitch)
    engine = ESpeakEngine.shared()
    samples, events = engine.synthesize(text.strip(), voice, words_per_minute, pitch, seed)
    if samples.size == 0:
        raise GiocondaError(f"eSpeak NG produced no sound for the text {text[:40]!r}")
    audio = Audio((samples.astype(np.float32) / 32768.0), engine.sample_rate)
    starts, labels = _phone_starts(events, samples.size)
    visemes = _visemes(labels, voice)
    if all(viseme == "sil" for viseme in visemes):
        raise GiocondaError(f"nothing to speak in the text {text[:40]!r}")
    # Releases first: they need the nasals' own starts, before closures widen them.
    starts = _start_vowels_at_nasal_release(audio, starts, labels, visemes)
    starts = _give_closures_to_consonants(audio, starts, visemes)
    return SynthesizedSpeech(audio, _segments(starts, labels, visemes, audio))


def _visemes(labels: Sequence[str], voice: str) -> list[str]:
    """Each label's viseme; marks that only modify a phone (length, tone) keep its viseme.

    English's "3", the unstressed -er of "ever", is said as the voice says it
    (:func:`_english_er_viseme`)."""
    language = voice.strip().lower().partition("+")[0]
    visemes: list[str] = []
    for label in labels:
        if language.startswith("en") and label.lstrip(ESPEAK_STRESS_MARKS) == "3":
            visemes.append(_english_er_viseme(language))
        else:
            visemes.append(espeak_to_viseme(label, previous=visemes[-1] if visemes else "sil"))
    return visemes


@functools.cache
def _english_er_viseme(language: str) -> str:
    """The viseme of eSpeak NG's "3" in an English voice: the vowel eSpeak itself writes in
    the IPA for the unstressed -er of "ever", r-coloured where the accent is rhotic (en-us
    ˈɛvɚ: RR) and a plain schwa where it is not (en-gb ˈɛvə: aa, as a non-rhotic speaker's
    "water" is drawn)."""
    ipa = ESpeakEngine.shared().text_to_ipa("ever", language)
    visemes = [ipa_to_viseme(char) for char in ipa]  # (length and stress marks are "sil")
    return next((v for v in reversed(visemes) if v != "sil"), "RR")


def _check_request(text: str, voice: str, words_per_minute: int, pitch: int) -> None:
    if not text or not text.strip():
        raise GiocondaError("text to speak is empty")
    if ESpeakEngine.shared().resolve(voice) is None:
        raise GiocondaError(
            f"unknown voice {voice!r}: `gioconda voices` lists them (an eSpeak NG language "
            "may take a +variant, e.g. en-us+f3)"
        )
    if not MIN_WORDS_PER_MINUTE <= words_per_minute <= MAX_WORDS_PER_MINUTE:
        raise GiocondaError(
            f"speaking rate {words_per_minute} wpm is outside "
            f"{MIN_WORDS_PER_MINUTE}-{MAX_WORDS_PER_MINUTE}"
        )
    if not 0 <= pitch <= 100:
        raise GiocondaError(f"pitch {pitch} is outside 0-100")
