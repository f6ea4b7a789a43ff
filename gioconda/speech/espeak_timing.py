"""eSpeak NG's phone events corrected against the waveform it made: closures given to the
consonants, vowels started at a nasal's release, silences found where the sound is quiet.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import maximum_filter1d

from gioconda.speech.audio import Audio
from gioconda.speech.visemes import VOWEL_VISEMES, PhoneSegment

# A pre-pause silence is at most ~90 nominal ms (setlengths.c), longer only at slow rates.
_MAX_CLOSURE_S = 0.15


# After a pause the silence is mostly pause: the lips take their place this long before.
_MAX_CLOSURE_AFTER_PAUSE_S = 0.08


# Shortest silence that counts as a closure, and what the previous phone keeps at least.
_MIN_CLOSURE_S = 0.008


_MIN_KEPT_S = 0.015


# "Silent": the envelope (max |x| over 2 ms) is this far below the utterance's peak. Digital
# zeros for most voices; the variants with an echo (f2, f4, m2, ...) leave ~-30 dB in it.
_QUIET_DB = -32.0


_ENVELOPE_S = 0.002


# A nasal's release: the vowel's onset is at least this much louder (pre-emphasized, so the
# nasal murmur's low frequencies weigh little) than the murmur, and its event at most this
# late. eSpeak reports a vowel after a nasal or liquid only after the vowel's onset.
_RELEASE_CONTRAST_DB = 6.0


_MAX_RELEASE_LAG_S = 0.05


_LOUDNESS_WINDOW_S = 0.010


def _phone_starts(events: Sequence[tuple[int, str]], n_samples: int) -> tuple[list[int], list[str]]:
    """Start sample and label of every phone, silence first if the events start late.

    A phone lasts until the next event. Events at the same sample leave the earlier one
    zero-long (e.g. the clause-final pause and the next clause's first phone): it is dropped.
    Language switches, reported as phonemes such as ``"(en)"``, are not sounds and are skipped.
    """
    starts: list[int] = [0]
    labels: list[str] = ["_"]
    for sample, label in events:
        if label.startswith("(") or not label:
            continue
        sample = min(max(sample, 0), n_samples)
        if sample <= starts[-1]:
            labels[-1] = label
        else:
            starts.append(sample)
            labels.append(label)
    return starts, labels


def _give_closures_to_consonants(audio: Audio, starts: list[int], visemes: list[str]) -> list[int]:
    """Move each consonant's start back over the silence that eSpeak puts before its event.

    The silence is the consonant's articulation (the lips are shut during a /p/ closure), but
    eSpeak emits the phoneme event only after it. Vowels and pauses keep their start.
    """
    rate = audio.sample_rate
    threshold = _quiet_threshold(audio.samples)
    moved = list(starts)
    for i in range(1, len(starts)):
        if visemes[i] == "sil" or visemes[i] in VOWEL_VISEMES:
            continue
        if visemes[i - 1] == "sil":
            earliest = max(starts[i - 1], starts[i] - int(_MAX_CLOSURE_AFTER_PAUSE_S * rate))
        else:
            earliest = max(
                starts[i - 1] + int(_MIN_KEPT_S * rate), starts[i] - int(_MAX_CLOSURE_S * rate)
            )
        silence = _silence_before(audio, starts[i], earliest, threshold)
        if silence is not None and starts[i] - silence >= int(_MIN_CLOSURE_S * rate):
            moved[i] = max(silence, moved[i - 1] + 1)
    return moved


def _quiet_threshold(samples: np.ndarray) -> float:
    """Level under which the audio counts as silent: far below its peak, or digital zero."""
    peak = float(np.percentile(np.abs(samples), 99.9)) if samples.size else 0.0
    return max(peak * 10 ** (_QUIET_DB / 20), 1.5 / 32768)


def _silence_before(audio: Audio, end: int, earliest: int, threshold: float) -> int | None:
    """Start (not before ``earliest``) of the silence that ends where ``end`` begins, if any.

    Silent means a 2 ms envelope (max of |x|) under ``threshold``; the envelope bridges the
    zero crossings of sound and shortens a silence by half its width at each end.
    """
    size = max(1, int(_ENVELOPE_S * audio.sample_rate))
    lo = max(0, earliest - size)
    envelope = maximum_filter1d(np.abs(audio.samples[lo : end + size]), size, mode="nearest")
    quiet = envelope[: end - lo] < threshold
    if end - lo <= size or not quiet[-size:].any():
        return None
    last_quiet = end - lo - size + int(np.flatnonzero(quiet[-size:])[-1])
    loud = np.flatnonzero(~quiet[:last_quiet])
    first_quiet = int(loud[-1]) + 1 if loud.size else 0
    return max(earliest, lo + first_quiet - size // 2)


def _start_vowels_at_nasal_release(
    audio: Audio, starts: list[int], labels: list[str], visemes: list[str]
) -> list[int]:
    """Start a vowel after a nasal where the nasal is released, not where eSpeak says.

    eSpeak emits the event of a vowel that follows a nasal or liquid after the vowel's onset
    (synthesize.c), some 15-25 ms late; for /m/ that is the time the lips are already open.
    The release is where the pre-emphasized loudness climbs from the murmur to the vowel's.
    """
    rate = audio.sample_rate
    moved = list(starts)
    for i in range(1, len(starts) - 1):
        if visemes[i] in VOWEL_VISEMES and _is_nasal(labels[i - 1]):
            vowel_end = min(starts[i + 1], starts[i] + int(0.02 * rate))
            release = _release(audio, starts[i - 1], starts[i], vowel_end)
            if release is not None:
                moved[i] = release
    return moved


def _release(audio: Audio, nasal_start: int, vowel_start: int, vowel_end: int) -> int | None:
    """Where loudness climbs from a nasal's murmur to its vowel's, or None if it does not."""
    rate = audio.sample_rate
    margin = int(_LOUDNESS_WINDOW_S * rate)  # so the window is whole at the edges
    lo = max(0, nasal_start - margin)
    loudness = _loudness_db(audio.samples[lo : vowel_end + margin], rate)[nasal_start - lo :]
    nasal = loudness[: vowel_start - nasal_start]
    vowel = loudness[vowel_start - nasal_start : vowel_end - nasal_start]
    if nasal.size < 4 or vowel.size == 0:
        return None
    murmur_db = float(np.median(nasal[: nasal.size // 2]))
    vowel_db = float(np.median(vowel))
    if vowel_db - murmur_db < _RELEASE_CONTRAST_DB:
        return None
    earliest = max(nasal.size // 2, nasal.size - int(_MAX_RELEASE_LAG_S * rate))
    below = np.flatnonzero(nasal[earliest:] < (murmur_db + vowel_db) / 2)
    return nasal_start + earliest + int(below[-1]) + 1 if below.size else None


def _is_nasal(label: str) -> bool:
    """m, n and their variants (ŋ "N", ɲ "n^", retroflex "n.", labiodental "M")."""
    return label.lstrip("'\",%=!")[:1] in ("m", "n", "N", "M")


def _loudness_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Pre-emphasized power in dB over a centred 10 ms window, at every sample."""
    emphasized = np.diff(samples.astype(np.float64), prepend=0.0)
    window = max(1, int(_LOUDNESS_WINDOW_S * sample_rate))
    # A running sum keeps this linear in the length of the audio (minutes of text).
    padded = np.pad(emphasized**2, (window // 2, window - window // 2))
    sums = np.cumsum(np.concatenate([[0.0], padded]))
    power = (sums[window:] - sums[:-window])[: samples.size] / window
    return 10 * np.log10(np.maximum(power, 0.0) + 1e-12)


def _segments(
    starts: list[int], labels: list[str], visemes: list[str], audio: Audio
) -> tuple[PhoneSegment, ...]:
    """Contiguous segments from phone starts (in samples) to the end of the audio."""
    rate = audio.sample_rate
    ends = [*starts[1:], audio.samples.size]
    return tuple(
        PhoneSegment(start / rate, end / rate, label, viseme)
        for start, end, label, viseme in zip(starts, ends, labels, visemes, strict=True)
        if end > start
    )
