"""The fixed train / valid / test split of the synthetic viseme data.

Three things are held out, so that the scores on valid and test say how the network does on
speech it has never heard the like of:

* whole **languages**: :data:`VALID_LANGUAGES` and :data:`TEST_LANGUAGES` are never spoken in
  train (not even as nonsense syllables), in any of their dialect voices;
* **speakers**: eSpeak NG variants (:data:`VALID_VARIANTS`, :data:`TEST_VARIANTS`) and, per
  synthesizer, the voices in :data:`HELD_OUT_SPEAKERS`;
* **sentences**: every text belongs to exactly one split by a hash of its normalized form
  (:func:`text_split`), so a sentence of valid or test never appears in train.

An utterance of valid (test) speaks a held-out language with a speaker that is not held out
for the other split, or a train language with a held-out speaker, and its text hashes to
valid (test). Evaluation code should synthesize its held-out speech from these constants.
"""

from __future__ import annotations

import hashlib
import unicodedata

TRAIN, VALID, TEST = "train", "valid", "test"
SPLITS: tuple[str, ...] = (TRAIN, VALID, TEST)

#: Languages (ids of :data:`training.texts.LANGUAGES`) spoken only in valid / only in test.
#: Test holds out a non-Latin script (Greek), a Uralic language (Hungarian) and a tonal one
#: (Vietnamese); valid a Romance language and a Dravidian one.
VALID_LANGUAGES: tuple[str, ...] = ("ro", "ta")
TEST_LANGUAGES: tuple[str, ...] = ("el", "hu", "vi")

#: The eSpeak NG voices (``gioconda.speech.synthesize(voice=...)``) of those languages.
VALID_ESPEAK_VOICES: tuple[str, ...] = ("ro", "ta")
TEST_ESPEAK_VOICES: tuple[str, ...] = ("el", "hu", "vi", "vi-vn-x-central", "vi-vn-x-south")

#: eSpeak NG voice variants (``"en-us+f4"``) heard only in valid / only in test: female and
#: male, Klatt-synthesized, whispered and robotic timbres, so each split has every kind.
VALID_VARIANTS: tuple[str, ...] = (
    "f2", "alicia", "m3", "max", "iven2", "michel", "klatt2", "anikarobot",
)  # fmt: skip
TEST_VARIANTS: tuple[str, ...] = (
    "f4", "belinda", "steph2", "m6", "gustave", "klatt4", "robert", "storm", "whisperf",
    "robosoft3",
)  # fmt: skip

#: Held-out speakers per synthesizer name, per split. A speaker is what changes the voice
#: within a language: an eSpeak variant ("" for the plain voice), a Kokoro voice name.
HELD_OUT_SPEAKERS: dict[str, dict[str, tuple[str, ...]]] = {
    "espeak": {VALID: VALID_VARIANTS, TEST: TEST_VARIANTS},
    # Kokoro's single voices and two-voice blends ("jf_alpha+jm_kumo"): whole voices held out.
    "kokoro": {VALID: ("jf_tebukuro",), TEST: ("jf_nezumi",)},
}

#: Text hash buckets (0-99) of each split.
TEXT_BUCKETS: dict[str, range] = {TRAIN: range(0, 80), VALID: range(80, 90), TEST: range(90, 100)}


def normalize_text(text: str) -> str:
    """The form of a text that its split is decided on: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def text_bucket(text: str) -> int:
    """The text's hash bucket, 0-99 (SHA-1 of the UTF-8 normalized text, first 8 hex digits)."""
    digest = hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 100


def text_split(text: str) -> str:
    """The one split a text may appear in."""
    bucket = text_bucket(text)
    return next(split for split, buckets in TEXT_BUCKETS.items() if bucket in buckets)


def language_split(language: str) -> str:
    """TRAIN, or the split that holds ``language`` out."""
    if language in VALID_LANGUAGES:
        return VALID
    return TEST if language in TEST_LANGUAGES else TRAIN


def speaker_split(synthesizer: str, speaker: str) -> str:
    """TRAIN, or the split that holds the synthesizer's ``speaker`` out."""
    held_out = HELD_OUT_SPEAKERS.get(synthesizer, {})
    for split in (VALID, TEST):
        if speaker in held_out.get(split, ()):
            return split
    return TRAIN


def voice_split(language: str, synthesizer: str, speaker: str) -> str | None:
    """The split a (language, speaker) pair belongs to; None if it belongs to none.

    A pair that holds out for both valid and test at once (a valid language with a test
    speaker) is never used, so that neither split sees what the other holds out.
    """
    by_language = language_split(language)
    by_speaker = speaker_split(synthesizer, speaker)
    if by_language == TRAIN:
        return by_speaker
    if by_speaker in (TRAIN, by_language):
        return by_language
    return None


def belongs(split: str, language: str, synthesizer: str, speaker: str, text: str) -> bool:
    """Whether an utterance may be in ``split``: its voice and its text both say so."""
    return voice_split(language, synthesizer, speaker) == split and text_split(text) == split


def describe() -> dict[str, object]:
    """The split definition as plain data, for the data set's manifest."""
    return {
        "valid_languages": list(VALID_LANGUAGES),
        "test_languages": list(TEST_LANGUAGES),
        "valid_espeak_voices": list(VALID_ESPEAK_VOICES),
        "test_espeak_voices": list(TEST_ESPEAK_VOICES),
        "held_out_speakers": {
            synth: {split: list(names) for split, names in by_split.items()}
            for synth, by_split in HELD_OUT_SPEAKERS.items()
        },
        "text_buckets": {split: [r.start, r.stop] for split, r in TEXT_BUCKETS.items()},
        "text_bucket_rule": (
            "int(sha1(utf8(' '.join(NFC(text).casefold().split()))).hexdigest()[:8], 16) % 100"
        ),
        "voice_rule": (
            "train: train language and train speaker; valid/test: (held-out language and a "
            "speaker not held out for the other split) or (train language and held-out "
            "speaker); the text's bucket must match the split"
        ),
    }
