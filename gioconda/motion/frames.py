"""Motion as data: per-frame head pose and the 52 ARKit blendshapes, for a whole clip
(:class:`Motion`) or one frame (:class:`MotionFrame`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS


@dataclass(frozen=True)
class MotionFrame:
    """One frame of motion; see :class:`Motion` for units."""

    blendshapes: np.ndarray  # (52,) float32 in [0, 1]
    head_rotation_deg: np.ndarray  # (3,) yaw, pitch, roll
    head_translation: np.ndarray  # (2,) x, y in face widths
    head_scale: float
    gaze_deg: np.ndarray  # (2,) yaw, pitch
    #: How much of the photo's own expression the blendshapes replace, 0 to 1: 0 adds them
    #: to the face as the photo has it (a neutral emotion keeps the photo's smile), 1 undoes
    #: the photo's expression first (a smiling photo asked to look sad stops smiling).
    replaces_photo: float = 0.0

    @classmethod
    def still(
        cls,
        rotation: Sequence[float] = (0.0, 0.0, 0.0),
        gaze: Sequence[float] = (0.0, 0.0),
        replaces_photo: float = 0.0,
        **blendshapes: float,
    ) -> MotionFrame:
        """One pose: the photo's own, turned by ``rotation`` (yaw, pitch, roll in degrees),
        looking ``gaze`` (yaw, pitch) and with the named ARKit ``blendshapes`` set, replacing
        ``replaces_photo`` of the photo's own expression."""
        shapes = np.zeros(len(ARKIT_BLENDSHAPES), np.float32)
        for name, value in blendshapes.items():
            shapes[BS[name]] = value
        return cls(
            shapes,
            np.asarray(rotation, np.float32),
            np.zeros(2, np.float32),
            1.0,
            np.asarray(gaze, np.float32),
            float(replaces_photo),
        )


@dataclass(frozen=True)
class Motion:
    """What the face does, frame by frame.

    Attributes
    ----------
    fps: frames per second; frame ``i`` is at ``i / fps`` seconds
    blendshapes: (T, 52) float32 in [0, 1], columns in :data:`ARKIT_BLENDSHAPES` order
    head_rotation_deg: (T, 3) float32, yaw, pitch, roll in degrees relative to the photo
    head_translation: (T, 2) float32, x, y shift in units of the face's width (+y is down)
    head_scale: (T,) float32, apparent head size relative to the photo (1.2 = closer)
    gaze_deg: (T, 2) float32, eye yaw and pitch in degrees relative to looking at the camera
    replaces_photo: (T,) float32 in [0, 1], or None (all 0): how much of the photo's own
        expression the blendshapes replace (see :class:`MotionFrame`); motion files do not
        carry it
    """

    fps: float
    blendshapes: np.ndarray
    head_rotation_deg: np.ndarray
    head_translation: np.ndarray
    head_scale: np.ndarray
    gaze_deg: np.ndarray
    replaces_photo: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.blendshapes)
        if self.blendshapes.shape != (n, len(ARKIT_BLENDSHAPES)):
            raise ValueError(f"blendshapes must be (T, 52), got {self.blendshapes.shape}")
        for name, shape in (
            ("head_rotation_deg", (n, 3)),
            ("head_translation", (n, 2)),
            ("head_scale", (n,)),
            ("gaze_deg", (n, 2)),
            *((("replaces_photo", (n,)),) if self.replaces_photo is not None else ()),
        ):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must be {shape}, got {getattr(self, name).shape}")

    def __len__(self) -> int:
        return len(self.blendshapes)

    def frame(self, i: int) -> MotionFrame:
        return MotionFrame(
            self.blendshapes[i],
            self.head_rotation_deg[i],
            self.head_translation[i],
            float(self.head_scale[i]),
            self.gaze_deg[i],
            0.0 if self.replaces_photo is None else float(self.replaces_photo[i]),
        )

    @classmethod
    def rest(cls, n_frames: int, fps: float) -> Motion:
        """A still face in the photo's own pose."""
        return cls(
            fps,
            np.zeros((n_frames, len(ARKIT_BLENDSHAPES)), np.float32),
            np.zeros((n_frames, 3), np.float32),
            np.zeros((n_frames, 2), np.float32),
            np.ones(n_frames, np.float32),
            np.zeros((n_frames, 2), np.float32),
        )
