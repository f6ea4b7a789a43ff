"""Lip-sync metrics on rendered frames: viseme frame accuracy, closures shown on /p b m/, open
vowels, the audio-visual offset and chatter, each against true phone timings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from gioconda.speech.align import visemes_at
from gioconda.speech.visemes import VISEME_INDEX, VISEMES, PhoneSegment
from gioconda.timeline import (
    FEATURE_HOP_S,
    resample_track,
    time_to_frame,
)

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


def viseme_frames(
    phones: Sequence[PhoneSegment], n_frames: int, hop_s: float = FEATURE_HOP_S
) -> np.ndarray:
    """The viseme at the centre of each frame, as indices into :data:`~gioconda.visemes.VISEMES`.

    Frame ``i`` covers ``[i * hop_s, (i + 1) * hop_s)``; where no segment covers its centre it
    is ``sil``. Returns ``(n_frames,) int64``.
    """
    return visemes_at(phones, (np.arange(n_frames) + 0.5) * hop_s)


def viseme_accuracy(
    truth: Sequence[PhoneSegment],
    predicted: Sequence[PhoneSegment],
    duration_s: float,
    hop_s: float = FEATURE_HOP_S,
) -> float:
    """Share of ``hop_s`` frames over ``duration_s`` whose predicted viseme is the true one.

    Examples
    --------
    >>> a = [PhoneSegment(0.0, 0.5, "M", "PP"), PhoneSegment(0.5, 1.0, "AA", "aa")]
    >>> b = [PhoneSegment(0.0, 0.6, "B", "PP"), PhoneSegment(0.6, 1.0, "AH", "aa")]
    >>> round(viseme_accuracy(a, b, 1.0), 2)
    0.9
    """
    n_frames = int(duration_s / hop_s + 1e-9)  # whole frames only
    if n_frames == 0:
        return 1.0
    return float(
        np.mean(viseme_frames(truth, n_frames, hop_s) == viseme_frames(predicted, n_frames, hop_s))
    )
