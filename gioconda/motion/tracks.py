"""Signal helpers shared by the motion's parts, on the 10 ms prosody grid: pulses, one-pole
filters, smooth seeded noise and speech onsets.
"""

from __future__ import annotations

import numpy as np

from gioconda.timeline import (
    FEATURE_HOP_S,
    frame_times,
    smoothstep,
    time_to_frame,
)

#: Rate of the internal prosody grid (the audio features' own 10 ms hop), in Hz. Head motion is
#: simulated on this grid, so it does not change with the video's frame rate.
#: The first frames show the photo as it is: no blink before this time (seconds)...
OPENING_STILL_S = 0.6


#: ... and head, gaze and brows ease in from rest over this long.
OPENING_EASE_S = 0.8


GRID_FPS = 1.0 / FEATURE_HOP_S


def _frames_between(
    lo_s: np.ndarray, hi_s: np.ndarray, fps: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every frame near each window ``[lo_s[k], hi_s[k]]``, as flat (window k, frame index) pairs.

    One frame of margin on each side is included (callers weight by time, so extra frames get
    weight 0); frames outside ``[0, n)`` are dropped. This is how per-event shapes (phones,
    blinks, nods) are evaluated without a Python loop over events.
    """
    first = np.clip(time_to_frame(lo_s, fps) - 1, 0, n)
    last = np.clip(time_to_frame(hi_s, fps) + 1, -1, n - 1)
    counts = np.maximum(last - first + 1, 0)
    owner = np.repeat(np.arange(len(first)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, first[owner] + offset


def _pulse(t_rel: np.ndarray, rise_s: float, hold_s: float, fall_s: float) -> np.ndarray:
    """A 0 -> 1 -> 0 pulse in time ``t_rel`` relative to the middle of its plateau.

    It eases up over ``rise_s``, stays at exactly 1 for ``hold_s`` (centred on 0) and eases back
    down over ``fall_s``.
    """
    half = 0.5 * hold_s
    up = smoothstep((t_rel + half + rise_s) / rise_s)
    down = smoothstep((half + fall_s - t_rel) / fall_s)
    return np.where(t_rel < -half, up, np.where(t_rel > half, down, 1.0))


def _pulse_track(
    centers_s: np.ndarray,
    amplitudes: np.ndarray,
    shape: tuple[float, float, float],
    times: np.ndarray,
    fps: float,
) -> np.ndarray:
    """Pulses of :func:`_pulse` ``shape`` (rise, hold, fall) at ``centers_s``, max-combined.

    ``times`` are the frame times at rate ``fps``; returns one value per frame.
    """
    rise, hold, fall = shape
    n = len(times)
    out = np.zeros(n)
    owner, frame = _frames_between(centers_s - hold / 2 - rise, centers_s + hold / 2 + fall, fps, n)
    values = amplitudes[owner] * _pulse(times[frame] - centers_s[owner], rise, hold, fall)
    np.maximum.at(out, frame, values)
    return out


def _one_pole(x: np.ndarray, tau_s: float, fps: float = GRID_FPS, axis: int = 0) -> np.ndarray:
    """Causal first-order low-pass with time constant ``tau_s`` (unit gain at DC)."""
    from scipy.signal import lfilter  # (here: see gioconda.speech.audio.normalize_features)

    a = np.exp(-1.0 / (tau_s * fps))
    return lfilter([1.0 - a], [1.0, -a], x, axis=axis)


def _speech_onsets(speech: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where speech starts and stops on the prosody grid.

    Returns
    -------
    onsets_s: (k,) times where a pause ends and speech begins, in seconds
    pause_before_s: (k,) length of the pause before each onset (the clip start counts as one)
    offsets_s: (m,) times where speech ends and a pause begins, in seconds
    """
    grid_t = frame_times(len(speech), GRID_FPS)
    edges = np.diff(speech.astype(np.int8), prepend=0)
    onsets = np.flatnonzero(edges == 1)
    offsets = np.flatnonzero(edges == -1)
    previous_offset = np.concatenate([[0], offsets])[np.searchsorted(offsets, onsets)]
    return grid_t[onsets], grid_t[onsets] - grid_t[previous_offset], grid_t[offsets]


#: Smooth noise loses anything slower than this (s), so what it drives never drifts.
HEAD_SLOW_S = 4.0


def _band_noise(rng: np.random.Generator, n: int, tau_s: float) -> np.ndarray:
    """Smooth seeded noise on the prosody grid with unit std: (n,).

    White noise through two causal one-pole low-passes (time constant ``tau_s``) and a
    high-pass at :data:`HEAD_SLOW_S`, so it wanders on a scale of seconds and never drifts.
    """
    burn_in = int(5 * HEAD_SLOW_S * GRID_FPS)  # start in the steady state, not at zero

    def band(x: np.ndarray) -> np.ndarray:
        smooth = _one_pole(_one_pole(x, tau_s), tau_s)
        return smooth - _one_pole(smooth, HEAD_SLOW_S)

    impulse = np.zeros(2 * burn_in)
    impulse[0] = 1.0
    std = np.sqrt(np.sum(band(impulse) ** 2))  # the filter's gain on unit white noise
    return band(rng.standard_normal(n + burn_in))[burn_in:] / std
