"""Whether an English speaker says the /r/ after a vowel (a rhotic accent) or not.

The CMU dictionary is American: "ever" ends in ER, "more" in R. A non-rhotic speaker
(British, Australian...) says neither, and the mouth should not round for an /r/ nobody
said. The acoustic sign of an /r/ or an r-coloured vowel is a low third formant: F3 falls
to some 1600-1800 Hz in a man's /ɚ/ and 1900-2200 Hz in a woman's, against the 2400-3000 Hz
it has in their other vowels (about 0.65-0.75 of it); a non-rhotic speaker's NURSE vowel
and schwa keep F3 where their other vowels have it (a ratio near 1).

:func:`says_r_after_vowels` measures that on a recording whose words PocketSphinx has placed
with the dictionary's (rhotic) pronunciations: F3 (:mod:`gioconda.speech.formants`) in each
ER and each /r/ after a vowel that a non-rhotic speaker would not say, against F3 in the
same speaker's vowels away from any /r/. An accent is the speaker's: one decision for the
recording, from the median over its tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gioconda.speech.audio import Audio
from gioconda.speech.formants import WINDOW_S, formants_at
from gioconda.speech.pronounce import ARPABET_VOWELS
from gioconda.speech.sphinx_align import AlignedPhone

#: A speaker whose median F3 in the /r/ positions, over the median F3 of their other
#: vowels, is below this says the /r/: midway between an r-coloured vowel's 0.65-0.75 and
#: the 1.0 of one without (phonetics, not fitted). Measured per recording: the hand-labelled
#: British speaker 0.94-1.03 (the four of its seven recordings that have any /r/ position);
#: American CMU ARCTIC slt 0.69, MFA 0.77 (16 positions), north wind 0.57, phonlab 0.68;
#: eSpeak NG's "Her father never saw the water by the river." en-us 0.78, en-gb 0.89, its RP
#: voice (en-gb-x-rp) 0.93.
RHOTIC_F3_RATIO = 0.85
#: Fewer /r/ positions than this in a recording: no decision (the dictionary's /r/ stays).
#: One decides: a short sentence has one or two, and on the hand-labelled British speaker
#: (ratios 0.93-1.03) waiting for three left three of its four recordings with any drawn
#: with /r/ (frame accuracy, 10 ms, phones before rendering: 0.7997 at 3, 0.8025 at 2,
#: 0.8077 at 1). Of the 32 held-out synthetic English utterances one position turned 12:
#: eSpeak's en-gb voices in seven, rightly (0.734 -> 0.745, their schwa "3" labelled as
#: such), a misheard "farm" (en-us+f4, 0.93), a whispered en-us (1.02), Kokoro's Japanese
#: voice in three of eight (0.92-1.03; 0.818 -> 0.813); all 32 together 0.766 -> 0.769.
MIN_R_TOKENS = 1
#: Instants analysed in each phone, every this many seconds.
STEP_S = 0.01
#: A recording clipped (an over-driven microphone, a gain pushed too far) is flat at its
#: peak: samples of at least this share of the recording's peak, level (:data:`CLIP_FLAT`),
#: for :data:`CLIP_RUN_S` or more in a row (3 samples at 16 kHz) are clipped, and a phone
#: with one in any of its instants' windows is not measured (what is left of it is its quiet
#: edges, transitions to its neighbours: a clipped ER kept 2 of its 8 instants, F3 2330 Hz
#: where its middle has some 2000). Clipping's harmonics raise the LPC's F3 in an r-coloured
#: vowel more than in the others: eSpeak's en-us voice (ratio 0.79 clean) clipped at 1/20 of
#: its peak read 0.86, its female en-us+f3 (0.79) at 1/5 read 0.91 (through ``gioconda
#: lipsync``, Whisper's words: 0.855), both then told non-rhotic and drawn without their /r/;
#: now too few positions are left to decide, and the dictionary's /r/ stays. No clean
#: recording measured has such a run: eSpeak's en-us, +f3, +f4, +m3, +klatt, +whisper, en-gb,
#: en-gb-x-rp; the seven hand-labelled ones.
CLIP_LEVEL = 0.98
CLIP_RUN_S = 0.0002
#: How level (share of the peak) each sample of a clipped run is with the one before it: a
#: few steps of 16-bit audio.
CLIP_FLAT = 1e-4
#: A recording whose speech stands less than this over its noise floor (dB: the 95th over the
#: 10th percentile of its 20 ms frames' power, :func:`speech_over_noise_db`) is not judged:
#: broadband noise flattens the spectrum the LPC fits and raises F3 most where it is low, so
#: an American voice reads as a non-rhotic one. eSpeak's en-us in white noise, "My mother and
#: father were never there for her, and the water under the river was further.", ratio
#: (this estimate): clean 0.786, noise at 30 dB 0.798 (34.3), 20 dB 0.830 (24.4), 15 dB 0.854
#: (19.4), 10 dB 0.877 (14.5), called non-rhotic from 15 dB; its RP voice 0.96-0.98 at every
#: level. The real recordings here: the hand-labelled speaker 33.8-36.1 dB, ARCTIC 40.0,
#: north wind 27.1, phonlab 24.7-47.5 (judged as before); the MFA recordings 15.4 and 19.6
#: (rhotic either way). Below it the dictionary's /r/ stays, as for a recording too short to
#: tell: a noisy British recording keeps its /r/ (as before accents were told).
MIN_SPEECH_OVER_NOISE_DB = 20.0
#: The frames of :func:`speech_over_noise_db`, seconds.
LEVEL_FRAME_S = 0.02
# Next to these, a vowel's F3 is pulled down by the /r/ or the lip rounding.
_LOWERING = frozenset({"R", "ER", "W"})


def _base(phone: AlignedPhone) -> str:
    return phone.phone.strip().upper().rstrip("012")


def r_positions(phones: Sequence[AlignedPhone]) -> tuple[list[int], list[int]]:
    """Indices into ``phones`` of (the /r/ positions that tell an accent, the reference
    vowels).

    An /r/ position: an ER, or an R after a vowel of its word, that is not followed by a
    vowel (of the same word, or of the next one with no pause between: the linking /r/ of
    "offer any", which non-rhotic speakers say too). A reference vowel: any other vowel not
    next to R, ER or W.
    """
    spoken = [i for i, p in enumerate(phones) if _base(p) not in ("SIL", "+NSN+", "+SPN+")]
    r_tokens, reference = [], []
    for k, i in enumerate(spoken):
        phone, base = phones[i], _base(phones[i])
        previous = phones[spoken[k - 1]] if k > 0 else None
        following = phones[spoken[k + 1]] if k + 1 < len(spoken) else None
        # Adjacent: nothing (a pause) between them.
        vowel_next = (
            following is not None and spoken[k + 1] == i + 1 and _base(following) in ARPABET_VOWELS
        )
        if base == "ER" or (
            base == "R"
            and previous is not None
            and previous.word == phone.word
            and _base(previous) in ARPABET_VOWELS
        ):
            if not vowel_next:
                r_tokens.append(i)
        elif base in ARPABET_VOWELS and not any(
            p is not None and _base(p) in _LOWERING for p in (previous, following)
        ):
            reference.append(i)
    return r_tokens, reference


def r_f3_ratio(audio: Audio, phones: Sequence[AlignedPhone]) -> tuple[float, int]:
    """The median F3 in the /r/ positions (:func:`r_positions`) over the median F3 of the
    reference vowels (each phone's F3: its median over the phone), and how many /r/ positions
    were measured; (NaN, 0) where either side has none."""
    r_tokens, reference = r_positions(phones)
    chosen = r_tokens + reference
    instants = [np.arange(phones[i].start_s + STEP_S / 2, phones[i].end_s, STEP_S) for i in chosen]
    clipped = _clipped_samples(audio)
    if len(clipped):
        # A phone clipped anywhere is not measured at all (:data:`CLIP_LEVEL`).
        instants = [
            t[:0] if _holds_any(clipped, audio.sample_rate, t).any() else t for t in instants
        ]
    if not chosen or not sum(len(t) for t in instants):
        return float("nan"), 0
    f3 = formants_at(audio, np.concatenate(instants))[:, 2]
    medians = []
    at = 0
    for t in instants:
        values = f3[at : at + len(t)]
        at += len(t)
        values = values[np.isfinite(values)]
        medians.append(float(np.median(values)) if len(values) else float("nan"))
    r_f3 = np.array(medians[: len(r_tokens)])
    reference_f3 = np.array(medians[len(r_tokens) :])
    r_f3, reference_f3 = r_f3[np.isfinite(r_f3)], reference_f3[np.isfinite(reference_f3)]
    if not len(r_f3) or not len(reference_f3):
        return float("nan"), 0
    return float(np.median(r_f3) / np.median(reference_f3)), len(r_f3)


def _clip_run(sample_rate: int) -> int:
    """Samples in a row that make a clipped run (:data:`CLIP_RUN_S`) at ``sample_rate``."""
    return max(2, round(CLIP_RUN_S * sample_rate))


def _clipped_samples(audio: Audio) -> np.ndarray:
    """Where ``audio`` is clipped: the first sample of each run of :func:`_clip_run` samples
    at :data:`CLIP_LEVEL` of its peak or more, each level with the one before it (within
    :data:`CLIP_FLAT` of the peak) (sorted sample indices)."""
    samples = np.asarray(audio.samples, np.float32).reshape(-1)
    magnitude = np.abs(samples)
    run_length = _clip_run(audio.sample_rate)
    if len(magnitude) < run_length or not magnitude.max() > 0:
        return np.zeros(0, np.int64)
    peak = magnitude.max()
    high = magnitude >= CLIP_LEVEL * peak
    # Flat, as a clipped top is: a smooth loud peak spends as long near the recording's peak
    # (a 120 Hz vowel's about 0.5 ms over 0.98 of it) but is never level.
    high[1:] &= np.abs(np.diff(samples)) <= CLIP_FLAT * peak
    high[0] = False
    run = high[: len(high) - run_length + 1].copy()
    for k in range(1, run_length):
        run &= high[k : len(high) - run_length + 1 + k]
    return np.flatnonzero(run)


def _holds_any(runs: np.ndarray, sample_rate: int, times_s: np.ndarray) -> np.ndarray:
    """Whether the :data:`~gioconda.speech.formants.WINDOW_S` window around each instant
    holds a sample of a clipped run (``runs``: their first samples, sorted)."""
    first = np.round((times_s - WINDOW_S / 2) * sample_rate).astype(np.int64)
    first -= _clip_run(sample_rate) - 1
    stop = np.round((times_s + WINDOW_S / 2) * sample_rate).astype(np.int64)
    return np.searchsorted(runs, stop) > np.searchsorted(runs, first)


def speech_over_noise_db(audio: Audio) -> float:
    """How far ``audio``'s speech stands over its noise floor, dB: the 95th over the 10th
    percentile of the power of its :data:`LEVEL_FRAME_S` frames, frames of digital silence
    left out; NaN where fewer than two frames are left."""
    samples = np.asarray(audio.samples, np.float32).reshape(-1)
    frame = max(1, round(LEVEL_FRAME_S * audio.sample_rate))
    n_frames = len(samples) // frame
    if n_frames < 2:
        return float("nan")
    power = np.empty(n_frames)
    # In pieces, so that a long recording is not copied whole.
    step = max(1, (1 << 20) // frame)
    for first in range(0, n_frames, step):
        stop = min(n_frames, first + step)
        piece = samples[first * frame : stop * frame].reshape(stop - first, frame)
        power[first:stop] = np.mean(np.square(piece, dtype=np.float64), axis=1)
    # Digital silence (a noise gate, zeros padded on) is no noise floor: measured, it would put
    # any noise in the speech under the 10th percentile's frame.
    power = power[power > 1e-12]
    if len(power) < 2:
        return float("nan")
    level = 10.0 * np.log10(power)
    return float(np.percentile(level, 95) - np.percentile(level, 10))


def says_r_after_vowels(audio: Audio, measured: tuple[float, int]) -> bool:
    """Whether the speaker of ``audio`` says the /r/ after a vowel: ``measured``, the
    recording's :func:`r_f3_ratio` (ratio, positions), below :data:`RHOTIC_F3_RATIO`; True
    (the dictionary's) where it has too few positions to tell, or where noise would fool the
    measure (:data:`MIN_SPEECH_OVER_NOISE_DB`).

    ``measured`` is taken over PocketSphinx's alignment of the recording's words as the CMU
    dictionary writes them, times in ``audio``."""
    if not speech_over_noise_db(audio) >= MIN_SPEECH_OVER_NOISE_DB:
        return True
    ratio, count = measured
    return count < MIN_R_TOKENS or not ratio >= RHOTIC_F3_RATIO
