"""The mouth in the motion: visemes to ARKit mouth blendshapes with dominance-based
co-articulation, /p b m/ closures that always shut the lips, and the jaw scaled by loudness.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.sparse import csr_matrix

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import BS
from gioconda.motion.tracks import _frames_between
from gioconda.speech.audio import AudioFeatures
from gioconda.speech.visemes import VISEME_INDEX, VISEMES, PhoneSegment
from gioconda.timeline import (
    FEATURE_HOP_S,
    resample_track,
    smoothstep,
    time_to_frame,
)

#: Blendshapes the mouth drives, in the column order of the tables below.
MOUTH_CHANNELS: tuple[str, ...] = (
    "JawOpen", "MouthClose", "MouthFunnel", "MouthPucker", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthUpperUpLeft", "MouthUpperUpRight",
)  # fmt: skip


_MOUTH_COLUMNS = np.array([BS[name] for name in MOUTH_CHANNELS])


_JAW, _CLOSE = 0, 1


#: Mouth shape of each viseme for the renderer: jaw (JawOpen: 1.0 drops the lower lip ~0.55
#: mouth widths), close (MouthClose: lips pressed whatever the jaw), funnel (rounded open),
#: pucker (narrow, protruded), stretch (both corners out), roll (lower lip rolled in, under the
#: upper teeth) and upper (upper lip raised, showing the teeth). Smiles are left to emotion.
VISEME_SHAPES: dict[str, tuple[float, float, float, float, float, float, float]] = {
    #       jaw   close funnel pucker stretch roll upper
    "sil": (0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00),
    "PP":  (0.02, 1.00, 0.00, 0.00, 0.00, 0.00, 0.00),  # /p b m/: lips fully closed
    "FF":  (0.06, 0.20, 0.00, 0.00, 0.10, 0.65, 0.30),  # /f v/: lower lip to upper teeth
    "TH":  (0.12, 0.00, 0.00, 0.00, 0.10, 0.00, 0.10),  # tongue between the teeth
    "DD":  (0.10, 0.00, 0.00, 0.00, 0.15, 0.00, 0.00),  # /t d/
    "kk":  (0.13, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00),  # /k g/: lips free, jaw mid
    "CH":  (0.08, 0.00, 0.35, 0.35, 0.00, 0.00, 0.10),  # /ch j sh zh/: lips pushed forward
    "SS":  (0.05, 0.00, 0.00, 0.00, 0.35, 0.00, 0.00),  # /s z/: teeth together, lips spread
    "nn":  (0.09, 0.00, 0.00, 0.00, 0.10, 0.00, 0.00),  # /n l/
    "RR":  (0.10, 0.00, 0.20, 0.35, 0.00, 0.00, 0.00),  # /r/: slight rounding
    "aa":  (0.45, 0.00, 0.00, 0.00, 0.05, 0.00, 0.00),  # open /a/
    "E":   (0.27, 0.00, 0.00, 0.00, 0.30, 0.00, 0.00),  # mid /e/
    "ih":  (0.16, 0.00, 0.00, 0.00, 0.40, 0.00, 0.00),  # spread /i/
    "oh":  (0.32, 0.00, 0.60, 0.15, 0.00, 0.00, 0.00),  # rounded open /o/
    "ou":  (0.15, 0.00, 0.25, 0.75, 0.00, 0.00, 0.00),  # rounded close /u w/
}  # fmt: skip


#: How strongly each viseme holds its shape against its neighbours (Cohen-Massaro magnitude),
#: for three groups of channels: the jaw, lip contact (MouthClose, MouthRollLower,
#: MouthUpperUp*) and lip shape (MouthFunnel, MouthPucker, MouthStretch*). Vowels dominate the
#: jaw, /s z/ and /f v/ hold it nearly shut; /f v/ dominate lip contact (/p b m/ close through
#: :func:`_closure_weight`, which overrides everything), and vowels hold the lips apart against
#: it (an open vowel needs open lips: a 75 ms /a/ between two /m/ opens to about three
#: quarters rather than staying half pressed); rounded sounds dominate lip shape, and
#: consonants that leave the lips free (/t d k g n l/, and /p b m/ whose closed lips take the
#: rounding or spreading of the vowel next to them) let the neighbouring vowels shape them.
#: Silence is weak, so a short pause between words does not snap the mouth shut, yet it wins in
#: a long pause.
VISEME_DOMINANCE: dict[str, tuple[float, float, float]] = {
    #      jaw  contact shape
    "sil": (1.0, 1.0, 2.0),
    "PP":  (1.0, 4.0, 0.7),
    "FF":  (2.0, 6.0, 1.0),
    "TH":  (1.2, 1.0, 1.0),
    "DD":  (1.5, 1.0, 0.6),
    "kk":  (1.0, 1.0, 0.5),
    "CH":  (1.8, 1.0, 4.0),
    "SS":  (2.5, 1.0, 2.5),
    "nn":  (1.0, 1.0, 0.6),
    "RR":  (1.0, 1.0, 3.0),
    "aa":  (3.0, 3.0, 1.5),
    "E":   (2.5, 2.5, 2.0),
    "ih":  (2.0, 2.0, 2.5),
    "oh":  (2.5, 3.0, 3.5),
    "ou":  (2.0, 2.0, 5.0),
}  # fmt: skip


#: Which dominance group (0 jaw, 1 lip contact, 2 lip shape) each of MOUTH_CHANNELS is in.
_CHANNEL_GROUP = np.array([0, 1, 2, 2, 2, 2, 1, 1, 1])


def _viseme_tables() -> tuple[np.ndarray, np.ndarray]:
    """Targets and dominances as (15, len(MOUTH_CHANNELS)) arrays in :data:`VISEMES` order."""
    targets, dominance = [], []
    for viseme in VISEMES:
        jaw, close, funnel, pucker, stretch, roll, upper = VISEME_SHAPES[viseme]
        targets.append((jaw, close, funnel, pucker, stretch, stretch, roll, upper, upper))
        dominance.append(np.array(VISEME_DOMINANCE[viseme])[_CHANNEL_GROUP])
    return np.array(targets), np.array(dominance)


_TARGETS, _DOMINANCE = _viseme_tables()


_SIL, _PP = VISEME_INDEX["sil"], VISEME_INDEX["PP"]


#: Dominance decay time constants outside a phone, (before, after) in seconds, for each group of
#: channels. Decay is slower before a phone than after it (anticipation: the mouth heads for a
#: sound before it starts). Lip shape anticipates longest (rounding for /u/ starts during the
#: consonants before it); lip contact is brief, and the jaw is in between.
GROUP_DECAY_S = ((0.07, 0.04), (0.03, 0.02), (0.12, 0.05))


#: Decay is exp(-(distance / time constant) ** _DECAY_POWER), cut to exactly 0 at
#: _SUPPORT time constants so that a long pause is exactly at rest. The support before a phone
#: (0.42 s for lip shape) is the mouth's look-ahead (see the module docstring on streaming).
_DECAY_POWER = 1.5


_SUPPORT = 3.5


#: Phones shorter than this are recognizer flicker: dropped, their time given to the neighbours.
MIN_PHONE_S = 0.03


#: Bilabial closures ease in over this long before /p b m/ and release over this long after.
CLOSURE_APPROACH_S = 0.07


CLOSURE_RELEASE_S = 0.05


#: Shortest time bilabial closures hold the lips fully shut (a /p b m/ lasts 60-120 ms).
CLOSURE_MIN_HOLD_S = 0.06


#: Most of the gap between two closures that each one's easing may take.
CLOSURE_EASE_SHARE = 0.3


#: Jaw opening scales with loudness between these factors (quiet .. loud).
JAW_GAIN_QUIET, JAW_GAIN_LOUD = 0.7, 1.3


#: Baseline (no phones): JawOpen at full loudness.
JAW_AT_FULL_LEVEL = 0.45


def _mouth_from_phones(
    phones: Sequence[PhoneSegment], prosody: AudioFeatures, times: np.ndarray, fps: float
) -> np.ndarray:
    """Mouth channels per frame from timed visemes: (n_frames, len(MOUTH_CHANNELS)) in [0, 1]."""
    start, end, viseme = _clean_segments(*_phone_arrays(phones), times[-1])
    mouth = _coarticulate(start, end, viseme, times, fps)
    mouth[:, _JAW] *= _jaw_gain(prosody, times)
    pp = viseme == _PP
    closure = _closure_weight(start[pp], end[pp], times, fps)
    # The closure overrides the blend where it applies: lips pressed, jaw up to the /m/ jaw.
    mouth[:, _CLOSE] = np.maximum(mouth[:, _CLOSE], closure)
    closed_jaw = np.minimum(mouth[:, _JAW], _TARGETS[_PP, _JAW])
    mouth[:, _JAW] += closure * (closed_jaw - mouth[:, _JAW])
    return np.clip(mouth, 0.0, 1.0)


def _phone_arrays(phones: Sequence[PhoneSegment]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Phones as (start_s, end_s, viseme index) arrays sorted by start."""
    unknown = {p.viseme for p in phones} - set(VISEME_INDEX)
    if unknown:
        raise GiocondaError(f"unknown viseme(s) {sorted(unknown)}; expected one of {VISEMES}")
    start = np.array([p.start_s for p in phones], dtype=np.float64)
    end = np.array([p.end_s for p in phones], dtype=np.float64)
    viseme = np.array([VISEME_INDEX[p.viseme] for p in phones], dtype=np.int64)
    order = np.argsort(start, kind="stable")
    return start[order], np.maximum(end[order], start[order]), viseme[order]


