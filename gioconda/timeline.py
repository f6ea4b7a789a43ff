"""The one place where audio time and video frames meet.

Frame ``n`` of a video at ``fps`` is shown at ``n / fps`` seconds and stands for the
audio around that instant. Audio features are computed on a fixed 10 ms hop.
"""

from __future__ import annotations

import math

import numpy as np

#: Hop of every per-10-ms audio feature, in seconds.
FEATURE_HOP_S = 0.010
#: Sample rate that audio analysis works at.
ANALYSIS_SAMPLE_RATE = 16_000


def frame_count(duration_s: float, fps: float) -> int:
    """Number of video frames that cover ``duration_s`` seconds (at least one)."""
    return max(1, math.ceil(duration_s * fps - 1e-9))


def frame_times(n_frames: int, fps: float) -> np.ndarray:
    """Presentation time of each frame, in seconds: ``(n_frames,) float64``."""
    return np.arange(n_frames, dtype=np.float64) / fps


def time_to_frame(t_s: float | np.ndarray, fps: float) -> np.ndarray:
    """Index of the frame shown at time ``t_s`` (rounded to the nearest frame)."""
    return np.rint(np.asarray(t_s, dtype=np.float64) * fps).astype(np.int64)


def resample_track(values: np.ndarray, hop_s: float, times_s: np.ndarray) -> np.ndarray:
    """Linearly interpolate a track sampled every ``hop_s`` seconds at ``times_s``.

    ``values`` is ``(T,)`` or ``(T, C)``; sample ``i`` stands for time ``i * hop_s``.
    Times past either end take the end value.
    """
    values = np.asarray(values, dtype=np.float64)
    grid = np.arange(values.shape[0]) * hop_s
    if values.ndim == 1:
        return np.interp(times_s, grid, values)
    return np.stack([np.interp(times_s, grid, values[:, c]) for c in range(values.shape[1])], 1)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Cubic ease from 0 (x <= 0) to 1 (x >= 1) with zero slope at both ends."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
