"""Measurements on rendered frames by a tool we did not write: MediaPipe re-detects the face.

Used by the tests and the ``eval`` commands: what a viewer would see (are the lips shut, is
the eye closed, where did the head go) is read back from the pixels, not from our own motion
numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gioconda.face.native_logs import native_stderr_silenced
from gioconda.face.topology import (
    eye_openness,
    lip_gap,
)


@dataclass(frozen=True)
class FaceMeasurement:
    """What MediaPipe sees in one frame (NaN where no face was found).

    Attributes
    ----------
    lip_gap: inner-lip opening at the middle of the mouth, in mouth widths
    eye_openness: (2,) right and left eye opening (lid to lid) over eye width
    nose: (2,) nose-tip position in pixels
    landmarks: (478, 3) or None
    """

    lip_gap: float
    eye_openness: np.ndarray
    nose: np.ndarray
    landmarks: np.ndarray | None


class FaceMeasurer:
    """Re-detects the face in frames of one video (tracking between frames, like a viewer)."""

    def __init__(self, video: bool = True) -> None:
        from mediapipe.python.solutions import face_mesh

        with native_stderr_silenced():
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=not video,
                max_num_faces=1,
                refine_landmarks=True,
                min_detection_confidence=0.3,
                min_tracking_confidence=0.3,
            )

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceMeasurer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def measure(self, frame_rgb: np.ndarray) -> FaceMeasurement:
        h, w = frame_rgb.shape[:2]
        with native_stderr_silenced():
            result = self._mesh.process(np.ascontiguousarray(frame_rgb))
        if not result.multi_face_landmarks:
            nan2 = np.full(2, np.nan)
            return FaceMeasurement(float("nan"), nan2, nan2, None)
        lm = np.array(
            [[p.x * w, p.y * h, p.z * w] for p in result.multi_face_landmarks[0].landmark]
        )
        return FaceMeasurement(lip_gap(lm), eye_openness(lm), lm[1, :2].copy(), lm)

    def measure_all(self, frames: Iterable[np.ndarray]) -> list[FaceMeasurement]:
        return [self.measure(f) for f in frames]


def pearson(x: Iterable[float] | np.ndarray, y: Iterable[float] | np.ndarray) -> float:
    """Pearson correlation over the pairs where both are finite (NaN: a frame with no face);
    NaN when fewer than two pairs remain or either side is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(x[ok], y[ok])[0, 1])
