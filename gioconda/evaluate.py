"""Lip-sync evaluation: held-out speech with exact phone timings, judged on rendered frames.

``gioconda eval lipsync`` synthesizes speech that the viseme network never trained on, drives
the bundled portrait with every audio-to-mouth method, renders the frames, re-detects the mouth
on them with MediaPipe (a tool we did not write) and prints one table, method by metric.

The speech
----------
Utterances are sentences written for this evaluation (:data:`HELD_OUT_SENTENCES`: many
/p b m/, open and rounded vowels), each spoken by :data:`VOICES_PER_SENTENCE` voices drawn
with the seed, at a drawn speaking rate, with :data:`LEAD_S` of silence before and
:data:`TAIL_S` after. They are the *test* split of the training data's split
(``training/splits.py``, which the package cannot import; the constants here must match it and
a test checks that they do): English spoken only by held-out speakers
(:data:`HELD_OUT_VARIANTS`), and the held-out languages (:data:`HELD_OUT_LANGUAGES`), and every
sentence hashes into the test buckets (:func:`text_bucket`). English and the held-out languages
are reported as two groups of rows. Speech comes from :data:`SPEECH_SOURCES` (eSpeak NG today;
another synthesizer is one more entry there). The synthesizer's own phone timings are the
ground truth ("true phones").

The methods (rows)
------------------
``loudness``: no phones, the jaw follows loudness (the baseline). ``pocketsphinx``: phones from
:class:`gioconda.recognize.PocketSphinxRecognizer`. ``network``: :class:`gioconda.visemenet.
VisemeNet`'s Viterbi path. ``combined``: PocketSphinx's words placed by the network
(:func:`gioconda.recognize.combined_phones`). ``tts``: the true
phones themselves, the upper bound of what the motion and the renderer can show. PocketSphinx's
model is English, so ``pocketsphinx`` and ``combined`` are n/a on the other languages.

The metrics (columns)
---------------------
Video frames are at ``fps`` (25); the frame "nearest" a time t is ``round(t * fps)``. The lip gap
is :func:`gioconda.measure.lip_gap` on MediaPipe's re-detection of each rendered frame (inner-lip
opening over mouth width, tracking from frame to frame as a viewer would; frames are measured as
rendered, with no video codec in between). A frame where no face is found has no lip gap.

* **viseme acc**: the share of 10 ms frames of the synthesized utterance (the added lead and
  tail silence excluded) whose viseme, read at the frame's centre from the method's phones,
  equals the true phones' viseme there (the convention of
  :func:`gioconda.recognize.viseme_accuracy`). In brackets the same over frames whose true
  viseme is not silence. Pooled over the utterances of a row. n/a for ``loudness``.
* **closure recall**: of the true /p b m/ phones (viseme ``PP``) lasting at least
  :data:`MIN_CLOSURE_S`, the share for which, at the frame nearest the phone's middle, the
  motion's ``MouthClose`` is at least :data:`CLOSED_MOUTH_CLOSE` *and* the re-detected lip gap
  is below :data:`CLOSED_LIP_GAP` mouth widths (a frame with no face found counts as open).
  In brackets the precision: of the runs of frames in which the motion shuts the lips
  (MouthClose >= :data:`CLOSED_MOUTH_CLOSE`), the share that come within one frame of a true
  /p b m/ (:func:`closure_precision`); n/a when the motion never shuts them.
* **open/closed**: the median over true open vowels (viseme ``aa``, at least
  :data:`MIN_OPEN_VOWEL_S`) of the widest re-detected lip gap during the vowel (the frames shown
  within it), over the median lip gap at the middles of the closures above (floored at
  :data:`CLOSED_GAP_FLOOR`, about MediaPipe's noise on shut lips); in brackets the two medians,
  in mouth widths. Pooled over the row's utterances. (The JSON also has ``vowels_opened``: the
  share of those vowels whose widest gap exceeds :data:`OPENED_LIP_GAP`, the counterpart of
  closure recall.)
* **A/V offset**: per utterance, the lag (ms) maximizing the Pearson correlation between the
  rendered lip-gap curve, shifted, and a reference aperture curve made from the true phones
  (:data:`REFERENCE_APERTURE` per viseme, on the 10 ms grid, Gaussian-smoothed with sigma
  :data:`REFERENCE_SMOOTHING_S`, read at the frame times). Lags are searched over whole frames
  within :data:`MAX_LAG_S`, refined by a parabola through the best lag and its neighbours.
  Positive: the mouth moves after the sound. The median over utterances; in brackets the share
  of utterances within one frame (40 ms at 25 fps), the target.
* **chatter**: open/close reversals per second of the lip-gap curve, a reversal being a turn
  after a move of at least :data:`LIP_GAP_HYSTERESIS` mouth widths (:func:`count_reversals`);
  in brackets the same for the reference curve, with :data:`REFERENCE_HYSTERESIS` (the same 10%
  of an open vowel's excursion: an open vowel is ~0.2 mouth widths on the portrait, 1 on the
  reference). More than the reference is chatter, fewer is mumbling. Pooled: all reversals over
  all seconds of the row's clips.

Everything is seeded (voices, rates, eSpeak's noise, head motion); the same seed and weights give
the same table.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.audio import MEL_BANDS, Audio, load_audio, resample
from gioconda.blendshapes import BS
from gioconda.errors import GiocondaError
from gioconda.face import Portrait, analyze_portrait, load_photo, native_stderr_silenced
from gioconda.measure import FaceMeasurer
from gioconda.motion import Motion, MotionControls
from gioconda.pipeline import Speech, motion_for_speech
from gioconda.recognize import RecognizedWord, combined_phones, visemes_at
from gioconda.render import Renderer
from gioconda.speech import SynthesizedSpeech, synthesize
from gioconda.timeline import (
    ANALYSIS_SAMPLE_RATE,
    FEATURE_HOP_S,
    frame_count,
    resample_track,
    time_to_frame,
)
from gioconda.visemenet import (
    BLOCK_DILATIONS,
    BLOCK_KERNEL,
    FIRST_KERNEL,
    WEIGHTS_FILE,
    VisemeNet,
    VisemePosteriors,
    load_weights,
)
from gioconda.visemes import VISEME_INDEX, VISEMES, PhoneSegment, arpabet_to_viseme

# ------------------------------------------------------------------------------------------------
# Held-out material: the test split of training/splits.py (the constants must match it)
# ------------------------------------------------------------------------------------------------

#: Languages the viseme network never hears (``training/splits.py`` TEST_LANGUAGES).
HELD_OUT_LANGUAGES: tuple[str, ...] = ("el", "hu", "vi")
#: The eSpeak NG voices of each evaluated language. English is a training language, so its
#: utterances are spoken only by held-out speakers; the held-out languages' voices are
#: ``training/splits.py`` TEST_ESPEAK_VOICES.
ESPEAK_VOICES: dict[str, tuple[str, ...]] = {
    "en": ("en-us", "en-gb"),
    "el": ("el",),
    "hu": ("hu",),
    "vi": ("vi", "vi-vn-x-central", "vi-vn-x-south"),
}
#: eSpeak NG variants never heard in training (``training/splits.py`` TEST_VARIANTS).
HELD_OUT_VARIANTS: tuple[str, ...] = (
    "f4", "belinda", "steph2", "m6", "gustave", "klatt4", "robert", "storm", "whisperf",
    "robosoft3",
)  # fmt: skip
#: Text hash buckets of the test split (``training/splits.py`` TEXT_BUCKETS["test"]).
TEST_TEXT_BUCKETS = range(90, 100)

#: Sentences written for this evaluation, each in the test buckets (see :func:`text_bucket`).
HELD_OUT_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Bob's mom put a pot of plum soup by the pool.",
        "A big brown moose moved slowly up the bumpy path.",
        "Mabel hummed a tune while Paul opened a box of hot popcorn!",
        "My father bought a palm tree and a map of Rome!",
        "Moving boxes in the morning, Bill broke his old hammer.",
        "The old boat drifted home across the calm, bright harbor!",
        "Ambrose, the brave pilot, flew over the bare mountains.",
        "Who put these wool boots in my room?",
    ),
    "el": (
        "Η μαμά μαγειρεύει μπάμιες με πατάτες!",
        "Το μωρό παίζει με μια μπάλα στην παραλία.",
        "Ο Πέτρος αγόρασε μπλε παπούτσια για τη μαμά του!",
    ),
    "hu": (
        "Bori mama paprikás babot főz a barátainak!",
        "Apa és anya ma piros almát vesz a piacon?",
        "Péter a parkban boldogan bámulja a madarakat.",
    ),
    "vi": (
        "Em bé ăn một bát phở bò.",
        "Mẹ pha một ấm trà nóng cho ông bà!",
        "Ba mươi con bò ăn cỏ bên bờ sông!",
    ),
}
#: Voices that say each sentence (a full run), and the speaking rates drawn, words per minute.
VOICES_PER_SENTENCE = 3
WORDS_PER_MINUTE = (140, 200)
#: What ``quick`` keeps: these languages, their first sentence, one voice.
QUICK_LANGUAGES: tuple[str, ...] = ("en", "hu")
#: The group of rows that English utterances are reported in, and the other languages'.
ENGLISH, OTHER_LANGUAGES = "en", "el hu vi"
#: The group of rows of English spoken by Kokoro's held-out voice (a natural timbre).
NEURAL_ENGLISH = "en kokoro"
#: The groups of rows of recorded speech with phone labels (``--real-speech``) are named
#: ``"recorded <folder name>"``, one per folder of recordings.
RECORDED = "recorded"


def text_bucket(text: str) -> int:
    """A text's split bucket, 0-99, by the rule of ``training/splits.py``.

    SHA-1 of the UTF-8 of the NFC, case-folded, whitespace-collapsed text; the first eight hex
    digits modulo 100. Sentences in :data:`TEST_TEXT_BUCKETS` never appear in training data.
    """
    normalized = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return int(hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:8], 16) % 100


@dataclass(frozen=True)
class Utterance:
    """One held-out utterance to synthesize.

    Attributes
    ----------
    key: short unique name (``"espeak:en-1 en-us+f4"``)
    source: name of its speech source in :data:`SPEECH_SOURCES`
    language: ``"en"`` or one of :data:`HELD_OUT_LANGUAGES`
    voice: what the source speaks it with
    text: the sentence
    words_per_minute: speaking rate
    motion_seed: seed of the head, blinks and gaze (the same for every method)
    speech_seed: seed of the synthesizer's own randomness (eSpeak's whisper noise)
    recording: for recorded speech, its audio file (its phone labels beside it); else None
        (its voice is then the name of its folder)
    """

    key: str
    source: str
    language: str
    voice: str
    text: str
    words_per_minute: int
    motion_seed: int
    speech_seed: int
    recording: str | None = None

    @property
    def group(self) -> str:
        """Its rows: :data:`ENGLISH`, :data:`NEURAL_ENGLISH`, :data:`OTHER_LANGUAGES` or, for
        a recording, ``"recorded <its folder's name>"``."""
        if self.recording is not None:
            return f"{RECORDED} {self.voice}"
        if self.language != "en":
            return OTHER_LANGUAGES
        return NEURAL_ENGLISH if self.source == "kokoro" else ENGLISH


class SpeechSource(Protocol):
    """A speech synthesizer with exact phone timings (eSpeak NG today, Kokoro perhaps later)."""

    #: Short name, as ``training/splits.py`` HELD_OUT_SPEAKERS knows the synthesizer.
    name: str

    def voices(self, language: str) -> tuple[str, ...]:
        """The held-out voices that speak ``language`` (empty if the source cannot)."""
        ...

    def speak(self, text: str, voice: str, words_per_minute: int, seed: int) -> SynthesizedSpeech:
        """The speech and its true phones; ``seed`` fixes whatever the synthesizer draws."""
        ...


class ESpeakSource:
    """eSpeak NG: English in the held-out variants, the held-out languages in every variant."""

    name = "espeak"

    def voices(self, language: str) -> tuple[str, ...]:
        bases = ESPEAK_VOICES.get(language, ())
        plain = () if language == "en" else bases  # English's plain voices are trained on
        return plain + tuple(f"{base}+{variant}" for base in bases for variant in HELD_OUT_VARIANTS)

    def speak(self, text: str, voice: str, words_per_minute: int, seed: int) -> SynthesizedSpeech:
        return synthesize(text, voice=voice, words_per_minute=words_per_minute, seed=seed)


class KokoroSource:
    """Kokoro-82M: English in its voice that training holds out for testing.

    ``training/splits.py`` holds jf_nezumi out for the test split (and jf_tebukuro for
    validation, which chose the shipped weights, so it is not used here).
    """

    name = "kokoro"

    def voices(self, language: str) -> tuple[str, ...]:
        return KOKORO_TEST_VOICES if language == "en" else ()

    def speak(self, text: str, voice: str, words_per_minute: int, seed: int) -> SynthesizedSpeech:
        from gioconda import kokoro

        # Kokoro speaks about 170 words a minute at speed 1; it has no randomness to seed.
        speed = float(np.clip(words_per_minute / 170.0, 0.8, 1.25))
        return kokoro.synthesize(text, voice=voice, speed=speed)


#: Kokoro's voices that no training split uses (``training/synthesizers.py`` KOKORO_HELD_OUT).
KOKORO_TEST_VOICES: tuple[str, ...] = ("jf_nezumi",)

#: Speech sources by name. Another synthesizer is another entry: a factory of a SpeechSource
#: whose voices are its held-out speakers.
SPEECH_SOURCES: dict[str, Callable[[], SpeechSource]] = {
    "espeak": ESpeakSource,
    "kokoro": KokoroSource,
}


def held_out_utterances(
    seed: int = 0, quick: bool = False, sources: Sequence[str] = ("espeak",)
) -> list[Utterance]:
    """The utterances of one evaluation run, drawn reproducibly from ``seed``.

    Parameters
    ----------
    seed: draws each sentence's voices, speaking rate and motion seed
    quick: only :data:`QUICK_LANGUAGES`, their first sentence, one voice each
    sources: names in :data:`SPEECH_SOURCES`

    Raises
    ------
    GiocondaError: an unknown source name.
    """
    unknown = [name for name in sources if name not in SPEECH_SOURCES]
    if unknown:
        raise GiocondaError(
            f"unknown speech source(s) {', '.join(unknown)}; one of {', '.join(SPEECH_SOURCES)}"
        )
    rng = np.random.default_rng(seed)
    languages = QUICK_LANGUAGES if quick else ("en", *HELD_OUT_LANGUAGES)
    utterances = []
    for name in sources:
        source = SPEECH_SOURCES[name]()
        for language in languages:
            pool = source.voices(language)
            if not pool:
                continue
            sentences = HELD_OUT_SENTENCES[language][: 1 if quick else None]
            for n, text in enumerate(sentences, 1):
                k = 1 if quick else min(VOICES_PER_SENTENCE, len(pool))
                for voice in rng.choice(pool, size=k, replace=False):
                    utterances.append(
                        Utterance(
                            key=f"{name}:{language}-{n} {voice}",
                            source=name,
                            language=language,
                            voice=str(voice),
                            text=text,
                            words_per_minute=int(rng.integers(*WORDS_PER_MINUTE, endpoint=True)),
                            motion_seed=int(rng.integers(2**31)),
                            speech_seed=int(rng.integers(2**31)),
                        )
                    )
    return utterances


# ------------------------------------------------------------------------------------------------
# Clips: an utterance synthesized, padded with silence, with its true phones
# ------------------------------------------------------------------------------------------------

#: Silence added before and after each utterance, in seconds: the mouth starts and ends at rest,
#: and the offset search has room.
LEAD_S, TAIL_S = 0.4, 0.3


@dataclass(frozen=True)
class EvalClip:
    """An utterance ready for the methods.

    Attributes
    ----------
    utterance: what was said, by whom
    audio: 16 kHz mono: :data:`LEAD_S` of silence, the speech, :data:`TAIL_S` of silence
    truth: the synthesizer's phones, shifted into the clip, contiguous over all of it
    speech_s: (start, end) of the synthesized speech within the clip, in seconds
    """

    utterance: Utterance
    audio: Audio
    truth: tuple[PhoneSegment, ...]
    speech_s: tuple[float, float]


def _padded(audio: Audio) -> np.ndarray:
    """The samples with :data:`LEAD_S` of silence before and :data:`TAIL_S` after."""
    rate = audio.sample_rate
    lead = np.zeros(round(LEAD_S * rate), np.float32)
    tail = np.zeros(round(TAIL_S * rate), np.float32)
    return np.concatenate([lead, audio.samples, tail])


def make_clip(utterance: Utterance, source: SpeechSource) -> EvalClip:
    """Synthesize ``utterance`` and pad it with silence."""
    spoken = source.speak(
        utterance.text, utterance.voice, utterance.words_per_minute, utterance.speech_seed
    )
    audio = resample(spoken.audio, ANALYSIS_SAMPLE_RATE)
    rate = audio.sample_rate
    samples = _padded(audio)
    end_s = LEAD_S + spoken.audio.duration_s
    shifted = tuple(
        PhoneSegment(p.start_s + LEAD_S, p.end_s + LEAD_S, p.phone, p.viseme) for p in spoken.phones
    )
    truth = (
        PhoneSegment(0.0, LEAD_S, "_", "sil"),
        *shifted,
        PhoneSegment(end_s, len(samples) / rate, "_", "sil"),
    )
    return EvalClip(utterance, Audio(samples, rate), truth, (LEAD_S, end_s))


#: Phone labels count time in units of 100 ns (HTK's convention, as the Emu/ANDOSL labels do).
LABEL_TIME_UNIT_S = 1e-7


def read_phone_labels(path: str | os.PathLike[str]) -> tuple[PhoneSegment, ...]:
    """Phone labels: one ``start end phone`` a line, times in 100 ns, ARPAbet.

    ``h#`` is silence; TIMIT closure names (``pcl``) are their stop's viseme.

    Raises
    ------
    GiocondaError: unreadable file, a malformed line, an unknown phone, overlapping times.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise GiocondaError(f"cannot read phone labels {path}: {error}") from None
    phones: list[PhoneSegment] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            start, end = int(fields[0]) * LABEL_TIME_UNIT_S, int(fields[1]) * LABEL_TIME_UNIT_S
            viseme = arpabet_to_viseme(fields[2])
        except (ValueError, IndexError):
            raise GiocondaError(
                f"{path}:{number}: expected 'start end phone' (100 ns units, ARPAbet), "
                f"got {line.strip()!r}"
            ) from None
        if end <= start or (phones and start < phones[-1].end_s - 1e-6):
            raise GiocondaError(f"{path}:{number}: phone times overlap or run backwards")
        phones.append(PhoneSegment(start, end, fields[2], viseme))
    if not phones:
        raise GiocondaError(f"no phone labels in {path}")
    return tuple(phones)


