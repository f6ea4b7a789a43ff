"""Closing the lids of a drawn eye with nothing warped: every pixel is its own source, so what
the test sees is the lid closer's painting alone."""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.motion.blendshapes import ARKIT_BLENDSHAPES, BS
from gioconda.render.lids import LidCloser
from gioconda.render.source_map import SourceMap


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
