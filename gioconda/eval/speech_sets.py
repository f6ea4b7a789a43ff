"""The speech the lip-sync evaluation is judged on: held-out synthesized utterances (languages,
voices and sentences never used in training) and recordings with phone labels.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.speech.audio import Audio, load_audio, resample
from gioconda.speech.espeak import SynthesizedSpeech, synthesize
from gioconda.speech.visemes import PhoneSegment, arpabet_to_viseme
from gioconda.timeline import (
    ANALYSIS_SAMPLE_RATE,
)

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
        from gioconda.speech import kokoro

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

    ``h#`` is silence; TIMIT closure names (``pcl``) are their stop's viseme; a stop's release
    or an affricate's closure labelled apart takes the whole's viseme (:func:`fold_split_phones`).

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
    return fold_split_phones(phones)


#: Stops whose release the lips do not show: the tongue lets go behind them (TIMIT closure
#: names too). A bilabial's release parts the lips, so /p b/ are not among them.
_LINGUAL_STOPS = frozenset({"t", "d", "k", "g", "tcl", "dcl", "kcl", "gcl"})


def fold_split_phones(phones: Sequence[PhoneSegment]) -> tuple[PhoneSegment, ...]:
    """Phone labels with the parts of a stop that some corpora label apart given the mouth
    shape of the whole, as the forced-aligned corpora and CMUdict (our words) label them.

    - A ``hh`` right after a /t d k g/ is that stop's release and aspiration (the hand-labelled
      ANDOSL speaker's convention: "t hh ih z"); ARCTIC, MFA and JSUT count it in the stop. The
      tongue's release does not move the lips or jaw, so it takes the stop's viseme. After
      /p b/ it stays: the release parts the lips.
    - A /t d/ right before /sh zh/ is an affricate's closure (ANDOSL writes "chill" t sh ih l);
      the lips are already rounded for the fricative, as CMUdict's one CH says, so it is CH.
      Across words ("turned sharply") the lips round ahead of the /sh/ too, so it is CH there
      as well.

    Examples
    --------
    >>> labels = [PhoneSegment(0.0, 0.1, "t", "DD"), PhoneSegment(0.1, 0.15, "hh", "kk"),
    ...           PhoneSegment(0.15, 0.2, "t", "DD"), PhoneSegment(0.2, 0.3, "sh", "CH")]
    >>> [p.viseme for p in fold_split_phones(labels)]
    ['DD', 'DD', 'CH', 'CH']
    """
    folded = list(phones)
    for i in range(1, len(folded)):
        before, phone = folded[i - 1], folded[i]
        if abs(before.end_s - phone.start_s) > 1e-6:
            continue  # not adjacent: a pause between them
        name, previous = phone.phone.lower(), before.phone.lower()
        if name == "hh" and previous in _LINGUAL_STOPS:
            folded[i] = replace(phone, viseme=before.viseme)
        elif name in ("sh", "zh") and previous in ("t", "d", "tcl", "dcl"):
            folded[i - 1] = replace(before, viseme="CH")
    return tuple(folded)


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