#: The file in a folder of recordings that names their language (ISO 639-1); English if absent.
LANGUAGE_FILE = "LANGUAGE"


def recorded_utterances(folder: str | os.PathLike[str], seed: int = 0) -> list[Utterance]:
    """Every ``NAME.wav`` that has a ``NAME.lab`` beside it, in ``folder`` and in the folders
    directly inside it, in name order.

    Each folder holding such recordings is a group of rows of its own (:attr:`Utterance.group`
    is ``"recorded <folder name>"``), in the language its ``LANGUAGE`` file names (``en``
    when there is none): English-only methods are n/a on the others.

    Raises
    ------
    GiocondaError: not a folder, no labelled recording in it or one level down, a bad
        ``LANGUAGE`` file, malformed labels (see :func:`read_phone_labels`).
    """
    root = Path(folder)
    if not root.is_dir():
        raise GiocondaError(f"real speech folder {folder} does not exist")
    rng = np.random.default_rng(seed)
    utterances = []
    for speaker in (root.resolve(), *sorted(p for p in root.iterdir() if p.is_dir())):
        wavs = [w for w in sorted(speaker.glob("*.wav")) if w.with_suffix(".lab").is_file()]
        language = _recordings_language(speaker) if wavs else "en"
        utterances += [
            Utterance(
                key=f"recorded:{speaker.name}/{wav.stem}",
                source="recording",
                language=language,
                voice=speaker.name,
                text="",
                words_per_minute=0,
                motion_seed=int(rng.integers(2**31)),
                speech_seed=0,
                recording=str(wav),
            )
            for wav in wavs
        ]
    if not utterances:
        raise GiocondaError(
            f"no NAME.wav with a NAME.lab beside it in {folder} or the folders in it"
        )
    for utterance in utterances:  # a malformed label fails now, not after a long run
        read_phone_labels(Path(str(utterance.recording)).with_suffix(".lab"))
    return utterances