def _clean_segments(
    start: np.ndarray, end: np.ndarray, viseme: np.ndarray, last_time_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments that tile the whole clip: silence where no phone is, no flicker.

    Uncovered time becomes ``sil`` (so the mouth rests there, also before the first and after
    the last phone); phones shorter than :data:`MIN_PHONE_S` are dropped and the gap they leave
    is split between their neighbours, so a 10 ms flicker cannot open or close the mouth.
    """
    lead_s = start.min(initial=0.0) - 1.0
    tail_s = end.max(initial=last_time_s) + 1.0
    covered_to = np.maximum.accumulate(end)
    gap_from = np.concatenate([[lead_s], covered_to])
    gap_to = np.concatenate([start, [tail_s]])
    is_gap = gap_to - gap_from > 1e-3
    start = np.concatenate([start, gap_from[is_gap]])
    end = np.concatenate([end, gap_to[is_gap]])
    viseme = np.concatenate([viseme, np.full(is_gap.sum(), _SIL)])
    keep = end - start >= MIN_PHONE_S - 1e-9
    order = np.argsort(start[keep], kind="stable")
    start, end, viseme = start[keep][order], end[keep][order], viseme[keep][order]
    # Bridge the holes left by dropped flicker at their middle (overlaps are left to the blend).
    middle = 0.5 * (end[:-1] + start[1:])
    hole = start[1:] > end[:-1]
    end[:-1] = np.where(hole, middle, end[:-1])
    start[1:] = np.where(hole, middle, start[1:])
    return start, end, viseme


def _coarticulate(
    start: np.ndarray, end: np.ndarray, viseme: np.ndarray, times: np.ndarray, fps: float
) -> np.ndarray:
    """Dominance-weighted blend of viseme targets at the frame times (Cohen & Massaro, 1993).

    Each segment pulls every channel toward its target with weight ``dominance * decay(t)``,
    where decay is 1 inside the segment and falls off with the distance to it, more slowly
    before it (anticipation) than after it. Returns (n_frames, len(MOUTH_CHANNELS)).
    """
    mouth = np.zeros((len(times), len(MOUTH_CHANNELS)))
    for group, decay_s in enumerate(GROUP_DECAY_S):
        columns = _CHANNEL_GROUP == group
        weights = _dominance_decay(start, end, times, fps, *decay_s)
        dominance = _DOMINANCE[viseme][:, columns]
        numerator = weights @ (dominance * _TARGETS[viseme][:, columns])
        denominator = weights @ dominance
        mouth[:, columns] = np.divide(
            numerator, denominator, out=np.zeros_like(numerator), where=denominator > 1e-12
        )
    return mouth


def _dominance_decay(
    start: np.ndarray,
    end: np.ndarray,
    times: np.ndarray,
    fps: float,
    before_s: float,
    after_s: float,
) -> csr_matrix:
    """Time course of each segment's dominance: sparse (n_frames, n_segments), 1 inside it."""
    n = len(times)
    owner, frame = _frames_between(start - _SUPPORT * before_s, end + _SUPPORT * after_s, fps, n)
    t = times[frame]
    before = np.maximum(start[owner] - t, 0.0) / before_s
    after = np.maximum(t - end[owner], 0.0) / after_s
    distance = before + after  # in time constants; at most one of the two is non-zero
    taper = np.clip(1.0 - (distance / _SUPPORT) ** 2, 0.0, 1.0) ** 2
    decay = np.exp(-(distance**_DECAY_POWER)) * taper
    # Summing over segments becomes a sparse product: no Python loop over phones.
    return csr_matrix((decay, (frame, owner)), shape=(n, len(start)))


def _closure_weight(
    start: np.ndarray, end: np.ndarray, times: np.ndarray, fps: float
) -> np.ndarray:
    """How firmly bilabial closures hold each frame: (n_frames,) in [0, 1].

    Exactly 1 on every frame inside a /p b m/ and on the frame nearest its middle (so even a
    40 ms /b/ between two 25 fps frames gets a fully closed frame); eases in before and out
    after, so the lips approach and release rather than snap.
    """
    n = len(times)
    if len(start) == 0:
        return np.zeros(n)
    middle = 0.5 * (start + end)
    # A recognizer's /p b m/ is often shorter than the lips' real closure (the silent hold of a
    # /p/ sounds like a pause): each holds at least CLOSURE_MIN_HOLD_S around its middle.
    half = np.maximum(0.5 * (end - start), 0.5 * CLOSURE_MIN_HOLD_S)
    start, end = middle - half, middle + half
    nearest = time_to_frame(middle, fps)
    shown = (nearest >= 0) & (nearest < n)  # closures past the last frame pull in nothing
    middle = np.where(shown, times[np.clip(nearest, 0, n - 1)], middle)
    core_from, core_to = np.minimum(start, middle), np.maximum(end, middle)
    # Between two closures close together ("mama", "papa") the easing may take at most a
    # share of the vowel each side, so the vowel still opens the lips.
    order = np.argsort(core_from)
    gap = np.full(len(start) + 1, np.inf)
    gap[1:-1] = np.maximum(core_from[order][1:] - core_to[order][:-1], 0.0)
    approach_s = np.empty(len(start))
    release_s = np.empty(len(start))
    approach_s[order] = np.minimum(CLOSURE_APPROACH_S, CLOSURE_EASE_SHARE * gap[:-1])
    release_s[order] = np.minimum(CLOSURE_RELEASE_S, CLOSURE_EASE_SHARE * gap[1:])
    approach_s, release_s = np.maximum(approach_s, 1e-3), np.maximum(release_s, 1e-3)
    owner, frame = _frames_between(core_from - approach_s, core_to + release_s, fps, n)
    t = times[frame]
    approach = smoothstep(1.0 - (core_from[owner] - t) / approach_s[owner])
    release = smoothstep(1.0 - (t - core_to[owner]) / release_s[owner])
    weight = np.where(t < core_from[owner], approach, np.where(t > core_to[owner], release, 1.0))
    out = np.zeros(n)
    np.maximum.at(out, frame, weight)
    return out


def _smoothed_level(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Loudness level in [0, 1] at the frame times, smoothed over ~syllable-internal detail."""
    # Centred Gaussian, sigma 30 ms: 90 ms of look-ahead.
    level = gaussian_filter1d(prosody.level.astype(np.float64), sigma=3.0, truncate=3.0)
    return np.clip(resample_track(level, FEATURE_HOP_S, times), 0.0, 1.0)


def _jaw_gain(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Factor on the jaw per frame: louder speech opens the mouth wider."""
    level = _smoothed_level(prosody, times)
    return JAW_GAIN_QUIET + (JAW_GAIN_LOUD - JAW_GAIN_QUIET) * level


def _jaw_from_loudness(prosody: AudioFeatures, times: np.ndarray) -> np.ndarray:
    """Baseline mouth without phones: JawOpen follows loudness, (n_frames,) in [0, 1]."""
    # Voice activity gates out clicks and breaths that are loud but not speech.
    speech = gaussian_filter1d(prosody.speech.astype(np.float64), sigma=3.0, truncate=3.0)
    gate = np.clip(resample_track(speech, FEATURE_HOP_S, times), 0.0, 1.0)
    return JAW_AT_FULL_LEVEL * _smoothed_level(prosody, times) * gate
