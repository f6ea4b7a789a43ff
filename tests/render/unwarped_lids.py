"""Closing the lids of a drawn eye with nothing warped: every pixel is its own source, so what
the test sees is the lid closer's painting alone."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.topology import (
    LEFT_BROW_LOWER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_BROW_LOWER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.render.lids import LidCloser
from gioconda.render.source_map import SourceMap


def drawn_eyes(
    image: np.ndarray,
    landmarks: np.ndarray,
    centres_x: tuple[float, float],
    brow_y: float,
    brow_half: float,
) -> tuple[np.ndarray, LidCloser, list[np.ndarray]]:
    """The photo, its lid closer, and each eye's landmarks (for the painter's window), once
    the lids' landmarks are placed in ``landmarks``: the brows' lower landmarks are laid level
    at ``brow_y``, ``brow_half`` either side of each eye's centre (``centres_x``: the
    subject's right eye's, then the left's)."""
    for centre, brow_ids in zip(centres_x, (RIGHT_BROW_LOWER, LEFT_BROW_LOWER), strict=True):
        landmarks[list(brow_ids), 0] = centre + np.linspace(-brow_half, brow_half, len(brow_ids))
        landmarks[list(brow_ids), 1] = brow_y
    lids = LidCloser(landmarks, np.eye(2), photo=image)
    eyes = [landmarks[list(u + lo), :2] for u, lo in
            ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER))]  # fmt: skip
    return image, lids, eyes


def blink_unwarped(
    image: np.ndarray, lids: LidCloser, eyes: list[np.ndarray], value: float
) -> np.ndarray:
    """``image`` with both eyes blinked to ``value`` (EyeBlinkLeft and EyeBlinkRight)."""
    pad = 8
    source = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    still = SourceMap(np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), bool), (0, 0, 0, 0),
                      pad, image.shape[0])  # fmt: skip
    shapes = np.zeros(len(ARKIT_BLENDSHAPES), np.float32)
    shapes[BS["EyeBlinkLeft"]] = shapes[BS["EyeBlinkRight"]] = value
    frame = image.copy()
    lids.paint(frame, still, source, pad, shapes, eyes)
    return frame