def _recordings_language(folder: Path) -> str:
    """The ISO 639-1 code in ``folder``'s LANGUAGE file; ``en`` if it has none."""
    path = folder / LANGUAGE_FILE
    if not path.exists():
        return "en"
    try:
        code = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise GiocondaError(f"cannot read {path}: {error}") from None
    if not (len(code) == 2 and code.isascii() and code.isalpha() and code.islower()):
        raise GiocondaError(f"{path}: expected an ISO 639-1 code such as 'en', got {code[:20]!r}")
    return code


def recorded_clip(utterance: Utterance) -> EvalClip:
    """A recording and its phone labels, padded with silence like a synthesized clip.

    The labels are extended with silence to cover the whole clip; the scored speech runs from
    the first to the last labelled phone that is not silence.
    """
    assert utterance.recording is not None
    wav = Path(utterance.recording)
    audio = resample(load_audio(wav), ANALYSIS_SAMPLE_RATE)
    labels = read_phone_labels(wav.with_suffix(".lab"))
    rate = audio.sample_rate
    samples = _padded(audio)
    total_s = len(samples) / rate
    inner = [
        PhoneSegment(p.start_s + LEAD_S, min(p.end_s + LEAD_S, total_s), p.phone, p.viseme)
        for p in labels
        if p.start_s + LEAD_S < total_s
    ]
    truth = (
        PhoneSegment(0.0, inner[0].start_s, "_", "sil"),
        *inner,
        *(
            [PhoneSegment(inner[-1].end_s, total_s, "_", "sil")]
            if inner[-1].end_s < total_s
            else []
        ),
    )
    spoken = [p for p in inner if p.viseme != "sil"]
    speech_s = (spoken[0].start_s, spoken[-1].end_s) if spoken else (LEAD_S, total_s - TAIL_S)
    return EvalClip(utterance, Audio(samples, rate), truth, speech_s)


# ------------------------------------------------------------------------------------------------
# Methods: audio to phones
# ------------------------------------------------------------------------------------------------

#: Width of the network (``training/model.py`` VisemeNetTorch's default), for untrained weights.
_NETWORK_CHANNELS = 96


def untrained_network_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights of the viseme network's shapes (PyTorch's default initialization).

    For developing and testing the evaluation before trained weights exist; its scores say
    nothing about the network.
    """
    rng = np.random.default_rng(seed)
    c = _NETWORK_CHANNELS

    def linear(name: str, n_out: int, n_in: int) -> dict[str, np.ndarray]:
        bound = 1.0 / math.sqrt(n_in)
        return {
            f"{name}.weight": rng.uniform(-bound, bound, (n_out, n_in)),
            f"{name}.bias": rng.uniform(-bound, bound, n_out),
        }

    def depthwise(name: str, kernel: int) -> dict[str, np.ndarray]:
        return {f"{name}.weight": rng.standard_normal((c, kernel)) / math.sqrt(kernel),
                f"{name}.bias": np.zeros(c)}  # fmt: skip

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}.weight": np.ones(c), f"{name}.bias": np.zeros(c)}

    weights = {**linear("input", c, MEL_BANDS), **depthwise("front", FIRST_KERNEL)}
    for i in range(len(BLOCK_DILATIONS)):
        weights |= norm(f"blocks.{i}.norm") | depthwise(f"blocks.{i}.conv", BLOCK_KERNEL)
        weights |= linear(f"blocks.{i}.expand", 2 * c, c) | linear(f"blocks.{i}.project", c, 2 * c)
    weights |= norm("head_norm") | linear("head", len(VISEMES), c)
    return {k: v.astype(np.float32) for k, v in weights.items()}


def load_network(weights: str | os.PathLike[str] | None = None) -> tuple[VisemeNet, str]:
    """The viseme network to evaluate, and a line saying which weights it has.

    ``weights`` is an ``.npz`` file; None takes the shipped ``gioconda/assets/visemenet.npz``,
    or, where that does not exist yet, :func:`untrained_network_weights` (and says so).
    """
    if weights is not None:
        path = Path(weights)
        return VisemeNet(load_weights(path)), f"{path} (sha1 {_file_sha1(path)})"
    shipped = resources.files("gioconda") / "assets" / WEIGHTS_FILE
    if shipped.is_file():
        with resources.as_file(shipped) as path:
            return VisemeNet(), f"shipped {WEIGHTS_FILE} (sha1 {_file_sha1(path)})"
    return (
        VisemeNet(untrained_network_weights()),
        f"UNTRAINED random weights (no {WEIGHTS_FILE} shipped): network scores are meaningless",
    )


def _file_sha1(path: str | os.PathLike[str]) -> str:
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]
    except OSError as error:
        raise GiocondaError(f"cannot read {path}: {error}") from None


class PhoneEstimators:
    """The audio-to-phone tools, loaded once, with the current clip's results kept for reuse."""

    def __init__(self, network: VisemeNet) -> None:
        self.network = network
        self._recognizer = None
        self._word_recognizer = None
        self._memo: dict[tuple[str, str], object] = {}

    def start_clip(self) -> None:
        """Forget the previous clip's results."""
        self._memo.clear()

    def recognized(self, clip: EvalClip) -> tuple[PhoneSegment, ...]:
        """PocketSphinx's phones of the clip."""
        key = ("pocketsphinx", clip.utterance.key)
        if key not in self._memo:
            if self._recognizer is None:
                from gioconda.recognize import PocketSphinxRecognizer

                self._recognizer = PocketSphinxRecognizer()
            self._memo[key] = tuple(self._recognizer.recognize(clip.audio))
        return self._memo[key]  # type: ignore[return-value]

    def words(self, clip: EvalClip) -> tuple[RecognizedWord, ...]:
        """PocketSphinx's words in the clip."""
        key = ("words", clip.utterance.key)
        if key not in self._memo:
            if self._word_recognizer is None:
                from gioconda.recognize import PocketSphinxWordRecognizer

                self._word_recognizer = PocketSphinxWordRecognizer()
            self._memo[key] = self._word_recognizer.words(clip.audio)
        return self._memo[key]  # type: ignore[return-value]

    def posteriors(self, clip: EvalClip) -> VisemePosteriors:
        """The network's viseme posteriors for the clip."""
        key = ("network", clip.utterance.key)
        if key not in self._memo:
            self._memo[key] = self.network(clip.audio)
        return self._memo[key]  # type: ignore[return-value]


@dataclass(frozen=True)
class LipSyncMethod:
    """One way of driving the mouth from audio: a row of the table.

    Attributes
    ----------
    name: the row's name
    english_only: n/a on other languages
    estimate: the clip's phones, or None for loudness-only lip sync
    """

    name: str
    english_only: bool
    estimate: Callable[[PhoneEstimators, EvalClip], tuple[PhoneSegment, ...] | None]


METHODS: tuple[LipSyncMethod, ...] = (
    LipSyncMethod("loudness", False, lambda tools, clip: None),
    LipSyncMethod("pocketsphinx", True, lambda tools, clip: tools.recognized(clip)),
    LipSyncMethod("network", False, lambda tools, clip: tools.posteriors(clip).to_phones()),
    LipSyncMethod(
        "combined",
        True,
        lambda tools, clip: combined_phones(tools.posteriors(clip), tools.words(clip)),
    ),
    LipSyncMethod("tts", False, lambda tools, clip: clip.truth),
)
METHOD_NAMES: tuple[str, ...] = tuple(m.name for m in METHODS)


# ------------------------------------------------------------------------------------------------
# Metrics: pure functions of phones and curves
# ------------------------------------------------------------------------------------------------

#: Closures shorter than this are not scored (a 25 fps frame may not fall inside them).
MIN_CLOSURE_S = 0.04
#: A closure is shown when MouthClose reaches this and the re-detected lip gap is under...
CLOSED_MOUTH_CLOSE = 0.9
#: ... this many mouth widths.
CLOSED_LIP_GAP = 0.04
#: Open vowels shorter than this are not scored.
MIN_OPEN_VOWEL_S = 0.07
#: Floor of the median closed lip gap in the open/closed ratio, in mouth widths.
CLOSED_GAP_FLOOR = 0.01
#: An open vowel counts as opened (JSON ``vowels_opened``) when its widest gap exceeds this.
OPENED_LIP_GAP = 0.08
#: How open the lips are in each viseme, for the reference curve (open vowel 1, closed 0).
#: Phonetic common sense, not our motion model's tables.
REFERENCE_APERTURE: dict[str, float] = {
    "sil": 0.0, "PP": 0.0, "FF": 0.1, "TH": 0.3, "DD": 0.25, "kk": 0.3, "CH": 0.2, "SS": 0.1,
    "nn": 0.25, "RR": 0.3, "aa": 1.0, "E": 0.6, "ih": 0.4, "oh": 0.7, "ou": 0.3,
}  # fmt: skip
#: Gaussian smoothing of the reference curve (sigma), in seconds.
REFERENCE_SMOOTHING_S = 0.03
#: The offset search range, either way, in seconds.
MAX_LAG_S = 0.2
#: Hysteresis of a reversal: of the lip gap in mouth widths, of the reference in its units.
LIP_GAP_HYSTERESIS = 0.02
REFERENCE_HYSTERESIS = 0.1
#: A curve metric needs a face in at least this share of a clip's frames.
MIN_FACE_FOUND = 0.8


def frame_agreement(
    predicted: Sequence[PhoneSegment],
    truth: Sequence[PhoneSegment],
    span_s: tuple[float, float],
    speech_only: bool = False,
) -> tuple[int, int]:
    """Agreeing and counted 10 ms frames of two phone sequences within ``span_s``.

    Frame ``i`` covers ``[i, i + 1) * 10 ms`` and has the viseme at its centre (as
    :func:`gioconda.recognize.viseme_accuracy`); it counts when its centre lies in
    ``[start, end)`` of ``span_s`` and, with ``speech_only``, the true viseme there is not
    silence.

    Returns
    -------
    (frames where the visemes agree, frames counted)
    """
    centres = (np.arange(math.ceil(span_s[1] / FEATURE_HOP_S)) + 0.5) * FEATURE_HOP_S
    centres = centres[(centres >= span_s[0]) & (centres < span_s[1])]
    true = visemes_at(truth, centres)
    if speech_only:
        centres, true = centres[true != VISEME_INDEX["sil"]], true[true != VISEME_INDEX["sil"]]
    return int((visemes_at(predicted, centres) == true).sum()), len(centres)


def viseme_frame_accuracy(
    predicted: Sequence[PhoneSegment], truth: Sequence[PhoneSegment], span_s: tuple[float, float]
) -> float:
    """Share of 10 ms frames in ``span_s`` whose viseme agrees (see :func:`frame_agreement`)."""
    agree, counted = frame_agreement(predicted, truth, span_s)
    return agree / counted if counted else float("nan")


def _scored(truth: Sequence[PhoneSegment], viseme: str, min_s: float) -> list[PhoneSegment]:
    return [p for p in truth if p.viseme == viseme and p.end_s - p.start_s >= min_s - 1e-9]


def middle_frames(
    truth: Sequence[PhoneSegment], viseme: str, min_s: float, fps: float, n_frames: int
) -> np.ndarray:
    """The frame nearest the middle of each true ``viseme`` phone lasting ``min_s`` or more."""
    middles = [0.5 * (p.start_s + p.end_s) for p in _scored(truth, viseme, min_s)]
    frames = time_to_frame(np.array(middles, np.float64), fps)
    return frames[(frames >= 0) & (frames < n_frames)]


def open_vowel_gaps(truth: Sequence[PhoneSegment], lip_gap: np.ndarray, fps: float) -> np.ndarray:
    """The widest re-detected lip gap during each true open vowel (``aa``, >= 70 ms).

    The frames of a vowel are those shown within ``[start_s, end_s]`` (at least the frame
    nearest its middle); NaN where no face was found in any of them.
    """
    gaps = []
    n = len(lip_gap)
    for phone in _scored(truth, "aa", MIN_OPEN_VOWEL_S):
        first = int(np.ceil(phone.start_s * fps - 1e-9))
        last = int(np.floor(phone.end_s * fps + 1e-9))
        middle = int(time_to_frame(0.5 * (phone.start_s + phone.end_s), fps))
        first, last = max(0, min(first, middle)), min(n - 1, max(last, middle))
        values = lip_gap[first : last + 1]
        if values.size:
            gaps.append(np.nanmax(values) if np.isfinite(values).any() else np.nan)
    return np.array(gaps, np.float64)


def closures_shown(
    truth: Sequence[PhoneSegment], mouth_close: np.ndarray, lip_gap: np.ndarray, fps: float
) -> tuple[int, int]:
    """How many true closures the rendered mouth shows, of how many (the closure recall).

    Parameters
    ----------
    truth: the true phones
    mouth_close: (T,) the motion's MouthClose per frame
    lip_gap: (T,) re-detected lip gap per frame in mouth widths, NaN where no face was found
    fps: frame rate

    Returns
    -------
    (closures shown, closures scored): a /p b m/ of at least :data:`MIN_CLOSURE_S` is shown
    when at the frame nearest its middle MouthClose >= :data:`CLOSED_MOUTH_CLOSE` and the lip
    gap < :data:`CLOSED_LIP_GAP`.
    """
    frames = middle_frames(truth, "PP", MIN_CLOSURE_S, fps, len(lip_gap))
    with np.errstate(invalid="ignore"):
        shut = (mouth_close[frames] >= CLOSED_MOUTH_CLOSE) & (lip_gap[frames] < CLOSED_LIP_GAP)
    return int(shut.sum()), len(frames)


def closure_precision(
    truth: Sequence[PhoneSegment], mouth_close: np.ndarray, fps: float
) -> tuple[int, int]:
    """How many of the motion's lip closures fall on a true /p b m/, of how many.

    A closure is a run of frames with MouthClose >= :data:`CLOSED_MOUTH_CLOSE`; it is true when
    one of its frames is shown within one frame of a true ``PP`` phone (of any length). The
    counterpart of :func:`closures_shown`: a method that shut the lips all the time would have
    full recall and poor precision.

    Returns
    -------
    (true closures, closures)
    """
    shut = np.asarray(mouth_close) >= CLOSED_MOUTH_CLOSE
    edges = np.diff(shut.astype(np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, end)
    bilabials = [(p.start_s - 1 / fps, p.end_s + 1 / fps) for p in truth if p.viseme == "PP"]
    true = 0
    for first, stop in zip(starts, ends, strict=True):
        lo, hi = first / fps, (stop - 1) / fps
        true += any(lo <= b and a <= hi for a, b in bilabials)
    return true, len(starts)


def reference_aperture(truth: Sequence[PhoneSegment], fps: float, n_frames: int) -> np.ndarray:
    """How open the lips should be at each frame, from the true phones: (n_frames,) in [0, 1].

    :data:`REFERENCE_APERTURE` of the viseme at every 10 ms, smoothed with a Gaussian of sigma
    :data:`REFERENCE_SMOOTHING_S`, read at the frame times ``i / fps``.
    """
    n_hops = math.ceil(n_frames / fps / FEATURE_HOP_S) + 1
    table = np.array([REFERENCE_APERTURE[v] for v in VISEMES])
    curve = table[visemes_at(truth, np.arange(n_hops) * FEATURE_HOP_S)]
    curve = gaussian_filter1d(curve, REFERENCE_SMOOTHING_S / FEATURE_HOP_S, mode="nearest")
    return resample_track(curve, FEATURE_HOP_S, np.arange(n_frames) / fps)


def av_offset_ms(
    lip_gap: np.ndarray, reference: np.ndarray, fps: float, max_lag_s: float = MAX_LAG_S
) -> float:
    """The lag of the lip-gap curve behind the reference, in milliseconds.

    The whole-frame lag L within ``max_lag_s`` maximizing the Pearson correlation of
    ``lip_gap[t + L]`` with ``reference[t]`` (over the t where both exist), refined to a
    fraction of a frame by the parabola through the correlations at L - 1, L, L + 1.
    Positive: the mouth moves after the sound. NaN gaps are interpolated from their
    neighbours; NaN if either curve is flat.

    Examples
    --------
    >>> ref = np.sin(np.arange(100) / 3.0)
    >>> round(av_offset_ms(np.roll(ref, 2), ref, fps=25.0))
    80
    """
    gap = _fill_nan(np.asarray(lip_gap, np.float64))
    reference = np.asarray(reference, np.float64)
    n = min(len(gap), len(reference))
    max_lag = min(round(max_lag_s * fps), n - 3)
    if max_lag < 1:
        return float("nan")
    lags = np.arange(-max_lag, max_lag + 1)
    r = np.array([_pearson(gap[max(0, k) : n + min(0, k)],
                           reference[max(0, -k) : n - max(0, k)]) for k in lags])  # fmt: skip
    if not np.isfinite(r).any():
        return float("nan")
    best = int(np.nanargmax(r))
    shift = 0.0
    if 0 < best < len(lags) - 1 and np.isfinite(r[best - 1 : best + 2]).all():
        left, mid, right = r[best - 1 : best + 2]
        curvature = left - 2 * mid + right
        if curvature < 0:
            shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    return float((lags[best] + shift) / fps * 1000.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denominator if denominator > 1e-12 else float("nan")


def _fill_nan(curve: np.ndarray) -> np.ndarray:
    """NaNs replaced by linear interpolation (ends held); all-NaN stays all-NaN."""
    bad = ~np.isfinite(curve)
    if not bad.any() or bad.all():
        return curve
    index = np.arange(len(curve))
    out = curve.copy()
    out[bad] = np.interp(index[bad], index[~bad], curve[~bad])
    return out


def count_reversals(curve: np.ndarray, hysteresis: float) -> int:
    """Turns of a curve between rising and falling, ignoring moves smaller than ``hysteresis``.

    The curve is followed as legs up and down; a leg ends (one reversal) when the curve comes
    back ``hysteresis`` from the leg's extreme. The first leg starts once the curve has moved
    ``hysteresis`` from its running minimum or maximum. NaNs are skipped.

    Examples
    --------
    >>> count_reversals(np.array([0, 1, 0, 1, 0.0]), 0.5)
    3
    >>> count_reversals(np.array([0, 0.1, 0, 0.1, 0.0]), 0.5)
    0
    """
    values = np.asarray(curve, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    direction, count = 0, 0
    low = high = extreme = float(values[0])
    for v in values[1:]:
        v = float(v)
        if direction == 0:
            low, high = min(low, v), max(high, v)
            if v - low >= hysteresis:
                direction, extreme = 1, v
            elif high - v >= hysteresis:
                direction, extreme = -1, v
        elif direction == 1:
            if v > extreme:
                extreme = v
            elif extreme - v >= hysteresis:
                direction, extreme, count = -1, v, count + 1
        else:
            if v < extreme:
                extreme = v
            elif v - extreme >= hysteresis:
                direction, extreme, count = 1, v, count + 1
    return count


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------

#: Reports progress: (stage name, units done, units in all).
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class LipSyncEvalOptions:
    """What an evaluation run does.

    Attributes
    ----------
    seed: voices, rates and head motion of the utterances
    quick: a few utterances (for tests), see :data:`QUICK_LANGUAGES`
    fps: video frame rate
    size: side of the rendered square, pixels (small is fast; MediaPipe still reads 256 well)
    speech_sources: names in :data:`SPEECH_SOURCES`
    methods: names in :data:`METHOD_NAMES`, in the order of the rows
    network_weights: an ``.npz`` of viseme-network weights; None for the shipped ones
    real_speech: folders of recordings with phone labels (``NAME.wav`` beside ``NAME.lab``,
        see :func:`read_phone_labels`), or of such folders (:func:`recorded_utterances`);
        each folder of recordings is reported as a group of rows of its own
    """

    seed: int = 0
    quick: bool = False
    fps: float = 25.0
    size: int = 256
    speech_sources: tuple[str, ...] = ("espeak", "kokoro")
    methods: tuple[str, ...] = METHOD_NAMES
    network_weights: str | None = None
    real_speech: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.real_speech, (str, os.PathLike)):  # one folder, as a convenience
            object.__setattr__(self, "real_speech", (os.fspath(self.real_speech),))
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise GiocondaError(f"seed must be a non-negative integer, got {self.seed!r}")
        sources = [name for name in self.speech_sources if name not in SPEECH_SOURCES]
        if sources or not self.speech_sources:
            raise GiocondaError(
                f"speech sources must be among {', '.join(SPEECH_SOURCES)}, got {sources}"
            )
        unknown = [m for m in self.methods if m not in METHOD_NAMES]
        if unknown or not self.methods:
            raise GiocondaError(f"methods must be among {', '.join(METHOD_NAMES)}, got {unknown}")
        if not 5 <= self.fps <= 120:
            raise GiocondaError(f"fps must be between 5 and 120, got {self.fps:g}")
        if not 128 <= self.size <= 1024:
            raise GiocondaError(f"size must be between 128 and 1024, got {self.size}")


@dataclass(frozen=True)
class ClipScores:
    """One method on one clip: the raw counts that the table's rows pool.

    Attributes
    ----------
    utterance: :attr:`Utterance.key`
    group: :data:`ENGLISH` or :data:`OTHER_LANGUAGES`
    method: the method's name
    frames_agree, frames: 10 ms frames agreeing with the truth, and counted (None: no phones)
    speech_frames_agree, speech_frames: the same over frames of true speech
    closures_shown, closures: see :func:`closures_shown`
    true_closures, motion_closures: see :func:`closure_precision`
    open_gaps: the widest lip gap during each open vowel, mouth widths
    closed_gaps: lip gaps at the middles of the closures, mouth widths
    offset_ms: see :func:`av_offset_ms` (NaN when too few frames had a face)
    reversals, reference_reversals: see :func:`count_reversals`
    duration_s: the clip's length
    face_found: share of frames in which MediaPipe found the face
    estimate_s: wall time the method took to find the clip's phones
    """

    utterance: str
    group: str
    method: str
    frames_agree: int | None
    frames: int | None
    speech_frames_agree: int | None
    speech_frames: int | None
    closures_shown: int
    closures: int
    true_closures: int
    motion_closures: int
    open_gaps: np.ndarray
    closed_gaps: np.ndarray
    offset_ms: float
    reversals: int
    reference_reversals: int
    duration_s: float
    face_found: float
    estimate_s: float


def score_clip(
    clip: EvalClip,
    method: str,
    phones: Sequence[PhoneSegment] | None,
    motion: Motion,
    lip_gap: np.ndarray,
    estimate_s: float = 0.0,
) -> ClipScores:
    """Every metric's raw counts for one method's rendering of one clip."""
    truth, fps, n = clip.truth, motion.fps, len(motion)
    if phones is None:
        agree = counted = speech_agree = speech_counted = None
    else:
        agree, counted = frame_agreement(phones, truth, clip.speech_s)
        speech_agree, speech_counted = frame_agreement(phones, truth, clip.speech_s, True)
    mouth_close = motion.blendshapes[:, BS["MouthClose"]]
    shown, scored = closures_shown(truth, mouth_close, lip_gap, fps)
    true_closures, motion_closures = closure_precision(truth, mouth_close, fps)
    face_found = float(np.isfinite(lip_gap).mean()) if n else 0.0
    reference = reference_aperture(truth, fps, n)
    usable = face_found >= MIN_FACE_FOUND
    return ClipScores(
        utterance=clip.utterance.key,
        group=clip.utterance.group,
        method=method,
        frames_agree=agree,
        frames=counted,
        speech_frames_agree=speech_agree,
        speech_frames=speech_counted,
        closures_shown=shown,
        closures=scored,
        true_closures=true_closures,
        motion_closures=motion_closures,
        open_gaps=open_vowel_gaps(truth, lip_gap, fps),
        closed_gaps=lip_gap[middle_frames(truth, "PP", MIN_CLOSURE_S, fps, n)],
        offset_ms=av_offset_ms(lip_gap, reference, fps) if usable else float("nan"),
        reversals=count_reversals(lip_gap, LIP_GAP_HYSTERESIS),
        reference_reversals=count_reversals(reference, REFERENCE_HYSTERESIS),
        duration_s=clip.audio.duration_s,
        face_found=face_found,
        estimate_s=estimate_s,
    )


@lru_cache(maxsize=4)
def bundled_portrait(size: int) -> Portrait:
    """The bundled Mona Lisa, analyzed once per size per process."""
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        return analyze_portrait(load_photo(path), size)


def render_and_measure(
    renderer: Renderer, motion: Motion, keep: Sequence[int] = ()
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Render every frame and re-detect its lip gap.

    Returns
    -------
    lip_gap: (T,) in mouth widths, NaN where MediaPipe found no face
    kept: the rendered frames whose indices are in ``keep``
    """
    gaps = np.full(len(motion), np.nan)
    kept = {}
    wanted = set(keep)
    # MediaPipe's graph threads log as it opens and closes its models, outside the calls that
    # FaceMeasurer silences; a fresh tracker per clip (as a new viewer) makes that every clip.
    with native_stderr_silenced(), FaceMeasurer(video=True) as measurer:
        for i in range(len(motion)):
            frame = renderer.render(motion.frame(i))
            gaps[i] = measurer.measure(frame).lip_gap
            if i in wanted:
                kept[i] = frame
    return gaps, kept


#: Frames per method on the contact sheet: middles of this many closures and open vowels.
SHEET_CLOSURES, SHEET_OPEN_VOWELS = 3, 3


@dataclass(frozen=True)
class ContactSheet:
    """Frames of one clip under each method, for a person to look at.

    Attributes
    ----------
    utterance: the clip's key
    labels: one per column (``"PP 1.24s"``: the true viseme and the frame's time)
    frames: method name -> one (S, S, 3) uint8 frame per column
    mouth_box: (x0, y0, side) of the square around the mouth, in frame pixels
    """

    utterance: str
    labels: tuple[str, ...]
    frames: dict[str, list[np.ndarray]]
    mouth_box: tuple[int, int, int]


def _sheet_frames(clip: EvalClip, fps: float, n_frames: int) -> tuple[list[int], list[str]]:
    """Which frames of ``clip`` go on the contact sheet, and their column labels."""
    picks = []
    for viseme, count, min_s in (("PP", SHEET_CLOSURES, MIN_CLOSURE_S),
                                 ("aa", SHEET_OPEN_VOWELS, MIN_OPEN_VOWEL_S)):  # fmt: skip
        frames = middle_frames(clip.truth, viseme, min_s, fps, n_frames)
        if len(frames):
            chosen = frames[np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int)]
            picks += [(int(f), viseme) for f in dict.fromkeys(chosen.tolist())]
    picks.sort()
    return [f for f, _ in picks], [f"{v} {f / fps:.2f}s" for f, v in picks]


def _mouth_box(portrait: Portrait) -> tuple[int, int, int]:
    lm = portrait.landmarks
    width = float(np.linalg.norm(lm[291, :2] - lm[61, :2]))
    cx, cy = (float(v) for v in lm[[13, 14], :2].mean(0))
    side = round(2.8 * width)
    return round(cx - side / 2), round(cy - 0.36 * side), side


@dataclass(frozen=True)
class MethodScores:
    """One row of the table: a method over a group of utterances (None: n/a).

    Attributes
    ----------
    group: :data:`ENGLISH` or :data:`OTHER_LANGUAGES`
    method: the method's name
    utterances: how many utterances the row pools
    viseme_accuracy, speech_viseme_accuracy: over all frames, over true speech frames
    closure_recall: closures shown over closures scored (``closures`` of them)
    closure_precision: the motion's closures on a true /p b m/ over all its closures
    open_gap, closed_gap: median lip gaps at open vowels and at closures, mouth widths
    aperture_ratio: open_gap / max(closed_gap, CLOSED_GAP_FLOOR)
    vowels_opened: share of open vowels whose widest gap exceeds OPENED_LIP_GAP
    offset_ms: median A/V offset over utterances; within_frame: share within one frame
    chatter_per_s, reference_chatter_per_s: reversals per second, rendered and reference
    face_found: share of frames with a face
    estimate_rtf: wall time finding phones over audio duration (combined reuses the
        network's posteriors: its own time is word decoding and alignment)
    """

    group: str
    method: str
    utterances: int
    viseme_accuracy: float | None = None
    speech_viseme_accuracy: float | None = None
    closure_recall: float | None = None
    closures: int = 0
    closure_precision: float | None = None
    open_gap: float | None = None
    closed_gap: float | None = None
    aperture_ratio: float | None = None
    vowels_opened: float | None = None
    offset_ms: float | None = None
    within_frame: float | None = None
    chatter_per_s: float | None = None
    reference_chatter_per_s: float | None = None
    face_found: float | None = None
    estimate_rtf: float | None = None


def pool_scores(group: str, method: str, clips: Sequence[ClipScores], fps: float) -> MethodScores:
    """A table row from its clips' raw counts (see the module docstring for the pooling)."""
    if not clips:
        return MethodScores(group, method, 0)

    def ratio(num: float, den: float) -> float | None:
        return num / den if den else None

    has_phones = clips[0].frames is not None
    open_gaps = np.concatenate([c.open_gaps for c in clips])
    closed_gaps = np.concatenate([c.closed_gaps for c in clips])
    open_gap = float(np.nanmedian(open_gaps)) if np.isfinite(open_gaps).any() else None
    closed_gap = float(np.nanmedian(closed_gaps)) if np.isfinite(closed_gaps).any() else None
    offsets = np.array([c.offset_ms for c in clips])
    offsets = offsets[np.isfinite(offsets)]
    duration = sum(c.duration_s for c in clips)
    return MethodScores(
        group=group,
        method=method,
        utterances=len(clips),
        viseme_accuracy=ratio(sum(c.frames_agree for c in clips), sum(c.frames for c in clips))
        if has_phones
        else None,
        speech_viseme_accuracy=ratio(
            sum(c.speech_frames_agree for c in clips), sum(c.speech_frames for c in clips)
        )
        if has_phones
        else None,
        closure_recall=ratio(sum(c.closures_shown for c in clips), sum(c.closures for c in clips)),
        closures=sum(c.closures for c in clips),
        closure_precision=ratio(
            sum(c.true_closures for c in clips), sum(c.motion_closures for c in clips)
        ),
        open_gap=open_gap,
        closed_gap=closed_gap,
        aperture_ratio=open_gap / max(closed_gap, CLOSED_GAP_FLOOR)
        if open_gap is not None and closed_gap is not None
        else None,
        vowels_opened=float(np.mean(np.nan_to_num(open_gaps) > OPENED_LIP_GAP))
        if open_gaps.size
        else None,
        offset_ms=float(np.median(offsets)) if offsets.size else None,
        within_frame=float(np.mean(np.abs(offsets) <= 1000.0 / fps)) if offsets.size else None,
        chatter_per_s=sum(c.reversals for c in clips) / duration,
        reference_chatter_per_s=sum(c.reference_reversals for c in clips) / duration,
        face_found=float(np.mean([c.face_found for c in clips])),
        estimate_rtf=sum(c.estimate_s for c in clips) / duration,
    )


@dataclass(frozen=True)
class LipSyncReport:
    """The outcome of :func:`evaluate_lipsync`.

    Attributes
    ----------
    rows: the table, English rows first, then the other languages', then each folder of
        recordings', methods in order
    clips: every (utterance, method) scored
    utterances: what was spoken
    network: which weights the network had
    options: the run's options
    wall_s: how long the whole run took, seconds
    sheet: frames for the contact sheet (None if no clip had closures or open vowels)
    """

    rows: tuple[MethodScores, ...]
    clips: tuple[ClipScores, ...]
    utterances: tuple[Utterance, ...]
    network: str
    options: LipSyncEvalOptions
    wall_s: float
    sheet: ContactSheet | None = field(default=None, repr=False)


def evaluate_lipsync(
    options: LipSyncEvalOptions = LipSyncEvalOptions(), progress: Progress = _no_progress
) -> LipSyncReport:
    """Run every lip-sync method on held-out speech and measure the rendered mouth.

    Parameters
    ----------
    options: see :class:`LipSyncEvalOptions`
    progress: called as (utterance, method) pairs are done, stage ``"lipsync"``

    Returns
    -------
    The table and everything behind it.

    Raises
    ------
    GiocondaError: bad options, unreadable network weights.
    """
    start = time.perf_counter()
    utterances = held_out_utterances(options.seed, options.quick, options.speech_sources)
    recorded_groups: list[str] = []
    for folder in options.real_speech:
        recorded = recorded_utterances(folder, options.seed)
        groups = list(dict.fromkeys(u.group for u in recorded))
        if clash := set(groups) & set(recorded_groups):
            raise GiocondaError(
                f"two real speech folders would both be reported as {sorted(clash)[0]!r}: "
                "rename one"
            )
        recorded_groups += groups
        utterances += recorded
    methods = [m for m in METHODS if m.name in options.methods]
    network, network_note = load_network(options.network_weights)
    tools = PhoneEstimators(network)
    portrait = bundled_portrait(options.size)
    renderer = Renderer(portrait)
    sources = {name: SPEECH_SOURCES[name]() for name in options.speech_sources}
    total = sum(1 for u in utterances for m in methods if u.language == "en" or not m.english_only)
    done = 0
    scores: list[ClipScores] = []
    sheet: ContactSheet | None = None
    for utterance in utterances:
        if utterance.recording is not None:
            clip = recorded_clip(utterance)
        else:
            clip = make_clip(utterance, sources[utterance.source])
        tools.start_clip()
        controls = MotionControls(seed=utterance.motion_seed)
        keep: list[int] = []
        if sheet is None:  # the first clip with something to show (English comes first)
            n_frames = frame_count(clip.audio.duration_s, options.fps)
            keep, labels = _sheet_frames(clip, options.fps, n_frames)
            if keep:
                sheet = ContactSheet(utterance.key, tuple(labels), {}, _mouth_box(portrait))
        for method in methods:
            if method.english_only and utterance.language != "en":
                continue
            began = time.perf_counter()
            phones = method.estimate(tools, clip)
            estimate_s = time.perf_counter() - began
            source = "recording" if method.name != "tts" else "synthesized"
            motion = motion_for_speech(Speech(clip.audio, phones, source), options.fps, controls)
            lip_gap, kept = render_and_measure(renderer, motion, keep)
            if keep and sheet is not None:
                sheet.frames[method.name] = [kept[i] for i in keep]
            scores.append(score_clip(clip, method.name, phones, motion, lip_gap, estimate_s))
            done += 1
            progress("lipsync", done, total)
    rows = []
    for group in (ENGLISH, NEURAL_ENGLISH, OTHER_LANGUAGES, *recorded_groups):
        if not any(u.group == group for u in utterances):
            continue
        for method in methods:
            clips = [s for s in scores if s.group == group and s.method == method.name]
            rows.append(pool_scores(group, method.name, clips, options.fps))
    return LipSyncReport(
        rows=tuple(rows),
        clips=tuple(scores),
        utterances=tuple(utterances),
        network=network_note,
        options=options,
        wall_s=time.perf_counter() - start,
        sheet=sheet,
    )


# ------------------------------------------------------------------------------------------------
# Output: the table as text (Markdown), JSON, and a contact sheet
# ------------------------------------------------------------------------------------------------

TABLE_COLUMNS: tuple[str, ...] = (
    "speech", "method", "utts", "viseme acc (speech)", "closure recall (precision)",
    "open/closed (gaps)", "A/V offset ms (within 1 frame)", "chatter /s (reference)",
)  # fmt: skip
NA = "n/a"


def _cells(row: MethodScores) -> list[str]:
    if row.utterances == 0:
        return [row.group, row.method, "0", *([NA] * (len(TABLE_COLUMNS) - 3))]

    def num(value: float | None, fmt: str) -> str:
        return NA if value is None else format(value, fmt)

    accuracy = NA
    if row.viseme_accuracy is not None:
        accuracy = f"{row.viseme_accuracy:.2f} ({num(row.speech_viseme_accuracy, '.2f')})"
    recall = NA
    if row.closure_recall is not None:
        recall = f"{row.closure_recall:.2f} of {row.closures} ({num(row.closure_precision, '.2f')})"
    aperture = NA
    if row.aperture_ratio is not None:
        aperture = f"{row.aperture_ratio:.1f} ({row.open_gap:.3f}/{row.closed_gap:.3f})"
    offset = NA
    if row.offset_ms is not None:
        offset = f"{row.offset_ms:+.0f} ({row.within_frame:.0%})"
    chatter = f"{row.chatter_per_s:.1f} ({row.reference_chatter_per_s:.1f})"
    return [row.group, row.method, str(row.utterances), accuracy, recall, aperture, offset, chatter]


def format_table(report: LipSyncReport) -> str:
    """The report as one Markdown table with a few lines of context under it."""
    lines = [
        "| " + " | ".join(TABLE_COLUMNS) + " |",
        "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in report.rows]
    options = report.options
    synthesized = [u for u in report.utterances if u.recording is None]
    n_en = sum(u.language == "en" for u in synthesized)
    n_recorded = len(report.utterances) - len(synthesized)
    recorded_groups: dict[str, list[Utterance]] = {}
    for utterance in report.utterances:
        if utterance.recording is not None:
            recorded_groups.setdefault(utterance.group, []).append(utterance)
    faces = [r.face_found for r in report.rows if r.face_found is not None]
    speeds = {}
    for row in report.rows:
        if row.estimate_rtf is not None and row.method not in ("loudness", "tts"):
            speeds.setdefault(row.method, row.estimate_rtf)
    lines += [
        "",
        f"{len(synthesized)} held-out utterances ({n_en} English, "
        f"{len(synthesized) - n_en} in {OTHER_LANGUAGES}), seed {options.seed}, "
        f"{options.size} px at {options.fps:g} fps, speech: {', '.join(options.speech_sources)}"
        + (
            f"; {n_recorded} recordings with phone labels (hand-made or forced-aligned, as each "
            f"folder's source says) from {', '.join(options.real_speech)}: "
            + ", ".join(
                f"{group} {len(group_utterances)} ({group_utterances[0].language})"
                for group, group_utterances in recorded_groups.items()
            )
            + " (tts row: the labels)"
            if n_recorded
            else ""
        ),
        f"network weights: {report.network}",
        f"pocketsphinx and combined: English only (n/a elsewhere); closure: MouthClose >= "
        f"{CLOSED_MOUTH_CLOSE:g} and lip gap < {CLOSED_LIP_GAP:g} mouth widths at the middle "
        f"of each /p b m/ >= {MIN_CLOSURE_S * 1000:.0f} ms",
        "seconds per second of audio to find phones: "
        + ", ".join(f"{name} {rtf:.3f}" for name, rtf in speeds.items())
        + " (combined: word decoding and alignment, on top of the network)",
        f"MediaPipe found the face in {min(faces, default=0.0):.1%} of frames (worst row); "
        f"wall time {report.wall_s:.0f} s",
    ]
    return "\n".join(lines)


def report_json(report: LipSyncReport) -> dict[str, object]:
    """The report as plain data: settings, rows, per-clip scores, utterances."""

    def clean(value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, np.ndarray):
            return [clean(float(v)) for v in value]
        return value

    def plain(obj: object) -> dict[str, object]:
        return {k: clean(v) for k, v in obj.__dict__.items()}

    options = report.options
    return {
        "options": {
            **plain(options),
            "speech_sources": list(options.speech_sources),
            "methods": list(options.methods),
        },
        "network": report.network,
        "wall_s": round(report.wall_s, 1),
        "thresholds": {
            "min_closure_s": MIN_CLOSURE_S,
            "closed_mouth_close": CLOSED_MOUTH_CLOSE,
            "closed_lip_gap": CLOSED_LIP_GAP,
            "min_open_vowel_s": MIN_OPEN_VOWEL_S,
            "closed_gap_floor": CLOSED_GAP_FLOOR,
            "opened_lip_gap": OPENED_LIP_GAP,
            "reference_aperture": REFERENCE_APERTURE,
            "reference_smoothing_s": REFERENCE_SMOOTHING_S,
            "max_lag_s": MAX_LAG_S,
            "lip_gap_hysteresis": LIP_GAP_HYSTERESIS,
            "reference_hysteresis": REFERENCE_HYSTERESIS,
        },
        "rows": [plain(row) for row in report.rows],
        "clips": [plain(clip) for clip in report.clips],
        "utterances": [plain(u) for u in report.utterances],
    }


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and check that it can be written, before a long run."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".gioconda-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise GiocondaError(f"cannot write to {path}: {error.strerror or error}") from None
    return path


def write_report(report: LipSyncReport, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``lipsync.md``, ``lipsync.json`` and (when there are frames) ``lipsync_contact.png``.

    Returns the paths written.
    """
    folder = prepare_out_dir(out_dir)
    written = [folder / "lipsync.md", folder / "lipsync.json"]
    written[0].write_text("# Lip sync\n\n" + format_table(report) + "\n", encoding="utf-8")
    written[1].write_text(json.dumps(report_json(report), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")  # fmt: skip
    if report.sheet is not None and report.sheet.frames:
        from PIL import Image

        path = folder / "lipsync_contact.png"
        Image.fromarray(contact_sheet_image(report.sheet)).save(path)
        written.append(path)
    return written


#: Side of one tile of the contact sheet, and the width of its column of method names.
_TILE, _NAME_W, _HEADER_H = 128, 120, 24


def contact_sheet_image(sheet: ContactSheet) -> np.ndarray:
    """A grid of mouths: a row per method, a column per chosen frame, labelled. RGB uint8."""
    import cv2

    methods = list(sheet.frames)
    columns = len(sheet.labels)
    image = np.full((_HEADER_H + _TILE * len(methods), _NAME_W + _TILE * columns, 3), 255, np.uint8)
    x0, y0, side = sheet.mouth_box
    font = cv2.FONT_HERSHEY_SIMPLEX
    for c, label in enumerate(sheet.labels):
        cv2.putText(image, label, (_NAME_W + c * _TILE + 6, 16), font, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
    for r, method in enumerate(methods):
        top = _HEADER_H + r * _TILE
        cv2.putText(image, method, (6, top + _TILE // 2 + 5), font, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
        for c, frame in enumerate(sheet.frames[method]):
            padded = np.pad(frame, ((side, side), (side, side), (0, 0)), mode="edge")
            crop = padded[y0 + side : y0 + 2 * side, x0 + side : x0 + 2 * side]
            tile = cv2.resize(crop, (_TILE, _TILE), interpolation=cv2.INTER_AREA)
            left = _NAME_W + c * _TILE
            image[top : top + _TILE, left : left + _TILE] = tile
    return image
